/**
 * The data directory's lock (src/data-lock.ts): one daemon per directory; a lock left by a
 * daemon that is gone is taken over, at once when its holder could be seen, after
 * STALE_AFTER_MS without a refresh when it could not (another pid namespace).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {
  DataDirInUse, HEARTBEAT_MS, judge, LOCK_FILE, lockDataDir, parseHolder, procView, STALE_AFTER_MS, type LockHolder, type LockView,
} from '../../src/data-lock';
import { parseStat } from '../../src/collectors/proc-reader';
import { silentLogger } from '../../src/log';
import { stopChild } from '../harness/processes';

const ME: LockHolder = { pid: 1000, start: 5000, boot: 'boot-a', ns: 'pid:[1]' };

/** A view with a fake clock; processes as given (pid -> start time). */
function view(procs: Record<number, number>, opts: { me?: LockHolder; onSleep?: (ms: number) => void } = {}): LockView & { slept: number } {
  let now = Date.now();
  const v = {
    slept: 0,
    startOf: (pid: number) => procs[pid],
    alive: (pid: number) => procs[pid] !== undefined,
    self: () => opts.me ?? ME,
    now: () => now,
    sleep: (ms: number) => {
      now += ms;
      v.slept += ms;
      opts.onSleep?.(ms);
      return Promise.resolve();
    },
  };
  return v;
}

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-lock-'));
  file = path.join(dir, LOCK_FILE);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const writeLock = (holder: LockHolder | string, ageMs = 0): void => {
  writeFileSync(file, typeof holder === 'string' ? holder : JSON.stringify(holder));
  const t = new Date(Date.now() - ageMs);
  utimesSync(file, t, t);
};
const holderOnDisk = (): LockHolder | undefined => parseHolder(readFileSync(file, 'utf8'));

test('a free directory is locked for this process; a second lock in the same process is refused; release frees it', async () => {
  const v = view({ 1000: 5000 });
  const lock = await lockDataDir(dir, silentLogger(), v);
  expect(holderOnDisk()).toEqual(ME);
  await expect(lockDataDir(dir, silentLogger(), v)).rejects.toBeInstanceOf(DataDirInUse);
  lock.release();
  expect(existsSync(file)).toBe(false);
  const again = await lockDataDir(dir, silentLogger(), v);
  again.release();
});

test('a live holder in the same boot and pid namespace refuses the start at once, naming its pid', async () => {
  writeLock({ pid: 42, start: 777, boot: 'boot-a', ns: 'pid:[1]' });
  const v = view({ 42: 777 });
  const err = await lockDataDir(dir, silentLogger(), v).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DataDirInUse);
  expect((err as Error).message).toBe(`--storage.path ${dir}: in use by another stackwatch (pid 42 in pid namespace pid:[1]); each daemon needs a data directory of its own`);
  expect(v.slept).toBe(0);
  expect(holderOnDisk()?.pid).toBe(42);
});

test.each<[string, LockHolder, Record<number, number>]>([
  ['its process is gone', { pid: 42, start: 777, boot: 'boot-a', ns: 'pid:[1]' }, {}],
  ['its pid now runs another process (other start time)', { pid: 42, start: 777, boot: 'boot-a', ns: 'pid:[1]' }, { 42: 900 }],
  ['it was written in another boot', { pid: 42, start: 777, boot: 'boot-b', ns: 'pid:[9]' }, { 42: 777 }],
  ['it names this very process (left without a release)', { ...ME }, { 1000: 5000 }],
  ['no start time recorded and no such pid', { pid: 42, ns: 'pid:[1]' }, {}],
])('a lock is taken over at once when %s', async (_why, holder, procs) => {
  writeLock(holder);
  const v = view({ 1000: 5000, ...procs });
  const lock = await lockDataDir(dir, silentLogger(), v);
  expect(v.slept).toBe(0);
  expect(holderOnDisk()).toEqual(ME);
  lock.release();
});

