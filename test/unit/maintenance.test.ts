import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { alertmanagerConfig } from '../../src/bundle/alerts-routing';
import { bundleConfig } from '../../src/bundle/bundle-config';
import { oneOffIntervals } from '../../src/bundle/maintenance-routing';
import { ConfigErrors } from '../../src/config/errors';
import { parseConfig } from '../../src/config/load';
import {
  maintenanceWindowsSchema, parseDaysOfMonth, parseMonths, parseTimestamp, parseWeekdays, parseYears, type MaintenanceWindow,
} from '../../src/config/maintenance';
import { Maintenance, MaintenanceSchedule, compileInterval } from '../../src/maintenance';
import { buildModel } from '../../src/status/model';
import { bannerText } from '../../src/status/page';
import { Metrics } from '../harness/prom-text';

const utc = (s: string): number => Date.parse(s) / 1000;

function configErrors(yaml: string): string[] {
  try {
    parseConfig(yaml, 'stackwatch.yml', {});
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  return [];
}

describe('maintenance config', () => {
  test('recurring and one-off windows parse into plain data', () => {
    const cfg = parseConfig(`
maintenance:
  windows:
    - name: nightly
      targets: [{ kind: http, name: backend }]
      time_intervals:
        - weekdays: ['Monday:friday']
          times: [{ start_time: '02:00', end_time: '02:30' }]
          days_of_month: ['1:7', -1]
          months: ['January:march', 12]
          years: ['2026:2030']
          location: Europe/Berlin
    - name: upgrade
      start: 2026-12-01T02:00:00Z
      end: 2026-12-01T04:00:00+01:00
`, 'stackwatch.yml', {});
    expect(cfg.maintenance.windows).toEqual([
      {
        name: 'nightly', targets: [{ kind: 'http', name: 'backend' }],
        timeIntervals: [{
          weekdays: ['monday:friday'], times: [{ startTime: '02:00', endTime: '02:30' }], daysOfMonth: ['1:7', '-1'],
          months: ['january:march', '12'], years: ['2026:2030'], location: 'Europe/Berlin',
        }],
      },
      { name: 'upgrade', start: '2026-12-01T02:00:00Z', end: '2026-12-01T04:00:00+01:00' },
    ]);
    expect(parseConfig('', 'x.yml', {}).maintenance.windows).toEqual([]);
  });

  test('mistakes are reported with their key path', () => {
    expect(configErrors(`
maintenance:
  windows:
    - name: a
      time_intervals: [{ weekdays: ['friday:monday'], times: [{ start_time: '23:00', end_time: '01:00' }], location: Mars/Olympus, color: red }]
    - name: a
      start: 2026-02-30T00:00:00Z
      end: 2026-03-01T00:00:00Z
    - name: c
      start: 2026-03-01T00:00:00Z
    - name: d
      targets: [{ kind: vm, name: x }]
      start: 2026-03-01T00:00:00Z
      end: 2026-02-01T00:00:00Z
    - name: e
  extra: 1
`).sort()).toEqual([
      'stackwatch.yml: maintenance.extra: unknown key',
      'stackwatch.yml: maintenance.windows[0].time_intervals[0].color: unknown key',
      'stackwatch.yml: maintenance.windows[0].time_intervals[0].location: unknown time zone "Mars/Olympus": expected an IANA name like Europe/Berlin or UTC (not Local: the exporter and Alertmanager may run in different zones)',
      'stackwatch.yml: maintenance.windows[0].time_intervals[0].times[0].end_time: end_time must be after start_time (a window over midnight is two entries: 23:00-24:00 and 00:00-01:00)',
      'stackwatch.yml: maintenance.windows[0].time_intervals[0].weekdays[0]: range "friday:monday" ends before it begins',
      'stackwatch.yml: maintenance.windows[1].start: expected an RFC 3339 timestamp with a zone, like 2026-12-01T02:00:00Z, got "2026-02-30T00:00:00Z"',
      'stackwatch.yml: maintenance.windows[2].end: a one-off window needs both start and end',
      'stackwatch.yml: maintenance.windows[3].targets[0].kind: expected one of "http", "mqtt", "container", "process", "traffic", got "vm"',
      'stackwatch.yml: maintenance.windows[4]: set time_intervals (recurring) or start and end (one-off)',
    ]);
    // Checks that need the rest of the window valid: end before start, length, duplicate names.
    expect(configErrors(`
maintenance:
  windows:
    - { name: a, start: 2026-03-01T00:00:00Z, end: 2026-02-01T00:00:00Z }
    - { name: a, start: 2026-03-01T00:00:00Z, end: 2026-04-15T00:00:00Z }
`).sort()).toEqual([
      'stackwatch.yml: maintenance.windows[0].end: end must be after start',
      'stackwatch.yml: maintenance.windows[1].end: a one-off window lasts at most 31 days',
      'stackwatch.yml: maintenance.windows[1].name: duplicate name "a" (also at index 0)',
    ]);
    expect(configErrors(`
maintenance:
  windows:
    - { name: a, start: 2026-03-01T00:00:00Z, end: 2026-03-02T00:00:00Z }
    - { name: a, time_intervals: [{ weekdays: [saturday] }] }
`)).toEqual(['stackwatch.yml: maintenance.windows[1].name: duplicate name "a" (also at index 0)']);
  });

  test('range parsers follow Alertmanager: names any case, inclusive ranges in order, negative days from the month end', () => {
    expect(parseWeekdays('Saturday')).toEqual({ range: { begin: 6, end: 6 } });
    expect(parseWeekdays('monday:FRIDAY')).toEqual({ range: { begin: 1, end: 5 } });
    expect('error' in parseWeekdays('saturday:sunday')).toBe(true);
    expect('error' in parseWeekdays('1')).toBe(true);
    expect(parseMonths('3:december')).toEqual({ range: { begin: 3, end: 12 } });
    expect('error' in parseMonths('13')).toBe(true);
    expect(parseDaysOfMonth('-3:-1')).toEqual({ range: { begin: -3, end: -1 } });
    expect(parseDaysOfMonth('20:-1')).toEqual({ range: { begin: 20, end: -1 } });
    expect('error' in parseDaysOfMonth('0')).toBe(true);
    expect('error' in parseDaysOfMonth('-1:5')).toBe(true);
    expect(parseYears('2026')).toEqual({ range: { begin: 2026, end: 2026 } });
    expect(parseTimestamp('2026-12-01T02:00:00+01:00')).toBe(utc('2026-12-01T01:00:00Z'));
    expect(parseTimestamp('2026-12-01T02:00:00')).toBeUndefined(); // no zone
  });

  test('property: no input makes the window schema throw; what it accepts compiles and evaluates', () => {
    const field = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: -40, max: 40 }).map(String),
      fc.constantFrom('monday', 'sunday:saturday', 'january:march', '-1', '1:7', '2026', 'june', '02:00', '24:00'));
    const interval = fc.record({
      weekdays: fc.array(field, { maxLength: 3 }), days_of_month: fc.array(field, { maxLength: 3 }), months: fc.array(field, { maxLength: 3 }),
      years: fc.array(field, { maxLength: 2 }), location: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Local', 'x'),
      times: fc.array(fc.record({ start_time: field, end_time: field }), { maxLength: 2 }),
    }, { requiredKeys: [] });
    const window = fc.record({
      name: fc.oneof(fc.constant('w'), fc.string({ maxLength: 8 })),
      targets: fc.array(fc.record({ kind: fc.constantFrom('http', 'mqtt', 'x'), name: fc.string({ maxLength: 8 }) }), { maxLength: 2 }),
      time_intervals: fc.array(interval, { maxLength: 2 }),
      start: fc.oneof(fc.string({ maxLength: 30 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      end: fc.oneof(fc.string({ maxLength: 30 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
    }, { requiredKeys: [] });
    fc.assert(fc.property(fc.array(window, { maxLength: 3 }), fc.integer({ min: 0, max: 4_000_000_000 }), (windows, t) => {
      const r = maintenanceWindowsSchema.safeParse(windows);
      if (!r.success) {
        for (const issue of r.error.issues) expect(issue.path.length).toBeGreaterThan(0);
        return;
      }
      const schedule = new MaintenanceSchedule(r.data);
      expect(typeof schedule.inMaintenance('http', 'backend', t)).toBe('boolean');
    }), { numRuns: 400 });
  });
});

describe('maintenance windows: evaluation with an injected clock', () => {
  /** The same interval checked directly with UTC calendar fields (a reference for location UTC). */
  function reference(iv: { weekdays?: [number, number]; days?: [number, number]; months?: [number, number]; times?: [number, number] }, t: number): boolean {
    const d = new Date(t * 1000);
    const minute = d.getUTCHours() * 60 + d.getUTCMinutes();
    const dim = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    const day = d.getUTCDate();
    const inR = (r: [number, number] | undefined, v: number) => r === undefined || (v >= r[0] && v <= r[1]);
    let dayOk = true;
    if (iv.days !== undefined) {
      const b = iv.days[0] < 0 ? dim + iv.days[0] + 1 : iv.days[0];
      const e = iv.days[1] < 0 ? dim + iv.days[1] + 1 : iv.days[1];
      dayOk = b <= dim && day >= b && day <= Math.min(e, dim);
    }
    return inR(iv.weekdays, d.getUTCDay()) && dayOk && inR(iv.months, d.getUTCMonth() + 1) && (iv.times === undefined || (minute >= iv.times[0] && minute < iv.times[1]));
  }

  test('property: a recurring interval in UTC matches exactly when the calendar fields do', () => {
    const pair = (lo: number, hi: number) => fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
    const days = fc.oneof(pair(1, 31), pair(-31, -1));
    const spec = fc.record({ weekdays: pair(0, 6), days, months: pair(1, 12), times: pair(0, 1440).filter(([a, b]) => a < b) }, { requiredKeys: [] });
    const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    const names = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
    fc.assert(fc.property(spec, fc.integer({ min: utc('2000-01-01T00:00:00Z'), max: utc('2060-01-01T00:00:00Z') }), (iv, t) => {
      const f = compileInterval({
        ...(iv.weekdays ? { weekdays: [`${names[iv.weekdays[0]]}:${names[iv.weekdays[1]]}`] } : {}),
        ...(iv.days ? { daysOfMonth: [`${iv.days[0]}:${iv.days[1]}`] } : {}),
        ...(iv.months ? { months: [`${iv.months[0]}:${iv.months[1]}`] } : {}),
        ...(iv.times ? { times: [{ startTime: hhmm(iv.times[0]), endTime: hhmm(iv.times[1]) }] } : {}),
      });
      expect(f(t)).toBe(reference(iv, t));
    }), { numRuns: 2000 });
  });

  test('location: a Berlin 02:00-03:00 window follows daylight saving time', () => {
    const f = compileInterval({ times: [{ startTime: '02:00', endTime: '03:00' }], location: 'Europe/Berlin' });
    // Winter: UTC+1.
    expect(f(utc('2026-01-15T00:59:59Z'))).toBe(false);
    expect(f(utc('2026-01-15T01:00:00Z'))).toBe(true);
    expect(f(utc('2026-01-15T01:59:59Z'))).toBe(true);
    expect(f(utc('2026-01-15T02:00:00Z'))).toBe(false);
    // Summer: UTC+2.
    expect(f(utc('2026-07-15T00:30:00Z'))).toBe(true);
    expect(f(utc('2026-07-15T01:30:00Z'))).toBe(false);
  });

  test('weekday and last day of the month in the window\'s zone, not UTC', () => {
    // Monday 2026-11-30 23:30 in New York is Tuesday 04:30 UTC, December 1st.
    const t = utc('2026-12-01T04:30:00Z');
    expect(compileInterval({ weekdays: ['monday'], location: 'America/New_York' })(t)).toBe(true);
    expect(compileInterval({ weekdays: ['monday'] })(t)).toBe(false);
    expect(compileInterval({ daysOfMonth: ['-1'], location: 'America/New_York' })(t)).toBe(true);
    expect(compileInterval({ daysOfMonth: ['-1'] })(t)).toBe(false);
    // February: -1 is the 28th; "29:31" never matches in 2026.
    expect(compileInterval({ daysOfMonth: ['-1'] })(utc('2026-02-28T12:00:00Z'))).toBe(true);
    expect(compileInterval({ daysOfMonth: ['29:31'] })(utc('2026-02-28T12:00:00Z'))).toBe(false);
  });

  test('one-off windows are open in [start, end) and cover only their targets', () => {
    const s = new MaintenanceSchedule([
      { name: 'upgrade', targets: [{ kind: 'http', name: 'backend' }], start: '2026-12-01T02:00:00Z', end: '2026-12-01T04:00:00Z' },
      { name: 'all', start: '2026-12-02T00:00:00Z', end: '2026-12-02T00:10:00Z' },
    ]);
    expect(s.inMaintenance('http', 'backend', utc('2026-12-01T01:59:59Z'))).toBe(false);
    expect(s.inMaintenance('http', 'backend', utc('2026-12-01T02:00:00Z'))).toBe(true);
    expect(s.inMaintenance('process', 'backend', utc('2026-12-01T02:00:00Z'))).toBe(false);
    expect(s.inMaintenance('http', 'backend', utc('2026-12-01T04:00:00Z'))).toBe(false);
    expect(s.openWindows('mqtt', 'main', utc('2026-12-02T00:05:00Z'))).toEqual(['all']);
  });
});

describe('the tracker leaves maintenance out of its figures', () => {
  function setup(windows: MaintenanceWindow[]) {
    let now = 1000;
    const registry = new Registry();
    const tracker = new AvailabilityTracker(registry, () => now);
    const maintenance = new Maintenance(registry, tracker);
    maintenance.configure(windows);
    const metrics = async () => Metrics.parse(await registry.metrics());
    return { tracker, registry, metrics, at: (t: number) => { now = t; }, maintenance };
  }
  const labels = { kind: 'http', target: 'api' };
  const iso = (t: number) => new Date(t * 1000).toISOString();
  const window = (start: number, end: number): MaintenanceWindow[] => [{ name: 'w', targets: [{ kind: 'http', name: 'api' }], start: iso(start), end: iso(end) }];

  /** Observes every 10 s from `from` to `to` (exclusive), failing in [downFrom, downTo). */
  function play(t: { tracker: AvailabilityTracker; at: (n: number) => void }, from: number, to: number, downFrom: number, downTo: number) {
    for (let s = from; s < to; s += 10) {
      t.at(s);
      t.tracker.observe('http', 'api', !(s >= downFrom && s < downTo), { error: 'HTTP 503' });
    }
  }

  test('an outage inside a window: no outage, downtime, recovery, incident or failed checks; up tells the truth meanwhile', async () => {
    const t = setup(window(2000, 3000));
    play(t, 1000, 2100, 2050, 2900);
    let m = await t.metrics();
    expect(m.get('stackwatch_target_in_maintenance', labels)).toBe(1);
    expect(m.get('stackwatch_target_up', labels)).toBe(0);
    expect(t.tracker.view('http', 'api')).toMatchObject({ state: 'down', maintenance: true, planned: true });
    const model = await buildModel({ tracker: t.tracker, registry: t.registry, clock: () => 2100 }, true);
    expect(model.targets[0]).toMatchObject({ state: 'maintenance', checkedState: 'down', outageSeconds: null });
    expect(model.counts.maintenance).toBe(1);
    // The documented API shape admits it.
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema(JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'docs', 'status-api.schema.json'), 'utf8')) as object, 'api');
    const validate = ajv.getSchema('api#/definitions/targets')!;
    const ok = validate(JSON.parse(JSON.stringify(model)));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    play(t, 2100, 4000, 2050, 2900);
    m = await t.metrics();
    expect(m.get('stackwatch_target_in_maintenance', labels)).toBe(0);
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(0);
    expect(m.get('stackwatch_target_downtime_seconds_total', labels)).toBe(0);
    expect(m.get('stackwatch_target_recovery_seconds_count', labels)).toBe(0);
    expect(m.get('stackwatch_target_check_failures_total', labels)).toBe(0);
    // Checks inside the window (2000-2990) are not counted: 100 before, 100 after.
    expect(m.get('stackwatch_target_checks_total', labels)).toBe(200);
    expect(t.tracker.history('http', 'api')!.incidents).toEqual([]);
    const after = await buildModel({ tracker: t.tracker, registry: t.registry, clock: () => 4000 }, true);
    expect(after.targets[0]).toMatchObject({ state: 'up', outages30d: 0, uptime: { '24h': 1 } });
  });

  test('the same outage outside a window counts', async () => {
    const t = setup(window(10_000, 11_000));
    play(t, 1000, 4000, 2050, 2900);
    const m = await t.metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_downtime_seconds_total', labels)).toBe(850);
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBe(850);
    expect(m.get('stackwatch_target_check_failures_total', labels)).toBe(85);
    const model = await buildModel({ tracker: t.tracker, registry: t.registry, clock: () => 4000 }, true);
    expect(model.targets[0]!.outages30d).toBe(1);
    expect(model.targets[0]!.uptime['24h']).toBeLessThan(1);
  });

  test('still down when the window closes: an outage starts at the first check after it', async () => {
    const t = setup(window(2000, 3000));
    play(t, 1000, 4000, 2050, 3500);
    const m = await t.metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBe(500);
    expect(t.tracker.history('http', 'api')!.incidents).toEqual([{ start: 3000, end: 3500, reason: 'HTTP 503' }]);
  });

  test('an outage already in progress when a window opens was not planned: it counts in full', async () => {
    const t = setup(window(2000, 3000));
    play(t, 1000, 4000, 1500, 2500);
    const m = await t.metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBe(1000);
  });

  test('a planned outage survives a restart (snapshot) and stays planned; the status banner counts maintenance', async () => {
    const a = setup(window(2000, 3000));
    play(a, 1000, 2500, 2050, 2900);
    const saved = a.tracker.exportState();
    const b = setup(window(2000, 3000));
    b.at(2600);
    b.tracker.importState(JSON.parse(JSON.stringify(saved)) as typeof saved);
    b.tracker.declare('http', 'api');
    expect(b.tracker.view('http', 'api')).toMatchObject({ state: 'down', planned: true, maintenance: true });
    const model = await buildModel({ tracker: b.tracker, registry: b.registry, clock: () => 2600 }, false);
    expect(bannerText(model)).toEqual({ cls: 'maintenance', text: '0 up · 1 in maintenance' });
    play(b, 2600, 3500, 0, 2900);
    const m = await b.metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(0);
    expect(m.get('stackwatch_target_recovery_seconds_count', labels)).toBe(0);
    expect(b.tracker.history('http', 'api')!.maintenance.length).toBeGreaterThan(0);
  });

  test('follows windows opening and closing, targets added, forgotten and added again, scrape after scrape', async () => {
    const both = (start: number, end: number): MaintenanceWindow[] => [{ name: 'w', targets: [{ kind: 'http', name: 'api' }, { kind: 'http', name: 'other' }], start: iso(start), end: iso(end) }];
    const t = setup(both(2000, 3000));
    const other = { kind: 'http', target: 'other' };
    /** Scrapes and returns stackwatch_target_in_maintenance of api and other (undefined: no series). */
    const scrape = async (): Promise<[number | undefined, number | undefined]> => {
      const m = await t.metrics();
      return [m.get('stackwatch_target_in_maintenance', labels), m.get('stackwatch_target_in_maintenance', other)];
    };
    t.at(1000);
    t.tracker.declare('http', 'api');
    expect(await scrape()).toEqual([0, undefined]);
    t.tracker.declare('http', 'other');
    t.at(2500);
    expect(await scrape()).toEqual([1, 1]);
    t.tracker.forget('http', 'other');
    expect(await scrape()).toEqual([1, undefined]);
    t.tracker.declare('http', 'other');
    t.at(3500);
    expect(await scrape()).toEqual([0, 0]);
    // Forgotten and declared again between two scrapes: still there, and following a new window.
    t.tracker.forget('http', 'other');
    t.tracker.declare('http', 'other');
    t.maintenance.configure(both(3000, 4000));
    expect(await scrape()).toEqual([1, 1]);
    expect((await t.metrics()).all('stackwatch_target_in_maintenance')).toHaveLength(2);
  });

  test('a window added by a reload applies from then on; other targets are untouched', async () => {
    const t = setup([]);
    t.tracker.declare('http', 'other');
    play(t, 1000, 1100, 0, 0);
    expect((await t.metrics()).get('stackwatch_target_in_maintenance', labels)).toBe(0);
    t.maintenance.configure(window(1000, 5000));
    const m = await t.metrics();
    expect(m.get('stackwatch_target_in_maintenance', labels)).toBe(1);
    expect(m.get('stackwatch_target_in_maintenance', { kind: 'http', target: 'other' })).toBe(0);
  });
});

describe('maintenance in Alertmanager', () => {
  test('a one-off window becomes one UTC interval per day, minute precision', () => {
    expect(oneOffIntervals(utc('2026-12-31T23:30:20Z'), utc('2027-01-02T00:10:01Z'))).toEqual([
      { times: [{ start_time: '23:30', end_time: '24:00' }], days_of_month: ['31'], months: ['12'], years: ['2026'] },
      { times: [{ start_time: '00:00', end_time: '24:00' }], days_of_month: ['1'], months: ['1'], years: ['2027'] },
      { times: [{ start_time: '00:00', end_time: '00:11' }], days_of_month: ['2'], months: ['1'], years: ['2027'] },
    ]);
  });

  test('windows become time_intervals and mute routes; the Watchdog is never muted', () => {
    const windows: MaintenanceWindow[] = [
      { name: 'nightly', targets: [{ kind: 'http', name: 'backend' }], timeIntervals: [{ times: [{ startTime: '02:00', endTime: '03:00' }], location: 'Europe/Berlin' }] },
      { name: 'everything', start: '2026-12-01T02:00:00Z', end: '2026-12-01T03:00:00Z' },
    ];
    const am = alertmanagerConfig({ ...bundleConfig, maintenance: windows }) as { time_intervals: unknown[]; route: { routes: Record<string, unknown>[] }; inhibit_rules: unknown[] };
    expect(am.time_intervals).toEqual([
      { name: 'nightly', time_intervals: [{ times: [{ start_time: '02:00', end_time: '03:00' }], location: 'Europe/Berlin' }] },
      { name: 'everything', time_intervals: [{ times: [{ start_time: '02:00', end_time: '03:00' }], days_of_month: ['1'], months: ['12'], years: ['2026'] }] },
    ]);
    const routes = am.route.routes;
    expect(routes[0]).toMatchObject({ receiver: 'watchdog' });
    expect(routes[0]!.mute_time_intervals).toBeUndefined();
    const perTarget = routes.find((r) => JSON.stringify(r.matchers) === JSON.stringify(['kind="http"', 'target="backend"']))!;
    for (const child of perTarget.routes as Record<string, unknown>[]) expect(child.mute_time_intervals).toEqual(['nightly', 'everything']);
    const page = routes.find((r) => r.receiver === 'page')!;
    expect(page.mute_time_intervals).toEqual(['everything']);
    expect(am.inhibit_rules).toContainEqual({
      source_matchers: ['alertname="StackwatchTargetInMaintenance"'],
      target_matchers: ['alertname=~"Stackwatch.+"', 'alertname!="StackwatchTargetInMaintenance"'],
      equal: ['job', 'instance', 'kind', 'target'],
    });
    // Without windows: no time_intervals, nothing muted.
    const plain = alertmanagerConfig(bundleConfig) as Record<string, unknown> & { route: { routes: Record<string, unknown>[] } };
    expect(plain.time_intervals).toBeUndefined();
    expect(plain.route.routes.some((r) => r.mute_time_intervals !== undefined)).toBe(false);
  });
});
