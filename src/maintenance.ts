import { Gauge, type Registry } from 'prom-client';
import type { AvailabilityTracker, TargetKind } from './availability';
import {
  type MaintenanceWindow, parseClock, parseDaysOfMonth, parseMonths, parseTimestamp, parseWeekdays, parseYears,
  type Range, type RecurringInterval,
} from './config/maintenance';
import { M } from './metrics/definitions';

/**
 * Maintenance windows at work in the exporter (the config is src/config/maintenance.ts).
 *
 * Whether a target is in maintenance at an instant: some window that covers it (lists it, or
 * lists no targets) is open. Recurring windows follow Alertmanager's `time_intervals`: every
 * field given must match the local time in `location` (UTC by default), `times` are [start, end)
 * in minutes of the day, `days_of_month` may count from the month's end (-1 the last day), and
 * ranges are inclusive. One-off windows are open in [start, end).
 *
 * What maintenance changes (the tracker applies it, src/availability.ts):
 *  - `stackwatch_target_in_maintenance{kind,target}` is 1 (computed when scraped);
 *  - observations made inside a window are not counted in `stackwatch_target_checks_total` and
 *    `..._check_failures_total` (so the error-ratio SLI leaves them out), and the history keeps the
 *    window as time not judged (neither up nor down: left out of uptime figures);
 *  - an outage that starts inside a window is no outage: not counted in outages, downtime or the
 *    recovery histogram, and no incident. `stackwatch_target_up` still tells the truth (0 while
 *    it fails). If the target is still down when the window ends, an outage starts then (dated
 *    from the first observation after the window) and counts as any other;
 *  - an outage already in progress when a window opens was not planned: it goes on and counts in
 *    full until the target recovers;
 *  - the status page, the API and the badges show the state "maintenance".
 */

interface Local { year: number; month: number; day: number; weekday: number; minute: number; daysInMonth: number }

const WEEKDAY_INDEX: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();
const lastLocal = new Map<string, { minute: number; local: Local }>();

/** The local calendar fields of instant `t` (unix seconds) in `zone`. */
export function localTime(t: number, zone: string): Local {
  const minuteKey = Math.floor(t / 60);
  const cached = lastLocal.get(zone);
  if (cached !== undefined && cached.minute === minuteKey) return cached.local;
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short',
    });
    formatters.set(zone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(minuteKey * 60_000))) parts[p.type] = p.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  const local: Local = {
    year, month, day: Number(parts.day), weekday: WEEKDAY_INDEX[parts.weekday!] ?? 0,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
  lastLocal.set(zone, { minute: minuteKey, local });
  return local;
}

const range = (p: ReturnType<typeof parseWeekdays>): Range => {
  if ('error' in p) throw new Error(p.error);
  return p.range;
};

/** Alertmanager's day-of-month match: negatives count from the end; clamped to the month. */
function dayMatches(r: Range, l: Local): boolean {
  const n = l.daysInMonth;
  let begin = r.begin < 0 ? n + r.begin + 1 : r.begin;
  let end = r.end < 0 ? n + r.end + 1 : r.end;
  if (begin > n) return false;
  begin = Math.max(-n, Math.min(n, begin));
  end = Math.max(-n, Math.min(n, end));
  return l.day >= begin && l.day <= end;
}

/** A recurring interval, compiled: a predicate on unix seconds. Throws on fields the schema refuses. */
export function compileInterval(iv: RecurringInterval): (t: number) => boolean {
  const zone = iv.location ?? 'UTC';
  const times = iv.times?.map((r) => ({ begin: parseClock(r.startTime)!, end: parseClock(r.endTime)! }));
  if (times?.some((r) => r.begin === undefined || r.end === undefined || r.begin >= r.end)) throw new Error('malformed times');
  const weekdays = iv.weekdays?.map((s) => range(parseWeekdays(s)));
  const days = iv.daysOfMonth?.map((s) => range(parseDaysOfMonth(s)));
  const months = iv.months?.map((s) => range(parseMonths(s)));
  const years = iv.years?.map((s) => range(parseYears(s)));
  const within = (rs: Range[] | undefined, v: number): boolean => rs === undefined || rs.some((r) => v >= r.begin && v <= r.end);
  return (t) => {
    const l = localTime(t, zone);
    return (times === undefined || times.some((r) => l.minute >= r.begin && l.minute < r.end))
      && within(weekdays, l.weekday)
      && (days === undefined || days.some((r) => dayMatches(r, l)))
      && within(months, l.month)
      && within(years, l.year);
  };
}

