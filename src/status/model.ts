import type { Registry } from 'prom-client';
import type { AvailabilityTracker, TargetKind, TargetView } from '../availability';
import type { GroupMatches } from '../collectors/process';
import { DAY, HOUR, MINUTE, type Aggregate, type Interval, type TargetHistory } from '../history';
import { M } from '../metrics/definitions';

/**
 * What the status page, the JSON API and the badges show, computed from the availability
 * tracker's history and, for figures only collectors know (the health status a backend reports,
 * memory of containers and process groups), from the metrics they publish.
 *
 * `trusted` decides whether error texts (which can quote URLs, hosts and paths) are included:
 * untrusted viewers get names, states and figures only.
 */

/** `maintenance`: inside a maintenance window (whatever the checks say; see `checkedState`). */
export type StatusState = 'up' | 'down' | 'degraded' | 'unknown' | 'maintenance';
export const WINDOWS = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY, '90d': 90 * DAY } as const;
export type WindowName = keyof typeof WINDOWS;
export const isWindow = (w: unknown): w is WindowName => typeof w === 'string' && Object.hasOwn(WINDOWS, w);

/** Points per history window: 15 minutes for 24 h, hours for 7 d, 6 hours for 30 d, days for 90 d. */
const STEP: Record<WindowName, number> = { '24h': 15 * MINUTE, '7d': HOUR, '30d': 6 * HOUR, '90d': DAY };

export interface IncidentSummary {
  start: number;
  end: number | null;
  seconds: number;
  /** The error that started it; only for trusted viewers. */
  reason?: string;
}

export interface Latency { min: number; avg: number; max: number }

export interface HistoryPoint {
  start: number;
  end: number;
  /** Share of the known time that was up, 0..1; null when nothing is known. */
  uptime: number | null;
  checks: number;
  failures: number;
  downSeconds: number;
  knownSeconds: number;
  latency?: Latency;
}

export interface TargetSummary {
  kind: TargetKind;
  name: string;
  state: StatusState;
  /** In maintenance: what the checks say meanwhile (up, down, degraded, unknown). */
  checkedState?: Exclude<StatusState, 'maintenance'>;
  /** Last change of up/down. */
  since: number | null;
  /** Length of the outage in progress; null when up. */
  outageSeconds: number | null;
  lastCheck: number | null;
  uptime: Record<'24h' | '7d' | '30d', number | null>;
  /** Mean length of the outages that ended in the last 30 days; null without any. */
  mttrSeconds30d: number | null;
  outages30d: number;
  latency24h: Latency | null;
  /** Newest first. */
  incidents: IncidentSummary[];
  /** Only for trusted viewers. */
  lastError?: string;
  /** Process groups: what the pattern matched (pid, comm, exe for trusted viewers only). */
  matches?: { count: number; mixed: boolean; processes?: { pid: number; comm: string; exe?: string }[] };
}

export interface DiscoveredSummary {
  kind: 'process' | 'container';
  name: string;
  state: string;
  memoryBytes: number | null;
  processes?: number;
  uptime24h?: number | null;
}

export interface StatusModel {
  generatedAt: number;
  counts: Record<StatusState, number>;
  targets: TargetSummary[];
  discovered: DiscoveredSummary[];
}

export interface ModelDeps {
  tracker: AvailabilityTracker;
  registry: Registry;
  clock: () => number;
  /** What each declared process group matched in its last cycle (absent: not shown). */
  processMatches?: () => ReadonlyMap<string, GroupMatches>;
}

const round = (x: number, digits = 6): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function uptimeOf(a: Aggregate): number | null {
  return a.knownSeconds <= 0 ? null : round(Math.max(0, 1 - a.downSeconds / a.knownSeconds));
}

/**
 * Aggregates the last `seconds` up to now in whole hours: the hour in progress and the ones
 * before it (so "24 h" is the last 23 hours plus the current one so far).
 */
export function windowAggregate(h: TargetHistory, seconds: number, now: number, gaps: readonly Interval[], latency = false): Aggregate {
  const from = (Math.floor(now / HOUR) + 1) * HOUR - seconds;
  return h.aggregate(from, now, now, gaps, 'hour', latency);
}

