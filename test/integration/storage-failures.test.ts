import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAIN } from '../harness/cli';
import { freePort } from '../harness/ports';
import { ProcessSet } from '../harness/processes';
import { scrape } from '../harness/prom-text';
import { startSwitchBackend, type SwitchBackend } from '../harness/switch-backend';
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

const procs = new ProcessSet();
let backend: SwitchBackend;
let dir: string;
let cfg: string;
const labels = { kind: 'http', target: 'api' };

beforeAll(async () => {
  backend = await startSwitchBackend();
  dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-storage-fail-'));
  cfg = path.join(dir, 'stackwatch.yml');
  writeFileSync(cfg, `http:\n  - { name: api, url: "${backend.url}", interval: 500ms, timeout: 400ms }\n`);
});
afterAll(async () => {
  await procs.killAll();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(data: string): Promise<{ p: ChildProcess; base: string; log: () => string }> {
  const port = await freePort();
  const p = procs.start(process.execPath, [MAIN, '--config', cfg, '--listen', `127.0.0.1:${port}`, '--storage.path', data]);
  let log = '';
  p.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  p.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('exporter ready (run `npm run build` first)', async () => (await fetch(`${base}/-/ready`)).ok, 15_000);
  return { p, base, log: () => log };
}

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
