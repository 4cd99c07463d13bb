import { z } from 'zod';
import { TARGET_KINDS as KINDS } from '../metrics/definitions';
import { targetName } from './common';

/**
 * The `maintenance:` section: planned work that does not page and does not spend the error
 * budget. The exporter evaluates the windows itself (src/maintenance.ts: the
 * stackwatch_target_in_maintenance gauge, the tracker leaving maintenance out of its figures, the
 * status page's "maintenance" state); the bundle turns the same windows into Alertmanager
 * `time_intervals` and `mute_time_intervals` (src/bundle/alerts-routing.ts). Both read this module.
 *
 * A window is either recurring, in Alertmanager's `time_intervals` form (times, weekdays,
 * days_of_month, months, years, location, with Alertmanager's meaning), or one-off (`start` and
 * `end`, RFC 3339 timestamps with a zone). It covers the targets it lists (kind and name), or
 * every target when it lists none.
 *
 * ```yaml
 * maintenance:
 *   windows:
 *     - name: nightly-backup
 *       targets: [{ kind: http, name: backend }]
 *       time_intervals:
 *         - weekdays: ['monday:friday']
 *           times: [{ start_time: '02:00', end_time: '02:30' }]
 *           location: Europe/Berlin
 *     - name: upgrade
 *       start: 2026-12-01T02:00:00Z
 *       end: 2026-12-01T04:00:00Z
 * ```
 */

export const TARGET_KINDS = KINDS.values;

/** Plain data (the parsed config; also BundleConfig.maintenance). */
export interface TimeRangeSpec { startTime: string; endTime: string }
export interface RecurringInterval {
  times?: TimeRangeSpec[];
  weekdays?: string[];
  daysOfMonth?: string[];
  months?: string[];
  years?: string[];
  /** IANA time zone (Europe/Berlin); UTC when absent. */
  location?: string;
}
export interface MaintenanceTarget { kind: (typeof TARGET_KINDS)[number]; name: string }
export interface MaintenanceWindow {
  /** Becomes the Alertmanager time interval's name. */
  name: string;
  /** The targets it covers; absent: every target. */
  targets?: MaintenanceTarget[];
  /** Recurring: the window is open while any of these matches. */
  timeIntervals?: RecurringInterval[];
  /** One-off: RFC 3339 timestamps with a zone; open in [start, end). */
  start?: string;
  end?: string;
}

/** An inclusive range of numbers, as parsed from `a:b` or `a`. */
export interface Range { begin: number; end: number }

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'] as const;

/** `HH:MM` (00:00-23:59) or 24:00, in minutes of the day; undefined when malformed. */
export function parseClock(s: string): number | undefined {
  if (s === '24:00') return 1440;
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(s);
  return m === null ? undefined : Number(m[1]) * 60 + Number(m[2]);
}

type Parsed = { range: Range } | { error: string };

/** One side of a range: a name from `names` (any case) or an integer. */
function value(s: string, names: readonly string[] | undefined, offset: number): number | undefined {
  const lower = s.toLowerCase();
  if (names !== undefined) {
    const i = names.indexOf(lower);
    if (i !== -1) return i + offset;
  }
  return /^-?\d{1,6}$/.test(s) ? Number(s) : undefined;
}

function parseRange(s: string, what: string, names: readonly string[] | undefined, offset: number, valid: (n: number) => boolean, order: (r: Range) => boolean): Parsed {
  const parts = s.split(':');
  if (parts.length > 2 || s.length > 40) return { error: `expected a ${what} or a range ${what}:${what}, got ${JSON.stringify(s.slice(0, 40))}` };
  const nums = parts.map((p) => value(p.trim(), names, offset));
  if (nums.some((n) => n === undefined || !valid(n))) return { error: `expected a ${what} or a range ${what}:${what}, got ${JSON.stringify(s)}` };
  const range = { begin: nums[0]!, end: nums[nums.length - 1]! };
  if (!order(range)) return { error: `range ${JSON.stringify(s)} ends before it begins` };
  return { range };
}

