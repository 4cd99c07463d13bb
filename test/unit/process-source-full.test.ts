/**
 * ProcSource between full snapshots (process_settings.full_interval): what a declared group holds
 * is as fresh as every snapshot; every other process is reported as last read until the next full
 * snapshot. Checked against a source that reads every process every time, on a procfs-shaped
 * directory changed between snapshots.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { ProcessGroupConfig } from '../../src/config/processes';
import type { ProcSample } from '../../src/collectors/process-groups';
import { ProcSource } from '../../src/collectors/process-source';

/** A process of the fake host. */
interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** Seconds after boot. */
  start: number;
  utime: number;
  rssPages: number;
}

/** Boot at Unix time 0; the snapshots are taken at `now` = uptime. */
const BOOT = 0;

/** /proc/PID/stat as the kernel writes it: 52 fields. */
function statLine(p: Proc): string {
  const f: number[] = Array.from({ length: 53 }, () => 0);
  Object.assign(f, { 4: p.ppid, 9: 0, 14: p.utime, 15: 7, 20: 1, 22: Math.round(p.start * 100), 23: 4096 * 1000, 24: p.rssPages });
  return `${p.pid} (${p.comm}) S ${f.slice(4, 18).join(' ')} 20 0 ${f.slice(20).join(' ')}\n`;
}

class FakeProc {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'stackwatch-proc-full-'));
  private readonly live = new Map<number, Proc>();

  set(p: Proc): void {
    const d = path.join(this.dir, String(p.pid));
    if (!this.live.has(p.pid)) {
      mkdirSync(path.join(d, 'fd'), { recursive: true });
      writeFileSync(path.join(d, 'limits'), 'Max open files            1024                 1024                 files\n');
    }
    this.live.set(p.pid, { ...p });
    writeFileSync(path.join(d, 'stat'), statLine(p));
  }

  get(pid: number): Proc | undefined {
    const p = this.live.get(pid);
    return p === undefined ? undefined : { ...p };
  }

  pids(): number[] {
    return [...this.live.keys()];
  }

  end(pid: number): void {
    this.live.delete(pid);
    rmSync(path.join(this.dir, String(pid)), { recursive: true, force: true });
    // Its children go to pid 1, as the kernel re-parents orphans.
    for (const p of this.live.values()) if (p.ppid === pid) this.set({ ...p, ppid: 1 });
  }

  uptime(now: number): void {
    writeFileSync(path.join(this.dir, 'uptime'), `${(now - BOOT).toFixed(2)} 0.00\n`);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const GROUPS: ProcessGroupConfig[] = [
  { name: 'app', comm: '^app$', include_children: true, failure_threshold: 1, success_threshold: 1 },
  { name: 'db', comm: '^db$', include_children: false, failure_threshold: 1, success_threshold: 1 },
];

const source = (fake: FakeProc, fullInterval?: number): ProcSource => {
  const src = new ProcSource({
    procPath: fake.dir, groups: GROUPS, detailsForAll: true, interval: 5,
    ...(fullInterval === undefined ? {} : { fullInterval }),
  });
  src.init();
  return src;
};

const byPid = (samples: readonly ProcSample[]): Map<number, ProcSample> => new Map(samples.map((s) => [s.pid, s]));

/** Pids of the snapshot in a group including children, or below one of its roots. */
function inGroupsWithChildren(samples: readonly ProcSample[]): Set<number> {
  const kids = new Map<number, ProcSample[]>();
  for (const s of samples) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), s]);
  const out = new Set<number>();
  const stack = samples.filter((s) => s.matches.includes('app'));
  while (stack.length > 0) {
    const s = stack.pop()!;
    for (const c of kids.get(s.pid) ?? []) {
      if (out.has(c.pid)) continue;
      out.add(c.pid);
      stack.push(c);
    }
  }
  return out;
}

