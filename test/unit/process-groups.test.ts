import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { GroupTracker, OTHER_GROUP, type CycleResult, type ProcSample } from '../../src/collectors/process-groups';
import { compileMatchers, matchGroups, parsePidfile } from '../../src/collectors/process-source';
import { Metrics } from '../harness/prom-text';

/** A process; identity is pid + startTicks, start time derived from the ticks (boot at 0). */
function proc(pid: number, startTicks: number, o: Partial<ProcSample> = {}): ProcSample {
  return {
    pid, ppid: 1, startTicks, comm: 'app', startTime: startTicks / 100, cpuUser: 0, cpuSystem: 0,
    rss: 1000, vms: 5000, threads: 1, fds: 4, maxFds: 1024, matches: ['app'], ...o,
  };
}

const declared = (name = 'app', includeChildren = false) => ({ name, includeChildren });

/** Runs cycles and feeds the observations into a real availability tracker at the same times. */
function harness(opts: Partial<ConstructorParameters<typeof GroupTracker>[0]> = {}) {
  let now = 0;
  const registry = new Registry();
  const avail = new AvailabilityTracker(registry, () => now);
  const g = new GroupTracker({ declared: [declared()], forgetAfter: 60, ...opts });
  let restarts = 0;
  const cycle = (t: number, samples: ProcSample[]): CycleResult => {
    now = t;
    const r = g.update(t, samples);
    for (const o of r.observations) avail.observe('process', o.group, o.ok, { at: o.at, ...(o.error ? { error: o.error } : {}) });
    restarts += r.groups.get('app')?.restartsInc ?? 0;
    return r;
  };
  const metrics = async () => Metrics.parse(await registry.metrics());
  return { g, cycle, avail, metrics, restarts: () => restarts };
}

const labels = { kind: 'process', target: 'app' };

describe('process groups: restarts and availability', () => {
  it('a kill and a start 5 s later: one restart, one outage, recovery from last sighting to the new start', async () => {
    const h = harness();
    h.cycle(1000, [proc(10, 100)]);
    h.cycle(1001, [proc(10, 100)]); // last sighting of the old one
    h.cycle(1002, []); // killed at ~1001.5
    h.cycle(1005, []);
    // restarted at 1006.50 (start ticks / 100), first seen at 1007
    const r = h.cycle(1007, [proc(11, 100650)]);
    expect(r.groups.get('app')).toMatchObject({ count: 1, restartsInc: 1, restarts: 1 });
    const m = await h.metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_count', labels)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBeCloseTo(5.5, 6);
    expect(m.get('stackwatch_target_up', labels)).toBe(1);
  });

  it('a restart between two cycles (count never drops) is one restart and one short outage', async () => {
    const h = harness();
    h.cycle(1000, [proc(10, 100)]);
    const r = h.cycle(1005, [proc(11, 100200)]); // old gone, new started at 1002
    expect(r.observations).toEqual([
      { group: 'app', ok: false, at: 1000, error: 'process restarted' },
      { group: 'app', ok: true, at: 1002 },
    ]);
    expect(h.restarts()).toBe(1);
    const m = await h.metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBeCloseTo(2, 6);
  });

  it('a reused pid with a new start time is a restart', () => {
    const h = harness();
    h.cycle(1000, [proc(10, 100)]);
    h.cycle(1005, [proc(10, 100300)]);
    expect(h.restarts()).toBe(1);
  });

  it('counts a crash loop exactly, including restarts that fell between cycles and ones seen down', () => {
    const h = harness();
    let t = 1000;
    let pid = 100;
    const seq: Array<ProcSample | undefined> = [];
    // 12 crashes: each process lives 2-3 cycles; every third restart is slow enough to be seen down.
    for (let i = 0; i < 13; i++) {
      const p = proc(pid++, (t + 0.1) * 100);
      seq.push(p, p);
      if (i % 3 === 0) seq.push(undefined);
      t += i % 3 === 0 ? 3 : 2;
    }
    let time = 1000;
    for (const s of seq) {
      time += 1;
      h.cycle(time, s === undefined ? [] : [{ ...s, startTime: Math.min(s.startTime, time) }]);
    }
    expect(h.restarts()).toBe(12);
  });

  it('with several processes, one replaced is a restart but not an outage', async () => {
    const h = harness();
    h.cycle(1000, [proc(10, 1), proc(11, 2), proc(12, 3)]);
    h.cycle(1005, [proc(10, 1), proc(11, 2), proc(13, 100300)]);
    h.cycle(1010, [proc(10, 1), proc(11, 2), proc(13, 100300)]);
    expect(h.restarts()).toBe(1);
    const m = await h.metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(0);
  });

  it('a process starting for the first time is no restart; one that only ended is none either', () => {
    const h = harness();
    h.cycle(1000, []);
    h.cycle(1005, [proc(10, 100300)]);
    h.cycle(1010, [proc(10, 100300), proc(11, 100700)]); // scaled up
    h.cycle(1015, [proc(10, 100300)]); // scaled down
    expect(h.restarts()).toBe(0);
  });

  it('a group with no match is down from its first cycle, with count 0, and stays in the output', async () => {
    const h = harness();
    const r1 = h.cycle(1000, [proc(10, 1, { matches: [] })]);
    const r2 = h.cycle(1005, [proc(10, 1, { matches: [] })]);
    for (const r of [r1, r2]) {
      expect(r.groups.get('app')).toMatchObject({ declared: true, count: 0, rss: 0, fds: 0, threads: 0, cpuUser: 0 });
      expect(r.groups.get('app')?.oldestStart).toBeUndefined();
    }
    const m = await h.metrics();
    expect(m.get('stackwatch_target_up', labels)).toBe(0);
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
  });
});