/** Alertmanager's weekday ranges: names, sunday..saturday, begin <= end (0 = sunday). */
export function parseWeekdays(s: string): Parsed {
  if (/^-?\d+$/.test(s.split(':')[0]!.trim())) return { error: `expected a weekday name or a range like monday:friday, got ${JSON.stringify(s.slice(0, 40))}` };
  return parseRange(s, 'weekday', WEEKDAYS, 0, (n) => n >= 0 && n <= 6, (r) => r.begin <= r.end);
}

/**
 * Days of the month, 1..31 or -31..-1 (counted from the month's end, -1 the last day). As
 * Alertmanager checks it: with negatives taken as 30 + n, the beginning must not lie after the end.
 */
export function parseDaysOfMonth(s: string): Parsed {
  return parseRange(s, 'day of month', undefined, 0, (n) => n !== 0 && n >= -31 && n <= 31, (r) => {
    const b = r.begin < 0 ? 30 + r.begin : r.begin;
    const e = r.end < 0 ? 30 + r.end : r.end;
    return b <= e;
  });
}

/** Months by name or number (1..12). */
export function parseMonths(s: string): Parsed {
  return parseRange(s, 'month', MONTHS, 1, (n) => n >= 1 && n <= 12, (r) => r.begin <= r.end);
}

/** Years (1..9999). */
export function parseYears(s: string): Parsed {
  return parseRange(s, 'year', undefined, 0, (n) => n >= 1 && n <= 9999, (r) => r.begin <= r.end);
}