test('a holder in another pid namespace that refreshes its lock refuses the start, within a heartbeat', async () => {
  writeLock({ pid: 1, start: 10, boot: 'boot-a', ns: 'pid:[7]' });
  let waited = 0;
  const v = view({ 1000: 5000, 1: 10 }, {
    onSleep: (ms) => {
      waited += ms;
      if (waited >= HEARTBEAT_MS) writeLock({ pid: 1, start: 10, boot: 'boot-a', ns: 'pid:[7]' });
    },
  });
  await expect(lockDataDir(dir, silentLogger(), v)).rejects.toThrow('in use by another stackwatch (pid 1 in pid namespace pid:[7])');
  expect(v.slept).toBeGreaterThanOrEqual(HEARTBEAT_MS);
  expect(v.slept).toBeLessThan(HEARTBEAT_MS + 2000);
});

test.each<[string, LockHolder | string]>([
  ['a holder in another pid namespace', { pid: 1, start: 10, boot: 'boot-a', ns: 'pid:[7]' }],
  ['a lock file naming nobody (cut short)', '{"pid":'],
  ['an empty lock file', ''],
])('%s, not refreshed, is taken over once it has gone STALE_AFTER_MS without a refresh', async (_what, content) => {
  const age = 3000;
  writeLock(content, age);
  const v = view({ 1000: 5000, 1: 10 });
  const lock = await lockDataDir(dir, silentLogger(), v);
  expect(holderOnDisk()).toEqual(ME);
  // It waited for the rest of the stale period, and not much more.
  expect(v.slept).toBeGreaterThanOrEqual(STALE_AFTER_MS - age - 100);
  expect(v.slept).toBeLessThanOrEqual(STALE_AFTER_MS - age + 1100);
  lock.release();
});

describe('where no start time can be read (/proc hidden by hidepid, or none)', () => {
  /** Processes alive by pid; no start time for any. */
  const blind = (alive: number[], onSleep?: (ms: number) => void): LockView & { slept: number } => {
    const v = view({}, onSleep === undefined ? {} : { onSleep });
    return Object.assign(v, { startOf: () => undefined, alive: (pid: number) => alive.includes(pid) });
  };

  test('a live pid that is not the holder any more (reused) does not keep the directory: taken over once stale', async () => {
    writeLock({ pid: 42, start: 777, boot: 'boot-a', ns: 'pid:[1]' }, 1000);
    const v = blind([42, 1000]);
    const lock = await lockDataDir(dir, silentLogger(), v);
    expect(holderOnDisk()).toEqual(ME);
    expect(v.slept).toBeGreaterThanOrEqual(STALE_AFTER_MS - 1000 - 100);
    expect(v.slept).toBeLessThanOrEqual(STALE_AFTER_MS - 1000 + 1100);
    lock.release();
  });

  test('a live holder refreshing its lock refuses the start within a heartbeat; a gone one is taken over at once', async () => {
    writeLock({ pid: 42, start: 777, boot: 'boot-a', ns: 'pid:[1]' });
    let waited = 0;
    const v = blind([42, 1000], (ms) => {
      waited += ms;
      if (waited >= HEARTBEAT_MS) writeLock({ pid: 42, start: 777, boot: 'boot-a', ns: 'pid:[1]' });
    });
    await expect(lockDataDir(dir, silentLogger(), v)).rejects.toThrow('in use by another stackwatch (pid 42 in pid namespace pid:[1])');
    expect(v.slept).toBeLessThan(HEARTBEAT_MS + 2000);
    const gone = blind([1000]);
    const lock = await lockDataDir(dir, silentLogger(), gone);
    expect(gone.slept).toBe(0);
    lock.release();
  });
});

test('a lock older than STALE_AFTER_MS in another namespace is taken over without waiting', async () => {
  writeLock({ pid: 1, start: 10, boot: 'boot-a', ns: 'pid:[7]' }, STALE_AFTER_MS + 1000);
  const v = view({ 1000: 5000 });
  (await lockDataDir(dir, silentLogger(), v)).release();
  expect(v.slept).toBe(0);
});