describe('process groups: accounting', () => {
  it('sums the group, takes the lowest fd limit and the oldest start', () => {
    const h = harness();
    const r = h.cycle(1000, [
      proc(10, 500, { rss: 100, vms: 1000, threads: 2, fds: 5, maxFds: 1024 }),
      proc(11, 300, { rss: 50, vms: 500, threads: 3, fds: 7, maxFds: 512 }),
      proc(12, 900, { matches: [] }),
    ]);
    expect(r.groups.get('app')).toMatchObject({ count: 2, rss: 150, vms: 1500, threads: 5, fds: 12, maxFds: 512, oldestStart: 3 });
  });

  it('keeps CPU counters monotonic when processes exit, and counts a new process in full', () => {
    const h = harness();
    let r = h.cycle(1000, [proc(10, 1, { cpuUser: 10, cpuSystem: 2 }), proc(11, 2, { cpuUser: 5, cpuSystem: 1 })]);
    expect(r.groups.get('app')).toMatchObject({ cpuUser: 15, cpuSystem: 3, cpuUserInc: 15 });
    r = h.cycle(1005, [proc(10, 1, { cpuUser: 12, cpuSystem: 2.5 })]); // 11 exited
    expect(r.groups.get('app')).toMatchObject({ cpuUser: 17, cpuSystem: 3.5, cpuUserInc: 2 });
    r = h.cycle(1010, [proc(10, 1, { cpuUser: 12, cpuSystem: 2.5 }), proc(12, 100600, { cpuUser: 1, cpuSystem: 0.5 })]);
    expect(r.groups.get('app')).toMatchObject({ cpuUser: 18, cpuSystem: 4, cpuUserInc: 1, cpuSystemInc: 0.5 });
  });

  it('a reload keeps an unchanged group as it was, and a redefined group adds no lump of its processes\' past CPU', () => {
    const h = harness({ declared: [declared('app'), declared('db')] });
    const both = (cpu: number, dbMatches: string[]) => [proc(10, 1, { cpuUser: cpu }), proc(20, 2, { comm: 'db', cpuUser: 100 + cpu, matches: dbMatches })];
    h.cycle(1000, both(10, []));
    // db redefined: its pattern now matches process 20, which has run for a long time.
    const gone = h.g.reconfigure({ declared: [declared('app'), declared('db')] }, new Set(['db']));
    expect(gone).toEqual([]);
    let r = h.cycle(1005, both(11, ['db']));
    expect(r.groups.get('app')).toMatchObject({ cpuUserInc: 1, cpuUser: 11 });
    expect(r.groups.get('db')).toMatchObject({ cpuUserInc: 0, count: 1 });
    r = h.cycle(1010, both(12, ['db']));
    expect(r.groups.get('db')).toMatchObject({ cpuUserInc: 1 });
    // Removed: it leaves; app carries on.
    expect(h.g.reconfigure({ declared: [declared('app')] }, new Set())).toEqual(['db']);
    r = h.cycle(1015, both(13, ['db']));
    expect(r.groups.has('db')).toBe(false);
    expect(r.groups.get('app')).toMatchObject({ cpuUserInc: 1, cpuUser: 13 });
  });

  it('a reload turning discovery off names the discovered groups and other as gone', () => {
    const h = harness({ declared: [], discoveryTop: 1 });
    h.cycle(1000, [proc(10, 1, { comm: 'big', rss: 10_000, matches: [] }), proc(11, 2, { comm: 'small', matches: [] })]);
    expect(h.g.reconfigure({ declared: [] }, new Set()).sort()).toEqual(['big', 'other']);
    const r = h.cycle(1005, [proc(10, 1, { comm: 'big', rss: 10_000, matches: [] })]);
    expect([...r.groups.keys()]).toEqual([]);
  });

  it('include_children adds descendants of matched processes, but only roots count for restarts', () => {
    const h = harness({ declared: [declared('app', true)] });
    const tree = (child: number) => [
      proc(10, 1), proc(20, 2, { ppid: 10, matches: [] }), proc(child, 3 + child, { ppid: 20, matches: [] }),
      proc(40, 4, { ppid: 1, matches: [] }),
    ];
    let r = h.cycle(1000, tree(30));
    expect(r.groups.get('app')?.count).toBe(3);
    r = h.cycle(1005, tree(31)); // a grandchild replaced: no restart of the group
    expect(r.groups.get('app')?.count).toBe(3);
    expect(h.restarts()).toBe(0);
  });
});

