/**
 * Grouping, accounting and restart detection for the process collector. Pure: it is fed one
 * snapshot of the host's processes per cycle (with the time, from an injected clock) and returns
 * what to export; it does no I/O, so unit tests drive it with made-up processes and times.
 *
 * - Declared groups (from config) always exist. A process belongs to each declared group that
 *   matches it directly (its "roots"); with include_children, their descendants too.
 * - Discovery (the built-in default): processes in no declared group are grouped by comm; the
 *   `top` names by resident memory get their own group, the rest are summed as `other`. A name
 *   keeps its group while it ranks in the top, and leaves the output after `forgetAfter` seconds
 *   out of it (or with no process), so cardinality stays bounded at top + 1.
 * - CPU counters are accumulated per group from per-process increments, so they stay monotonic
 *   when processes exit (the CPU of an exited process stays counted, as in process-exporter).
 * - Restarts and availability (declared groups only): the identity of a process is pid + start
 *   time, so a restart is seen even when the count never changes and the pid is reused.
 */

/** One process as read in a cycle. */
export interface ProcSample {
  pid: number;
  ppid: number;
  /** Start time in clock ticks after boot; with the pid, the process's identity. */
  startTicks: number;
  comm: string;
  /** Unix seconds. */
  startTime: number;
  /** Cumulative CPU seconds. */
  cpuUser: number;
  cpuSystem: number;
  rss: number;
  vms: number;
  threads?: number;
  fds?: number;
  maxFds?: number;
  /** Declared groups matching this process directly. */
  matches: readonly string[];
  /** Path of the executable, where known (processes in a declared group). */
  exe?: string;
  /** `${pid}:${startTicks}`, when the source has it at hand already. */
  id?: string;
}

export interface GroupSpec {
  name: string;
  includeChildren: boolean;
}

export interface GroupTrackerOptions {
  declared: readonly GroupSpec[];
  /** Group the rest by comm: this many names get their own group. Absent: no discovery. */
  discoveryTop?: number;
  /** Seconds a discovered name stays out of the top (or without processes) before it leaves. */
  forgetAfter: number;
}

export const OTHER_GROUP = 'other';

export interface GroupStats {
  declared: boolean;
  count: number;
  /** CPU seconds added this cycle (the exported counters are increased by these). */
  cpuUserInc: number;
  cpuSystemInc: number;
  /** CPU seconds accumulated since this tracker started. */
  cpuUser: number;
  cpuSystem: number;
  rss: number;
  vms: number;
  threads: number;
  fds: number;
  /** Lowest fd limit; undefined when no process's limit is known. */
  maxFds?: number;
  /** Unix seconds; undefined when the group is empty. */
  oldestStart?: number;
  /** Restarts detected this cycle (declared groups). */
  restartsInc: number;
  restarts: number;
}

export interface Observation {
  group: string;
  ok: boolean;
  /** Unix seconds the observation stands for (last sighting of the old, first of the new). */
  at: number;
  error?: string;
}

export interface CycleResult {
  groups: Map<string, GroupStats>;
  observations: Observation[];
  /** Discovered groups that left the output this cycle. */
  removed: string[];
}

interface ProcState {
  cpuUser: number;
  cpuSystem: number;
  /** The last cycle that saw it. */
  cycle: number;
}

interface DeclaredState {
  roots: Map<string, number>;
  /** Ended roots not yet replaced by a new one. */
  pendingEnded: number;
  restarts: number;
}

interface Discovered {
  /** Last time the name ranked in the top. */
  lastInTop: number;
  /** Last time the name had a process. */
  lastSeen: number;
}

const identity = (p: ProcSample): string => `${p.pid}:${p.startTicks}`;

/** The processes of a snapshot by their parent's pid. */
export function childrenByParent(samples: readonly ProcSample[]): Map<number, ProcSample[]> {
  const children = new Map<number, ProcSample[]>();
  for (const p of samples) {
    const list = children.get(p.ppid);
    if (list === undefined) children.set(p.ppid, [p]);
    else list.push(p);
  }
  return children;
}