export interface CompiledWindow {
  name: string;
  covers: (kind: TargetKind, target: string) => boolean;
  open: (t: number) => boolean;
}

export function compileWindow(w: MaintenanceWindow): CompiledWindow {
  const targets = w.targets === undefined ? undefined : new Set(w.targets.map((x) => `${x.kind}\u0000${x.name}`));
  let open: (t: number) => boolean;
  if (w.timeIntervals !== undefined) {
    const ivs = w.timeIntervals.map(compileInterval);
    open = (t) => ivs.some((f) => f(t));
  } else {
    const start = parseTimestamp(w.start ?? '');
    const end = parseTimestamp(w.end ?? '');
    if (start === undefined || end === undefined) throw new Error(`window ${w.name}: malformed start or end`);
    open = (t) => t >= start && t < end;
  }
  return { name: w.name, covers: (kind, target) => targets === undefined || targets.has(`${kind}\u0000${target}`), open };
}

/** The windows of the current configuration; `inMaintenance` answers for a target and an instant. */
export class MaintenanceSchedule {
  private windows: CompiledWindow[] = [];

  constructor(windows: readonly MaintenanceWindow[] = []) {
    this.set(windows);
  }

  set(windows: readonly MaintenanceWindow[]): void {
    this.windows = windows.map(compileWindow);
  }

  get size(): number {
    return this.windows.length;
  }

  /** Names of the windows open for the target at `t`. */
  openWindows(kind: TargetKind, target: string, t: number): string[] {
    return this.windows.filter((w) => w.covers(kind, target) && w.open(t)).map((w) => w.name);
  }

  inMaintenance(kind: TargetKind, target: string, t: number): boolean {
    return this.windows.some((w) => w.covers(kind, target) && w.open(t));
  }
}

/**
 * Connects the schedule to the tracker and exports `stackwatch_target_in_maintenance` for every
 * target the tracker knows. `configure()` takes the windows of a (re)loaded configuration.
 */
export class Maintenance {
  readonly schedule = new MaintenanceSchedule();

  constructor(registry: Registry, tracker: AvailabilityTracker) {
    const schedule = this.schedule;
    tracker.setMaintenance((kind, target, at) => schedule.size > 0 && schedule.inMaintenance(kind, target, at));
    if (registry.getSingleMetric(M.targetInMaintenance.name) !== undefined) registry.removeSingleMetric(M.targetInMaintenance.name);
    // Computed when scraped, for every target the tracker knows: no timer, exact at any instant.
    // Only what changed is written: a value that flipped, a target added, a target gone.
    const shown = new Map<string, { value: number; seen: number; labels: { kind: TargetKind; target: string } }>();
    let generation = 0;
    new Gauge({
      name: M.targetInMaintenance.name,
      help: M.targetInMaintenance.help,
      labelNames: [...M.targetInMaintenance.labels],
      registers: [registry],
      collect(this: Gauge) {
        const g = ++generation;
        tracker.forEachMaintenance((k, labels, inWindow) => {
          const value = inWindow ? 1 : 0;
          const s = shown.get(k);
          if (s === undefined || s.value !== value) {
            this.set(labels, value);
            shown.set(k, { value, seen: g, labels });
          } else {
            s.seen = g;
          }
        });
        if (shown.size === tracker.size) return;
        for (const [k, s] of shown) {
          if (s.seen === g) continue;
          shown.delete(k);
          this.remove(s.labels);
        }
      },
    });
  }

  /** Takes the windows of a (re)loaded configuration. */
  configure(windows: readonly MaintenanceWindow[]): void {
    this.schedule.set(windows);
  }
}