describe('process groups: discovery', () => {
  const d = (pid: number, comm: string, rss: number, o: Partial<ProcSample> = {}) => proc(pid, pid, { comm, rss, matches: [], ...o });

  it('gives the top N names by memory their own group and sums the rest as other', () => {
    const h = harness({ declared: [], discoveryTop: 2 });
    const r = h.cycle(1000, [d(1, 'db', 500), d(2, 'db', 500), d(3, 'web', 800), d(4, 'cron', 10), d(5, 'sh', 20, { cpuUser: 3 })]);
    expect([...r.groups.keys()].sort()).toEqual(['db', OTHER_GROUP, 'web']);
    expect(r.groups.get('db')).toMatchObject({ count: 2, rss: 1000, declared: false });
    expect(r.groups.get(OTHER_GROUP)).toMatchObject({ count: 2, rss: 30, cpuUser: 3 });
    expect(r.observations).toEqual([]);
  });

  it('never gives a name without resident memory (kernel threads) a group of its own', () => {
    const h = harness({ declared: [], discoveryTop: 5 });
    const r = h.cycle(1000, [d(2, 'kworker/0:1-events', 0, { ppid: 2 }), d(3, 'ksoftirqd/0', 0, { ppid: 2 }), d(4, 'nginx', 5)]);
    expect([...r.groups.keys()].sort()).toEqual(['nginx', OTHER_GROUP]);
    expect(r.groups.get(OTHER_GROUP)?.count).toBe(2);
  });

  it('keeps declared processes out of discovery, and never uses a declared name or "other" for a discovered group', () => {
    const h = harness({ declared: [declared('app')], discoveryTop: 5 });
    const r = h.cycle(1000, [proc(1, 1, { comm: 'python3' }), d(2, 'app', 900), d(3, 'other', 900), d(4, 'nginx', 5)]);
    expect([...r.groups.keys()].sort()).toEqual(['app', 'nginx', OTHER_GROUP]);
    expect(r.groups.get('app')?.count).toBe(1);
    expect(r.groups.get(OTHER_GROUP)?.count).toBe(2);
  });

  it('bounds cardinality: a newcomer waits for a slot; names out of the top or gone leave after forgetAfter', () => {
    const h = harness({ declared: [], discoveryTop: 2, forgetAfter: 60 });
    h.cycle(1000, [d(1, 'a', 300), d(2, 'b', 200), d(3, 'c', 100)]);
    // c outgrows b: c waits, b keeps its group until it has been out of the top for 60 s.
    let r = h.cycle(1030, [d(1, 'a', 300), d(2, 'b', 200), d(3, 'c', 250, { cpuUser: 4 })]);
    expect([...r.groups.keys()].sort()).toEqual(['a', 'b', OTHER_GROUP]);
    expect(r.groups.get(OTHER_GROUP)?.cpuUser).toBe(4);
    r = h.cycle(1090, [d(1, 'a', 300), d(2, 'b', 200), d(3, 'c', 250, { cpuUser: 5 })]);
    expect(r.removed).toEqual(['b']);
    expect([...r.groups.keys()].sort()).toEqual(['a', 'c', OTHER_GROUP]);
    // c is a new group: it starts with its processes' whole CPU; other keeps what it had.
    expect(r.groups.get('c')).toMatchObject({ cpuUser: 5 });
    expect(r.groups.get(OTHER_GROUP)).toMatchObject({ cpuUser: 4, count: 1 });
    // a exits for good: 60 s after it was last seen (in the top) it leaves.
    h.cycle(1100, [d(3, 'c', 250)]);
    r = h.cycle(1149, [d(3, 'c', 250)]);
    expect(r.groups.get('a')).toMatchObject({ count: 0, rss: 0 });
    r = h.cycle(1151, [d(3, 'c', 250)]);
    expect(r.removed).toEqual(['a']);
    expect([...r.groups.keys()].sort()).toEqual(['c', OTHER_GROUP]);
  });

  it('never exceeds top + 1 groups under churn of many names', () => {
    const h = harness({ declared: [], discoveryTop: 5, forgetAfter: 30 });
    for (let i = 0; i < 200; i++) {
      const r = h.cycle(1000 + i * 5, Array.from({ length: 20 }, (_, j) => d(i * 100 + j, `n${(i + j) % 50}`, (i * 7 + j * 13) % 97)));
      expect(r.groups.size).toBeLessThanOrEqual(6);
    }
  });
});

