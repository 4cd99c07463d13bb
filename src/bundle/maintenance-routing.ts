/**
 * Maintenance windows in Alertmanager: the windows of BundleConfig.maintenance (the same data
 * and schema as the exporter's `maintenance.windows`, src/config/maintenance.ts) become
 * `time_intervals`, and the routes that notify people mute them:
 *
 *  - a window for every target mutes the page and ticket routes (and, through a last catch-all
 *    route, alerts of other rule files): planned work on the whole stack pages nobody;
 *  - a window for some targets gets, per target, a route matching `kind` and `target` ahead of
 *    the others, with copies of the page and ticket routes that mute it (and the windows for every
 *    target); outside the window that route notifies exactly as the ordinary ones do.
 *
 * The Watchdog is never muted. Recurring windows are written as they are configured (Alertmanager
 * evaluates them with the same meaning); a one-off window becomes one interval per UTC day it
 * touches, from its start rounded down to the minute to its end rounded up.
 *
 * Independently of the generated intervals, the alert StackwatchTargetInMaintenance (fired by the
 * exporter's stackwatch_target_in_maintenance gauge) inhibits every alert about the same target:
 * a window added or moved in the exporter's config and reloaded there mutes without regenerating
 * or reloading Alertmanager's config. Its route delivers it to a receiver without integrations.
 */
import { type MaintenanceWindow, parseTimestamp } from '../config/maintenance';

/** The alert the maintenance gauge fires; it inhibits, and is delivered to nobody. */
export const MAINTENANCE_ALERT = 'StackwatchTargetInMaintenance';
/** A receiver without integrations: the maintenance alert goes there. */
export const SILENT_RECEIVER = 'maintenance-silent';

type AmInterval = Record<string, unknown>;

/** Alertmanager's form of one window's intervals. */
export function amTimeIntervals(w: MaintenanceWindow): AmInterval[] {
  if (w.timeIntervals !== undefined) {
    return w.timeIntervals.map((iv) => {
      const out: AmInterval = {};
      if (iv.times !== undefined) out.times = iv.times.map((t) => ({ start_time: t.startTime, end_time: t.endTime }));
      if (iv.weekdays !== undefined) out.weekdays = iv.weekdays;
      if (iv.daysOfMonth !== undefined) out.days_of_month = iv.daysOfMonth;
      if (iv.months !== undefined) out.months = iv.months;
      if (iv.years !== undefined) out.years = iv.years;
      if (iv.location !== undefined) out.location = iv.location;
      return out;
    });
  }
  const start = parseTimestamp(w.start ?? '');
  const end = parseTimestamp(w.end ?? '');
  if (start === undefined || end === undefined) throw new Error(`maintenance window ${w.name}: malformed start or end`);
  return oneOffIntervals(start, end);
}

const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** [start, end) as Alertmanager intervals in UTC: one per day, minute precision (start down, end up). */
export function oneOffIntervals(start: number, end: number): AmInterval[] {
  const s = Math.floor(start / 60) * 60;
  const e = Math.ceil(end / 60) * 60;
  const out: AmInterval[] = [];
  for (let day = Math.floor(s / 86_400) * 86_400; day < e; day += 86_400) {
    const from = Math.max(s, day);
    const to = Math.min(e, day + 86_400);
    if (to <= from) continue;
    const d = new Date(day * 1000);
    out.push({
      times: [{ start_time: hhmm((from - day) / 60), end_time: hhmm((to - day) / 60) }],
      days_of_month: [String(d.getUTCDate())],
      months: [String(d.getUTCMonth() + 1)],
      years: [String(d.getUTCFullYear())],
    });
  }
  return out;
}

type Route = Record<string, unknown> & { matchers?: string[]; routes?: Route[]; mute_time_intervals?: string[] };

const isWatchdog = (r: Route): boolean => (r.matchers ?? []).some((m) => m.includes('StackwatchWatchdog'));
const mute = (r: Route, names: readonly string[]): Route => (names.length === 0 ? { ...r } : { ...r, mute_time_intervals: [...(r.mute_time_intervals ?? []), ...names] });

/**
 * Adds the windows to an Alertmanager config (as alertmanagerConfig builds it): `time_intervals`,
 * mute routes, the maintenance alert's route, receiver and inhibition.
 */
export function withMaintenance(config: Record<string, unknown>, windows: readonly MaintenanceWindow[]): Record<string, unknown> {
  const route = config.route as Route;
  const routes = route.routes ?? [];
  const watchdog = routes.filter(isWatchdog);
  const notifying = routes.filter((r) => !isWatchdog(r));
  const global = windows.filter((w) => w.targets === undefined).map((w) => w.name);

  const perTarget = new Map<string, { kind: string; name: string; windows: string[] }>();
  for (const w of windows) {
    for (const t of w.targets ?? []) {
      const key = `${t.kind}\u0000${t.name}`;
      const entry = perTarget.get(key) ?? { kind: t.kind, name: t.name, windows: [] };
      entry.windows.push(w.name);
      perTarget.set(key, entry);
    }
  }
  const targetRoutes: Route[] = [...perTarget.values()].map((t) => {
    const names = [...t.windows, ...global];
    return {
      matchers: [`kind="${t.kind}"`, `target="${t.name}"`],
      routes: [...notifying.map((r) => mute(r, names)), { receiver: route.receiver, mute_time_intervals: names }],
    };
  });
  const out: Record<string, unknown> = {
    ...config,
    route: {
      ...route,
      routes: [
        ...watchdog,
        { receiver: SILENT_RECEIVER, matchers: [`alertname="${MAINTENANCE_ALERT}"`] },
        ...targetRoutes,
        ...notifying.map((r) => mute(r, global)),
        ...(global.length > 0 ? [{ receiver: route.receiver, mute_time_intervals: global }] : []),
      ],
    },
    inhibit_rules: [
      ...((config.inhibit_rules as unknown[] | undefined) ?? []),
      {
        source_matchers: [`alertname="${MAINTENANCE_ALERT}"`],
        target_matchers: ['alertname=~"Stackwatch.+"', `alertname!="${MAINTENANCE_ALERT}"`],
        equal: ['job', 'instance', 'kind', 'target'],
      },
    ],
    receivers: [...((config.receivers as unknown[] | undefined) ?? []), { name: SILENT_RECEIVER }],
  };
  if (windows.length > 0) out.time_intervals = windows.map((w) => ({ name: w.name, time_intervals: amTimeIntervals(w) }));
  return out;
}
