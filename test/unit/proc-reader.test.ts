import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyError, parseCmdline, parseMaxOpenFiles, parseStat, PF_KTHREAD, ProcReader } from '../../src/collectors/proc-reader';
import { ProcSource } from '../../src/collectors/process-source';
import { turnsDuring } from '../harness/loop-turns';
import { ProcessSet } from '../harness/processes';
import { waitFor } from '../harness/wait';

const stat = (s: string) => {
  const b = Buffer.from(s);
  return parseStat(b, b.length);
};

// 52 fields as the kernel writes them (man 5 proc), comm given by the caller.
const line = (comm: string, extra: Partial<Record<number, number>> = {}) => {
  const f: number[] = Array.from({ length: 53 }, (_, i) => i);
  Object.assign(f, { 4: 1, 9: 4194304, 14: 250, 15: 75, 20: 3, 22: 123456, 23: 3133440, 24: 418 }, extra);
  return `4242 (${comm}) S ${f.slice(4, 18).join(' ')} -20 -5 ${f.slice(20).join(' ')}\n`;
};

describe('parseStat', () => {
  it('reads the fields the collector uses', () => {
    expect(stat(line('sleep'))).toEqual({
      pid: 4242, comm: 'sleep', state: 'S', ppid: 1, flags: 4194304, utime: 250, stime: 75, threads: 3,
      startTicks: 123456, vsize: 3133440, rssPages: 418,
    });
  });

  it.each([
    ['a b', 'spaces'],
    ['a) (b', 'parentheses'],
    [') S 1 2 3 (', 'a fake field list'],
    ['((x))', 'nested parentheses'],
    ['', 'nothing'],
  ])('takes the comm up to the last ")" even when it has %s (%s)', (comm) => {
    const s = stat(line(comm));
    expect(s?.comm).toBe(comm);
    expect(s).toMatchObject({ pid: 4242, state: 'S', ppid: 1, utime: 250, stime: 75, threads: 3, startTicks: 123456, rssPages: 418 });
  });

  it('is not confused by negative priority and nice values or by bytes past the given length', () => {
    const text = line('worker', { 14: 9, 15: 8 });
    const b = Buffer.alloc(4096, 0x37); // garbage after the data, as in a reused buffer
    b.write(text);
    expect(parseStat(b, text.length)).toMatchObject({ comm: 'worker', utime: 9, stime: 8, rssPages: 418 });
  });

  it('rejects truncated or foreign text', () => {
    expect(stat('4242 (sleep')).toBeUndefined();
    expect(stat('hello world')).toBeUndefined();
    expect(stat('4242 (sleep) S 1 2 3')).toBeUndefined();
    expect(stat('x42 (sleep) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23')).toBeUndefined();
  });

  it('parses this process\'s own /proc/self/stat', () => {
    const r = new ProcReader('/proc');
    r.init();
    const s = r.stat(process.pid)!;
    expect(s.pid).toBe(process.pid);
    expect(s.ppid).toBe(process.ppid);
    expect(s.flags & PF_KTHREAD).toBe(0);
    expect(s.threads).toBeGreaterThanOrEqual(1);
    // RSS in pages times the page size is this process's RSS, within what moved since.
    expect(Math.abs(s.rssPages * r.pageSize - process.memoryUsage().rss)).toBeLessThan(20 * 1024 * 1024);
  });
});

describe('the small /proc parsers', () => {
  it('reads the soft open-files limit', () => {
    const limits = [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max cpu time              unlimited            unlimited            seconds   ',
      'Max open files            1024                 524288               files     ',
    ].join('\n');
    expect(parseMaxOpenFiles(limits)).toBe(1024);
    expect(parseMaxOpenFiles(limits.replace('1024 ', 'unlimited'))).toBe(Infinity);
    expect(parseMaxOpenFiles('Max processes 10')).toBeUndefined();
  });

  it('joins cmdline arguments with spaces and drops the trailing NULs', () => {
    const b = Buffer.from('python3\0-m\0uvicorn app.main:app\0\0');
    expect(parseCmdline(b, b.length)).toBe('python3 -m uvicorn app.main:app');
    expect(parseCmdline(b, 0)).toBe('');
  });

  it('treats vanished processes as no error and counts the rest by reason', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyError(e('ENOENT'))).toBe('vanished');
    expect(classifyError(e('ESRCH'))).toBe('vanished');
    expect(classifyError(e('EACCES'))).toBe('permission');
    expect(classifyError(e('EPERM'))).toBe('permission');
    expect(classifyError(e('EIO'))).toBe('other');
  });
});