describe('matchers', () => {
  const m = compileMatchers([
    { name: 'by-comm', comm: '^node$', include_children: false, failure_threshold: 1, success_threshold: 1 },
    { name: 'by-cmdline', cmdline: 'uvicorn app\\.main:app', include_children: false, failure_threshold: 1, success_threshold: 1 },
    { name: 'by-exe', exe: '/python3[.0-9]*$', include_children: false, failure_threshold: 1, success_threshold: 1 },
    { name: 'by-pidfile', pidfile: '/run/x.pid', include_children: false, failure_threshold: 1, success_threshold: 1 },
  ]);

  it('matches comm, cmdline and exe, reading cmdline and exe only when needed', () => {
    let reads = 0;
    const input = (comm: string, cmdline: string, exe: string) => ({
      comm, cmdline: () => { reads++; return cmdline; }, exe: () => { reads++; return exe; },
    });
    expect(matchGroups(m, input('python3', 'python3 -m uvicorn app.main:app', '/usr/bin/python3.11'))).toEqual(['by-cmdline', 'by-exe']);
    expect(matchGroups(m, input('node', 'node server.js', '/usr/bin/node'))).toEqual(['by-comm']);
    expect(reads).toBe(4);
    expect(matchGroups(m.slice(0, 1), input('node', '', ''))).toEqual(['by-comm']);
    expect(reads).toBe(4);
  });

  it('reads a pid from a pidfile', () => {
    expect(parsePidfile('1234\n')).toBe(1234);
    expect(parsePidfile('  77  ')).toBe(77);
    expect(parsePidfile('')).toBeUndefined();
    expect(parsePidfile('abc')).toBeUndefined();
    expect(parsePidfile('0')).toBeUndefined();
  });
});
