import { Counter, type Registry } from 'prom-client';
import type { Clock } from './clock';
import { capText } from './error-text';
import { TargetHistory, type HistoryState, type Interval } from './history';
import { M, type TargetKind } from './metrics/definitions';
import { gauge, counter, histogram, setCounter, type CounterOf, type GaugeOf, type HistogramOf } from './metrics/instruments';

/**
 * The shared availability tracker.
 *
 * Collectors report observations (up or down, with the time they were made); the tracker turns
 * them into the common availability metrics: up, checks, failures, outages, downtime (including
 * the outage in progress) and a recovery-time histogram. Collectors never compute outages.
 *
 * Flap damping (as in Gatus): a target counts as down after `failureThreshold` consecutive
 * failed observations and as up again after `successThreshold` consecutive good ones. An outage
 * is dated from the first failure of the run that brought the target down, and ends at the first
 * success of the run that brought it back, so damping delays the decision but not the figures.
 * A new target stays `unknown` (no `up` series) until its first run reaches a threshold.
 */

export type { TargetKind };
export type TargetState = 'unknown' | 'up' | 'down';

export interface Damping {
  failureThreshold: number;
  successThreshold: number;
}

export const NO_DAMPING: Damping = { failureThreshold: 1, successThreshold: 1 };

export interface ObserveOptions {
  /** When the observation was made (unix seconds); defaults to now. Must not go backwards. */
  at?: number;
  /** What went wrong, for a failed observation; shown on the status page to trusted viewers. */
  error?: string;
  /** How long the check took (HTTP request, MQTT round trip), for the latency history. */
  latencySeconds?: number;
}

/** Kinds whose checks measure a latency worth a history (request time, round trip). */
export const LATENCY_KINDS: ReadonlySet<TargetKind> = new Set<TargetKind>(['http', 'mqtt']);

/** A read-only view of one target, for the status page and tests. */
export interface TargetView {
  kind: TargetKind;
  target: string;
  state: TargetState;
  checks: number;
  failures: number;
  outages: number;
  lastCheck?: number;
  lastTransition?: number;
  lastError?: string;
  lastErrorAt?: number;
  /** Start of the outage in progress. */
  downSince?: number;
  /** Seconds down, including the outage in progress. */
  downtimeSeconds: number;
  /** Inside a maintenance window now (src/maintenance.ts). */
  maintenance: boolean;
  /** Down since a failure inside a maintenance window: a planned outage, not counted as one. */
  planned: boolean;
}

/** Whether a target is inside a maintenance window at an instant (unix seconds). */
export type MaintenanceCheck = (kind: TargetKind, target: string, at: number) => boolean;

interface TargetRecord {
  kind: TargetKind;
  target: string;
  /** The labels of its series, made once: an observation allocates no labels object. */
  readonly labels: { kind: TargetKind; target: string };
  damping: Damping;
  state: TargetState;
  checks: number;
  failures: number;
  outages: number;
  okStreak: number;
  okStreakStart: number;
  failStreak: number;
  failStreakStart: number;
  lastCheck?: number;
  lastTransition?: number;
  lastError?: string;
  lastErrorAt?: number;
  downSince?: number;
  /** Downtime of outages that ended. */
  closedDowntime: number;
  /** The error of the first failure of the current failure run (an outage's reason). */
  failStreakError?: string;
  /** The recovery histogram's contents (non-cumulative bucket counts, +Inf last, and sum), kept for snapshots. */
  recoveryCounts: number[];
  recoverySum: number;
  history: TargetHistory;
  /** Down because of failures that began inside a maintenance window (not an outage). */
  planned: boolean;
  /** First observation of the current stay inside a maintenance window. */
  maintenanceSince?: number | undefined;
}

/**
 * A target as saved in a snapshot (see src/storage.ts): its record without the damping (the
 * config's) and with its history's saved state; `planned` is absent in snapshots of earlier versions.
 */
