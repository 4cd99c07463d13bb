import type { ProcessGroupConfig } from '../config/processes';
import { errorMessage } from '../error-text';
import { runAtOnce, runInSlices, SLICE_MS } from '../loop-turn';
import { compileUserRegex, type UserRegex } from '../user-regex';
import { PF_KTHREAD, ProcReader, USER_HZ } from './proc-reader';
import { childrenByParent, forEachDescendant, type ProcSample } from './process-groups';

/**
 * Where the process collector's snapshots come from. On Linux, /proc read synchronously, in
 * slices between which the event loop runs (ProcSource); elsewhere systeminformation
 * (./process-si.ts).
 */
export interface ProcessSource {
  /** One snapshot of every process, each with the declared groups matching it directly. */
  snapshot(now: number): ProcSample[] | Promise<ProcSample[]>;
  /** Read errors by reason since the start (vanished processes are not errors). */
  readonly errors: Readonly<Record<string, number>>;
  /** Releases what the source keeps open between snapshots. */
  close?(): void;
}

/** A declared group's matcher, compiled once (matched in linear time, see src/user-regex.ts). */
export interface Matcher {
  name: string;
  comm?: UserRegex;
  exe?: UserRegex;
  cmdline?: UserRegex;
  pidfile?: string;
  /** Why the matcher could not be built: the group matches nothing and is reported failed. */
  error?: string;
}

/**
 * Longest command line (characters) a pattern is matched against: the start of a command line
 * names the program; a local user's 2 MB argument list must not cost a regex scan of 2 MB.
 */
export const MAX_MATCHED_CMDLINE = 4096;

export function compileMatchers(groups: readonly ProcessGroupConfig[]): Matcher[] {
  return groups.map((g) => {
    const m: Matcher = { name: g.name };
    // One group's bad pattern fails that group alone.
    try {
      if (g.comm !== undefined) m.comm = compileUserRegex(g.comm);
      if (g.exe !== undefined) m.exe = compileUserRegex(g.exe);
      if (g.cmdline !== undefined) m.cmdline = compileUserRegex(g.cmdline);
    } catch (err) {
      m.error = `cannot use the pattern: ${errorMessage(err)}`;
    }
    if (g.pidfile !== undefined) m.pidfile = g.pidfile;
    return m;
  });
}

/** What a process offers for matching; cmdline and exe are read only when a matcher needs them. */
export interface MatchInput {
  comm: string;
  cmdline(): string | undefined;
  exe(): string | undefined;
}

/** The declared groups whose comm/exe/cmdline matcher matches (pidfiles are matched by pid). */
export function matchGroups(matchers: readonly Matcher[], p: MatchInput): string[] {
  const out: string[] = [];
  for (const m of matchers) {
    if (m.comm !== undefined) {
      if (m.comm.test(p.comm)) out.push(m.name);
    } else if (m.cmdline !== undefined) {
      const c = p.cmdline();
      if (c !== undefined && c !== '' && m.cmdline.test(c.length > MAX_MATCHED_CMDLINE ? c.slice(0, MAX_MATCHED_CMDLINE) : c)) out.push(m.name);
    } else if (m.exe !== undefined) {
      const e = p.exe();
      if (e !== undefined && m.exe.test(e)) out.push(m.name);
    }
  }
  return out;
}

/** The pid in a pidfile's text (first line), or undefined. */
export function parsePidfile(text: string): number | undefined {
  const m = /^\s*(\d+)\s*$/m.exec(text);
  if (m === null) return undefined;
  const pid = Number(m[1]);
  return pid > 0 ? pid : undefined;
}

/**
 * Main-thread names some runtimes give themselves, which then stand as the process's comm: Node
 * 24 names its main thread "MainThread", so every Node program would be called that.
 */
export const RUNTIME_THREAD_NAMES: ReadonlySet<string> = new Set(['MainThread']);