describe('ProcReader on a procfs-shaped directory', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'stackwatch-proc-'));
    mkdirSync(path.join(dir, '10'));
    writeFileSync(path.join(dir, '10', 'stat'), line('ok one'));
    writeFileSync(path.join(dir, '10', 'limits'), 'Max open files            4096                 4096                 files\n');
    writeFileSync(path.join(dir, '10', 'cmdline'), 'srv\0--port\x008000\0');
    mkdirSync(path.join(dir, '11')); // vanished between listing and reading: no stat
    mkdirSync(path.join(dir, '12'));
    writeFileSync(path.join(dir, '12', 'stat'), 'garbage');
    mkdirSync(path.join(dir, '13'));
    mkdirSync(path.join(dir, '13', 'stat')); // reading a directory: EISDIR
    mkdirSync(path.join(dir, 'self'));
    writeFileSync(path.join(dir, 'uptime'), '100.25 180.00\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists pids, reads what is there, skips vanished processes silently and counts other failures', () => {
    const r = new ProcReader(dir);
    r.init();
    expect(r.pids().sort()).toEqual([10, 11, 12, 13]);
    expect(r.stat(10)?.comm).toBe('ok one');
    expect(r.maxFds(10)).toBe(4096);
    expect(r.cmdline(10)).toBe('srv --port 8000');
    expect(r.bootTime(1000)).toBeCloseTo(899.75, 5);
    expect(r.stat(11)).toBeUndefined();
    expect(r.cmdline(11)).toBeUndefined();
    expect(r.exe(11)).toBeUndefined();
    expect(r.errors).toEqual({ permission: 0, parse: 0, other: 0 });
    expect(r.stat(12)).toBeUndefined();
    expect(r.errors.parse).toBe(1);
    expect(r.stat(13)).toBeUndefined();
    expect(r.errors.other).toBe(1);
  });
});

describe('ProcReader on a real process whose name has spaces and parentheses', () => {
  const procs = new ProcessSet();
  let dir: string;
  afterAll(async () => {
    await procs.killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads its comm, exe, cmdline, fds and limits', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'stackwatch-comm-'));
    const exe = path.join(dir, 'a) (b c');
    copyFileSync('/bin/sleep', exe);
    chmodSync(exe, 0o755);
    const p = procs.start(exe, ['1000'], { stdio: 'ignore' });
    const r = new ProcReader('/proc');
    r.init();
    const s = await waitFor('the process to exec and sleep', () => { const v = r.stat(p.pid!); return v?.comm === 'a) (b c' && v.state === 'S' ? v : undefined; }, 5000, 20);
    expect(s).toMatchObject({ pid: p.pid, ppid: process.pid, state: 'S', threads: 1 });
    expect(r.exe(p.pid!)).toBe(exe);
    expect(r.cmdline(p.pid!)).toBe(`${exe} 1000`);
    // The count from one stat() (Linux >= 6.2) equals the entries of the fd directory.
    expect(r.fdCount(p.pid!)).toBe(readdirSync(`/proc/${p.pid}/fd`).length);
    expect(r.fdCount(p.pid!)).toBeGreaterThanOrEqual(3);
    expect(r.maxFds(p.pid!)).toBeGreaterThan(0);
    expect(r.errors).toEqual({ permission: 0, parse: 0, other: 0 });
  });

  it('keeps stat files open between reads, sees every change through them, and lets go of processes that end', async () => {
    const r = new ProcReader('/proc');
    r.init();
    // Busy for a while (its CPU time grows), then asleep.
    const p = procs.start('/bin/sh', ['-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec sleep 1000'], { stdio: 'ignore' });
    const first = r.stat(p.pid!)!;
    expect(r.heldFiles).toBe(1);
    const later = await waitFor('its CPU time to grow and the exec to sleep', () => {
      const v = r.stat(p.pid!);
      return v !== undefined && v.utime + v.stime > first.utime + first.stime && v.comm === 'sleep' ? v : undefined;
    }, 20_000, 20);
    expect(later.startTicks).toBe(first.startTicks);
    expect(r.heldFiles).toBe(1);
    // Another process's file is held too; listing /proc lets go of the ended one.
    expect(r.stat(process.pid)?.pid).toBe(process.pid);
    expect(r.heldFiles).toBe(2);
    await procs.kill(p, 'SIGKILL');
    await waitFor('the ended process to be unreadable', () => r.stat(p.pid!) === undefined, 5000, 20);
    r.pids();
    expect(r.heldFiles).toBe(1);
    r.close();
    expect(r.heldFiles).toBe(0);
    expect(r.stat(process.pid)?.pid).toBe(process.pid); // opened anew
    r.close();
    expect(r.errors).toEqual({ permission: 0, parse: 0, other: 0 });
  });
});