export type SavedTarget = Omit<TargetRecord, 'damping' | 'labels' | 'history' | 'planned'> & { history: HistoryState; planned?: boolean | undefined };

/** A declared target in a snapshot: its saved fields, and its history to be saved piece by piece. */
export interface LiveTarget {
  fields: Omit<SavedTarget, 'history'>;
  history: TargetHistory;
}

/** TrackerState before the histories of declared targets are turned into their saved state. */
export interface TrackerSnapshot {
  savedAt: number;
  gaps: Interval[];
  live: LiveTarget[];
  /** Restored targets no collector declared (yet), kept as they were read. */
  pending: SavedTarget[];
}

/** Everything the tracker knows, as saved in a snapshot. */
export interface TrackerState {
  /** When it was taken (unix seconds). */
  savedAt: number;
  /** Time nobody watched (exporter restarts), newest last. */
  gaps: Interval[];
  targets: SavedTarget[];
}

/** Unknown-time intervals older than this are dropped (the longest history is 90 days). */
const GAP_RETENTION = 91 * 86_400;
const MAX_GAPS = 1000;
/** Restored targets that no collector declares again are kept in snapshots this many at most. */
const MAX_PENDING = 1000;

const key = (kind: TargetKind, target: string): string => `${kind}\u0000${target}`;

/** observe()'s options when there are none: one object, not a new one per observation. */
const NO_OPTIONS: ObserveOptions = Object.freeze({});

export class AvailabilityTracker {
  private readonly records = new Map<string, TargetRecord>();
  /**
   * The same records by kind, then target: an observation finds its target without building
   * the `key()` string (a new string per probe at 20 probes a second).
   */
  private readonly byKind = new Map<TargetKind, Map<string, TargetRecord>>();
  private readonly up: GaugeOf<typeof M.targetUp>;
  private readonly checks: CounterOf<typeof M.targetChecks>;
  private readonly failures: CounterOf<typeof M.targetCheckFailures>;
  private readonly lastCheck: GaugeOf<typeof M.targetLastCheck>;
  private readonly lastTransition: GaugeOf<typeof M.targetLastTransition>;
  private readonly outages: CounterOf<typeof M.targetOutages>;
  private readonly downtime: CounterOf<typeof M.targetDowntime>;
  private readonly recovery: HistogramOf<typeof M.targetRecovery>;
  private readonly recoveryBounds: readonly number[];
  /** Targets restored from a snapshot that no collector has declared (yet). */
  private readonly pending = new Map<string, SavedTarget>();
  private readonly gapList: Interval[] = [];
  /** Targets with an outage in progress (`downSince` set): their downtime grows between scrapes. */
  private readonly inOutage = new Set<TargetRecord>();
  private maintenance: MaintenanceCheck = () => false;

  constructor(registry: Registry, private readonly clock: Clock) {
    this.up = gauge(registry, M.targetUp);
    this.checks = counter(registry, M.targetChecks);
    this.failures = counter(registry, M.targetCheckFailures);
    this.lastCheck = gauge(registry, M.targetLastCheck);
    this.lastTransition = gauge(registry, M.targetLastTransition);
    this.outages = counter(registry, M.targetOutages);
    this.recovery = histogram(registry, M.targetRecovery);
    this.recoveryBounds = [...(M.targetRecovery.buckets ?? [])];
    // Downtime includes the outage in progress: the series of targets in an outage are brought up
    // to date when scraped; every other one changes only when an outage ends (see goUp()).
    const inOutage = this.inOutage;
    const now = (): number => this.clock();
    this.downtime = new Counter({
      name: M.targetDowntime.name,
      help: M.targetDowntime.help,
      labelNames: [...M.targetDowntime.labels],
      registers: [registry],
      collect(this: Counter) {
        if (inOutage.size === 0) return;
        const t = now();
        for (const r of inOutage) setCounter(this, r.labels, downtimeOf(r, t));
      },
    });
  }

