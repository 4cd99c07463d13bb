import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scrape } from '../harness/prom-text';
import { startDataDaemonSetup, type DataDaemon, type DataDaemonSetup } from '../harness/data-daemon';
import { waitFor } from '../harness/wait';
import { SNAPSHOT_FILE } from '../../src/storage';

/*
 * The built daemon when its data directory fails it: snapshot writes that fail are counted in
 * stackwatch_storage_snapshot_failures_total{operation="write"} while the exporter keeps observing
 * and serving, and writing resumes (last success timestamp moves) once the disk accepts it again.
 * An unreadable snapshot at start counts as a failed read. (Tests run as root, which ignores file
 * modes: the write is made to fail by a directory where the temporary file must go.)
 */
jest.setTimeout(90_000);

let setup: DataDaemonSetup;
let dir: string;
const labels = { kind: 'http', target: 'api' };

beforeAll(async () => {
  setup = await startDataDaemonSetup('stackwatch-storage-fail-', '500ms', '400ms');
  ({ dir } = setup);
});
afterAll(async () => {
  await setup?.cleanup();
});

const start = (data: string): Promise<DataDaemon> => setup.start(data);

describe('snapshot failures are measured and survived', () => {
  it('a write that fails counts, the exporter keeps running, and writing resumes', async () => {
    const data = path.join(dir, 'write');
    const d = await start(data);
    const write = { operation: 'write' };
    let m = await scrape(d.base);
    expect(m.get('stackwatch_storage_snapshot_failures_total', write)).toBe(0);
    expect(m.get('stackwatch_storage_snapshot_failures_total', { operation: 'read' })).toBe(0);
    const firstOk = await waitFor('a first snapshot written', async () => (await scrape(d.base)).get('stackwatch_storage_snapshot_last_success_timestamp_seconds', write), 15_000, 250);

    // The temporary file's place is taken by a directory: open(..., 'w') fails with EISDIR.
    mkdirSync(path.join(data, `${SNAPSHOT_FILE}.tmp`));
    m = await waitFor('a failed write counted', async () => {
      const s = await scrape(d.base);
      return (s.get('stackwatch_storage_snapshot_failures_total', write) ?? 0) >= 1 ? s : undefined;
    }, 15_000, 250);
    const checksThen = m.get('stackwatch_target_checks_total', labels)!;
    const lastOkThen = m.get('stackwatch_storage_snapshot_last_success_timestamp_seconds', write)!;
    expect(lastOkThen).toBeGreaterThanOrEqual(firstOk);
    expect(d.p.exitCode).toBeNull();
    expect(d.log()).toContain('writing the snapshot failed');
    // Still observing and serving while failing.
    await waitFor('checks go on', async () => (await scrape(d.base)).get('stackwatch_target_checks_total', labels)! > checksThen + 2, 10_000, 250);
    expect((await fetch(`${d.base}/api/v1/targets`)).ok).toBe(true);

    rmSync(path.join(data, `${SNAPSHOT_FILE}.tmp`), { recursive: true });
    await waitFor('writes succeed again', async () =>
      (await scrape(d.base)).get('stackwatch_storage_snapshot_last_success_timestamp_seconds', write)! > lastOkThen, 15_000, 250);
    expect(d.log()).toContain('snapshot written again');
  });

  it('a data directory that cannot be created (under /proc) fails fast: it says so naming the path, and runs without storage', async () => {
    // Node's own recursive mkdir never returns for such a path (the daemon hung at start).
    const data = `/proc/stackwatch-test-${process.pid}/data`;
    const t0 = Date.now();
    const d = await start(data);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const m = await scrape(d.base);
    expect(m.get('stackwatch_storage_snapshot_failures_total', { operation: 'read' })).toBe(1);
    const line = d.log().split('\n').find((l) => l.includes('storage directory unusable'));
    expect(line).toBeDefined();
    const rec = JSON.parse(line!) as { dir: string; err: { message: string } };
    expect(rec.dir).toBe(data);
    expect(rec.err.message).toContain(`cannot create directory ${data}`);
    expect(rec.err.message).toContain(`/proc/stackwatch-test-${process.pid}`);
    // Each periodic save tries again and counts its failure, quickly.
    await waitFor('a failed write counted', async () => ((await scrape(d.base)).get('stackwatch_storage_snapshot_failures_total', { operation: 'write' }) ?? 0) >= 1, 20_000, 250);
  });

  it('an unreadable snapshot at start counts as a failed read; the exporter starts', async () => {
    const data = path.join(dir, 'read');
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, SNAPSHOT_FILE), 'not gzip at all');
    const d = await start(data);
    const m = await scrape(d.base);
    expect(m.get('stackwatch_storage_snapshot_failures_total', { operation: 'read' })).toBe(1);
    expect(m.get('stackwatch_storage_snapshot_last_success_timestamp_seconds', { operation: 'read' })).toBeUndefined();
  });
});