describe('ProcReader counting fds through held /proc/PID/fd directories', () => {
  const procs = new ProcessSet();
  afterAll(() => procs.killAll());

  it('keeps the directory open, counts every fd opened and closed through it, and lets go when the process ends', async () => {
    const r = new ProcReader('/proc');
    r.init();
    // Opens fd 7 on the first line, closes it and opens 8 and 9 on the second.
    const p = procs.start('/bin/sh', ['-c', 'read a; exec 7</dev/null; read b; exec 7<&- 8</dev/null 9</dev/null; exec sleep 1000'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const pid = p.pid!;
    const real = (): number => readdirSync(`/proc/${pid}/fd`).length;
    const base = await waitFor('the shell to wait for input', () => { const n = r.fdCount(pid); return n !== undefined && n === real() ? n : undefined; }, 5000, 20);
    expect(r.heldFiles).toBe(1);
    p.stdin!.write('\n');
    await waitFor('fd 7 to be counted', () => r.fdCount(pid) === base + 1 || undefined, 5000, 20);
    p.stdin!.write('\n');
    await waitFor('fds 8 and 9 to be counted, 7 gone', () => r.fdCount(pid) === base + 2 || undefined, 5000, 20);
    expect(r.fdCount(pid)).toBe(real());
    expect(r.heldFiles).toBe(1);
    await procs.kill(p, 'SIGKILL');
    await waitFor('the ended process to have no count', () => r.fdCount(pid) === undefined || undefined, 5000, 20);
    r.pids();
    expect(r.heldFiles).toBe(0);
    r.close();
    expect(r.errors).toEqual({ permission: 0, parse: 0, other: 0 });
  });
});

describe('ProcSource re-reading limits', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'stackwatch-proc-limits-'));
    mkdirSync(path.join(dir, '10', 'fd'), { recursive: true });
    writeFileSync(path.join(dir, '10', 'stat'), line('app').replace(/^4242/, '10'));
    writeFileSync(path.join(dir, 'uptime'), '100.25 180.00\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const limits = (n: number) => writeFileSync(path.join(dir, '10', 'limits'), `Max open files            ${n}                 ${n}                 files\n`);

  /** Cycles until a change of the limits file shows in the snapshot. */
  const cyclesToSee = (interval?: number): number => {
    limits(1024);
    const src = new ProcSource({ procPath: dir, groups: [], detailsForAll: true, ...(interval === undefined ? {} : { interval }) });
    src.init();
    expect(src.snapshotNow(1000)[0]?.maxFds).toBe(1024);
    limits(2048);
    for (let cycle = 1; cycle <= 100; cycle++) if (src.snapshotNow(1000 + cycle)[0]?.maxFds === 2048) return cycle;
    return Infinity;
  };

  it('re-reads them about once a minute whatever the interval: every 12th cycle at 5 s, every 60th at 1 s', () => {
    expect(cyclesToSee()).toBeLessThanOrEqual(12);
    expect(cyclesToSee(5)).toBeLessThanOrEqual(12);
    const at1s = cyclesToSee(1);
    expect(at1s).toBeGreaterThan(12);
    expect(at1s).toBeLessThanOrEqual(60);
    expect(cyclesToSee(120)).toBe(1);
  });
});

describe('pidfiles', () => {
  it('reads a pidfile; a missing one is no error; a FIFO, a directory or /dev/zero is refused at once', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sw-pidfile-'));
    try {
      const r = new ProcReader();
      writeFileSync(path.join(dir, 'ok.pid'), '1234\n');
      expect(r.text(path.join(dir, 'ok.pid'))).toBe('1234\n');
      expect(r.text(path.join(dir, 'missing.pid'))).toBeUndefined();
      expect(r.errors.other).toBe(0);
      const fifo = path.join(dir, 'fifo.pid');
      execFileSync('mkfifo', [fifo]);
      // Opened blocking, this would wait for a writer forever.
      for (const p of [fifo, dir, '/dev/zero']) expect(r.text(p)).toBeUndefined();
      expect(r.errors.other).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ProcSource snapshots in slices', () => {
  const N = 40;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'stackwatch-proc-slices-'));
    for (let pid = 100; pid < 100 + N; pid++) {
      mkdirSync(path.join(dir, String(pid), 'fd'), { recursive: true });
      writeFileSync(path.join(dir, String(pid), 'stat'), line(pid % 2 === 0 ? 'app' : 'other').replace(/^4242/, String(pid)));
      writeFileSync(path.join(dir, String(pid), 'limits'), 'Max open files            1024                 1024                 files\n');
    }
    writeFileSync(path.join(dir, 'uptime'), '100.25 180.00\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const source = () => {
    const src = new ProcSource({ procPath: dir, groups: [{ name: 'app', comm: '^app$' } as never], detailsForAll: true, sliceMs: 0 });
    src.init();
    return src;
  };
  const openFds = () => readdirSync('/proc/self/fd').length;

  it('reads what a snapshot in one go reads, letting the event loop through between processes', async () => {
    const whole = source().snapshotNow(1000);
    const { result: sliced, turns } = await turnsDuring(() => source().snapshot(1000));
    expect(sliced).toEqual(whole);
    expect(sliced).toHaveLength(N);
    expect(sliced.filter((s) => s.matches.includes('app'))).toHaveLength(N / 2);
    // With a slice of 0 ms the loop turns after every process.
    expect(turns).toBeGreaterThanOrEqual(N - 1);
  });

  it('stops where it paused when closed meanwhile, and keeps no file open', async () => {
    const before = openFds();
    const src = source();
    const pending = src.snapshot(1000);
    await new Promise((r) => setImmediate(r));
    src.close();
    await expect(pending).resolves.toEqual([]);
    expect(openFds()).toBe(before);
  });
});