  /** Sets how maintenance windows are looked up (src/maintenance.ts); none by default. */
  setMaintenance(check: MaintenanceCheck): void {
    this.maintenance = check;
  }

  /**
   * Declares a target so that its counters exist from the start (at 0). Re-declaring keeps
   * everything already known and only updates the damping.
   */
  declare(kind: TargetKind, target: string, damping: Damping = NO_DAMPING): void {
    const existing = this.find(kind, target);
    if (existing !== undefined) existing.damping = damping;
    else this.add(kind, target, damping);
  }

  private add(kind: TargetKind, target: string, damping: Damping): TargetRecord {
    const k = key(kind, target);
    const labels = { kind, target };
    const r: TargetRecord = {
      kind, target, labels, damping, state: 'unknown', checks: 0, failures: 0, outages: 0,
      okStreak: 0, okStreakStart: 0, failStreak: 0, failStreakStart: 0, closedDowntime: 0,
      recoveryCounts: new Array<number>(this.recoveryBounds.length + 1).fill(0), recoverySum: 0,
      history: new TargetHistory(LATENCY_KINDS.has(kind)), planned: false,
    };
    this.records.set(k, r);
    let ofKind = this.byKind.get(kind);
    if (ofKind === undefined) this.byKind.set(kind, (ofKind = new Map<string, TargetRecord>()));
    ofKind.set(target, r);
    // The histogram exists at zero from the start, so the first recovery is an increase() too.
    this.recovery.zero(labels);
    const saved = this.pending.get(k);
    if (saved !== undefined) {
      this.pending.delete(k);
      this.restore(r, saved);
    }
    this.checks.inc(labels, r.checks);
    this.failures.inc(labels, r.failures);
    this.outages.inc(labels, r.outages);
    if (r.downSince !== undefined) this.inOutage.add(r);
    setCounter(this.downtime, labels, downtimeOf(r, this.clock()));
    return r;
  }

  /** Continues a target from its snapshot: state, outage in progress, counters, histogram, history. */
  private restore(r: TargetRecord, s: SavedTarget): void {
    const labels = r.labels;
    Object.assign(r, {
      state: s.state, checks: s.checks, failures: s.failures, outages: s.outages,
      okStreak: s.okStreak, okStreakStart: s.okStreakStart, failStreak: s.failStreak, failStreakStart: s.failStreakStart,
      closedDowntime: s.closedDowntime, recoveryCounts: [...s.recoveryCounts], recoverySum: s.recoverySum,
      history: TargetHistory.fromJSON(s.history), planned: s.planned === true,
    });
    for (const f of ['failStreakError', 'lastCheck', 'lastTransition', 'lastError', 'lastErrorAt', 'downSince', 'maintenanceSince'] as const) {
      if (s[f] !== undefined && s[f] !== null) (r as unknown as Record<string, unknown>)[f] = s[f];
    }
    if (r.state !== 'unknown') this.up.set(labels, r.state === 'up' ? 1 : 0);
    if (r.lastCheck !== undefined) this.lastCheck.set(labels, r.lastCheck);
    if (r.lastTransition !== undefined) this.lastTransition.set(labels, r.lastTransition);
    for (const v of replayValues(this.recoveryBounds, r.recoveryCounts, r.recoverySum)) this.recovery.observe(labels, v);
  }

  /** A declared target's record. */
  private find(kind: TargetKind, target: string): TargetRecord | undefined {
    return this.byKind.get(kind)?.get(target);
  }