/** Calls `fn` once for each descendant of `roots` (not the roots themselves). */
export function forEachDescendant(children: ReadonlyMap<number, readonly ProcSample[]>, roots: readonly ProcSample[], fn: (p: ProcSample) => void): void {
  const stack = [...roots];
  const seen = new Set<number>(stack.map((p) => p.pid));
  while (stack.length > 0) {
    const p = stack.pop()!;
    for (const c of children.get(p.pid) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      fn(c);
      stack.push(c);
    }
  }
}

export class GroupTracker {
  private readonly procs = new Map<string, ProcState>();
  private readonly cpu = new Map<string, { user: number; system: number }>();
  private readonly declared = new Map<string, DeclaredState>();
  private readonly discovered = new Map<string, Discovered>();
  private prevAt: number | undefined;
  private cycles = 0;
  /** Groups redefined by reconfigure() whose counters go on: their next cycle adds no past CPU. */
  private readonly baseline = new Set<string>();
  private opts: GroupTrackerOptions;

  constructor(opts: GroupTrackerOptions) {
    this.opts = opts;
    for (const g of opts.declared) {
      this.declared.set(g.name, { roots: new Map(), pendingEnded: 0, restarts: 0 });
    }
  }

  /**
   * A reload changed the groups. `changed` names the declared groups kept under their name but
   * redefined (another pattern, children or not): they start over as to restarts and their
   * next cycle adds only CPU used from then on, so the counter does not jump by the past of
   * processes that match only now. Unchanged groups keep everything. Returns the groups that
   * leave the output (removed declared groups; discovered ones when discovery is turned off).
   */
  reconfigure(opts: Pick<GroupTrackerOptions, 'declared' | 'discoveryTop'>, changed: ReadonlySet<string>): string[] {
    const gone: string[] = [];
    const names = new Set(opts.declared.map((g) => g.name));
    for (const name of this.declared.keys()) {
      if (names.has(name)) continue;
      this.declared.delete(name);
      this.cpu.delete(name);
      gone.push(name);
    }
    for (const g of opts.declared) {
      if (this.declared.has(g.name) && !changed.has(g.name)) continue;
      this.declared.set(g.name, { roots: new Map(), pendingEnded: 0, restarts: 0 });
      // A name discovered so far that is now declared goes on as the declared group.
      this.discovered.delete(g.name);
      if (this.cpu.has(g.name)) this.baseline.add(g.name);
    }
    if (opts.discoveryTop === undefined && this.opts.discoveryTop !== undefined) {
      for (const name of [...this.discovered.keys(), OTHER_GROUP]) {
        this.cpu.delete(name);
        gone.push(name);
      }
      this.discovered.clear();
    }
    this.opts = { ...this.opts, declared: opts.declared, discoveryTop: opts.discoveryTop };
    return gone;
  }

  /** The discovered names that have their own group now. */
  discoveredGroups(): string[] {
    return [...this.discovered.keys()];
  }