/** Whether a time zone name is known to this runtime (and so to Alertmanager's tz database). */
export function validZone(zone: string): boolean {
  if (zone === 'Local' || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Parses an RFC 3339 timestamp with a zone (Z or ±hh:mm); unix seconds, or undefined. */
export function parseTimestamp(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  if (m === null) return undefined;
  const [, , mo, d, h, mi, sec] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(sec ?? 0) > 59) return undefined;
  const ms = Date.parse(s.replace(' ', 'T'));
  if (!Number.isFinite(ms)) return undefined;
  // Date.parse rolls 2026-02-31 over into March: refuse dates that do not exist.
  const zone = m[8]!.toUpperCase() === 'Z' ? 0 : (m[8]![0] === '-' ? -1 : 1) * (Number(m[8]!.slice(1, 3)) * 60 + Number(m[8]!.slice(4, 6)));
  const local = new Date(ms + zone * 60_000);
  if (local.getUTCDate() !== Number(d) || local.getUTCMonth() + 1 !== Number(mo)) return undefined;
  return ms / 1000;
}

/** A list of range strings, each checked with `parse`. */
const ranges = (parse: (s: string) => Parsed, example: string) => z
  .array(z.union([z.string(), z.number()], { error: `expected a value or a range like ${example}` }).transform((v) => String(v)), { error: `expected a list like [${example}]` })
  .min(1, 'expected at least one entry (leave the key out to match any)')
  .max(100)
  .superRefine((list, ctx) => {
    list.forEach((s, i) => {
      const p = parse(s);
      if ('error' in p) ctx.addIssue({ code: 'custom', path: [i], message: p.error });
    });
  });

const clock = z.string({ error: 'expected a time of day like 02:00' }).superRefine((v, ctx) => {
  if (parseClock(v) === undefined) ctx.addIssue({ code: 'custom', message: `expected a time of day HH:MM (00:00 to 24:00), got ${JSON.stringify(v.slice(0, 40))}` });
});

const timeRangeSchema = z.strictObject({ start_time: clock, end_time: clock }).superRefine((t, ctx) => {
  const s = parseClock(t.start_time);
  const e = parseClock(t.end_time);
  if (s !== undefined && e !== undefined && s >= e) {
    ctx.addIssue({ code: 'custom', path: ['end_time'], message: `end_time must be after start_time (a window over midnight is two entries: ${t.start_time}-24:00 and 00:00-${t.end_time})` });
  }
}).transform((t): TimeRangeSpec => ({ startTime: t.start_time, endTime: t.end_time }));

export const recurringIntervalSchema = z.strictObject({
  times: z.array(timeRangeSchema).min(1).max(100).optional(),
  weekdays: ranges(parseWeekdays, "'monday:friday'").optional(),
  days_of_month: ranges(parseDaysOfMonth, "'1:7' or '-1'").optional(),
  months: ranges(parseMonths, "'january:march'").optional(),
  years: ranges(parseYears, "'2026'").optional(),
  location: z.string({ error: 'expected a time zone name like Europe/Berlin' }).superRefine((v, ctx) => {
    if (!validZone(v)) ctx.addIssue({ code: 'custom', message: `unknown time zone ${JSON.stringify(v.slice(0, 64))}: expected an IANA name like Europe/Berlin or UTC (not Local: the exporter and Alertmanager may run in different zones)` });
  }).optional(),
}).transform((r): RecurringInterval => {
  const out: RecurringInterval = {};
  if (r.times !== undefined) out.times = r.times;
  if (r.weekdays !== undefined) out.weekdays = r.weekdays.map((s) => s.toLowerCase());
  if (r.days_of_month !== undefined) out.daysOfMonth = r.days_of_month;
  if (r.months !== undefined) out.months = r.months.map((s) => s.toLowerCase());
  if (r.years !== undefined) out.years = r.years;
  if (r.location !== undefined) out.location = r.location;
  return out;
});

const timestamp = z.union([z.string(), z.date()], { error: 'expected an RFC 3339 timestamp like 2026-12-01T02:00:00Z' })
  .transform((v, ctx) => {
    const s = v instanceof Date ? v.toISOString() : v;
    if (parseTimestamp(s) === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected an RFC 3339 timestamp with a zone, like 2026-12-01T02:00:00Z, got ${JSON.stringify(s.slice(0, 40))}` });
      return z.NEVER;
    }
    return s;
  });

/** Longest one-off window (the bundle writes one Alertmanager interval per day it touches). */
export const MAX_ONE_OFF_DAYS = 31;

const intervalName = z.string({ error: 'expected a name' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of 1-63 letters, digits, _ . - (it names an Alertmanager time interval)');

export const maintenanceWindowSchema = z.strictObject({
  name: intervalName,
  targets: z.array(z.strictObject({ kind: z.enum(TARGET_KINDS), name: targetName })).min(1, 'list at least one target, or leave targets out for every target').max(1000).optional(),
  time_intervals: z.array(recurringIntervalSchema).min(1).max(100).optional(),
  start: timestamp.optional(),
  end: timestamp.optional(),
}).superRefine((w, ctx) => {
  const recurring = w.time_intervals !== undefined;
  const oneOff = w.start !== undefined || w.end !== undefined;
  if (recurring && oneOff) {
    ctx.addIssue({ code: 'custom', path: ['start'], message: 'a window is either recurring (time_intervals) or one-off (start and end), not both' });
  } else if (!recurring && !oneOff) {
    ctx.addIssue({ code: 'custom', message: 'set time_intervals (recurring) or start and end (one-off)' });
  } else if (oneOff) {
    if (w.start === undefined || w.end === undefined) {
      ctx.addIssue({ code: 'custom', path: [w.start === undefined ? 'start' : 'end'], message: 'a one-off window needs both start and end' });
      return;
    }
    const s = parseTimestamp(w.start);
    const e = parseTimestamp(w.end);
    if (s === undefined || e === undefined) return;
    if (e <= s) ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must be after start' });
    else if (e - s > MAX_ONE_OFF_DAYS * 86_400) ctx.addIssue({ code: 'custom', path: ['end'], message: `a one-off window lasts at most ${MAX_ONE_OFF_DAYS} days` });
  }
}).transform((w): MaintenanceWindow => {
  const out: MaintenanceWindow = { name: w.name };
  if (w.targets !== undefined) out.targets = w.targets;
  if (w.time_intervals !== undefined) out.timeIntervals = w.time_intervals;
  if (w.start !== undefined) out.start = w.start;
  if (w.end !== undefined) out.end = w.end;
  return out;
});

export const maintenanceWindowsSchema = z.array(maintenanceWindowSchema).max(200).superRefine((list, ctx) => {
  const seen = new Map<string, number>();
  list.forEach((w, i) => {
    const prev = seen.get(w.name);
    if (prev !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name "${w.name}" (also at index ${prev})` });
    seen.set(w.name, i);
  });
});

/** The exporter config's `maintenance:` section. */
export const maintenanceSchema = z.strictObject({
  windows: maintenanceWindowsSchema.default([]),
}).prefault({});
