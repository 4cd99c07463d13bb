import { existsSync } from 'node:fs';
import { fingerprint } from '../config/fingerprint';
import type { Config } from '../config/schema';
import { errorMessage } from '../error-text';
import { M, namesWithLabel } from '../metrics/definitions';
import { counter, dropSeries, gauge, type CounterOf, type GaugeOf } from '../metrics/instruments';
import type { Collector, CollectorContext } from './collector';
import { READ_ERROR_REASONS } from './proc-reader';
import { GroupTracker, type CycleResult, type GroupStats, type ProcSample } from './process-groups';
import { FALLBACK_MIN_INTERVAL, SiSource } from './process-si';
import { compileMatchers, ProcSource, type ProcessSource } from './process-source';

/**
 * The process collector. Every `process_settings.interval` (default 5 s, not at scrape time) it
 * takes a snapshot of the host's processes (every process read anew every
 * `process_settings.full_interval`, default 15 s; see ./process-source.ts), groups them
 * (declared groups from `processes`, and with `process_discovery` every other process by name),
 * and exports per group: count, CPU
 * seconds by mode, memory, fds and their limit, threads, oldest start time and restarts.
 * Declared groups are availability targets (kind "process"): down when no process matches.
 *
 * On Linux it reads /proc synchronously (./proc-reader.ts); elsewhere it falls back to
 * systeminformation at a slow rate. stackwatch_host_info comes from systeminformation once.
 */

/**
 * systeminformation's host facts alone: its index loads 23 modules (700 kB of source, kept in
 * the heap) for every kind of fact, where stackwatch_host_info needs its osinfo module.
 */
const osInfo = (): ReturnType<typeof import('systeminformation').osInfo> =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- one module of the library, loaded when first used
  (require('systeminformation/lib/osinfo') as Pick<typeof import('systeminformation'), 'osInfo'>).osInfo();

/** Every series with a `group` label, dropped when a group goes. */
const GROUP_SERIES = namesWithLabel('process', 'group');

/** One process matching a declared group directly. */
export interface MatchedProcess {
  pid: number;
  comm: string;
  /** Path of the executable; absent where it cannot be read (permission, fallback source). */
  exe?: string;
}

/** What a declared group matched in the last cycle (for the status page and `stackwatch processes`). */
export interface GroupMatches {
  group: string;
  /** Processes matching directly (children are not listed), at most MAX_LISTED_MATCHES. */
  processes: MatchedProcess[];
  /** Matching processes in all, listed or not. */
  count: number;
  /** Distinct known executables among all matches. */
  executables: string[];
  /** True when the matches run different executables: the pattern likely also matches a wrapper. */
  mixed: boolean;
  /** Why the group's pattern cannot be used (it then matches nothing). */
  error?: string;
}

export const MAX_LISTED_MATCHES = 50;

/** Groups each declared group's direct matches of one snapshot. Pure. */
export function summariseMatches(groups: readonly string[], samples: readonly ProcSample[], errors: ReadonlyMap<string, string> = new Map()): Map<string, GroupMatches> {
  const out = new Map<string, GroupMatches>();
  const exes = new Map<string, Set<string>>();
  for (const g of groups) {
    const e: GroupMatches = { group: g, processes: [], count: 0, executables: [], mixed: false };
    const err = errors.get(g);
    if (err !== undefined) e.error = err;
    out.set(g, e);
    exes.set(g, new Set());
  }
  for (const p of samples) {
    for (const g of p.matches) {
      const e = out.get(g);
      if (e === undefined) continue;
      e.count += 1;
      if (e.processes.length < MAX_LISTED_MATCHES) e.processes.push(p.exe === undefined ? { pid: p.pid, comm: p.comm } : { pid: p.pid, comm: p.comm, exe: p.exe });
      if (p.exe !== undefined) exes.get(g)!.add(p.exe);
    }
  }
  for (const e of out.values()) {
    e.executables = [...exes.get(e.group)!].sort();
    e.mixed = e.executables.length > 1;
  }
  return out;
}