  update(now: number, samples: readonly ProcSample[]): CycleResult {
    this.cycles += 1;
    const membership = new Map<ProcSample, string[]>();
    const add = (p: ProcSample, g: string): void => {
      const list = membership.get(p);
      if (list === undefined) membership.set(p, [g]);
      else if (!list.includes(g)) list.push(g);
    };

    // Declared groups: roots, then their descendants when asked.
    const rootsOf = new Map<string, ProcSample[]>();
    for (const g of this.opts.declared) rootsOf.set(g.name, []);
    for (const p of samples) {
      for (const g of p.matches) {
        const r = rootsOf.get(g);
        if (r === undefined) continue;
        r.push(p);
        add(p, g);
      }
    }
    if (this.opts.declared.some((g) => g.includeChildren)) {
      const children = childrenByParent(samples);
      for (const g of this.opts.declared) {
        if (!g.includeChildren) continue;
        forEachDescendant(children, rootsOf.get(g.name)!, (c) => add(c, g.name));
      }
    }

    // Discovery: the rest by comm, top N by resident memory, others summed.
    const removed: string[] = [];
    if (this.opts.discoveryTop !== undefined) {
      const byName = new Map<string, { rss: number; count: number; procs: ProcSample[] }>();
      for (const p of samples) {
        if (membership.has(p)) continue;
        let e = byName.get(p.comm);
        if (e === undefined) byName.set(p.comm, (e = { rss: 0, count: 0, procs: [] }));
        e.rss += p.rss;
        e.count += 1;
        e.procs.push(p);
      }
      this.rankDiscovered(now, byName, removed);
      byName.forEach((e, name) => {
        const g = this.discovered.has(name) ? name : OTHER_GROUP;
        for (const p of e.procs) add(p, g);
      });
    }

    // Per-group sums and CPU increments.
    const groups = new Map<string, GroupStats>();
    const blank = (declared: boolean): GroupStats => ({
      declared, count: 0, cpuUserInc: 0, cpuSystemInc: 0, cpuUser: 0, cpuSystem: 0, rss: 0, vms: 0,
      threads: 0, fds: 0, restartsInc: 0, restarts: 0,
    });
    // Each group's stats and how a process's CPU enters it (see below), resolved once per cycle.
    interface Slot { s: GroupStats; created: boolean; baselineNew: boolean }
    const slots = new Map<string, Slot>();
    const slotOf = (name: string, declared: boolean): Slot => {
      let slot = slots.get(name);
      if (slot === undefined) {
        const s = blank(declared);
        groups.set(name, s);
        let created = false;
        if (!this.cpu.has(name)) {
          this.cpu.set(name, { user: 0, system: 0 });
          created = true;
        }
        slots.set(name, (slot = { s, created, baselineNew: this.baseline.has(name) }));
      }
      return slot;
    };
    const groupOf = (name: string, declared: boolean): GroupStats => slotOf(name, declared).s;
    for (const g of this.opts.declared) groupOf(g.name, true);
    if (this.opts.discoveryTop !== undefined) {
      groupOf(OTHER_GROUP, false);
      for (const name of this.discovered.keys()) groupOf(name, false);
    }

    // forEach, not for-of: no [key, value] array and iterator result per process (the cycle runs
    // every few seconds, and its loops often run before the optimiser has taken them).
    membership.forEach((names, p) => {
      const id = p.id ?? identity(p);
      const before = this.procs.get(id);
      for (const name of names) {
        const slot = slots.get(name) ?? slotOf(name, this.declared.has(name));
        const s = slot.s;
        s.count += 1;
        s.rss += p.rss;
        s.vms += p.vms;
        s.threads += p.threads ?? 0;
        s.fds += p.fds ?? 0;
        if (p.maxFds !== undefined && (s.maxFds === undefined || p.maxFds < s.maxFds)) s.maxFds = p.maxFds;
        if (s.oldestStart === undefined || p.startTime < s.oldestStart) s.oldestStart = p.startTime;
        // A process counts its whole CPU in a group that is new (created with the tracker, or
        // discovered now) and when first seen after that: it ran since the last cycle. A process
        // moving into an existing group, or one of a group redefined by a reload, adds only
        // what it used since the last cycle, so no counter jumps by another group's history.
        if (!slot.created && before !== undefined) {
          s.cpuUserInc += Math.max(0, p.cpuUser - before.cpuUser);
          s.cpuSystemInc += Math.max(0, p.cpuSystem - before.cpuSystem);
        } else if (slot.created || !slot.baselineNew) {
          s.cpuUserInc += p.cpuUser;
          s.cpuSystemInc += p.cpuSystem;
        }
      }
      if (before === undefined) {
        this.procs.set(id, { cpuUser: p.cpuUser, cpuSystem: p.cpuSystem, cycle: this.cycles });
      } else {
        before.cpuUser = p.cpuUser;
        before.cpuSystem = p.cpuSystem;
        before.cycle = this.cycles;
      }
    });
    this.procs.forEach((st, id) => {
      if (st.cycle !== this.cycles) this.procs.delete(id);
    });
    for (const [name, s] of groups) {
      const acc = this.cpu.get(name)!;
      acc.user += s.cpuUserInc;
      acc.system += s.cpuSystemInc;
      s.cpuUser = acc.user;
      s.cpuSystem = acc.system;
    }
    for (const name of removed) this.cpu.delete(name);

    // Restarts and availability of declared groups.
    const observations: Observation[] = [];
    for (const g of this.opts.declared) {
      const st = this.declared.get(g.name)!;
      const s = groups.get(g.name)!;
      const now_ = new Map<string, number>();
      for (const p of rootsOf.get(g.name)!) now_.set(identity(p), p.startTime);
      this.judge(g.name, st, s, now_, now, observations);
      st.roots = now_;
      s.restarts = st.restarts;
    }
    this.prevAt = now;
    this.baseline.clear();
    return { groups, observations, removed };
  }