/**
 * The name a process is matched and discovered by: its comm, unless that is a runtime's thread
 * name (RUNTIME_THREAD_NAMES), then its executable's file name (as the kernel would have named
 * it, at most 15 bytes), or the comm when the executable cannot be read.
 */
export function processName(comm: string, exe: () => string | undefined): string {
  if (!RUNTIME_THREAD_NAMES.has(comm)) return comm;
  const path = exe()?.replace(/ \(deleted\)$/, '');
  const base = path === undefined ? '' : path.slice(path.lastIndexOf('/') + 1);
  return base === '' ? comm : Buffer.from(base, 'utf8').subarray(0, 15).toString('utf8').replace(/\uFFFD$/, '');
}

interface Cached {
  comm: string;
  /** The name the process is matched and discovered by: its comm, or its program for RUNTIME_THREAD_NAMES. */
  name: string;
  matches: string[];
  /** The executable of a process in a declared group (read once per identity; '' when unreadable). */
  exe?: string;
  /** Seen within RECHECK_YOUNGER_THAN of its start: it may still exec without changing comm. */
  recheck: boolean;
  maxFds?: number;
  cycle: number;
}

/**
 * Limits are re-read about this often (seconds) per process, staggered by pid: they rarely
 * change, and a read of /proc/PID/limits costs as much as two of its stat.
 */
const LIMITS_EVERY_SECONDS = 60;

/**
 * A process first matched this young (seconds) is matched again on later cycles until it is
 * older: right after a fork it still shows its parent's cmdline, and an exec of a program with
 * the same comm (sh -> sh script) would not change the comm that otherwise triggers a re-match.
 */
const RECHECK_YOUNGER_THAN = 5;

/**
 * A process is read in every snapshot until it is this old (seconds): a wrapper that waits for a
 * dependency and then execs the program of a group (`wait-for-it.sh db:5432 -- backend`) is seen
 * as the group's process at once when the exec comes within this time.
 */
const YOUNG_FOR = 60;

export interface ProcSourceOptions {
  procPath: string;
  groups: readonly ProcessGroupConfig[];
  /** Read fds and limits of every process (discovery, or children to be included). */
  detailsForAll: boolean;
  /** Seconds between snapshots (5 when absent): sets how many cycles apart limits are re-read. */
  interval?: number;
  /**
   * Seconds between snapshots that read every process (every snapshot when absent). The others
   * read only what may have changed what a declared group holds: processes in a declared group
   * (with their descendants where a group includes children), processes not seen before and
   * young ones; every other process is reported as last read.
   */
  fullInterval?: number;
  /** Milliseconds of reading between two turns of the event loop (SLICE_MS when absent). */
  sliceMs?: number;
}

/**
 * Snapshots from /proc. Per cycle it lists /proc and reads each process's stat; for processes
 * in a group, the fd count (one stat() since Linux 6.2) and, now and then, the limits. cmdline
 * and exe are read once per process identity (pid + start time), again only when the comm
 * changes (an exec).
 *
 * Between full snapshots (`fullInterval`) a process in no declared group that was read before is
 * not read again: its last sample stands (discovery's groups are as fresh as the full snapshots,
 * about one scrape interval). What a declared group holds stays as fresh as every snapshot: its
 * processes and their descendants are read, a new pid is read (a restart is a new pid), a process
 * that ended is gone from the listing, and a process is read in every snapshot for its first
 * minute (YOUNG_FOR), when wrappers exec the program they start. What waits for the next full
 * snapshot: an older process that execs into a group's program or is re-parented under one, and
 * a pid that ended and was reused between two listings.
 */