function latencyOf(a: Aggregate): Latency | undefined {
  return a.latency === undefined ? undefined : { min: round(a.latency.min), avg: round(a.latency.avg), max: round(a.latency.max) };
}

export function incidentsOf(h: TargetHistory, now: number, trusted: boolean, since = -Infinity): IncidentSummary[] {
  const out: IncidentSummary[] = [];
  for (let i = h.incidents.length - 1; i >= 0; i--) {
    const inc = h.incidents[i]!;
    if ((inc.end ?? now) < since) break;
    const s: IncidentSummary = { start: inc.start, end: inc.end ?? null, seconds: round((inc.end ?? now) - inc.start, 3) };
    if (trusted) s.reason = inc.reason;
    out.push(s);
  }
  return out;
}

/** Mean length of the outages that ended in the last `seconds` (of the last 100). */
export function mttrOf(h: TargetHistory, seconds: number, now: number): number | null {
  const from = now - seconds;
  const ended = h.incidents.filter((i) => i.end !== undefined && i.end >= from);
  return ended.length === 0 ? null : round(ended.reduce((a, i) => a + (i.end! - i.start), 0) / ended.length, 3);
}

export function history(deps: ModelDeps, kind: TargetKind, name: string, window: WindowName): HistoryPoint[] | undefined {
  const h = deps.tracker.history(kind, name);
  if (h === undefined) return undefined;
  return points(h, WINDOWS[window], STEP[window], deps.clock(), deps.tracker.gaps());
}

/** The last `span` seconds in points of `step` seconds (aligned to UTC), oldest first. */
export function points(h: TargetHistory, span: number, step: number, now: number, gaps: readonly Interval[], latency = true): HistoryPoint[] {
  const res = step < HOUR || span <= DAY ? 'minute' : 'hour';
  const end = (Math.floor(now / step) + 1) * step;
  const out: HistoryPoint[] = [];
  for (let start = end - span; start < end; start += step) out.push(pointOf(h, start, step, now, gaps, res, latency));
  return out;
}

/** One point: [start, start + step) from minute or hour slots. */
export function pointOf(h: TargetHistory, start: number, step: number, now: number, gaps: readonly Interval[], res: 'minute' | 'hour', latency = true): HistoryPoint {
  const a = h.aggregate(start, start + step, now, gaps, res, latency);
  const p: HistoryPoint = {
    start, end: start + step, uptime: uptimeOf(a), checks: a.checks, failures: a.failures,
    downSeconds: round(a.downSeconds, 3), knownSeconds: round(a.knownSeconds, 3),
  };
  const l = latencyOf(a);
  if (l !== undefined) p.latency = l;
  return p;
}

/** Gauge values by one label where another label has a value, from a published metric. */
async function gaugeValues(registry: Registry, name: string, key: string, where?: [string, string]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return out;
  for (const v of (await metric.get()).values) {
    const k = v.labels[key];
    if (typeof k !== 'string') continue;
    if (where !== undefined && v.labels[where[0]] !== where[1]) continue;
    out.set(k, v.value);
  }
  return out;
}

/** HTTP targets whose health body currently says "degraded" (the collector publishes it). */
export async function degradedTargets(registry: Registry): Promise<Set<string>> {
  const health = await gaugeValues(registry, M.healthStatus.name, 'target', ['status', 'degraded']);
  return new Set([...health.entries()].filter(([, v]) => v === 1).map(([k]) => k));
}

export function stateOf(v: TargetView, degraded: ReadonlySet<string>): StatusState {
  if (v.maintenance) return 'maintenance';
  return checkedStateOf(v, degraded);
}

/** The state the checks give, maintenance or not. */
export function checkedStateOf(v: TargetView, degraded: ReadonlySet<string>): Exclude<StatusState, 'maintenance'> {
  if (v.state === 'up' && v.kind === 'http' && degraded.has(v.target)) return 'degraded';
  return v.state;
}

