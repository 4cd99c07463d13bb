import { Counter, type Gauge, type Histogram, type Registry } from 'prom-client';
import type { Clock } from './clock';
import { capText } from './error-text';
import { M } from './metrics/definitions';
import { gauge, counter, histogram } from './metrics/instruments';

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

export type TargetKind = 'http' | 'mqtt' | 'container' | 'process' | 'traffic';
export type TargetState = 'unknown' | 'up' | 'down';

export interface Damping {
  failureThreshold: number;
  successThreshold: number;
}

export const NO_DAMPING: Damping = { failureThreshold: 1, successThreshold: 1 };

export interface ObserveOptions {
  /** When the observation was made (unix seconds); defaults to now. Must not go backwards. */
  at?: number;
  /** What went wrong, for a failed observation; shown on the landing page. */
  error?: string;
}

/** A read-only view of one target, for the landing page and tests. */
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
}

interface TargetRecord {
  kind: TargetKind;
  target: string;
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
}

const key = (kind: TargetKind, target: string): string => `${kind}\u0000${target}`;

export class AvailabilityTracker {
  private readonly records = new Map<string, TargetRecord>();
  private readonly up: Gauge;
  private readonly checks: Counter;
  private readonly failures: Counter;
  private readonly lastCheck: Gauge;
  private readonly lastTransition: Gauge;
  private readonly outages: Counter;
  private readonly downtime: Counter;
  private readonly recovery: Histogram;

  constructor(registry: Registry, private readonly clock: Clock) {
    this.up = gauge(registry, M.targetUp);
    this.checks = counter(registry, M.targetChecks);
    this.failures = counter(registry, M.targetCheckFailures);
    this.lastCheck = gauge(registry, M.targetLastCheck);
    this.lastTransition = gauge(registry, M.targetLastTransition);
    this.outages = counter(registry, M.targetOutages);
    this.recovery = histogram(registry, M.targetRecovery);
    // Downtime includes the outage in progress, so it is computed when scraped (no I/O here).
    const records = this.records;
    const now = (): number => this.clock();
    this.downtime = new Counter({
      name: M.targetDowntime.name,
      help: M.targetDowntime.help,
      labelNames: [...M.targetDowntime.labels],
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        const t = now();
        for (const r of records.values()) this.inc({ kind: r.kind, target: r.target }, downtimeOf(r, t));
      },
    });
  }

  /**
   * Declares a target so that its counters exist from the start (at 0). Re-declaring keeps
   * everything already known and only updates the damping.
   */
  declare(kind: TargetKind, target: string, damping: Damping = NO_DAMPING): void {
    const k = key(kind, target);
    const existing = this.records.get(k);
    if (existing !== undefined) {
      existing.damping = damping;
      return;
    }
    this.records.set(k, {
      kind, target, damping, state: 'unknown', checks: 0, failures: 0, outages: 0,
      okStreak: 0, okStreakStart: 0, failStreak: 0, failStreakStart: 0, closedDowntime: 0,
    });
    const labels = { kind, target };
    this.checks.inc(labels, 0);
    this.failures.inc(labels, 0);
    this.outages.inc(labels, 0);
    // The histogram exists at zero from the start, so the first recovery is an increase() too.
    this.recovery.zero(labels);
  }

  /** Records one observation. Undeclared targets are declared without damping. */
  observe(kind: TargetKind, target: string, ok: boolean, opts: ObserveOptions = {}): void {
    if (!this.records.has(key(kind, target))) this.declare(kind, target);
    const r = this.records.get(key(kind, target))!;
    const at = Math.max(opts.at ?? this.clock(), r.lastCheck ?? -Infinity);
    const labels = { kind, target };

    r.checks += 1;
    r.lastCheck = at;
    this.checks.inc(labels);
    this.lastCheck.set(labels, at);
    if (ok) {
      if (r.okStreak === 0) r.okStreakStart = at;
      r.okStreak += 1;
      r.failStreak = 0;
    } else {
      r.failures += 1;
      this.failures.inc(labels);
      r.lastError = capText(opts.error ?? 'check failed');
      r.lastErrorAt = at;
      if (r.failStreak === 0) r.failStreakStart = at;
      r.failStreak += 1;
      r.okStreak = 0;
    }

    if (r.state !== 'down' && r.failStreak >= r.damping.failureThreshold) {
      this.goDown(r, r.failStreakStart);
    } else if (r.state !== 'up' && r.okStreak >= r.damping.successThreshold) {
      this.goUp(r, r.okStreakStart);
    }
  }

  private goDown(r: TargetRecord, since: number): void {
    const labels = { kind: r.kind, target: r.target };
    r.state = 'down';
    r.downSince = since;
    r.outages += 1;
    r.lastTransition = since;
    this.outages.inc(labels);
    this.up.set(labels, 0);
    this.lastTransition.set(labels, since);
  }

  private goUp(r: TargetRecord, at: number): void {
    const labels = { kind: r.kind, target: r.target };
    if (r.state === 'down' && r.downSince !== undefined) {
      const length = Math.max(0, at - r.downSince);
      r.closedDowntime += length;
      this.recovery.observe(labels, length);
    }
    r.state = 'up';
    r.downSince = undefined;
    r.lastTransition = at;
    this.up.set(labels, 1);
    this.lastTransition.set(labels, at);
  }

  /** Drops a target and all its series (a container removed, a target gone from config). */
  forget(kind: TargetKind, target: string): void {
    if (!this.records.delete(key(kind, target))) return;
    const labels = { kind, target };
    for (const m of [this.up, this.checks, this.failures, this.lastCheck, this.lastTransition, this.outages, this.downtime, this.recovery]) {
      m.remove(labels);
    }
  }

  has(kind: TargetKind, target: string): boolean {
    return this.records.has(key(kind, target));
  }

  view(kind: TargetKind, target: string): TargetView | undefined {
    const r = this.records.get(key(kind, target));
    return r === undefined ? undefined : toView(r, this.clock());
  }

  views(): TargetView[] {
    const t = this.clock();
    return [...this.records.values()].map((r) => toView(r, t));
  }
}

function downtimeOf(r: TargetRecord, now: number): number {
  return r.closedDowntime + (r.downSince === undefined ? 0 : Math.max(0, now - r.downSince));
}

function toView(r: TargetRecord, now: number): TargetView {
  const v: TargetView = {
    kind: r.kind, target: r.target, state: r.state, checks: r.checks, failures: r.failures,
    outages: r.outages, downtimeSeconds: downtimeOf(r, now),
  };
  if (r.lastCheck !== undefined) v.lastCheck = r.lastCheck;
  if (r.lastTransition !== undefined) v.lastTransition = r.lastTransition;
  if (r.lastError !== undefined) v.lastError = r.lastError;
  if (r.lastErrorAt !== undefined) v.lastErrorAt = r.lastErrorAt;
  if (r.downSince !== undefined) v.downSince = r.downSince;
  return v;
}
