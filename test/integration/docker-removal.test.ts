/**
 * `docker rm -f` against a real dockerd, repeatedly and several containers at once (one command,
 * and one command each, racing): a removed container counts no outage at any scrape and leaves
 * none of its series; the containers that stay are untouched.
 */
import { Dockerd } from '../harness/dockerd';
import { startExporter, type RunningExporter } from '../harness/exporter';
import type { Metrics } from '../harness/prom-text';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(240_000);

let d: Dockerd;
let exp: RunningExporter;

beforeAll(async () => {
  d = await Dockerd.start();
  await d.runContainer('stays', [], ['sleep', '100000']);
  exp = await startExporter({ docker: { enabled: true, host: d.host, resources_interval: '1s', reconnect_max_backoff: '1s' } });
}, 120_000);

afterAll(async () => {
  await exp?.stop();
  await d?.stop();
}, 60_000);

const named = (m: Metrics, name: string): number =>
  m.samples.filter((s) => s.labels.container === name || (s.labels.kind === 'container' && s.labels.target === name)).length;

test('rm -f of running containers, several rounds: no outage counted, no series left', async () => {
  const seenOutages = new Map<string, number>();
  let sampling = true;
  // Scrapes all along: an outage counted only for a moment is seen too.
  const sampler = (async () => {
    while (sampling) {
      const m = await exp.scrape();
      for (const s of m.all('stackwatch_target_outages_total')) {
        if (s.labels.kind === 'container' && s.value > 0) seenOutages.set(s.labels.target!, Math.max(seenOutages.get(s.labels.target!) ?? 0, s.value));
      }
      await sleep(50);
    }
  })();
  const removed: string[] = [];
  try {
    for (let round = 0; round < 4; round++) {
      const names = Array.from({ length: 5 }, (_, i) => `rmf-${round}-${i}`);
      for (const n of names) await d.runContainer(n, [], ['sleep', '100000']);
      await waitFor(`round ${round}'s containers up`, async () => {
        const m = await exp.scrape();
        return names.every((n) => m.get('stackwatch_target_up', { kind: 'container', target: n }) === 1);
      }, 30_000, 100);
      // Half in one command, the rest each in its own, all at once.
      await Promise.all([d.ok(['rm', '-f', ...names.slice(0, 2)]), ...names.slice(2).map((n) => d.ok(['rm', '-f', n]))]);
      removed.push(...names);
      await waitFor(`round ${round}'s containers gone`, async () => {
        const m = await exp.scrape();
        return names.every((n) => named(m, n) === 0);
      }, 15_000, 100);
    }
    // Nothing comes back later (resources cycles, late answers).
    await sleep(2500);
  } finally {
    sampling = false;
    await sampler;
  }
  const m = await exp.scrape();
  for (const n of removed) expect({ n, series: named(m, n) }).toEqual({ n, series: 0 });
  expect(Object.fromEntries(seenOutages)).toEqual({});
  expect(m.get('stackwatch_target_up', { kind: 'container', target: 'stays' })).toBe(1);
  expect(m.get('stackwatch_target_outages_total', { kind: 'container', target: 'stays' })).toBe(0);

  // A stop is still an outage (the rm -f exemption is not a blanket one).
  await d.ok(['stop', '-t', '0', 'stays']);
  await waitFor('stays down with one outage', async () => (await exp.scrape()).get('stackwatch_target_outages_total', { kind: 'container', target: 'stays' }) === 1, 15_000, 100);
});