export class ProcSource implements ProcessSource {
  private readonly reader: ProcReader;
  private readonly matchers: Matcher[];
  private readonly pidfiles: Matcher[];
  /** Some matcher reads cmdline or exe (a comm matcher sees every exec: no re-match needed). */
  private readonly lazy: boolean;
  private readonly cache = new Map<string, Cached>();
  private cycle = 0;
  private bootTime: number | undefined;
  /** Cycles between two reads of a process's limits. */
  private readonly limitsEvery: number;
  /** Cycles between two full snapshots (1: every snapshot is full). */
  private readonly fullEvery: number;
  /** Full snapshots between two reads of the limits of a process read only in full snapshots. */
  private readonly limitsEveryFull: number;
  private fullCycles = 0;
  /**
   * The last sample of each process that may stand in a snapshot that is not full, by pid: in no
   * declared group, not young, not a descendant of a group that includes children.
   */
  private standing = new Map<number, { sample: ProcSample; cached: Cached }>();
  /** Groups that include their roots' descendants (each snapshot reads those descendants). */
  private readonly withChildren: ReadonlySet<string>;
  private closed = false;

  constructor(private readonly opts: ProcSourceOptions) {
    const interval = opts.interval ?? 5;
    this.limitsEvery = Math.max(1, Math.round(LIMITS_EVERY_SECONDS / interval));
    this.fullEvery = Math.max(1, Math.round((opts.fullInterval ?? interval) / interval));
    this.limitsEveryFull = Math.max(1, Math.round(this.limitsEvery / this.fullEvery));
    this.withChildren = new Set(opts.groups.filter((g) => g.include_children).map((g) => g.name));
    this.reader = new ProcReader(opts.procPath);
    this.matchers = compileMatchers(opts.groups);
    this.pidfiles = this.matchers.filter((m) => m.pidfile !== undefined);
    this.lazy = this.matchers.some((m) => m.cmdline !== undefined || m.exe !== undefined);
  }

  get errors(): Readonly<Record<string, number>> {
    return this.reader.errors;
  }

  init(): void {
    this.closed = false;
    this.reader.init();
  }

  /** Whether the next snapshot reads every process. */
  private get nextIsFull(): boolean {
    return this.cycle % this.fullEvery === 0;
  }

  /**
   * Closes the /proc files the reader keeps open between snapshots. A snapshot paused between
   * slices stops there (its caller has moved on to another source or is stopping).
   */
  close(): void {
    this.closed = true;
    this.reader.close();
  }

  /**
   * One snapshot, read in slices of a few milliseconds with the event loop let through between
   * them: 600 processes take ~25 ms, which would otherwise delay every timer and request by as
   * much. Empty when the source was closed meanwhile.
   */
  async snapshot(now: number): Promise<ProcSample[]> {
    return (await runInSlices(this.walk(now), () => this.closed, this.opts.sliceMs ?? SLICE_MS)) ?? [];
  }

  /** The same snapshot in one go (the `processes` command, benchmarks, tests). */
  snapshotNow(now: number): ProcSample[] {
    return runAtOnce(this.walk(now));
  }