/** Seconds a discovered name may stay out of the top (or gone) before its series leave. */
export const DISCOVERY_FORGET_AFTER = 300;

interface Instruments {
  count: GaugeOf<typeof M.processGroupProcesses>;
  restarts: CounterOf<typeof M.processRestarts>;
  cpu: CounterOf<typeof M.processCpu>;
  rss: GaugeOf<typeof M.processRss>;
  vms: GaugeOf<typeof M.processVirtual>;
  fds: GaugeOf<typeof M.processOpenFds>;
  maxFds: GaugeOf<typeof M.processMaxFds>;
  threads: GaugeOf<typeof M.processThreads>;
  oldest: GaugeOf<typeof M.processOldestStart>;
  readErrors: CounterOf<typeof M.processReadErrors>;
  hostInfo: GaugeOf<typeof M.hostInfo>;
  executables: GaugeOf<typeof M.processGroupExecutables>;
}

/** The process collector's section: declared groups, discovery and the sampling settings. */
export type ProcessSection = Pick<Config, 'processes' | 'process_discovery' | 'process_settings'>;

export interface ProcessCollectorOptions {
  /** Overrides DISCOVERY_FORGET_AFTER (tests). */
  forgetAfter?: number;
  /** Use the systeminformation fallback even where /proc exists (tests). */
  forceFallback?: boolean;
}

export class ProcessCollector implements Collector<ProcessSection> {
  readonly name = 'process';
  private m?: Instruments;
  private source?: ProcessSource;
  private groups?: GroupTracker;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private hostInfo?: Promise<void>;
  private stopped = false;
  private interval = 5;
  private exportedErrors: Record<string, number> = {};
  /** Discovered groups with series, to remove them when they leave. */
  private readonly exported = new Set<string>();
  private warnedPermission = false;
  /** systeminformation has no fds, fd limits or threads: those series stay absent. */
  private fallback = false;
  /** Declared groups whose pattern cannot be used, and why. */
  private setupErrors = new Map<string, string>();
  private matches = new Map<string, GroupMatches>();
  /** Groups already warned about for matching different executables. */
  private readonly warnedMixed = new Set<string>();
  private declared: ProcessSection['processes'] = [];

  constructor(
    private readonly ctx: CollectorContext,
    private readonly opts: ProcessCollectorOptions = {},
  ) {}