test('the heartbeat moves the modification time; release leaves a lock that is no longer ours', async () => {
  const lock = await lockDataDir(dir, silentLogger(), view({ 1000: 5000 }));
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);
  lock.refresh();
  expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(5000);
  // Another daemon took the directory over meanwhile: its lock is not refreshed by this one, and stays.
  writeLock({ pid: 43, start: 1, boot: 'boot-a', ns: 'pid:[1]' }, 60_000);
  lock.refresh();
  expect(Date.now() - statSync(file).mtimeMs).toBeGreaterThan(50_000);
  lock.release();
  expect(holderOnDisk()?.pid).toBe(43);
});

test('a lock that cannot be written rejects with the filesystem error, not DataDirInUse', async () => {
  const notDir = path.join(dir, 'plain-file');
  writeFileSync(notDir, 'x');
  const err = await lockDataDir(notDir, silentLogger(), view({ 1000: 5000 })).catch((e: unknown) => e);
  expect(err).not.toBeInstanceOf(DataDirInUse);
  expect((err as NodeJS.ErrnoException).code).toBe('ENOTDIR');
});

test('judge: a holder not visible from here is "unseen", whatever its pid means here', () => {
  const v = view({ 1: 10, 42: 777 });
  expect(judge({ pid: 42, start: 777, boot: 'boot-a', ns: 'pid:[9]' }, ME, v)).toBe('unseen');
  expect(judge({ pid: 42, start: 777, boot: 'boot-a' }, ME, v)).toBe('unseen');
  expect(judge(undefined, ME, v)).toBe('unseen');
  expect(judge({ pid: 42, start: 777, boot: 'boot-a', ns: 'pid:[1]' }, ME, v)).toBe('held');
});

test('the start time (parseStat, as the lock reads it) is field 22 of /proc/PID/stat whatever the command name holds', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4_194_304 }),
    fc.string({ maxLength: 15 }).filter((s) => !s.includes('\n') && !s.includes('\0')),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    (pid, comm, start) => {
      // Fields 3..21, then 22 (start time), then the rest, as the kernel writes them.
      const mid = ['S', '1', String(pid), String(pid), '0', '-1', '4194560', '97', '0', '0', '0', '3', '1', '0', '0', '20', '0', '1', '0'];
      const stat = `${pid} (${comm}) ${mid.join(' ')} ${start} 2387968 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;
      const buf = Buffer.from(stat, 'utf8');
      expect(parseStat(buf, buf.length)?.startTicks).toBe(start);
    },
  ), { numRuns: 500 });
});

test('parseHolder takes only a positive integer pid, and the known fields of the right type', () => {
  expect(parseHolder('{"pid":7,"start":3,"boot":"b","ns":"pid:[1]"}\n')).toEqual({ pid: 7, start: 3, boot: 'b', ns: 'pid:[1]' });
  expect(parseHolder('{"pid":7,"start":"3","boot":1}')).toEqual({ pid: 7 });
  for (const bad of ['', 'null', '[]', '{"pid":0}', '{"pid":-3}', '{"pid":1.5}', '{"pid":"7"}', 'x']) expect(parseHolder(bad)).toBeUndefined();
});

test('on this machine: this process has a start time, a boot id and a pid namespace; a live child is held, a dead one is stale', async () => {
  const me = procView.self();
  expect(me.pid).toBe(process.pid);
  expect(me.start).toEqual(expect.any(Number));
  expect(me.boot).toMatch(/^[0-9a-f-]{36}$/);
  expect(me.ns).toMatch(/^pid:\[\d+\]$/);
  const child = spawn('sleep', ['30']);
  await new Promise((resolve) => child.once('spawn', resolve));
  const holder: LockHolder = { pid: child.pid!, start: procView.startOf(child.pid!)!, boot: me.boot!, ns: me.ns! };
  expect(judge(holder, me, procView)).toBe('held');
  await stopChild(child);
  expect(judge(holder, me, procView)).toBe('stale');
});