  /** Reads the snapshot, one process per step. */
  private *walk(now: number): Generator<undefined, ProcSample[]> {
    const full = this.nextIsFull;
    const cycle = ++this.cycle;
    if (full) this.fullCycles += 1;
    const r = this.reader;
    // Boot time from /proc/uptime (10 ms) rather than btime (whole seconds); kept stable unless
    // the wall clock stepped, so start times do not jitter between cycles.
    const boot = r.bootTime(now);
    if (boot !== undefined && (this.bootTime === undefined || Math.abs(boot - this.bootTime) > 0.5)) this.bootTime = boot;
    const bootTime = this.bootTime ?? 0;

    const byPidfile = new Map<number, string[]>();
    for (const m of this.pidfiles) {
      const text = r.text(m.pidfile!);
      const pid = text === undefined ? undefined : parsePidfile(text);
      if (pid === undefined) continue;
      const list = byPidfile.get(pid);
      if (list === undefined) byPidfile.set(pid, [m.name]);
      else list.push(m.name);
    }

    const out: ProcSample[] = [];
    const standing = this.standing;
    const nextStanding = new Map<number, { sample: ProcSample; cached: Cached }>();
    const pageSize = r.pageSize;
    for (const pid of r.pids()) {
      if (!full) {
        const last = standing.get(pid);
        if (last !== undefined && !byPidfile.has(pid)) {
          last.cached.cycle = cycle;
          nextStanding.set(pid, last);
          out.push(last.sample);
          continue;
        }
      }
      const st = r.stat(pid);
      // A zombie (or dead) process has exited: only its parent has not collected its status yet. It
      // runs nothing, so it is in no group (a supervisor that never reaps must not keep a dead
      // backend up); its identity is forgotten with the cycle.
      if (st === undefined || st.state === 'Z' || st.state === 'X') continue;
      const kthread = (st.flags & PF_KTHREAD) !== 0;
      const key = `${pid}:${st.startTicks}`;
      const startTime = bootTime + st.startTicks / USER_HZ;
      let c = this.cache.get(key);
      if (c === undefined || c.comm !== st.comm || c.recheck) {
        const name = kthread ? st.comm : processName(st.comm, () => r.exe(pid));
        const matches = kthread
          ? matchGroups(this.matchers.filter((m) => m.comm !== undefined), { comm: name, cmdline: () => undefined, exe: () => undefined })
          : matchGroups(this.matchers, { comm: name, cmdline: () => r.cmdline(pid), exe: () => r.exe(pid) });
        const recheck = this.lazy && !kthread && now - startTime < RECHECK_YOUNGER_THAN;
        if (c === undefined) {
          c = { comm: st.comm, name, matches, recheck, cycle };
          this.cache.set(key, c);
        } else {
          c.comm = st.comm;
          c.name = name;
          c.matches = matches;
          c.recheck = recheck;
          c.exe = undefined;
        }
      }
      // Which program each match runs, to flag groups whose pattern also matches a wrapper.
      if (c.matches.length > 0 && c.exe === undefined && !kthread) c.exe = r.exe(pid) ?? '';
      c.cycle = cycle;
      const byFile = byPidfile.get(pid);
      const matches = byFile === undefined ? c.matches : [...c.matches, ...byFile];
      const sample: ProcSample = {
        id: key, pid, ppid: st.ppid, startTicks: st.startTicks, comm: c.name,
        startTime,
        cpuUser: st.utime / USER_HZ, cpuSystem: st.stime / USER_HZ,
        rss: st.rssPages * pageSize, vms: st.vsize, threads: st.threads, matches,
      };
      if (c.exe !== undefined && c.exe !== '') sample.exe = c.exe;
      // Standing between full snapshots (see the class): read only in full ones from now on.
      const stands = this.fullEvery > 1 && c.matches.length === 0 && byFile === undefined && now - startTime >= YOUNG_FOR;
      if (!kthread && (this.opts.detailsForAll || matches.length > 0)) {
        const fds = r.fdCount(pid);
        if (fds !== undefined) sample.fds = fds;
        const limitsDue = stands && standing.has(pid)
          ? (this.fullCycles + pid) % this.limitsEveryFull === 0
          : (cycle + pid) % this.limitsEvery === 0;
        if (c.maxFds === undefined || limitsDue) {
          const max = r.maxFds(pid);
          if (max !== undefined) c.maxFds = max;
        }
        if (c.maxFds !== undefined) sample.maxFds = c.maxFds;
      }
      if (stands) nextStanding.set(pid, { sample, cached: c });
      out.push(sample);
      yield;
    }
    if (this.withChildren.size > 0 && nextStanding.size > 0) this.unstandDescendants(out, nextStanding);
    this.standing = nextStanding;
    this.cache.forEach((c, key) => {
      if (c.cycle !== cycle) this.cache.delete(key);
    });
    return out;
  }

  /**
   * Descendants of the roots of groups that include children are read in every snapshot: they
   * count in those groups, and one that is re-parented away must leave them at once.
   */
  private unstandDescendants(samples: readonly ProcSample[], standing: Map<number, unknown>): void {
    const roots = samples.filter((p) => p.matches.some((g) => this.withChildren.has(g)));
    forEachDescendant(childrenByParent(samples), roots, (c) => standing.delete(c.pid));
  }
}