  /**
   * Declared groups are keyed by name: one whose definition is unchanged keeps its restarts,
   * availability and counters; a redefined one starts over as to restarts (its counters go on);
   * a removed one leaves with its series. The snapshot source is rebuilt for the new patterns.
   */
  async apply(section: ProcessSection): Promise<void> {
    const { registry, tracker, log } = this.ctx;
    const prev = this.declared;
    this.declared = section.processes;
    const first = this.m === undefined;
    const m = (this.m ??= {
      count: gauge(registry, M.processGroupProcesses), restarts: counter(registry, M.processRestarts),
      cpu: counter(registry, M.processCpu), rss: gauge(registry, M.processRss),
      vms: gauge(registry, M.processVirtual), fds: gauge(registry, M.processOpenFds),
      maxFds: gauge(registry, M.processMaxFds), threads: gauge(registry, M.processThreads),
      oldest: gauge(registry, M.processOldestStart), readErrors: counter(registry, M.processReadErrors),
      hostInfo: gauge(registry, M.hostInfo), executables: gauge(registry, M.processGroupExecutables),
    });
    const configured = section.processes.length > 0 || section.process_discovery.enabled;
    const before = new Map(prev.map((g) => [g.name, fingerprint(g)]));
    const changed = new Set(section.processes.filter((g) => before.has(g.name) && before.get(g.name) !== fingerprint(g)).map((g) => g.name));
    this.setupErrors = new Map();
    for (const c of compileMatchers(section.processes)) {
      if (c.error === undefined) continue;
      this.setupErrors.set(c.name, c.error);
      log.error({ group: c.name, error: c.error }, 'process group setup failed');
    }
    for (const reason of READ_ERROR_REASONS) m.readErrors.inc({ reason }, 0);
    for (const g of section.processes) {
      tracker.declare('process', g.name, { failureThreshold: g.failure_threshold, successThreshold: g.success_threshold });
      m.restarts.inc({ group: g.name }, 0);
    }
    const declared = section.processes.map((g) => ({ name: g.name, includeChildren: g.include_children }));
    const discoveryTop = section.process_discovery.enabled ? section.process_discovery.top : undefined;
    if (this.groups === undefined) {
      this.groups = new GroupTracker({ declared, ...(discoveryTop !== undefined ? { discoveryTop } : {}), forgetAfter: this.opts.forgetAfter ?? DISCOVERY_FORGET_AFTER });
    } else {
      const keep = new Set(section.processes.map((g) => g.name));
      for (const g of prev) if (!keep.has(g.name)) tracker.forget('process', g.name);
      for (const name of this.groups.reconfigure({ declared, ...(discoveryTop !== undefined ? { discoveryTop } : {}) }, changed)) {
        this.exported.delete(name);
        this.warnedMixed.delete(name);
        await dropSeries(registry, GROUP_SERIES, { group: name });
      }
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    // The old source holds /proc files open; a cycle still using it sees it replaced and stops.
    this.source?.close?.();
    if (!configured) {
      this.source = undefined;
      this.matches = new Map();
      return;
    }
    this.source = this.newSource(section);
    this.exportedErrors = {};
    if (first) this.hostInfo = this.readHostInfo();
    // A cycle in progress schedules the next one when it ends.
    if (this.running === undefined) this.schedule(0);
  }

  private newSource(section: ProcessSection): ProcessSource {
    const procPath = section.process_settings.proc_path;
    const discovery = section.process_discovery.enabled;
    this.interval = section.process_settings.interval;
    if (!this.opts.forceFallback && process.platform === 'linux' && existsSync(`${procPath}/stat`)) {
      const src = new ProcSource({
        procPath, groups: section.processes,
        detailsForAll: discovery || section.processes.some((g) => g.include_children),
        interval: this.interval,
        fullInterval: section.process_settings.full_interval,
      });
      src.init();
      this.fallback = false;
      return src;
    }
    this.fallback = true;
    this.interval = Math.max(this.interval, FALLBACK_MIN_INTERVAL);
    this.ctx.log.warn({ procPath, interval: this.interval }, 'no /proc here; process collector falls back to systeminformation at a slow rate');
    return new SiSource(section.processes);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A /proc cycle pauses between slices (closing its source ends it there); the systeminformation
    // fallback and the host facts run commands: do not let them hold a shutdown up (their results
    // are dropped once stopped).
    await Promise.race([
      Promise.allSettled([this.running, this.hostInfo]),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    this.source?.close?.();
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.source === undefined) return;
    this.timer = setTimeout(() => {
      this.running = this.cycle().finally(() => {
        this.running = undefined;
      });
    }, delayMs);
  }

  private async cycle(): Promise<void> {
    const startedMs = Date.now();
    const source = this.source;
    if (source === undefined) return;
    try {
      const now = this.ctx.clock();
      const samples = await source.snapshot(now);
      if (this.stopped || source !== this.source) return;
      this.record(this.groups!.update(now, samples));
      this.recordMatches(samples);
      this.ctx.stats.record(this.name, (Date.now() - startedMs) / 1000, true);
    } catch (err) {
      // A cycle that cannot run is a failed check of every declared group: none stays up on our bug.
      this.ctx.log.error({ err }, 'process collection failed');
      this.ctx.stats.record(this.name, (Date.now() - startedMs) / 1000, false);
      this.ctx.stats.error(this.name, 'internal');
      const error = `internal error: ${errorMessage(err)}`;
      for (const g of this.declared) this.ctx.tracker.observe('process', g.name, false, { error });
    } finally {
      this.schedule(Math.max(0, startedMs + this.interval * 1000 - Date.now()));
    }
  }

  private record(r: CycleResult): void {
    const m = this.m!;
    for (const name of r.removed) {
      this.removeGroup(name);
      this.exported.delete(name);
    }
    for (const [name, s] of r.groups) {
      this.set(name, s);
      if (!s.declared) this.exported.add(name);
    }
    for (const o of r.observations) {
      const setup = this.setupErrors.get(o.group);
      if (setup !== undefined) {
        this.ctx.stats.error(this.name, 'internal');
        this.ctx.tracker.observe('process', o.group, false, { at: o.at, error: setup });
        continue;
      }
      this.ctx.tracker.observe('process', o.group, o.ok, o.error === undefined ? { at: o.at } : { at: o.at, error: o.error });
    }
    const errors = this.source!.errors;
    for (const reason of READ_ERROR_REASONS) {
      const total = errors[reason] ?? 0;
      const inc = total - (this.exportedErrors[reason] ?? 0);
      if (inc > 0) m.readErrors.inc({ reason }, inc);
      this.exportedErrors[reason] = total;
    }
    if (!this.warnedPermission && (errors.permission ?? 0) > 0) {
      this.warnedPermission = true;
      this.ctx.log.warn({ errors: errors.permission }, 'some processes cannot be read (permission); their fds or exe are missing');
    }
  }

  /** What each declared group matched; flags (metric, one warning) groups running different executables. */
  private recordMatches(samples: readonly ProcSample[]): void {
    this.matches = summariseMatches(this.declared.map((g) => g.name), samples, this.setupErrors);
    if (this.fallback) return;
    for (const e of this.matches.values()) {
      this.m!.executables.set({ group: e.group }, e.executables.length);
      if (e.mixed && !this.warnedMixed.has(e.group)) {
        this.warnedMixed.add(e.group);
        this.ctx.log.warn({ group: e.group, executables: e.executables.slice(0, 5) }, 'process group matches different executables; anchor its pattern (see stackwatch processes)');
      } else if (!e.mixed) {
        this.warnedMixed.delete(e.group);
      }
    }
  }

  /**
   * What each declared group matched in the last cycle: pid, comm and exe of its direct matches,
   * and whether they run different executables. For the status page.
   */
  groupMatches(): ReadonlyMap<string, GroupMatches> {
    return this.matches;
  }

  private set(group: string, s: GroupStats): void {
    const m = this.m!;
    const labels = { group };
    m.count.set(labels, s.count);
    m.cpu.inc({ group, mode: 'user' }, s.cpuUserInc);
    m.cpu.inc({ group, mode: 'system' }, s.cpuSystemInc);
    if (s.declared) m.restarts.inc(labels, s.restartsInc);
    m.rss.set(labels, s.rss);
    m.vms.set(labels, s.vms);
    if (s.oldestStart !== undefined) m.oldest.set(labels, s.oldestStart);
    else m.oldest.remove(labels);
    if (this.fallback) return;
    m.fds.set(labels, s.fds);
    m.threads.set(labels, s.threads);
    if (s.maxFds !== undefined && Number.isFinite(s.maxFds)) m.maxFds.set(labels, s.maxFds);
    else m.maxFds.remove(labels);
  }

  private removeGroup(group: string): void {
    const m = this.m!;
    const labels = { group };
    for (const g of [m.count, m.rss, m.vms, m.fds, m.maxFds, m.threads, m.oldest]) g.remove(labels);
    m.cpu.remove({ group, mode: 'user' });
    m.cpu.remove({ group, mode: 'system' });
  }

  /** stackwatch_host_info, once, in the background: systeminformation runs a few commands. */
  private async readHostInfo(): Promise<void> {
    try {
      const os = await osInfo();
      if (this.stopped) return;
      this.m!.hostInfo.set({
        hostname: os.hostname, os: [os.distro, os.release].filter((v) => v !== '').join(' '), kernel: os.kernel, arch: os.arch,
      }, 1);
    } catch (err) {
      this.ctx.log.warn({ err }, 'cannot read host facts');
    }
  }
}