  /** Records one observation. Undeclared targets are declared without damping. */
  observe(kind: TargetKind, target: string, ok: boolean, opts: ObserveOptions = NO_OPTIONS): void {
    const r = this.find(kind, target) ?? this.add(kind, target, NO_DAMPING);
    const at = Math.max(opts.at ?? this.clock(), r.lastCheck ?? -Infinity);
    const labels = r.labels;
    const inWindow = this.maintenance(kind, target, at);

    r.lastCheck = at;
    this.lastCheck.set(labels, at);
    if (inWindow) {
      // Not judged: left out of the check counters (the SLI) and of the history's figures.
      r.maintenanceSince ??= at;
      r.history.maintenanceSpan(r.maintenanceSince, at);
    } else {
      if (r.maintenanceSince !== undefined) {
        r.history.maintenanceSpan(r.maintenanceSince, at);
        r.maintenanceSince = undefined;
      }
      r.checks += 1;
      r.history.check(at, ok);
      this.checks.inc(labels);
      if (!ok) {
        r.failures += 1;
        this.failures.inc(labels);
      }
    }
    if (opts.latencySeconds !== undefined) r.history.latencySample(at, opts.latencySeconds);
    if (ok) {
      if (r.okStreak === 0) r.okStreakStart = at;
      r.okStreak += 1;
      r.failStreak = 0;
    } else {
      r.lastError = capText(opts.error ?? 'check failed');
      r.lastErrorAt = at;
      if (r.failStreak === 0) {
        r.failStreakStart = at;
        r.failStreakError = r.lastError;
      }
      r.failStreak += 1;
      r.okStreak = 0;
    }

    if (r.state === 'down' && r.planned && !ok && !inWindow) {
      // Still failing after the window closed: from now on it is an outage like any other.
      r.planned = false;
      this.goDown(r, at);
    } else if (r.state !== 'down' && r.failStreak >= r.damping.failureThreshold) {
      this.goDown(r, r.failStreakStart);
    } else if (r.state !== 'up' && r.okStreak >= r.damping.successThreshold) {
      this.goUp(r, r.okStreakStart);
    }
  }

  private goDown(r: TargetRecord, since: number): void {
    const labels = r.labels;
    r.state = 'down';
    r.lastTransition = since;
    this.up.set(labels, 0);
    this.lastTransition.set(labels, since);
    if (this.maintenance(r.kind, r.target, since)) {
      // Began inside a maintenance window: planned, not an outage (no count, downtime or incident).
      r.planned = true;
      r.history.known(since);
      return;
    }
    r.planned = false;
    r.downSince = since;
    this.inOutage.add(r);
    r.outages += 1;
    r.lastTransition = since;
    r.history.known(since);
    r.history.outageStarted(since, r.failStreakError ?? r.lastError ?? 'check failed');
    this.outages.inc(labels);
    this.up.set(labels, 0);
    this.lastTransition.set(labels, since);
  }

  private goUp(r: TargetRecord, at: number): void {
    const labels = r.labels;
    r.planned = false;
    if (r.state === 'down' && r.downSince !== undefined) {
      const length = Math.max(0, at - r.downSince);
      r.closedDowntime += length;
      this.recovery.observe(labels, length);
      r.recoverySum += length;
      const b = this.recoveryBounds.findIndex((le) => length <= le);
      r.recoveryCounts[b === -1 ? this.recoveryBounds.length : b]! += 1;
      r.history.outageEnded(at, this.gapList);
    }
    r.history.known(at);
    r.state = 'up';
    r.downSince = undefined;
    if (this.inOutage.delete(r)) setCounter(this.downtime, labels, r.closedDowntime);
    r.lastTransition = at;
    this.up.set(labels, 1);
    this.lastTransition.set(labels, at);
  }

  /** Drops a target and all its series (a container removed, a target gone from config). */
  forget(kind: TargetKind, target: string): void {
    const r = this.find(kind, target);
    if (r === undefined) return;
    this.records.delete(key(kind, target));
    this.byKind.get(kind)!.delete(target);
    this.inOutage.delete(r);
    const labels = { kind, target };
    for (const m of [this.up, this.checks, this.failures, this.lastCheck, this.lastTransition, this.outages, this.downtime, this.recovery]) {
      m.remove(labels);
    }
  }