  private judge(name: string, st: DeclaredState, s: GroupStats, roots: Map<string, number>, now: number, out: Observation[]): void {
    const prevAt = this.prevAt;
    if (prevAt === undefined) {
      out.push(roots.size > 0 ? { group: name, ok: true, at: now } : { group: name, ok: false, at: now, error: 'no process matches' });
      return;
    }
    let ended = 0;
    for (const id of st.roots.keys()) if (!roots.has(id)) ended += 1;
    let started = 0;
    let firstStart = Infinity;
    for (const [id, startTime] of roots) {
      if (st.roots.has(id)) continue;
      started += 1;
      firstStart = Math.min(firstStart, startTime);
    }
    st.pendingEnded += ended;
    const restarts = Math.min(st.pendingEnded, started);
    st.pendingEnded -= restarts;
    st.restarts += restarts;
    s.restartsInc = restarts;

    // The first sighting of a new process is its start time (exact, from /proc), which lies
    // after the last cycle that did not see it; it can be no later than now.
    const firstOfNew = Math.min(now, Math.max(prevAt, firstStart));
    if (roots.size === 0) {
      // Gone: the outage starts at the last sighting of the old process, the previous cycle.
      out.push({ group: name, ok: false, at: st.roots.size > 0 ? prevAt : now, error: 'no process matches' });
    } else if (st.roots.size === 0) {
      out.push({ group: name, ok: true, at: firstOfNew });
    } else if (ended === st.roots.size && started > 0) {
      // Every process seen last cycle ended and a new one started in between: an outage from
      // the last sighting of the old to the start of the new.
      out.push({ group: name, ok: false, at: prevAt, error: 'process restarted' });
      out.push({ group: name, ok: true, at: firstOfNew });
    } else {
      out.push({ group: name, ok: true, at: now });
    }
  }

  private rankDiscovered(now: number, byName: Map<string, { rss: number; count: number }>, removed: string[]): void {
    const top = this.opts.discoveryTop!;
    const ranked = [...byName.entries()]
      // Names without resident memory (kernel threads, whose comm changes with their work) are
      // never worth a group of their own.
      .filter(([name, e]) => e.rss > 0 && name !== OTHER_GROUP && !this.declared.has(name))
      .sort((a, b) => b[1].rss - a[1].rss || b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))
      .slice(0, top)
      .map(([name]) => name);
    const inTop = new Set(ranked);
    for (const [name, d] of this.discovered) {
      if (inTop.has(name)) d.lastInTop = now;
      if (byName.has(name)) d.lastSeen = now;
    }
    // Names gone for good (no process, or out of the top, for forgetAfter) leave the output.
    for (const [name, d] of this.discovered) {
      if (now - d.lastSeen >= this.opts.forgetAfter || now - d.lastInTop >= this.opts.forgetAfter) {
        this.discovered.delete(name);
        removed.push(name);
      }
    }
    for (const name of ranked) {
      if (this.discovered.has(name)) continue;
      // Full: a newcomer waits until a name has been out of the top for forgetAfter and left,
      // so a name that merely swaps places with another does not churn series.
      if (this.discovered.size >= top) break;
      this.discovered.set(name, { lastInTop: now, lastSeen: now });
    }
  }
}