export function summarize(deps: ModelDeps, v: TargetView, degraded: ReadonlySet<string>, trusted: boolean): TargetSummary {
  const now = deps.clock();
  const gaps = deps.tracker.gaps();
  const h = deps.tracker.history(v.kind, v.target)!;
  const day = windowAggregate(h, DAY, now, gaps, true);
  const month = windowAggregate(h, 30 * DAY, now, gaps);
  const s: TargetSummary = {
    kind: v.kind, name: v.target, state: stateOf(v, degraded),
    since: v.lastTransition ?? null,
    outageSeconds: v.downSince === undefined ? null : round(Math.max(0, now - v.downSince), 3),
    lastCheck: v.lastCheck ?? null,
    uptime: {
      '24h': uptimeOf(day),
      '7d': uptimeOf(windowAggregate(h, 7 * DAY, now, gaps)),
      '30d': uptimeOf(month),
    },
    mttrSeconds30d: mttrOf(h, 30 * DAY, now),
    outages30d: month.outages,
    latency24h: latencyOf(day) ?? null,
    incidents: incidentsOf(h, now, trusted, now - 90 * DAY),
  };
  if (s.state === 'maintenance') s.checkedState = checkedStateOf(v, degraded);
  if (trusted && v.lastError !== undefined) s.lastError = v.lastError;
  const matches = v.kind === 'process' ? deps.processMatches?.().get(v.target) : undefined;
  if (matches !== undefined) {
    s.matches = { count: matches.count, mixed: matches.mixed };
    if (trusted) s.matches.processes = matches.processes.map((p) => ({ pid: p.pid, comm: p.comm, ...(p.exe !== undefined ? { exe: p.exe } : {}) }));
  }
  return s;
}

const ORDER: Record<StatusState, number> = { down: 0, degraded: 1, unknown: 2, maintenance: 3, up: 4 };
const KIND_ORDER: Record<TargetKind, number> = { http: 0, mqtt: 1, traffic: 2, process: 3, container: 4 };

/** The whole status: declared targets, and what was discovered without being declared. */
export async function buildModel(deps: ModelDeps, trusted: boolean): Promise<StatusModel> {
  const now = deps.clock();
  const degradedSet = await degradedTargets(deps.registry);
  const views = deps.tracker.views();
  const declared = views.filter((v) => v.kind !== 'container');
  const targets = declared.map((v) => summarize(deps, v, degradedSet, trusted))
    .sort((a, b) => ORDER[a.state] - ORDER[b.state] || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name));

  const discovered: DiscoveredSummary[] = [];
  const gaps = deps.tracker.gaps();
  const containerMem = await gaugeValues(deps.registry, M.containerMemUsage.name, 'container');
  for (const v of views.filter((x) => x.kind === 'container')) {
    const h = deps.tracker.history('container', v.target)!;
    discovered.push({
      kind: 'container', name: v.target, state: v.state, memoryBytes: containerMem.get(v.target) ?? null,
      uptime24h: uptimeOf(windowAggregate(h, DAY, now, gaps)),
    });
  }
  const declaredGroups = new Set(views.filter((v) => v.kind === 'process').map((v) => v.target));
  const procs = await gaugeValues(deps.registry, M.processGroupProcesses.name, 'group');
  const rss = await gaugeValues(deps.registry, M.processRss.name, 'group');
  for (const [group, n] of procs) {
    if (declaredGroups.has(group)) continue;
    discovered.push({ kind: 'process', name: group, state: n > 0 ? 'running' : 'gone', memoryBytes: rss.get(group) ?? null, processes: n });
  }
  discovered.sort((a, b) => a.kind.localeCompare(b.kind) || (b.memoryBytes ?? 0) - (a.memoryBytes ?? 0) || a.name.localeCompare(b.name));

  const counts: Record<StatusState, number> = { up: 0, down: 0, degraded: 0, unknown: 0, maintenance: 0 };
  for (const t of targets) counts[t.state] += 1;
  for (const d of discovered) if (d.kind === 'container' && (d.state === 'down' || d.state === 'up')) counts[d.state] += 1;
  return { generatedAt: now, counts, targets, discovered };
}