  /**
   * A latency measured for a target's check (collectors publish it in their own histograms;
   * src/latency-tap.ts passes it on). Unknown targets are ignored.
   */
  noteLatency(kind: TargetKind, target: string, seconds: number, at: number = this.clock()): void {
    this.find(kind, target)?.history.latencySample(at, seconds);
  }

  /** The history of a target (see src/history.ts). */
  history(kind: TargetKind, target: string): TargetHistory | undefined {
    return this.find(kind, target)?.history;
  }

  /** Intervals nobody watched (while the exporter was stopped): unknown, neither up nor down. */
  gaps(): readonly Interval[] {
    return this.gapList;
  }

  /** Everything needed to continue after a restart (see src/storage.ts). */
  exportState(): TrackerState {
    const s = this.snapshot();
    const targets: SavedTarget[] = s.live.map((t) => ({ ...t.fields, history: t.history.toJSON() }));
    return { savedAt: s.savedAt, gaps: s.gaps, targets: [...targets, ...s.pending] };
  }

  /**
   * exportState() with the histories of declared targets left as they are, so that src/storage.ts
   * can reuse what it already encoded of them. Take it and encode it without yielding in between.
   */
  snapshot(): TrackerSnapshot {
    const live: LiveTarget[] = [];
    for (const r of this.records.values()) {
      const { damping: _damping, labels: _labels, history, ...fields } = r;
      live.push({ fields: { ...fields, recoveryCounts: [...r.recoveryCounts] }, history });
    }
    const pending = [...this.pending.values()].slice(-MAX_PENDING);
    return { savedAt: this.clock(), gaps: this.gapList.map((g) => ({ ...g })), live, pending };
  }

  /**
   * Takes a snapshot in before the collectors start: each target continues where it stopped once
   * a collector declares it again, and the time between `state.savedAt` and now is unknown.
   * Throws (changing nothing) when the snapshot does not fit this version.
   */
  importState(state: TrackerState): void {
    const now = this.clock();
    const targets = state.targets.map((t) => checkTarget(t, this.recoveryBounds.length + 1));
    for (const t of targets) TargetHistory.fromJSON(t.history); // throws on a malformed history
    const gaps = state.gaps.filter((g) => typeof g.start === 'number' && typeof g.end === 'number' && g.end > now - GAP_RETENTION);
    if (state.savedAt < now) gaps.push({ start: state.savedAt, end: now });
    this.gapList.splice(0, this.gapList.length, ...gaps.slice(-MAX_GAPS));
    for (const t of targets) {
      const k = key(t.kind, t.target);
      if (this.records.has(k)) continue;
      this.pending.set(k, t);
    }
  }

  /**
   * Calls `fn` for every target with a key unique to it (the same while it stays declared, and
   * again if it is declared anew), the labels of its series and whether it is inside a maintenance
   * window now.
   */
  forEachMaintenance(fn: (k: string, labels: { kind: TargetKind; target: string }, inWindow: boolean) => void): void {
    const t = this.clock();
    for (const [k, r] of this.records) fn(k, r.labels, this.maintenance(r.kind, r.target, t));
  }

  /** How many targets are declared. */
  get size(): number {
    return this.records.size;
  }

  has(kind: TargetKind, target: string): boolean {
    return this.records.has(key(kind, target));
  }

  view(kind: TargetKind, target: string): TargetView | undefined {
    const r = this.records.get(key(kind, target));
    return r === undefined ? undefined : this.toView(r, this.clock());
  }

  views(): TargetView[] {
    const t = this.clock();
    return [...this.records.values()].map((r) => this.toView(r, t));
  }

  private toView(r: TargetRecord, now: number): TargetView {
    return toView(r, now, this.maintenance(r.kind, r.target, now));
  }
}

function downtimeOf(r: TargetRecord, now: number): number {
  return r.closedDowntime + (r.downSince === undefined ? 0 : Math.max(0, now - r.downSince));
}