describe('ProcSource between full snapshots', () => {
  let fake: FakeProc;
  beforeEach(() => {
    fake = new FakeProc();
  });
  afterEach(() => fake.remove());

  it('reads the processes of declared groups, their children, new and young processes every time; the rest at full snapshots', () => {
    fake.set({ pid: 1, ppid: 0, comm: 'init', start: 1, utime: 100, rssPages: 100 });
    fake.set({ pid: 10, ppid: 1, comm: 'app', start: 10, utime: 100, rssPages: 100 });
    fake.set({ pid: 11, ppid: 10, comm: 'worker', start: 11, utime: 100, rssPages: 100 });
    fake.set({ pid: 20, ppid: 1, comm: 'cron', start: 20, utime: 100, rssPages: 100 });
    fake.set({ pid: 30, ppid: 1, comm: 'sh', start: 990, utime: 100, rssPages: 100 });
    const src = source(fake, 15);
    let now = 1000;
    const snap = (): Map<number, ProcSample> => {
      fake.uptime(now);
      const s = byPid(src.snapshotNow(now));
      now += 5;
      return s;
    };
    expect([...snap().keys()].sort((a, b) => a - b)).toEqual([1, 10, 11, 20, 30]);

    for (const pid of [1, 10, 11, 20, 30]) fake.set({ ...fake.get(pid)!, utime: 200 });
    fake.set({ pid: 40, ppid: 1, comm: 'new', start: 1004, utime: 50, rssPages: 10 });
    let s = snap();
    expect(s.get(10)?.cpuUser).toBe(2); // in a declared group
    expect(s.get(11)?.cpuUser).toBe(2); // a child of one that includes children
    expect(s.get(30)?.cpuUser).toBe(2); // younger than a minute
    expect(s.get(40)?.cpuUser).toBe(0.5); // new
    expect(s.get(20)?.cpuUser).toBe(1); // as last read
    expect(s.get(1)?.cpuUser).toBe(1);

    // An old process that execs into a group's program waits for the next full snapshot; one
    // that ends leaves at once; a re-parented child leaves its group's every-time reads.
    fake.set({ ...fake.get(20)!, comm: 'db' });
    fake.end(1);
    fake.set({ pid: 1, ppid: 0, comm: 'init', start: 1, utime: 300, rssPages: 100 });
    fake.set({ ...fake.get(11)!, ppid: 1, utime: 300 });
    s = snap();
    expect(s.get(20)?.matches).toEqual([]);
    expect(s.get(11)?.ppid).toBe(1);
    expect(s.get(11)?.cpuUser).toBe(3);
    fake.set({ ...fake.get(11)!, utime: 400 });
    s = snap(); // full
    expect(s.get(20)?.matches).toEqual(['db']);
    expect(s.get(20)?.cpuUser).toBe(2);
    expect(s.get(11)?.cpuUser).toBe(4);
    fake.set({ ...fake.get(11)!, utime: 500 });
    s = snap();
    expect(s.get(11)?.cpuUser).toBe(4); // no longer a child of the group: as last read

    fake.end(40);
    expect(snap().has(40)).toBe(false);
  });

  it('reads a process a pidfile names at once', () => {
    const pidfile = path.join(fake.dir, 'worker.pid');
    const groups: ProcessGroupConfig[] = [{ name: 'w', pidfile, include_children: false, failure_threshold: 1, success_threshold: 1 }];
    fake.set({ pid: 50, ppid: 1, comm: 'python3', start: 10, utime: 100, rssPages: 100 });
    const src = new ProcSource({ procPath: fake.dir, groups, detailsForAll: true, interval: 5, fullInterval: 60 });
    src.init();
    fake.uptime(1000);
    expect(src.snapshotNow(1000)[0]?.matches).toEqual([]);
    writeFileSync(pidfile, '50\n');
    fake.set({ ...fake.get(50)!, utime: 300 });
    const s = src.snapshotNow(1005)[0];
    expect(s?.matches).toEqual(['w']);
    expect(s?.cpuUser).toBe(3);
  });

  it('reads every process every time when full_interval is not above interval', () => {
    fake.set({ pid: 20, ppid: 1, comm: 'cron', start: 20, utime: 100, rssPages: 100 });
    fake.uptime(1000);
    for (const full of [undefined, 5, 2, 7]) {
      const src = source(fake, full);
      src.snapshotNow(1000);
      fake.set({ ...fake.get(20)!, utime: fake.get(20)!.utime + 100 });
      expect(src.snapshotNow(1005)[0]?.cpuUser).toBe(fake.get(20)!.utime / 100);
    }
  });

  type Step =
    | { op: 'start'; comm: string; parent: number; age: number }
    | { op: 'end'; which: number }
    | { op: 'work'; which: number; ticks: number }
    | { op: 'exec'; which: number; comm: string }
    | { op: 'reparent'; which: number };
  const comm = fc.constantFrom('app', 'db', 'worker', 'sh', 'cron', 'kworker/0:1');
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ op: fc.constant('start' as const), comm, parent: fc.nat(), age: fc.constantFrom(0, 3, 30, 61, 500) }),
    fc.record({ op: fc.constant('end' as const), which: fc.nat() }),
    fc.record({ op: fc.constant('work' as const), which: fc.nat(), ticks: fc.integer({ min: 1, max: 500 }) }),
    fc.record({ op: fc.constant('exec' as const), which: fc.nat(), comm }),
    fc.record({ op: fc.constant('reparent' as const), which: fc.nat() }),
  );

  it('property: every snapshot lists the host; the groups\' processes are fresh; full snapshots equal full reads', () => {
    fc.assert(
      fc.property(fc.array(fc.array(step, { maxLength: 6 }), { minLength: 2, maxLength: 9 }), fc.constantFrom(10, 15, 20), (cycles, fullInterval) => {
        const f = new FakeProc();
        try {
          let now = 1000;
          let next = 100;
          f.set({ pid: 1, ppid: 0, comm: 'init', start: 1, utime: 10, rssPages: 50 });
          const partial = new ProcSource({ procPath: f.dir, groups: GROUPS, detailsForAll: true, interval: 5, fullInterval });
          partial.init();
          const every = Math.max(1, Math.round(fullInterval / 5));
          let prev: Map<number, ProcSample> | undefined;
          cycles.forEach((steps, cycle) => {
            const pick = (n: number): Proc | undefined => {
              const pids = f.pids().filter((p) => p !== 1).sort((a, b) => a - b);
              return pids.length === 0 ? undefined : f.get(pids[n % pids.length]!);
            };
            for (const s of steps) {
              if (s.op === 'start') {
                const parents = f.pids().sort((a, b) => a - b);
                f.set({ pid: next++, ppid: parents[s.parent % parents.length]!, comm: s.comm, start: now - s.age, utime: 0, rssPages: 10 });
              } else {
                const p = pick(s.which);
                if (p === undefined) continue;
                if (s.op === 'end') f.end(p.pid);
                else if (s.op === 'work') f.set({ ...p, utime: p.utime + s.ticks, rssPages: p.rssPages + 1 });
                else if (s.op === 'exec') f.set({ ...p, comm: s.comm });
                else f.set({ ...p, ppid: 1 });
              }
            }
            f.uptime(now);
            const got = byPid(partial.snapshotNow(now));
            const fresh = new ProcSource({ procPath: f.dir, groups: GROUPS, detailsForAll: true, interval: 5 });
            fresh.init();
            const want = byPid(fresh.snapshotNow(now));
            fresh.close();
            expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
            if (cycle % every === 0 || prev === undefined) {
              expect(got).toEqual(want);
            } else {
              const kept = inGroupsWithChildren([...prev.values()]);
              for (const [pid, w] of want) {
                const last = prev.get(pid);
                // Read last time within its first minute: read again now.
                const young = now - 5 - w.startTime < 60;
                const mustBeFresh = last === undefined || last.matches.length > 0 || kept.has(pid) || young;
                if (mustBeFresh) expect(got.get(pid)).toEqual(w);
                else expect(got.get(pid)).toBe(last);
              }
            }
            prev = got;
            now += 5;
          });
          partial.close();
        } finally {
          f.remove();
        }
      }),
      { seed: 20261126, numRuns: 150 },
    );
  });
});
