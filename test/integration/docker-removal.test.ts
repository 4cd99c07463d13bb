/**
 * Removals against a real dockerd: `docker rm -f` repeatedly and several containers at once (one
 * command, and one command each, racing), a stop followed by a rm (what `compose down` does) and
 * `--rm`'s removal after the exit. A removed container counts no outage at any scrape and leaves
 * none of its series; the containers that stay are untouched, and one killed and left in place
 * counts exactly one outage, dated at its exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerRig } from '../harness/docker-rig';
import type { Metrics } from '../harness/prom-text';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(240_000);

let rig: DockerRig;

beforeAll(async () => {
  rig = await DockerRig.start({ before: async (d) => void (await d.runContainer('stays', [], ['sleep', '100000'])) });
}, 120_000);

afterAll(() => rig?.stop(), 60_000);

const named = (m: Metrics, name: string): number =>
  m.samples.filter((s) => s.labels.container === name || (s.labels.kind === 'container' && s.labels.target === name)).length;

/**
 * Scrapes all along until stopped, so that an outage counted only for a moment is seen too;
 * stop() returns the highest outage count seen per container.
 */
function watchOutages(): { stop(): Promise<Record<string, number>> } {
  const seen = new Map<string, number>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const m = await rig.exp.scrape();
      for (const s of m.all('stackwatch_target_outages_total')) {
        if (s.labels.kind === 'container' && s.value > 0) seen.set(s.labels.target!, Math.max(seen.get(s.labels.target!) ?? 0, s.value));
      }
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      sampling = false;
      await sampler;
      return Object.fromEntries(seen);
    },
  };
}

const upAll = (what: string, names: readonly string[]): Promise<unknown> => waitFor(what, async () => {
  const m = await rig.exp.scrape();
  return names.every((n) => m.get('stackwatch_target_up', { kind: 'container', target: n }) === 1);
}, 30_000, 100);

const goneAll = (what: string, names: readonly string[], ms = 15_000): Promise<unknown> => waitFor(what, async () => {
  const m = await rig.exp.scrape();
  return names.every((n) => named(m, n) === 0);
}, ms, 100);

test('rm -f of running containers, several rounds: no outage counted, no series left', async () => {
  const { d } = rig;
  const watch = watchOutages();
  const removed: string[] = [];
  let seenOutages: Record<string, number>;
  try {
    for (let round = 0; round < 4; round++) {
      const names = Array.from({ length: 5 }, (_, i) => `rmf-${round}-${i}`);
      await Promise.all(names.map((n) => d.runContainer(n, [], ['sleep', '100000'])));
      await upAll(`round ${round}'s containers up`, names);
      // Half in one command, the rest each in its own, all at once.
      await Promise.all([d.ok(['rm', '-f', ...names.slice(0, 2)]), ...names.slice(2).map((n) => d.ok(['rm', '-f', n]))]);
      removed.push(...names);
      await goneAll(`round ${round}'s containers gone`, names);
    }
    // Nothing comes back later (resources cycles, late answers, the end of the removal grace).
    await sleep(6000);
  } finally {
    seenOutages = await watch.stop();
  }
  const m = await rig.exp.scrape();
  for (const n of removed) expect({ n, series: named(m, n) }).toEqual({ n, series: 0 });
  expect(seenOutages).toEqual({});
  expect(m.get('stackwatch_target_up', { kind: 'container', target: 'stays' })).toBe(1);
  expect(m.get('stackwatch_target_outages_total', { kind: 'container', target: 'stays' })).toBe(0);

  // A stop is still an outage (the rm -f exemption is not a blanket one).
  await d.ok(['stop', '-t', '0', 'stays']);
  await waitFor('stays down with one outage', async () => (await rig.exp.scrape()).get('stackwatch_target_outages_total', { kind: 'container', target: 'stays' }) === 1, 15_000, 100);
});

test('stop then rm (compose down) and --rm after an exit: no outage; a container killed and left in place: one outage, from its exit', async () => {
  const { d } = rig;
  const downs = ['down-0', 'down-1', 'down-2'];
  // autorm exits by itself (code 3) once the test writes its cue into a directory mounted from
  // the host: seen up first however loaded the machine, and no docker command touches it.
  const cue = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-autorm-'));
  try {
    await Promise.all([
      ...downs.map((n) => d.runContainer(n, [], ['sleep', '100000'])),
      d.runContainer('autorm', ['--rm', '-v', `${cue}:/cue:ro`], ['sh', '-c', 'until [ -e /cue/exit ]; do sleep 0.1; done; exit 3']),
      d.runContainer('killed', [], ['sleep', '100000']),
    ]);
    await upAll('all up', [...downs, 'autorm', 'killed']);
  } catch (err) {
    rmSync(cue, { recursive: true, force: true });
    throw err;
  }
  const watch = watchOutages();
  let seenOutages: Record<string, number>;
  try {
    await Promise.all([
      ...downs.map(async (n) => {
        await d.ok(['stop', '-t', '0', n]);
        await d.ok(['rm', n]);
      }),
      d.ok(['kill', 'killed']),
      writeFile(path.join(cue, 'exit'), ''),
    ]);
    await goneAll('the stopped and removed containers gone, and autorm after its exit', [...downs, 'autorm'], 40_000);
    await waitFor('killed down', async () => (await rig.exp.scrape()).get('stackwatch_target_up', { kind: 'container', target: 'killed' }) === 0, 15_000, 100);
    await sleep(6000);
  } finally {
    seenOutages = await watch.stop();
    rmSync(cue, { recursive: true, force: true });
  }
  // (stays, stopped by the test before, keeps its outage.)
  expect({ ...seenOutages, stays: undefined }).toEqual({ killed: 1, stays: undefined });
  const m = await rig.exp.scrape();
  const exitedAt = Date.parse((await d.inspect('killed')).State.FinishedAt) / 1000;
  // Down from the die (just after Docker's FinishedAt; on a loaded machine up to a second or two
  // later), not from the end of the removal grace, 5 s after the die.
  const downAt = m.get('stackwatch_target_last_transition_timestamp_seconds', { kind: 'container', target: 'killed' })!;
  expect({ exitedAt, downAt, after: downAt - exitedAt > -0.5, wellBeforeGraceEnd: downAt - exitedAt < 3.5 })
    .toEqual({ exitedAt, downAt, after: true, wellBeforeGraceEnd: true });
  expect(m.get('stackwatch_container_last_exit_code', { container: 'killed' })).toBe(137);
});
