/**
 * One daemon per data directory, with the built daemon (dist/main.js): a second one on the same
 * --storage.path is refused with a message naming the first, and a lock left by a daemon killed
 * with SIGKILL does not keep the next start out. Both as under systemd (same pid namespace: the
 * holder is checked by pid and start time) and as containers sharing a volume (another pid
 * namespace, made with unshare: the holder is judged by its lock's refreshes).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HEARTBEAT_MS, LOCK_FILE, STALE_AFTER_MS } from '../../src/data-lock';
import { boundPort } from '../harness/built-daemon';
import { MAIN } from '../harness/cli';
import { scrape } from '../harness/prom-text';
import { ProcessSet } from '../harness/processes';
import { requireBinary } from '../harness/require-binary';
import { within } from '../harness/wait';

jest.setTimeout(90_000);

const procs = new ProcessSet();
let dir: string;
let cfg: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-datalock-'));
  cfg = path.join(dir, 'stackwatch.yml');
  writeFileSync(cfg, 'process_discovery: { enabled: false }\n');
});
afterAll(async () => {
  await procs.killAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Started { child: ChildProcess; stderr: () => string }

function start(data: string, wrap: string[] = []): Started {
  const args = [process.execPath, MAIN, '--config', cfg, '--listen', '127.0.0.1:0', '--storage.path', data];
  const child = wrap.length === 0 ? procs.start(args[0]!, args.slice(1)) : procs.start(wrap[0]!, [...wrap.slice(1), ...args]);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return { child, stderr: () => stderr };
}

async function exitCode(s: Started, ms: number): Promise<number | null | 'running'> {
  const exited = new Promise<number | null>((resolve) => {
    if (s.child.exitCode !== null) resolve(s.child.exitCode);
    else s.child.once('exit', (code) => resolve(code));
  });
  return within(exited, ms, 'running' as const);
}

test('same pid namespace: the second daemon is refused at once; after a kill -9 of the first the next one starts at once', async () => {
  const data = path.join(dir, 'same');
  const a = start(data);
  const port = await boundPort(a.child);
  const lock = JSON.parse(readFileSync(path.join(data, LOCK_FILE), 'utf8')) as { pid: number };
  expect(lock.pid).toBe(a.child.pid);

  const t0 = Date.now();
  const b = start(data);
  expect([await exitCode(b, 10_000), b.stderr()]).toEqual([1, expect.stringContaining(`in use by another stackwatch (pid ${a.child.pid} in pid namespace pid:[`)]);
  expect(Date.now() - t0).toBeLessThan(HEARTBEAT_MS);
  expect(b.stderr()).toContain('each daemon needs a data directory of its own');
  // The first one never noticed.
  expect((await scrape(`http://127.0.0.1:${port}`)).get('stackwatch_build_info', {})).toBe(1);
  expect(existsSync(path.join(data, LOCK_FILE))).toBe(true);

  await procs.kill(a.child, 'SIGKILL');
  const t1 = Date.now();
  const c = start(data);
  await boundPort(c.child);
  expect(Date.now() - t1).toBeLessThan(HEARTBEAT_MS);
  expect(c.stderr()).toContain('stale data directory lock taken over');
  // A graceful stop leaves the snapshot and removes the lock.
  await procs.kill(c.child, 'SIGTERM');
  expect(c.child.exitCode).toBe(0);
  expect([existsSync(path.join(data, LOCK_FILE)), existsSync(path.join(data, 'snapshot.json.gz'))]).toEqual([false, true]);
});

test('another pid namespace (containers on one volume): refused once a refresh is seen; after a kill -9, taken over when stale', async () => {
  const unshare = requireBinary('unshare', 'apt-get install -y util-linux');
  const data = path.join(dir, 'other-ns');
  // As in a container: the daemon is pid 1 of a namespace of its own.
  const a = start(data, [unshare, '--pid', '--fork', '--mount-proc']);
  await boundPort(a.child);
  expect(JSON.parse(readFileSync(path.join(data, LOCK_FILE), 'utf8'))).toMatchObject({ pid: 1 });

  const b = start(data);
  expect([await exitCode(b, HEARTBEAT_MS + 5000), b.stderr()]).toEqual([1, expect.stringContaining('in use by another stackwatch (pid 1 in pid namespace pid:[')]);
  expect(b.stderr()).toContain('data directory locked by a daemon not visible from here');

  await procs.kill(a.child, 'SIGKILL');
  const killed = Date.now();
  const c = start(data);
  await boundPort(c.child, STALE_AFTER_MS + 15_000);
  const waited = Date.now() - killed;
  // Not before the lock went stale (its last refresh was at most a heartbeat before the kill).
  expect(waited).toBeGreaterThan(STALE_AFTER_MS - HEARTBEAT_MS - 1000);
  expect(c.stderr()).toContain('stale data directory lock taken over');
  await procs.kill(c.child, 'SIGTERM');
  expect(existsSync(path.join(data, LOCK_FILE))).toBe(false);
});