function toView(r: TargetRecord, now: number, maintenance: boolean): TargetView {
  const v: TargetView = {
    kind: r.kind, target: r.target, state: r.state, checks: r.checks, failures: r.failures,
    outages: r.outages, downtimeSeconds: downtimeOf(r, now), maintenance, planned: r.planned,
  };
  if (r.lastCheck !== undefined) v.lastCheck = r.lastCheck;
  if (r.lastTransition !== undefined) v.lastTransition = r.lastTransition;
  if (r.lastError !== undefined) v.lastError = r.lastError;
  if (r.lastErrorAt !== undefined) v.lastErrorAt = r.lastErrorAt;
  if (r.downSince !== undefined) v.downSince = r.downSince;
  return v;
}

const KINDS: readonly TargetKind[] = ['http', 'mqtt', 'container', 'process'];
const STATES: readonly TargetState[] = ['unknown', 'up', 'down'];

/** Checks one target of a snapshot; throws on anything that does not fit. */
function checkTarget(t: SavedTarget, buckets: number): SavedTarget {
  const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const opt = (v: unknown): boolean => v === undefined || v === null || num(v);
  const ok = typeof t === 'object' && t !== null
    && KINDS.includes(t.kind) && typeof t.target === 'string' && STATES.includes(t.state)
    && [t.checks, t.failures, t.outages, t.okStreak, t.okStreakStart, t.failStreak, t.failStreakStart, t.closedDowntime, t.recoverySum].every(num)
    && [t.lastCheck, t.lastTransition, t.lastErrorAt, t.downSince].every(opt)
    && Array.isArray(t.recoveryCounts) && t.recoveryCounts.length === buckets && t.recoveryCounts.every((c) => Number.isInteger(c) && c >= 0)
    && (t.planned === undefined || t.planned === null || typeof t.planned === 'boolean') && opt(t.maintenanceSince)
    && (t.state !== 'down' || t.planned === true || num(t.downSince));
  if (!ok) throw new Error(`target ${typeof t?.kind === 'string' ? t.kind : '?'}/${typeof t?.target === 'string' ? t.target : '?'} is malformed`);
  return t;
}

/**
 * Values which, observed into an empty histogram with these bucket bounds, give exactly these
 * non-cumulative bucket counts and (within rounding) this sum: each bucket gets its count of
 * equal values inside its bounds, spread so that the total matches.
 */
export function replayValues(bounds: readonly number[], counts: readonly number[], sum: number): number[] {
  const lo: number[] = [];
  const hi: number[] = [];
  counts.forEach((c, i) => {
    const low = i === 0 ? 0 : bounds[i - 1]!;
    lo.push(c * low);
    hi.push(i < bounds.length ? c * bounds[i]! : Infinity);
  });
  const loSum = lo.reduce((a, b) => a + b, 0);
  const finiteHi = hi.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const inf = counts[counts.length - 1]! > 0;
  const out: number[] = [];
  // Share of each bucket's span [lo, hi] used; the +Inf bucket takes whatever the finite ones cannot.
  const t = inf ? 1 : Math.min(1, Math.max(0, (sum - loSum) / Math.max(1e-12, finiteHi - loSum)));
  let used = 0;
  counts.forEach((c, i) => {
    if (c === 0 || i === counts.length - 1) return;
    const low = i === 0 ? 0 : bounds[i - 1]!;
    const high = bounds[i]!;
    // Strictly above the lower bound (le is inclusive), at most the upper one.
    const v = Math.min(high, Math.max(low + (high - low) * 1e-9, low + (high - low) * t));
    for (let n = 0; n < c; n++) out.push(v);
    used += v * c;
  });
  if (inf) {
    const c = counts[counts.length - 1]!;
    const top = bounds[bounds.length - 1] ?? 0;
    const v = Math.max(top * (1 + 1e-9) + 1e-9, (sum - used) / c);
    for (let n = 0; n < c; n++) out.push(v);
  }
  return out;
}
