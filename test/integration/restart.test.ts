import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scrape } from '../harness/prom-text';
import { startDataDaemonSetup, type DataDaemon, type DataDaemonSetup } from '../harness/data-daemon';
import type { SwitchBackend } from '../harness/switch-backend';
import { sleep, waitFor } from '../harness/wait';
import { decodeSnapshot, SNAPSHOT_FILE } from '../../src/storage';

/*
 * The built daemon across restarts, with its data directory (--storage.path): an outage that
 * began before a restart is one outage whose recovery time is its whole length; a kill -9 leaves
 * a readable snapshot; a damaged snapshot is set aside and the exporter starts anyway.
 */
jest.setTimeout(90_000);

let setup: DataDaemonSetup;
let backend: SwitchBackend;
let dir: string;
const labels = { kind: 'http', target: 'api' };

beforeAll(async () => {
  setup = await startDataDaemonSetup('stackwatch-restart-', '1s', '500ms');
  ({ backend, dir } = setup);
});
afterAll(async () => {
  await setup?.cleanup();
});

const start = (data: string): Promise<DataDaemon> => setup.start(data);
const stop = (d: DataDaemon, signal: NodeJS.Signals): Promise<void> => setup.stop(d, signal);

describe('restarts with a data directory', () => {
  it('continues an outage across a SIGTERM restart: one outage, recovery = the whole outage', async () => {
    const data = path.join(dir, 'sigterm');
    await backend.set('healthy');
    const a = await start(data);
    await waitFor('api up', async () => (await scrape(a.base)).get('stackwatch_target_up', labels) === 1);
    await backend.set('failing');
    const wentDown = Date.now() / 1000;
    await waitFor('api down', async () => (await scrape(a.base)).get('stackwatch_target_up', labels) === 0);
    const before = await scrape(a.base);
    const downSince = before.get('stackwatch_target_last_transition_timestamp_seconds', labels)!;
    expect(Math.abs(downSince - wentDown)).toBeLessThan(1.5);
    await stop(a, 'SIGTERM');

    await sleep(5000);
    const b = await start(data);
    expect(b.log()).toContain('snapshot restored');
    const m = await waitFor('api declared again', async () => {
      const s = await scrape(b.base);
      return s.get('stackwatch_target_checks_total', labels) !== undefined ? s : undefined;
    });
    // Counters continue; the outage is still the same one, dated from its start.
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_checks_total', labels)).toBeGreaterThanOrEqual(before.get('stackwatch_target_checks_total', labels)!);
    expect(m.get('stackwatch_target_up', labels)).toBe(0);
    expect(m.get('stackwatch_target_last_transition_timestamp_seconds', labels)).toBe(downSince);
    expect(m.get('stackwatch_target_downtime_seconds_total', labels)).toBeGreaterThan(5);

    await sleep(1000);
    await backend.set('healthy');
    const cameBack = Date.now() / 1000;
    const after = await waitFor('api up again', async () => {
      const s = await scrape(b.base);
      return s.get('stackwatch_target_up', labels) === 1 ? s : undefined;
    });
    expect(after.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(after.get('stackwatch_target_recovery_seconds_count', labels)).toBe(1);
    const recovery = after.get('stackwatch_target_recovery_seconds_sum', labels)!;
    expect(Math.abs(recovery - (cameBack - downSince))).toBeLessThanOrEqual(1.5); // one 1 s interval, plus scheduling
    expect(recovery).toBeGreaterThan(6);

    const api = await (await fetch(`${b.base}/api/v1/targets`)).json() as { targets: { incidents: { seconds: number; end: number | null }[] }[] };
    expect(api.targets[0]!.incidents).toHaveLength(1);
    expect(api.targets[0]!.incidents[0]!.seconds).toBeCloseTo(recovery, 3);
    // The stopped time is unknown: the minute slots of the last 24 h know less than they span.
    const hist = await (await fetch(`${b.base}/api/v1/targets/http/api/history?window=24h`)).json() as { points: { knownSeconds: number; downSeconds: number }[] };
    const known = hist.points.reduce((x, p) => x + p.knownSeconds, 0);
    const down = hist.points.reduce((x, p) => x + p.downSeconds, 0);
    expect(down).toBeLessThan(recovery - 4); // the ~5 s gap is not counted as down
    expect(down).toBeGreaterThan(0);
    expect(known).toBeGreaterThan(0);
    await stop(b, 'SIGTERM');
  });

  it('leaves a readable snapshot after kill -9, and the next start continues from it', async () => {
    const data = path.join(dir, 'kill9');
    await backend.set('healthy');
    const c = await start(data);
    await waitFor('a snapshot written', () => readdirSync(data).includes(SNAPSHOT_FILE), 15_000);
    // At least one more periodic save (each replaces the file).
    const firstSave = statSync(path.join(data, SNAPSHOT_FILE)).mtimeMs;
    await waitFor('one more periodic save', () => statSync(path.join(data, SNAPSHOT_FILE)).mtimeMs > firstSave, 15_000, 100);
    const checks = (await scrape(c.base)).get('stackwatch_target_checks_total', labels)!;
    await stop(c, 'SIGKILL');
    expect(readdirSync(data).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const saved = decodeSnapshot(readFileSync(path.join(data, SNAPSHOT_FILE)));
    const savedChecks = saved.targets.find((t) => t.target === 'api')!.checks;
    expect(savedChecks).toBeGreaterThan(3);
    expect(checks - savedChecks).toBeLessThanOrEqual(7); // at most one save interval (5 s at 1 s) lost

    const d = await start(data);
    const m = await waitFor('api declared again', async () => {
      const s = await scrape(d.base);
      return s.get('stackwatch_target_checks_total', labels) !== undefined ? s : undefined;
    });
    expect(m.get('stackwatch_target_checks_total', labels)).toBeGreaterThanOrEqual(savedChecks);
    await stop(d, 'SIGTERM');
  });

  it('sets a damaged snapshot aside and starts', async () => {
    const data = path.join(dir, 'damaged');
    await backend.set('healthy');
    const e = await start(data);
    await stop(e, 'SIGTERM');
    const good = readFileSync(path.join(data, SNAPSHOT_FILE));
    writeFileSync(path.join(data, SNAPSHOT_FILE), good.subarray(0, Math.floor(good.length / 2)));
    const f = await start(data);
    expect((await fetch(`${f.base}/-/ready`)).status).toBe(200);
    expect(f.log()).toContain('snapshot unreadable; set aside, starting with empty history');
    const aside = readdirSync(data).filter((x) => x.startsWith('snapshot.unreadable-'));
    expect(aside).toHaveLength(1);
    await waitFor('api checked', async () => (await scrape(f.base)).get('stackwatch_target_up', labels) === 1);
    await stop(f, 'SIGTERM');
    // the stop wrote a fresh, good snapshot in its place
    expect(decodeSnapshot(readFileSync(path.join(data, SNAPSHOT_FILE))).targets).toHaveLength(1);
  });
});
