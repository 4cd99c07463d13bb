/**
 * `promtool test rules` files (prometheus/tests/*.yml), written as data: for every alert a
 * firing case (exact labels and annotations), a case one evaluation before its `for:` has
 * elapsed that must stay silent, and a healthy series that must stay silent; plus the leak
 * guard cases and checks of the recording rules. Evaluation times derive from each alert's
 * `for:` in the config, so the cases follow the config.
 */
import { checkSeriesLabels, M } from '../metrics/definitions';
import { ALERT_DASHBOARD, allAlerts, alertGroups, dashboardUrlFor, humanBytes, MTTR_NONE, num, runbookAnchor } from './alerts';
import { type AlertName, type BundleConfig, type Duration, durationSeconds, exporterMatchers, exporterSelector } from './bundle-config';
import { R } from './names';
import { EXPORTER_START, recordingGroups } from './rules';
import { toYaml } from './yaml';

const fileOf = (group: string): string => group.replace(/^stackwatch-/, '');

export const TEST_INTERVAL_SECONDS = 60;
/** The exporter's own labels on the tests' series: the config's job and scrape address. */
export function exporterLabels(cfg: BundleConfig): { job: string; instance: string } {
  return { job: cfg.exporter.job, instance: cfg.exporter.address };
}
const MiB = 1024 * 1024;

/**
 * A GC sawtooth: memory climbs 150 MiB over 27 minutes, then a collection drops it back. Big,
 * irregular-looking teeth: the raw series' slope over an hour swings well above the leak
 * threshold (checked in recording.yml); its 30-minute floor stays flat.
 */
const saw = (mm: number): number => (mm % 27) * ((150 * MiB) / 27);

export interface InputSeries {
  series: string;
  values: string;
}

export type SelFn = (metric: string, labels?: Record<string, string>) => string;
type SeriesFn = (metric: string, labels: Record<string, string>, values: string | number[]) => InputSeries;

/**
 * Series selector texts with the exporter's job/instance and the given labels. Series of the
 * exporter's metrics are held to the metric catalogue: a label the metric does not have, or a
 * value its enumerated label does not list, fails the bundle's generation.
 */
export function selector(exp: Record<string, string>): SelFn {
  const scrape = Object.keys(exp);
  return (metric, labels = {}) => {
    checkSeriesLabels(metric, labels, scrape);
    return `${metric}{${Object.entries({ ...exp, ...labels }).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
  };
}
/** Input series with the exporter's job/instance and the given labels. */
function seriesOf(exp: Record<string, string>): SeriesFn {
  const sel = selector(exp);
  return (metric, labels, values) => ({
    series: sel(metric, labels),
    values: typeof values === 'string' ? values : values.map((v) => String(v)).join(' '),
  });
}

/** Labels absent() gives its result: those of the selector's equality matchers. */
function absentLabels(cfg: BundleConfig): Record<string, string> {
  return Object.fromEntries(exporterMatchers(cfg).filter((m) => m.op === '=').map((m) => [m.label, m.value]));
}

/** Prometheus' `humanizeDuration` template function: `13d 23h 29m 0s`, `-20m 0s`, `2.35s`. */
export function humanizeDuration(v: number): string {
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  const whole = Math.trunc(a);
  const [dd, hh, mm, ss] = [Math.floor(whole / 86400), Math.floor(whole / 3600) % 24, Math.floor(whole / 60) % 60, whole % 60];
  if (dd !== 0) return `${sign}${dd}d ${hh}h ${mm}m ${ss}s`;
  if (hh !== 0) return `${sign}${hh}h ${mm}m ${ss}s`;
  if (mm !== 0) return `${sign}${mm}m ${ss}s`;
  return `${sign}${Number(a.toPrecision(4))}s`;
}

/**
 * A counter stepping up by one at each of `times` (minutes, ascending), from 0 at minute 0 until
 * minute `end`, in promtool's notation: stepsAt([6, 10], 70) = `0x5 1x3 2x60`.
 */
function stepsAt(times: readonly number[], end: number): string {
  const bounds = [0, ...times, end + 1];
  const parts: string[] = [];
  for (let i = 0; i < bounds.length - 1; i++) {
    const n = bounds[i + 1]! - bounds[i]!;
    if (n > 0) parts.push(n === 1 ? `${i}` : `${i}x${n - 1}`);
  }
  return parts.join(' ');
}

/**
 * Samples a window of `windowS` seconds holds at an evaluation on the minute, besides the newest:
 * promtool 2 samples every minute and its ranges include both ends, so a window spans
 * floor(window / 1m) one-minute steps. bundle.yml windows read by increase() are at least 1m.
 */
export const windowSteps = (windowS: number): number => Math.floor(windowS / TEST_INTERVAL_SECONDS);

/**
 * When `count` events (restarts, outages) a counter counts over a window happen, so that
 * `increase(counter[window]) >= count` becomes true at `onset` (minutes) and holds through the
 * alert's `for:`. The events are `gap` minutes apart from minute `start` when they all fit in the
 * window until the alert fires; otherwise a loop that goes on: ceil(count / steps) events every
 * minute from `start` (several restarts between two one-minute samples, as Prometheus' real
 * 15-second scrapes see a short window). `healthy`: one event too few, all at the start.
 */
export interface EventPlan {
  /** Minute of each event (a minute repeats for several events in it). */
  firing: number[];
  onset: number;
  /** Last minute of the cases' series. */
  end: number;
  healthy: number[];
}
export function eventPlan(windowS: number, count: number, forS: number, start: number, gap: number): EventPlan {
  const steps = windowSteps(windowS);
  const forMin = Math.ceil(forS / TEST_INTERVAL_SECONDS);
  const spaced = Array.from({ length: count }, (_, i) => start + gap * i);
  const last = spaced[count - 1]!;
  // The first event must stay in the window (after the sample before it) until the alert fires.
  if (last + forMin <= start - 1 + steps) return { firing: spaced, onset: last, end: last + 60, healthy: spaced.slice(0, -1) };
  const perStep = Math.ceil(count / steps);
  const onset = start + Math.ceil(count / perStep) - 1;
  const end = onset + forMin + 60;
  const firing = Array.from({ length: end - start + 1 }, (_, i) => Array<number>(perStep).fill(start + i)).flat();
  return { firing, onset, end, healthy: Array<number>(count - 1).fill(start) };
}

/**
 * A firing case of a counter born (at minute 10) with its events already counted: the birth is
 * seen for one window, so the alert fires only when its for: is shorter than the window; with a
 * longer for:, no case (the alert rightly stays silent).
 */
function bornFires<T>(window: Duration, forText: Duration, c: T): T[] {
  return durationSeconds(forText) < durationSeconds(window) ? [c] : [];
}

/** Minutes -> values, one per TEST_INTERVAL (1m). */
const perMinute = (minutes: number, f: (m: number) => number): number[] => Array.from({ length: minutes + 1 }, (_, m) => Math.round(f(m)));

export interface AlertCaseSpec<A extends string = AlertName> {
  alert: A;
  /** Series on which the alert fires. */
  firing: InputSeries[];
  /** First evaluation (seconds) at which the expression is true; it fires at onset + for. */
  onset: number;
  /** Labels of the firing alert (besides alertname). */
  labels: Record<string, string>;
  summary: string;
  description: string;
  /** Annotation mttr_7d when the series record recoveries (default: none in 7 days). */
  mttr7d?: string;
  /** Series of a healthy target: silent at the firing time (and at `healthyAt` if given). */
  healthy: InputSeries[];
  healthyAt?: number[];
  /** More silent cases: series and the times at which the alert must not fire. */
  silent?: { name: string; input: InputSeries[]; at: number[] }[];
  /**
   * More firing cases (other branches of an annotation template): series, exact labels and
   * annotations, checked at `onset` (when the condition starts to hold) plus the alert's `for`.
   */
  moreFiring?: { name: string; input: InputSeries[]; onset: number; labels: Record<string, string>; summary: string; description: string; mttr7d?: string }[];
  /**
   * Seconds between rule evaluations (default TEST_INTERVAL_SECONDS). Cases that play days of
   * history evaluate less often: promtool evaluates every loaded rule at every step, and the
   * 1d/3d/30d windows make each step cost more as the history grows. Their tests go to a file of
   * their own, `<group>-<step>.yml`, whose evaluation_interval is this; onset and every checked
   * time must be multiples of it.
   */
  step?: number;
}

const m = (n: number): number => n * 60;
const h = (n: number): number => n * 3600;
const d = (n: number): number => n * 86400;

function cases(cfg: BundleConfig): AlertCaseSpec[] {
  const EXP = exporterLabels(cfg);
  const sel = selector(EXP);
  const s = seriesOf(EXP);
  const memSeries = memSeriesOf(s);
  const leakRestartCase = leakRestartCaseOf(memSeries);
  const leakWarmupCase = leakWarmupCaseOf(memSeries);
  const http = { kind: 'http', target: 'backend' };
  const backend = (extra: Record<string, string> = {}) => ({ ...EXP, ...http, ...extra });
  const field = (f: string) => ({ target: 'backend', field: f });
  const broker = { broker: 'main' };
  const brokerAlert = { ...EXP, broker: 'main', kind: 'mqtt', target: 'main' };
  const ctr = { container: 'backend' };
  const ctrAlert = { ...EXP, container: 'backend', kind: 'container', target: 'backend' };
  const grp = { group: 'backend' };
  const grpAlert = { ...EXP, group: 'backend', kind: 'process', target: 'backend' };
  const tls = { target: 'backend' };
  /** The target exists (its up series) for `n` minutes. */
  const up = (n: number, kind = http): InputSeries => s(M.targetUp.name, kind, `1x${n}`);
  const checks = (failPerMin: number, checksPerMin: number, minutes = 400): InputSeries[] => [
    s(M.targetChecks.name, http, `0+${checksPerMin}x${minutes}`),
    s(M.targetCheckFailures.name, http, `0+${failPerMin}x${minutes}`),
    up(minutes),
  ];
  /** The exporter's process started a day before the test's time 0. */
  const started = s(EXPORTER_START, {}, '-86400x2000');
  /** The exporter's process started at minute `at`: every series is born then. */
  const startedAt = (at: number): InputSeries => s(EXPORTER_START, {}, `_x${at} ${m(at)}x100`);
  const running = (minutes: string): InputSeries => s(M.containerState.name, { ...ctr, state: 'running' }, minutes);
  const procs = (minutes: string): InputSeries => s(M.processGroupProcesses.name, grp, minutes);

  // Inputs follow the config's thresholds, so that the cases test the rules as configured.
  const budget = 1 - cfg.slo.objective;
  const pct = `${num(cfg.slo.objective * 100)}%`;
  const burns = (ws: BundleConfig['slo']['fast']): string => ws.map((b) => `${b.factor}x over ${b.long}`).join(', or ');
  /** Failed checks per 1000 a minute at `x` times the budget's burn rate (checks(fails, 1000)). */
  const atBurn = (x: number): number => Math.round(x * budget * 1000 * 1000) / 1000;
  /** A burn between the slow and the fast alerts' rates: below every fast factor. */
  const slowOnly = Math.min(...cfg.slo.fast.map((b) => b.factor)) * 5 / 6;
  /** A burn every slow clause sees, and one within budget. */
  const slowBurn = Math.max(...cfg.slo.slow.map((b) => b.factor)) * 5 / 3;
  const withinBudget = Math.min(...cfg.slo.slow.map((b) => b.factor)) / 2;
  const flaps = cfg.flapping.outages;
  /** Outages every 2 minutes from minute 2 (or a loop, in a short window). */
  const flap = eventPlan(durationSeconds(cfg.flapping.window), flaps, durationSeconds(cfg.for.StackwatchTargetFlapping), 2, 2);
  const restarts = cfg.restarts.count;
  /** Restarts every 4 minutes from minute 6 (or a loop, in a short window), for both restart alerts' for:. */
  const restartFor = Math.max(durationSeconds(cfg.for.StackwatchContainerCrashLooping), durationSeconds(cfg.for.StackwatchProcessRestarting));
  const restart = eventPlan(durationSeconds(cfg.restarts.window), restarts, restartFor, 6, 4);
  const lastRestart = restart.onset;
  /** The restarts before the last, then the last a window (plus 10 minutes) after the first. */
  const spreadRestarts = [...restart.healthy, 6 + Math.ceil(durationSeconds(cfg.restarts.window) / 60) + 10];
  const spreadLast = spreadRestarts[spreadRestarts.length - 1]!;
  /** Roundtrip probe failures a minute: enough that roundtrip_failures of them fit in the window. */
  const rtFails = cfg.mqtt.roundtripFailures;
  const rtPerMin = Math.ceil(rtFails / windowSteps(durationSeconds(cfg.mqtt.roundtripFailureWindow)));
  /** Failing from minute 5: enough failures, and no round trip back within the recovery window. */
  const rtOnset = 4 + Math.max(Math.ceil(rtFails / rtPerMin), windowSteps(durationSeconds(cfg.mqtt.roundtripRecoveryWindow)));
  const rtLen = Math.max(20, rtOnset + Math.ceil(durationSeconds(cfg.for.StackwatchMqttRoundtripFailing) / 60) + 2);
  /** A leak well above leak.min_bytes_per_hour: the floor grows 10 MiB/h (or 4 times the threshold). */
  const leakPerHour = Math.max(10 * MiB, 4 * cfg.leak.minBytesPerHour);
  /**
   * The container/process started leak.quiet_window before 3h (a negative time when that is
   * longer): the warm-up guard ends at 3h, when the floor has grown for hours.
   */
  const leakStart = h(3) - durationSeconds(cfg.leak.quietWindow);
  const leakText = `${humanBytes(cfg.leak.minBytesPerHour)} and ${num(cfg.leak.minRatioPerHour * 100)}%`;
  const slowRecovery = cfg.recoveryObjectiveSeconds * 2.5;
  const warnDays = cfg.tlsCert.warningDays;
  const critDays = cfg.tlsCert.criticalDays;
  const slowRt = cfg.mqtt.roundtripSlowSeconds;
  const rtLe = (x: number): string => String(num(x));

  return [
    {
      alert: 'StackwatchExporterDown',
      firing: [{ series: sel('up'), values: '1 1 0x20' }],
      onset: m(2),
      labels: { severity: 'critical', ...EXP },
      summary: `stackwatch exporter ${EXP.instance} is down`,
      description: `Prometheus cannot scrape the stackwatch exporter at ${EXP.instance} (job ${EXP.job}). Nothing it watches is observed; alerts about its targets are muted until it is back.`,
      healthy: [{ series: sel('up'), values: '1x20' }],
    },
    {
      alert: 'StackwatchExporterAbsent',
      firing: [{ series: 'up{job="node-exporter-of-another-team",instance="node:9100"}', values: '1x20' }],
      onset: 0,
      labels: { severity: 'critical', ...absentLabels(cfg) },
      summary: `No stackwatch exporter is scraped (job ${absentLabels(cfg).job ?? ''})`,
      description: `Prometheus has no scrape target matching {${exporterSelector(cfg)}} at all: the exporter is missing from service discovery or the scrape config. Nothing is monitored.`,
      healthy: [{ series: sel('up'), values: '0x20' }],
    },
    {
      alert: 'StackwatchWatchdog',
      firing: [{ series: sel('up'), values: '1x5' }],
      onset: 0,
      labels: { severity: 'info' },
      summary: 'Alerting pipeline heartbeat',
      description: 'Always firing, so that the path Prometheus -> Alertmanager -> receiver is known to work. If the receiver stops getting this, alerting is broken.',
      // The Watchdog has no healthy state: it must fire on any input, even none at all.
      healthy: [],
    },
    {
      alert: 'StackwatchConfigReloadFailed',
      firing: [s(M.configReloadOk.name, {}, '1 1 0x20')],
      onset: m(2),
      labels: { ...EXP, severity: 'warning' },
      summary: `stackwatch exporter ${EXP.instance} rejected its new configuration`,
      description: `The last configuration reload of the exporter ${EXP.instance} failed more than ${cfg.for.StackwatchConfigReloadFailed} ago and no reload has succeeded since: it still runs the previous configuration, so the change (new targets, thresholds, credentials) is not in force. It would refuse to start with this file.`,
      healthy: [s(M.configReloadOk.name, {}, '1x20')],
      silent: [{ name: 'a failed reload fixed by the next one', input: [s(M.configReloadOk.name, {}, '1 1 0 0 1x20')], at: [m(6), m(10)] }],
    },
    {
      alert: 'StackwatchCollectorFailing',
      firing: [s(M.collectorSuccess.name, { collector: 'process' }, '1 1 0x20'), s(M.collectorSuccess.name, { collector: 'http' }, '1x20')],
      onset: m(2),
      labels: { ...EXP, collector: 'process', severity: 'warning' },
      summary: `Collector process of stackwatch ${EXP.instance} is failing`,
      description: `The last cycles of the process collector (exporter ${EXP.instance}) have failed for more than ${cfg.for.StackwatchCollectorFailing}: its own machinery, not a target, is broken, so the metrics it owns are stale or missing and the alerts built on them can stay silent.`,
      healthy: [s(M.collectorSuccess.name, { collector: 'process' }, '1x20'), s(M.collectorSuccess.name, { collector: 'http' }, '1x20')],
      silent: [{
        name: 'the docker collector failing while the engine is unreachable is StackwatchDockerApiDown, not this',
        input: [s(M.collectorSuccess.name, { collector: 'docker' }, '1 1 0x20'), s(M.dockerUp.name, {}, '1 1 0x20')],
        at: [m(10), m(20)],
      }],
    },
    {
      alert: 'StackwatchTargetDown',
      firing: [s(M.targetUp.name, http, '1 1 0x20')],
      onset: m(2),
      labels: backend({ severity: 'critical' }),
      summary: 'http target backend is down',
      description: `http target backend (exporter ${EXP.instance}) has failed its checks for more than ${cfg.for.StackwatchTargetDown}. The outage is being counted in stackwatch_target_downtime_seconds_total; its length goes into the recovery histogram when it ends.`,
      healthy: [s(M.targetUp.name, http, '1x20')],
      silent: [
        { name: 'an MQTT target down is StackwatchMqttBrokerDown, not this', input: [s(M.targetUp.name, { kind: 'mqtt', target: 'main' }, '0x20')], at: [m(5)] },
        { name: 'a process group down is StackwatchProcessNotRunning, not this', input: [s(M.targetUp.name, { kind: 'process', target: 'backend' }, '0x20')], at: [m(5)] },
        {
          // The process is gone from minute 2 to 10 (its page fires from minute 3); the endpoint
          // answers again a minute after the process is back.
          name: `explained by its cause (the process of the same name gone), and for ${cfg.symptomHoldDown} after it`,
          input: [s(M.targetUp.name, http, '1 1 0x9 1x20'), s(M.processGroupProcesses.name, grp, '1 1 0x7 1x20')],
          at: [m(4), m(6), m(10), m(11), m(12)],
        },
      ],
      moreFiring: [{
        name: 'a target still down after its cause ended, once the hold-down has passed',
        input: [s(M.targetUp.name, http, '1 1 0x30'), s(M.processGroupProcesses.name, grp, '1 1 0x7 1x20')],
        // The first evaluation once the hold-down has passed.
        onset: m(10 + Math.ceil(durationSeconds(cfg.symptomHoldDown) / 60)),
        labels: backend({ severity: 'critical' }),
        summary: 'http target backend is down',
        description: `http target backend (exporter ${EXP.instance}) has failed its checks for more than ${cfg.for.StackwatchTargetDown}. The outage is being counted in stackwatch_target_downtime_seconds_total; its length goes into the recovery histogram when it ends.`,
      }],
    },
    {
      alert: 'StackwatchTargetFlapping',
      firing: [s(M.targetOutages.name, http, stepsAt(flap.firing, flap.end)), up(flap.end), started],
      onset: m(flap.onset),
      labels: backend({ severity: 'warning' }),
      summary: 'http target backend is flapping',
      description: `http target backend (exporter ${EXP.instance}) went down at least ${cfg.flapping.outages} times in the last ${cfg.flapping.window}: something keeps killing or restarting it (a crash loop, a reload watcher, an external health-check script).`,
      healthy: [s(M.targetOutages.name, http, stepsAt(flap.healthy, flap.end)), up(flap.end), started],
      silent: [
        { name: 'a removed target: its series are gone', input: [s(M.targetOutages.name, http, `${stepsAt(flap.firing.filter((t) => t <= flap.onset), flap.onset)} stale`), s(M.targetUp.name, http, `1x${flap.onset} stale`), started], at: [m(flap.onset + 2), m(flap.onset + 24)] },
        { name: 'series born with their history when the exporter starts are no new outages', input: [s(M.targetOutages.name, http, `_x10 ${flaps + 2}x60`), up(70), startedAt(10)], at: [m(11), m(20)] },
      ],
      moreFiring: bornFires(cfg.flapping.window, cfg.for.StackwatchTargetFlapping, {
        name: `a counter born at ${flaps} while the exporter runs (outages before the first scrape that saw it)`,
        input: [s(M.targetOutages.name, http, `_x10 ${flaps}x60`), up(70), started],
        onset: m(10),
        labels: backend({ severity: 'warning' }),
        summary: 'http target backend is flapping',
        description: `http target backend (exporter ${EXP.instance}) went down at least ${cfg.flapping.outages} times in the last ${cfg.flapping.window}: something keeps killing or restarting it (a crash loop, a reload watcher, an external health-check script).`,
      }),
    },
    {
      alert: 'StackwatchTargetInMaintenance',
      firing: [s(M.targetInMaintenance.name, http, '0 0 1x10 0x5'), up(20)],
      onset: m(2),
      labels: backend({ severity: 'info' }),
      summary: 'http target backend is in a maintenance window',
      description: `http target backend (exporter ${EXP.instance}) is inside a maintenance window of the exporter's configuration (maintenance.windows): alerts about it are muted, its checks are not counted against the SLO, and an outage that starts now is not counted as one.`,
      healthy: [s(M.targetInMaintenance.name, http, '0x20'), up(20)],
      silent: [{ name: 'the window closed', input: [s(M.targetInMaintenance.name, http, '0 0 1x10 0x5'), up(20)], at: [m(13), m(15)] }],
    },
    {
      alert: 'StackwatchSloFastBurn',
      // Every check fails, yet the target never counts as down (no page explains the burn). The
      // 1h clause needs an hour of history: it holds from minute 60.
      firing: checks(12, 12),
      onset: m(60),
      labels: backend({ severity: 'critical' }),
      summary: 'http target backend is burning its error budget fast',
      description: `http target backend (exporter ${EXP.instance}) fails checks at a rate that spends the 30-day error budget of a ${pct} availability objective in days (burn rate at least ${burns(cfg.slo.fast)}), and no page about it fired in that window: intermittent failures no other alert explains.`,
      healthy: checks(0, 12),
      silent: [
        { name: `a ${num(slowOnly)}x burn is slow, not fast`, input: checks(atBurn(slowOnly), 1000), at: [m(65), m(90)] },
        {
          name: 'every check failing inside a maintenance window (the exporter does not count them)',
          input: [
            s(M.targetChecks.name, http, '0+12x70 840x60 840+12x70'), s(M.targetCheckFailures.name, http, '0x200'),
            up(200), s(M.targetInMaintenance.name, http, '0x70 1x60 0x70'),
          ],
          at: [m(75), m(100), m(131), m(140), m(190)],
        },
        { name: 'a new install: the first minutes say nothing about an hour', input: checks(12, 12), at: [m(5), m(30), m(55)] },
        {
          name: 'an outage already paged (StackwatchTargetDown fired): the burn during and after it is no new page',
          input: [
            s(M.targetChecks.name, http, '0+12x200'),
            s(M.targetCheckFailures.name, http, '0x90 0+12x10 120x100'),
            s(M.targetUp.name, http, '1x90 0x10 1x100'),
          ],
          at: [m(95), m(100), m(102), m(104), m(110)],
        },
        {
          name: 'a removed target: its series are gone',
          input: [s(M.targetChecks.name, http, '0+12x70 stale'), s(M.targetCheckFailures.name, http, '0+12x70 stale'), s(M.targetUp.name, http, '1x70 stale')],
          at: [m(75), m(90)],
        },
      ],
    },
    {
      alert: 'StackwatchSloSlowBurn',
      // The 1d clause needs a day of history: a day of one-minute steps over the 1d/3d/30d
      // windows was ~85 s of promtool CPU; five-minute steps (the rules' windows are hours or
      // longer) take a fifth of it. for: is checked to the step (one evaluation before: silent).
      step: m(5),
      firing: checks(atBurn(slowBurn), 1000, 1600),
      onset: d(1),
      labels: backend({ severity: 'warning' }),
      summary: 'http target backend is burning its error budget',
      description: `http target backend (exporter ${EXP.instance}) fails checks at a rate that will spend the 30-day error budget of a ${pct} availability objective before the period ends (burn rate at least ${burns(cfg.slo.slow)}).`,
      healthy: checks(0, 1000, 1600),
      silent: [
        { name: `a ${num(withinBudget)}x burn stays within budget`, input: checks(atBurn(withinBudget), 1000, 1600), at: [d(1) + m(30)] },
        { name: 'a new install: hours say nothing about a day', input: checks(atBurn(slowBurn), 1000, 1600), at: [h(3), h(12)] },
      ],
    },
    {
      alert: 'StackwatchRecoverySlow',
      firing: [s(`${M.targetRecovery.name}_sum`, http, `_x9 ${slowRecovery}x30`), s(`${M.targetRecovery.name}_count`, http, '_x9 1x30'), up(40)],
      onset: m(9),
      labels: backend({ severity: 'warning' }),
      summary: 'http target backend takes too long to recover',
      description: `Outages of http target backend (exporter ${EXP.instance}) over the last day lasted ${humanizeDuration(slowRecovery)} on average; the recovery objective is ${cfg.recoveryObjectiveSeconds}s. Automatic restarts are not working, or recovery is manual.`,
      // The notification's MTTR over 7 days, looked up by the annotation's query.
      mttr7d: humanizeDuration(slowRecovery),
      healthy: [s(`${M.targetRecovery.name}_sum`, http, `_x9 ${cfg.recoveryObjectiveSeconds / 4}x30`), s(`${M.targetRecovery.name}_count`, http, '_x9 1x30'), up(40)],
      silent: [{
        name: 'a removed target: its series are gone',
        input: [s(`${M.targetRecovery.name}_sum`, http, `_x9 ${slowRecovery}x10 stale`), s(`${M.targetRecovery.name}_count`, http, '_x9 1x10 stale'), s(M.targetUp.name, http, '1x19 stale')],
        at: [m(25), m(35)],
      }],
    },
    {
      alert: 'StackwatchHealthDegraded',
      firing: [s(M.healthStatus.name, { target: 'backend', status: 'degraded' }, '0 0 1x20'), s(M.healthStatus.name, { target: 'backend', status: 'healthy' }, '1 1 0x20')],
      onset: m(2),
      labels: backend({ severity: 'warning', status: 'degraded' }),
      summary: 'Backend backend reports degraded',
      description: `The health endpoint of backend (exporter ${EXP.instance}) has reported status degraded for more than ${cfg.for.StackwatchHealthDegraded}. Look at the body's fields (stackwatch_health_field) for the failing dependency.`,
      healthy: [s(M.healthStatus.name, { target: 'backend', status: 'degraded' }, '0x20'), s(M.healthStatus.name, { target: 'backend', status: 'healthy' }, '1x20')],
    },
    {
      alert: 'StackwatchBackendMqttDisconnected',
      firing: [s(M.healthField.name, field('mqtt_connected'), '1 1 0x20')],
      onset: m(2),
      labels: backend({ severity: 'critical', field: 'mqtt_connected' }),
      summary: 'Backend backend lost its MQTT connection',
      description: `The health endpoint of backend (exporter ${EXP.instance}) has reported mqtt_connected=false for more than ${cfg.for.StackwatchBackendMqttDisconnected}. Requests that go through MQTT fail (502/503).`,
      healthy: [s(M.healthField.name, field('mqtt_connected'), '1x20')],
    },
    {
      alert: 'StackwatchBackendMqttIdle',
      firing: [s(M.healthField.name, field('mqtt_last_activity_seconds_ago'), '15 15 700+60x20')],
      onset: m(2),
      labels: backend({ severity: 'warning', field: 'mqtt_last_activity_seconds_ago' }),
      summary: 'Backend backend has had no MQTT traffic for 13m 40s',
      description: `The MQTT client of backend (exporter ${EXP.instance}) says it is connected but has seen no message for more than ${cfg.backendMqttIdleSeconds}s: a stale connection. Responses from MQTT never arrive.`,
      healthy: [s(M.healthField.name, field('mqtt_last_activity_seconds_ago'), '15 30 45 10 25 40 5 20 35 50 5 20 35 50 5')],
    },
    {
      alert: 'StackwatchPendingRequestsGrowing',
      firing: [s(M.healthField.name, field('pending_requests'), '0+2x60')],
      onset: m(11),
      labels: backend({ severity: 'warning', field: 'pending_requests' }),
      summary: 'Pending requests of backend keep growing',
      description: `backend (exporter ${EXP.instance}) has ${2 * (11 + durationSeconds(cfg.for.StackwatchPendingRequestsGrowing) / 60)} pending requests, growing over ${cfg.pendingRequests.growthWindow} (or above ${cfg.pendingRequests.ceiling}): answers are not coming back and requests pile up (memory grows, users get 502/504).`,
      healthy: [s(M.healthField.name, field('pending_requests'), '30 35 30 25 30 35 30 25 30 35 30 25 30 35 30 25 30 35 30 25 30 35 30 25 30 35 30 25 30 35 30')],
      silent: [{ name: 'a steady queue below the ceiling is not growth', input: [s(M.healthField.name, field('pending_requests'), '60x60')], at: [m(30)] }],
    },
    {
      alert: 'StackwatchTlsCertExpiringSoon',
      // Expires warning_days and 10 minutes after the start: under warning_days left from minute 11.
      firing: [s(M.httpCertExpiry.name, tls, `${d(warnDays) + m(10)}x60`)],
      onset: m(11),
      labels: backend({ severity: 'warning' }),
      summary: `TLS certificate of backend expires in ${humanizeDuration(d(warnDays) + m(10) - firesAtTime(m(11), durationSeconds(cfg.for.StackwatchTlsCertExpiringSoon)))}`,
      description: `The certificate served by backend (exporter ${EXP.instance}) is valid for less than ${cfg.tlsCert.warningDays} days: its automatic renewal is not working (an ACME client renews at 30 days left). Renew it before clients start refusing the connection.`,
      healthy: [s(M.httpCertExpiry.name, tls, `${d(Math.max(60, 3 * warnDays))}x60`)],
      silent: [{ name: 'a renewed certificate resolves it', input: [s(M.httpCertExpiry.name, tls, `${d(warnDays) + m(10)}x45 ${d(Math.max(90, 4 * warnDays))}x30`)], at: [m(50), m(70)] }],
    },
    {
      alert: 'StackwatchTlsCertExpiryCritical',
      firing: [s(M.httpCertExpiry.name, tls, `${d(critDays) + m(10)}x30`)],
      onset: m(11),
      labels: backend({ severity: 'critical' }),
      summary: `TLS certificate of backend expires in ${humanizeDuration(d(critDays) + m(10) - firesAtTime(m(11), durationSeconds(cfg.for.StackwatchTlsCertExpiryCritical)))}`,
      description: `The certificate last served by backend (exporter ${EXP.instance}) has ${humanizeDuration(d(critDays) + m(10) - firesAtTime(m(11), durationSeconds(cfg.for.StackwatchTlsCertExpiryCritical)))} of validity left (negative: expired that long ago; limit ${cfg.tlsCert.criticalDays} days). Once it expires, clients that verify certificates refuse the connection.`,
      // Between the two limits is StackwatchTlsCertExpiringSoon's, not this.
      healthy: [s(M.httpCertExpiry.name, tls, `${d((critDays + warnDays) / 2)}x30`)],
      moreFiring: [{
        name: 'an expired certificate',
        input: [s(M.httpCertExpiry.name, tls, `${m(10)}x60`)],
        onset: m(30),
        labels: backend({ severity: 'critical' }),
        summary: 'TLS certificate of backend has expired',
        description: `The certificate last served by backend (exporter ${EXP.instance}) has ${humanizeDuration(m(10) - firesAtTime(m(30), durationSeconds(cfg.for.StackwatchTlsCertExpiryCritical)))} of validity left (negative: expired that long ago; limit ${cfg.tlsCert.criticalDays} days). Once it expires, clients that verify certificates refuse the connection.`,
      }],
    },
    {
      alert: 'StackwatchMqttBrokerDown',
      firing: [s(M.mqttConnected.name, broker, '1 1 0x20')],
      onset: m(2),
      labels: { ...brokerAlert, severity: 'critical' },
      summary: 'MQTT broker main is unreachable',
      description: `The exporter ${EXP.instance} has not been connected to broker main for more than ${cfg.for.StackwatchMqttBrokerDown}. Alerts of clients that depend on the broker are muted while this fires.`,
      healthy: [s(M.mqttConnected.name, broker, '1x20')],
    },
    {
      alert: 'StackwatchMqttAuthFailing',
      // The broker refuses the exporter's credentials: one failed attempt a minute, never connected again.
      firing: [s(M.mqttConnectFailures.name, { ...broker, reason: 'auth' }, '0 0 1+1x30'), s(M.mqttConnected.name, broker, '1 1 0x30')],
      onset: m(2),
      labels: { ...brokerAlert, reason: 'auth', severity: 'critical' },
      summary: 'MQTT broker main rejects the exporter\'s credentials',
      description: `Broker main answers, but refused the connection of the exporter ${EXP.instance} as not authorised (bad username or password, or not allowed) in the last ${cfg.mqtt.authFailureWindow}, and the exporter is not connected. The broker is up: StackwatchMqttBrokerDown is muted while this fires. If the broker's password file or ACL changed, other clients may be locked out too.`,
      healthy: [s(M.mqttConnectFailures.name, { ...broker, reason: 'auth' }, '0x30'), s(M.mqttConnected.name, broker, '1x30')],
      silent: [
        {
          name: 'one refused attempt, then connected again',
          input: [s(M.mqttConnectFailures.name, { ...broker, reason: 'auth' }, '0 0 1x30'), s(M.mqttConnected.name, broker, '1 1 0 1x30')],
          at: [m(3), m(4), m(6)],
        },
        {
          name: 'a broker that cannot be reached is StackwatchMqttBrokerDown, not this',
          input: [
            s(M.mqttConnectFailures.name, { ...broker, reason: 'network' }, '0 0 1+1x30'),
            s(M.mqttConnectFailures.name, { ...broker, reason: 'auth' }, '0x30'),
            s(M.mqttConnected.name, broker, '1 1 0x30'),
          ],
          at: [m(5), m(10)],
        },
      ],
    },
    {
      alert: 'StackwatchMqttSysStale',
      firing: [s(M.mqttSysLast.name, broker, '0+60x3 180x20')],
      onset: m(5),
      labels: { ...brokerAlert, severity: 'warning' },
      summary: 'No $SYS messages from MQTT broker main',
      description: `The last $SYS message from broker main (exporter ${EXP.instance}) arrived 3m 0s ago (limit ${cfg.mqtt.sysStaleSeconds}s): the broker is frozen or the connection is stale although it looks open.`,
      healthy: [s(M.mqttSysLast.name, broker, '0+60x20')],
    },
    {
      alert: 'StackwatchMqttRoundtripFailing',
      // Probes succeed until minute 4, then every probe fails (rtPerMin a minute): enough of them
      // in the failure window, and none back in the recovery window, from rtOnset.
      firing: [s(M.mqttRoundtripFailures.name, broker, `0x4 ${rtPerMin}+${rtPerMin}x${rtLen}`), s(`${M.mqttRoundtrip.name}_count`, broker, `0+1x4 4x${rtLen}`), s(M.mqttConnected.name, broker, `1x${rtLen + 5}`), started],
      onset: m(rtOnset),
      labels: { ...brokerAlert, severity: 'critical' },
      summary: 'MQTT round trips through main fail',
      description: `At least ${cfg.mqtt.roundtripFailures} probe messages published to broker main (exporter ${EXP.instance}) did not come back in the last ${cfg.mqtt.roundtripFailureWindow}, and none came back in the last ${cfg.mqtt.roundtripRecoveryWindow}: the broker accepts connections but does not deliver.`,
      healthy: [s(M.mqttRoundtripFailures.name, broker, '0x10 1x20'), s(`${M.mqttRoundtrip.name}_count`, broker, '0+1x30'), s(M.mqttConnected.name, broker, '1x30'), started],
      silent: [
        {
          // Failing from minute 5 to 13, round trips back from minute 14: the failures stay in the window for minutes more.
          name: 'it ends with the first probe that comes back (it does not outlast recovery)',
          input: [s(M.mqttRoundtripFailures.name, broker, `0x4 ${rtPerMin}+${rtPerMin}x8 ${9 * rtPerMin}x20`), s(`${M.mqttRoundtrip.name}_count`, broker, '0+1x4 5x8 6+1x20'), s(M.mqttConnected.name, broker, '1x33'), started],
          at: [m(15), m(16), m(18)],
        },
        {
          name: 'explained by StackwatchMqttBrokerDown (the exporter not connected), during the outage and just after it',
          input: [s(M.mqttRoundtripFailures.name, broker, `0x4 ${rtPerMin}+${rtPerMin}x8 ${9 * rtPerMin}x20`), s(`${M.mqttRoundtrip.name}_count`, broker, '0+1x4 4x8 5+1x20'), s(M.mqttConnected.name, broker, '1x4 0x8 1x20'), started],
          at: [m(8), m(10), m(13), m(14)],
        },
        {
          name: 'a removed broker: its series are gone',
          input: [s(M.mqttRoundtripFailures.name, broker, `0x4 ${rtPerMin}+${rtPerMin}x5 stale`), s(`${M.mqttRoundtrip.name}_count`, broker, '0+1x4 5x5 stale'), s(M.mqttConnected.name, broker, '1x9 stale'), started],
          at: [m(11), m(13)],
        },
      ],
    },
    {
      alert: 'StackwatchMqttRoundtripSlow',
      firing: [
        s(`${M.mqttRoundtrip.name}_bucket`, { ...broker, le: rtLe(slowRt) }, '0x30'),
        s(`${M.mqttRoundtrip.name}_bucket`, { ...broker, le: rtLe(slowRt * 2.5) }, '0+10x30'),
        s(`${M.mqttRoundtrip.name}_bucket`, { ...broker, le: '+Inf' }, '0+10x30'),
        s(M.mqttConnected.name, broker, '1x30'),
      ],
      onset: m(1),
      labels: { ...brokerAlert, severity: 'warning' },
      summary: 'MQTT round trips through main are slow',
      description: `The 90th percentile of probe round trips through broker main (exporter ${EXP.instance}) is ${humanizeDuration(slowRt + 1.5 * slowRt * cfg.mqtt.roundtripSlowQuantile)} (limit ${slowRt}s).`,
      healthy: [
        s(`${M.mqttRoundtrip.name}_bucket`, { ...broker, le: rtLe(slowRt / 20) }, '0+10x30'),
        s(`${M.mqttRoundtrip.name}_bucket`, { ...broker, le: rtLe(slowRt) }, '0+10x30'),
        s(`${M.mqttRoundtrip.name}_bucket`, { ...broker, le: rtLe(slowRt * 2.5) }, '0+10x30'),
        s(`${M.mqttRoundtrip.name}_bucket`, { ...broker, le: '+Inf' }, '0+10x30'),
        s(M.mqttConnected.name, broker, '1x30'),
      ],
    },
    {
      alert: 'StackwatchMqttTopicSilent',
      firing: [s(M.mqttTopicSilent.name, { ...broker, topic: 'sensors/+/temp' }, '0 0 1x20')],
      onset: m(2),
      labels: { ...EXP, broker: 'main', topic: 'sensors/+/temp', kind: 'topic', target: 'sensors/+/temp', severity: 'warning' },
      summary: 'No message on MQTT topic sensors/+/temp (broker main)',
      description: `Nothing has been published on sensors/+/temp through broker main (exporter ${EXP.instance}) for longer than its stale_after, for more than ${cfg.for.StackwatchMqttTopicSilent}: the broker delivers, but the device or worker that publishes there has stopped.`,
      healthy: [s(M.mqttTopicSilent.name, { ...broker, topic: 'sensors/+/temp' }, '0x20')],
      silent: [{ name: 'a topic that speaks again', input: [s(M.mqttTopicSilent.name, { ...broker, topic: 'sensors/+/temp' }, '0 0 1 0x20')], at: [m(3), m(4), m(5)] }],
    },
    {
      alert: 'StackwatchDockerApiDown',
      firing: [s(M.dockerUp.name, {}, '1 1 0x20'), s(M.dockerEventsUp.name, {}, '1 1 0x20')],
      onset: m(2),
      labels: { ...EXP, severity: 'warning' },
      summary: `stackwatch ${EXP.instance} cannot reach the Docker API`,
      description: `The exporter ${EXP.instance} has had no answer from the Docker engine (or could not open its events stream) for more than ${cfg.for.StackwatchDockerApiDown}. Container states, restarts and OOM kills are not observed; the container alerts of this exporter are muted while this fires.`,
      healthy: [s(M.dockerUp.name, {}, '1x20'), s(M.dockerEventsUp.name, {}, '1x20')],
      silent: [{ name: 'a daemon restart shorter than for', input: [s(M.dockerUp.name, {}, '1 1 0 1x20'), s(M.dockerEventsUp.name, {}, '1 1 0 1x20')], at: [m(3), m(4), m(5)] }],
    },
    {
      alert: 'StackwatchDockerEventsStreamDown',
      firing: [s(M.dockerUp.name, {}, '1x30'), s(M.dockerEventsUp.name, {}, '1 1 0x30')],
      onset: m(2),
      labels: { ...EXP, severity: 'warning' },
      summary: `Docker events stream of stackwatch ${EXP.instance} is closed`,
      description: `The Docker API answers the exporter ${EXP.instance}, but its events stream has been closed for more than ${cfg.for.StackwatchDockerEventsStreamDown}: container starts, deaths, OOM kills and health changes are not seen until the stream reopens.`,
      // A stream cut and reopened at once.
      healthy: [s(M.dockerUp.name, {}, '1x30'), s(M.dockerEventsUp.name, {}, '1 1 0 1x30')],
      silent: [{
        name: 'with the API down it is StackwatchDockerApiDown, not this',
        input: [s(M.dockerUp.name, {}, '1 1 0x30'), s(M.dockerEventsUp.name, {}, '1 1 0x30')],
        at: [m(10), m(20)],
      }],
    },
    {
      alert: 'StackwatchContainerUnhealthy',
      firing: [s(M.containerHealth.name, { ...ctr, status: 'unhealthy' }, '0 0 1x20'), s(M.containerHealth.name, { ...ctr, status: 'healthy' }, '1 1 0x20')],
      onset: m(2),
      labels: { ...ctrAlert, severity: 'critical', status: 'unhealthy' },
      summary: 'Container backend is unhealthy',
      description: `Docker reports the health check of container backend (exporter ${EXP.instance}) as unhealthy for more than ${cfg.for.StackwatchContainerUnhealthy}. Check whether the check itself works (a missing curl in the image) before blaming the service.`,
      healthy: [s(M.containerHealth.name, { ...ctr, status: 'unhealthy' }, '0x20'), s(M.containerHealth.name, { ...ctr, status: 'healthy' }, '0 0 1x20')],
    },
    {
      alert: 'StackwatchContainerCrashLooping',
      // Pages at the restarts.count-th restart.
      firing: [s(M.containerRestarts.name, ctr, stepsAt(restart.firing, restart.end)), running(`1x${restart.end}`), started],
      onset: m(lastRestart),
      labels: { ...ctrAlert, severity: 'critical' },
      summary: 'Container backend is crash-looping',
      description: `Container backend (exporter ${EXP.instance}) restarted at least ${cfg.restarts.count} times in the last ${cfg.restarts.window}.`,
      healthy: [s(M.containerRestarts.name, ctr, stepsAt(restart.healthy, restart.end)), running(`1x${restart.end}`), started],
      silent: [
        // (With restarts.count 1, every restart is a loop.)
        ...(restarts > 1 ? [{ name: `${restarts} restarts spread over more than ${cfg.restarts.window} are not a loop`, input: [s(M.containerRestarts.name, ctr, stepsAt(spreadRestarts, spreadLast + 34)), running(`1x${spreadLast + 34}`), started], at: [m(spreadLast + 4), m(spreadLast + 14)] }] : []),
        { name: 'a removed container pages nobody', input: [s(M.containerRestarts.name, ctr, `${stepsAt(restart.firing.filter((t) => t <= lastRestart), lastRestart)} stale`), running(`1x${lastRestart} stale`), started], at: [m(lastRestart + 1), m(lastRestart + 2), m(lastRestart + 20)] },
        {
          name: `a container found with its history (RestartCount ${restarts + 3}) when the exporter starts is no crash loop`,
          input: [s(M.containerRestarts.name, ctr, `_x10 ${restarts + 3}x60`), running('_x10 1x60'), startedAt(10)],
          at: [m(10), m(11), m(30)],
        },
      ],
      moreFiring: bornFires(cfg.restarts.window, cfg.for.StackwatchContainerCrashLooping, {
        name: `a counter born at ${restarts} while the exporter runs (restarts before the first scrape that saw the container)`,
        input: [s(M.containerRestarts.name, ctr, `_x10 ${restarts}x60`), running('_x10 1x60'), started],
        onset: m(10),
        labels: { ...ctrAlert, severity: 'critical' },
        summary: 'Container backend is crash-looping',
        description: `Container backend (exporter ${EXP.instance}) restarted at least ${cfg.restarts.count} times in the last ${cfg.restarts.window}.`,
      }),
    },
    {
      alert: 'StackwatchContainerOomKilled',
      firing: [s(M.containerOomKills.name, ctr, '0x4 1x20'), running('1x25'), started],
      onset: m(5),
      labels: { ...ctrAlert, severity: 'warning' },
      summary: 'Container backend was OOM-killed',
      description: `The kernel killed container backend (exporter ${EXP.instance}) for exceeding its memory limit in the last ${cfg.oomWindow}, or the container has stayed down since such a kill. Usually the end of a memory leak; see the memory floor slope.`,
      healthy: [s(M.containerOomKills.name, ctr, '0x20'), running('1x25'), started],
      silent: [
        { name: 'an old OOM kill is not news', input: [s(M.containerOomKills.name, ctr, '0x4 1x60'), running('1x65'), s(M.containerExitCode.name, ctr, '137x65'), started], at: [m(30)] },
        { name: 'a removed container pages nobody', input: [s(M.containerOomKills.name, ctr, '0x4 1 stale'), running('1x5 stale'), started], at: [m(6), m(10)] },
        {
          name: 'a container found OOM-killed long ago when the exporter starts is no news',
          input: [s(M.containerOomKills.name, ctr, '_x10 1x60'), running('_x10 1x60'), startedAt(10)],
          at: [m(10), m(11), m(20)],
        },
      ],
      moreFiring: [{
        name: 'a container that stayed down after its OOM kill, long after the window',
        input: [
          s(M.containerOomKills.name, ctr, '0x4 1x60'), s(M.containerExitCode.name, ctr, '0x4 137x60'),
          s(M.containerState.name, { ...ctr, state: 'running' }, '1x4 0x60'), s(M.containerState.name, { ...ctr, state: 'exited' }, '0x4 1x60'), started,
        ],
        onset: m(40),
        labels: { ...ctrAlert, severity: 'warning' },
        summary: 'Container backend was OOM-killed',
        description: `The kernel killed container backend (exporter ${EXP.instance}) for exceeding its memory limit in the last ${cfg.oomWindow}, or the container has stayed down since such a kill. Usually the end of a memory leak; see the memory floor slope.`,
      }, {
        name: 'a counter born at 1 (killed within its first scrape interval)',
        input: [s(M.containerOomKills.name, ctr, '_x10 1x60'), running('_x10 1x60'), started],
        onset: m(10),
        labels: { ...ctrAlert, severity: 'warning' },
        summary: 'Container backend was OOM-killed',
        description: `The kernel killed container backend (exporter ${EXP.instance}) for exceeding its memory limit in the last ${cfg.oomWindow}, or the container has stayed down since such a kill. Usually the end of a memory leak; see the memory floor slope.`,
      }],
    },
    {
      alert: 'StackwatchContainerMemoryLeakSuspected',
      // Slow leak under the GC sawtooth: the floor grows leakPerHour (10 MiB/h by default).
      firing: [
        s(M.containerMemUsage.name, ctr, perMinute(400, (t) => 100 * MiB + (leakPerHour * t) / 60 + saw(t))),
        s(M.containerStartedAt.name, ctr, `${leakStart}x400`),
        running('1x400'),
        s(M.containerRestarts.name, ctr, '0x400'),
      ],
      onset: h(3), // the warm-up guard (quiet window) ends at 3h (leakStart)
      labels: { ...ctrAlert, severity: 'warning' },
      summary: 'Container backend may be leaking memory',
      description: `The memory floor (minimum over 30m, so GC sawtooth does not count) of container backend (exporter ${EXP.instance}) has grown by more than ${leakText} per hour for more than ${cfg.for.StackwatchContainerMemoryLeakSuspected}, with no restart in the last ${cfg.leak.quietWindow}.`,
      // Flat GC sawtooth: big teeth, no growth of the floor.
      healthy: [
        s(M.containerMemUsage.name, ctr, perMinute(400, (t) => 100 * MiB + saw(t))),
        s(M.containerStartedAt.name, ctr, '0x400'),
        running('1x400'),
        s(M.containerRestarts.name, ctr, '0x400'),
      ],
      healthyAt: [h(5), h(6)],
      silent: [leakRestartCase('container'), leakWarmupCase('container')],
    },
    {
      alert: 'StackwatchContainerMemoryExhaustion',
      firing: [
        s(M.containerMemUsage.name, ctr, perMinute(400, (t) => 100 * MiB + t * MiB)),
        s(M.containerMemLimit.name, ctr, `${400 * MiB}x400`),
        s(M.containerStartedAt.name, ctr, `${leakStart}x400`),
        running('1x400'),
      ],
      onset: h(3),
      labels: { ...ctrAlert, severity: 'warning' },
      summary: 'Container backend will reach its memory limit soon',
      // The floor (the usage 30 minutes before) grows 60 MiB/h: it meets the 400 MiB limit at minute 330.
      description: `At the current growth of its memory floor, container backend (exporter ${EXP.instance}) reaches its memory limit in ${humanizeDuration(m(330) - firesAtTime(h(3), durationSeconds(cfg.for.StackwatchContainerMemoryExhaustion)))}, then gets OOM-killed.`,
      healthy: [
        s(M.containerMemUsage.name, ctr, perMinute(400, (t) => 100 * MiB + saw(t))),
        s(M.containerMemLimit.name, ctr, `${400 * MiB}x400`),
        s(M.containerStartedAt.name, ctr, '0x400'),
        running('1x400'),
      ],
      silent: [{
        name: 'slow growth far from the limit',
        input: [
          s(M.containerMemUsage.name, ctr, perMinute(400, (t) => 100 * MiB + (t * MiB) / 6)),
          s(M.containerMemLimit.name, ctr, `${4096 * MiB}x400`),
          s(M.containerStartedAt.name, ctr, '0x400'),
          running('1x400'),
        running('1x400'),
        ],
        at: [h(4), h(6)],
      }],
    },
    {
      alert: 'StackwatchProcessNotRunning',
      firing: [s(M.processGroupProcesses.name, grp, '1 1 0x20')],
      onset: m(2),
      labels: { ...grpAlert, severity: 'critical' },
      summary: 'No process of group backend is running',
      description: `The exporter ${EXP.instance} has found no process matching group backend for more than ${cfg.for.StackwatchProcessNotRunning}. Nothing restarted it.`,
      healthy: [s(M.processGroupProcesses.name, grp, '1 1 2 2 1x20')],
      silent: [{ name: 'a 10 s auto-restart (one sample at 0) is no outage', input: [s(M.processGroupProcesses.name, grp, '1 1 0 1x20')], at: [m(3), m(4)] }],
    },
    {
      alert: 'StackwatchProcessRestarting',
      // The seeds' crash loop: a reload watcher restarting the server every ~5 minutes here.
      firing: [s(M.processRestarts.name, grp, stepsAt(restart.firing, restart.end)), procs(`1x${restart.end}`), started],
      onset: m(lastRestart),
      labels: { ...grpAlert, severity: 'critical' },
      summary: 'Processes of group backend keep restarting',
      description: `Processes of group backend (exporter ${EXP.instance}) were replaced at least ${cfg.restarts.count} times in the last ${cfg.restarts.window}: a crash loop, or a development reload flag in production.`,
      healthy: [s(M.processRestarts.name, grp, stepsAt(restart.healthy, restart.end)), procs(`1x${restart.end}`), started],
      silent: [
        { name: 'a group removed from the config pages nobody', input: [s(M.processRestarts.name, grp, `${stepsAt(restart.firing.filter((t) => t <= lastRestart), lastRestart)} stale`), procs(`1x${lastRestart} stale`), started], at: [m(lastRestart + 1), m(lastRestart + 2), m(lastRestart + 20)] },
      ],
      moreFiring: bornFires(cfg.restarts.window, cfg.for.StackwatchProcessRestarting, {
        name: `a counter born at ${restarts} while the exporter runs`,
        input: [s(M.processRestarts.name, grp, `_x10 ${restarts}x60`), procs('_x10 1x60'), started],
        onset: m(10),
        labels: { ...grpAlert, severity: 'critical' },
        summary: 'Processes of group backend keep restarting',
        description: `Processes of group backend (exporter ${EXP.instance}) were replaced at least ${cfg.restarts.count} times in the last ${cfg.restarts.window}: a crash loop, or a development reload flag in production.`,
      }),
    },
    {
      alert: 'StackwatchProcessGroupAmbiguous',
      // `bash supervise.sh node backend.js` matched by `cmdline: node` next to the backend itself.
      firing: [s(M.processGroupExecutables.name, grp, '1 2x60')],
      onset: m(1),
      labels: { ...grpAlert, severity: 'warning' },
      summary: 'Process group backend matches different programs',
      description: `The processes matching group backend (exporter ${EXP.instance}) have run 2 different executables for more than ${cfg.for.StackwatchProcessGroupAmbiguous}: its pattern likely also matches a wrapper (a supervisor script whose arguments name the program), which keeps the group up while the program is dead. Anchor the pattern; stackwatch processes --config FILE shows the matches.`,
      healthy: [s(M.processGroupExecutables.name, grp, '1x60')],
    },
    {
      alert: 'StackwatchProcessMemoryLeakSuspected',
      firing: [
        s(M.processRss.name, grp, perMinute(400, (t) => 100 * MiB + (leakPerHour * t) / 60 + saw(t))),
        s(M.processOldestStart.name, grp, `${leakStart}x400`),
        procs('1x400'),
        s(M.processRestarts.name, grp, '0x400'),
      ],
      onset: h(3),
      labels: { ...grpAlert, severity: 'warning' },
      summary: 'Process group backend may be leaking memory',
      description: `The resident-memory floor (minimum over 30m, so GC sawtooth does not count) of group backend (exporter ${EXP.instance}) has grown by more than ${leakText} per hour for more than ${cfg.for.StackwatchProcessMemoryLeakSuspected}, with no restart in the last ${cfg.leak.quietWindow}.`,
      healthy: [
        s(M.processRss.name, grp, perMinute(400, (t) => 100 * MiB + saw(t))),
        s(M.processOldestStart.name, grp, '0x400'),
        procs('1x400'),
        s(M.processRestarts.name, grp, '0x400'),
      ],
      healthyAt: [h(5), h(6)],
      silent: [leakRestartCase('process'), leakWarmupCase('process')],
    },
    {
      alert: 'StackwatchProcessFdLeak',
      firing: [
        s(M.processOpenFds.name, grp, '100+10x400'),
        s(M.processMaxFds.name, grp, '4096x400'),
        procs('1x400'),
        s(M.processRestarts.name, grp, '0x400'),
      ],
      onset: m(160),
      labels: { ...grpAlert, severity: 'warning' },
      summary: 'Process group backend is leaking file descriptors',
      description: `Open file descriptors of group backend (exporter ${EXP.instance}) grow steadily and reach the limit within ${cfg.fds.horizonSeconds / 3600}h at this rate. Then accept() and open() fail.`,
      healthy: [
        s(M.processOpenFds.name, grp, '500 520 540 500 480 500 520 540 500 480x400'),
        s(M.processMaxFds.name, grp, '4096x400'),
        procs('1x400'),
        s(M.processRestarts.name, grp, '0x400'),
      ],
    },
  ];
}

type MemSeriesFn = (kind: 'process' | 'container', rss: number[], start: string, restarts: string) => InputSeries[];

/** Memory series of a process group or container. */
const memSeriesOf = (s: SeriesFn): MemSeriesFn => (kind, rss, start, restarts) => {
  const key: Record<string, string> = kind === 'process' ? { group: 'backend' } : { container: 'backend' };
  return kind === 'process'
    ? [s(M.processRss.name, key, rss), s(M.processOldestStart.name, key, start), s(M.processRestarts.name, key, restarts), s(M.processGroupProcesses.name, key, '1x600')]
    : [s(M.containerMemUsage.name, key, rss), s(M.containerStartedAt.name, key, start), s(M.containerRestarts.name, key, restarts), s(M.containerState.name, { ...key, state: 'running' }, '1x600')];
};

/**
 * A restart mid-window: steady sawtooth for 4h (started a day before), then a restart whose
 * warm-up climbs 100 MiB in an hour. The floor's slope is positive for ~2h after the restart
 * (checked by a promql test below): only the restart guard keeps the alert silent.
 */
const leakRestartCaseOf = (memSeries: MemSeriesFn) => (kind: 'process' | 'container') => {
  const rss = perMinute(480, (t) => (t < 240 ? 150 * MiB + saw(t) : 50 * MiB + (Math.min(t - 240, 60) * 100 * MiB) / 60 + saw(t)));
  return {
    name: 'restart mid-window: the warm-up after a restart is not a leak',
    input: memSeries(kind, rss, '-86400x239 14400x241', '0x239 1x241'),
    at: [h(5), h(5) + m(30), h(6), h(6) + m(30), h(7), h(7) + m(30), h(8)],
  };
};

/** A fresh start: memory climbs 100 MiB in the first 30 minutes, then stays flat. */
const leakWarmupCaseOf = (memSeries: MemSeriesFn) => (kind: 'process' | 'container') => {
  const rss = perMinute(400, (t) => 50 * MiB + (Math.min(t, 30) * 100 * MiB) / 30 + saw(t));
  return {
    name: 'warm-up after start is not a leak',
    input: memSeries(kind, rss, '0x400', '0x400'),
    at: [h(1), h(2), h(3), h(4), h(5)],
  };
};

/** The first evaluation (every `step` seconds) at which an alert true from `onset` on has been pending for `forS`. */
export function firesAtTime(onset: number, forS: number, step = TEST_INTERVAL_SECONDS): number {
  return onset + Math.ceil(forS / step) * step;
}

/** Evaluation time as promtool reads it. */
export function evalTime(sec: number): string {
  return sec % 60 === 0 ? `${sec / 60}m` : `${sec}s`;
}

export interface PromtoolTest {
  name: string;
  interval: string;
  input_series: InputSeries[];
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string>; exp_annotations: Record<string, string> }[] }[];
  promql_expr_test?: { expr: string; eval_time: string; exp_samples: { labels: string; value: number }[] }[];
}

/** The recording-rule tests; `step` as AlertCaseSpec's, for those that play days of history. */
function recordingTests(cfg: BundleConfig): (PromtoolTest & { step?: number })[] {
  const EXP = exporterLabels(cfg);
  const sel = selector(EXP);
  const s = seriesOf(EXP);
  const memSeries = memSeriesOf(s);
  const http = { kind: 'http', target: 'backend' };
  const lbl = (name: string): string => sel(name, http);
  const sum = `${M.targetRecovery.name}_sum`;
  const count = `${M.targetRecovery.name}_count`;
  const grp = { group: 'backend' };
  const rss = perMinute(480, (t) => (t < 240 ? 150 * MiB + saw(t) : 50 * MiB + (Math.min(t - 240, 60) * 100 * MiB) / 60 + saw(t)));
  return [
    {
      name: 'SLI error ratio: failures / checks per target',
      interval: '1m',
      input_series: [s(M.targetChecks.name, http, '0+12x20'), s(M.targetCheckFailures.name, http, '0+3x20')],
      promql_expr_test: [
        { expr: R.errorRatio('5m'), eval_time: '10m', exp_samples: [{ labels: lbl(R.errorRatio('5m')), value: 0.25 }] },
        { expr: R.errorRatio('1h'), eval_time: '10m', exp_samples: [{ labels: lbl(R.errorRatio('1h')), value: 0.25 }] },
      ],
    },
    // The same 30-minute outage (minutes 61-91), inside a maintenance window and outside one. In the
    // window the exporter counts no checks (the counters pause) and says so with its gauge.
    {
      name: 'maintenance: an outage inside a window spends no error budget and leaves uptime whole',
      interval: '1m',
      input_series: [
        s(M.targetChecks.name, http, '0+12x60 720x30 720+12x60'),
        s(M.targetCheckFailures.name, http, '0x152'),
        s(M.targetUp.name, http, '1x60 0x30 1x60'),
        s(M.targetInMaintenance.name, http, '0x60 1x30 0x60'),
      ],
      promql_expr_test: [
        // Meanwhile the short windows say nothing (their rates could still hold failures from before the window).
        { expr: R.errorRatio('5m'), eval_time: '75m', exp_samples: [] },
        { expr: R.upOutsideMaintenance, eval_time: '75m', exp_samples: [] },
        { expr: R.errorRatio('1h'), eval_time: '120m', exp_samples: [{ labels: lbl(R.errorRatio('1h')), value: 0 }] },
        { expr: R.errorRatio('30d'), eval_time: '120m', exp_samples: [{ labels: lbl(R.errorRatio('30d')), value: 0 }] },
        { expr: R.uptimeRatio('1d'), eval_time: '120m', exp_samples: [{ labels: lbl(R.uptimeRatio('1d')), value: 1 }] },
      ],
    },
    {
      name: 'maintenance: the same outage outside a window spends error budget and uptime',
      interval: '1m',
      input_series: [
        s(M.targetChecks.name, http, '0+12x152'),
        s(M.targetCheckFailures.name, http, '0x60 12+12x30 372x60'),
        s(M.targetUp.name, http, '1x60 0x30 1x60'),
        s(M.targetInMaintenance.name, http, '0x152'),
      ],
      promql_expr_test: [
        { expr: R.errorRatio('5m'), eval_time: '75m', exp_samples: [{ labels: lbl(R.errorRatio('5m')), value: 1 }] },
        { expr: R.errorRatio('30d'), eval_time: '120m', exp_samples: [{ labels: lbl(R.errorRatio('30d')), value: 372 / 1440 }] },
        // 121 samples (minutes 0-120), 31 of them down.
        { expr: `round(${R.uptimeRatio('1d')} * 1000000)`, eval_time: '120m', exp_samples: [{ labels: sel('', http), value: Math.round((90 / 121) * 1e6) }] },
      ],
    },
    {
      name: 'uptime ratio: share of time up',
      interval: '1m',
      input_series: [s(M.targetUp.name, http, '1x29 0x29')],
      promql_expr_test: [{ expr: R.uptimeRatio('1d'), eval_time: '59m', exp_samples: [{ labels: lbl(R.uptimeRatio('1d')), value: 0.5 }] }],
    },
    {
      name: 'MTTR: mean outage length, counting a histogram series born by its first recovery',
      // A day of history (one-minute steps: 5 s of promtool CPU); the checks are at 1500m.
      step: m(5),
      interval: '1m',
      input_series: [
        // Two recoveries (60 s and 120 s) a day after the series appeared at zero...
        s(sum, http, '0x1450 60x20 180x100'),
        s(count, http, '0x1450 1x20 2x100'),
        // ...and a target whose series was born by its first (and only) recovery of 300 s.
        s(sum, { kind: 'http', target: 'api' }, '_x1480 300x60'),
        s(count, { kind: 'http', target: 'api' }, '_x1480 1x60'),
      ],
      promql_expr_test: [
        {
          expr: `round(${R.mttr('1d')}, 0.001)`,
          eval_time: '1500m',
          exp_samples: [{ labels: `{${Object.entries({ ...EXP, ...http }).map(([k, v]) => `${k}="${v}"`).join(',')}}`, value: 90 }, { labels: `{${Object.entries({ ...EXP, kind: 'http', target: 'api' }).map(([k, v]) => `${k}="${v}"`).join(',')}}`, value: 300 }],
        },
        {
          expr: `round(${R.mttr('7d')}, 0.001)`,
          eval_time: '1500m',
          exp_samples: [{ labels: `{${Object.entries({ ...EXP, ...http }).map(([k, v]) => `${k}="${v}"`).join(',')}}`, value: 90 }, { labels: `{${Object.entries({ ...EXP, kind: 'http', target: 'api' }).map(([k, v]) => `${k}="${v}"`).join(',')}}`, value: 300 }],
        },
        // A day after the last recovery, there is no MTTR over 1d (no recovery), not NaN.
        { expr: R.mttr('1d'), eval_time: '1500m', exp_samples: [
          { labels: lbl(R.mttr('1d')), value: 90 },
          { labels: sel(R.mttr('1d'), { kind: 'http', target: 'api' }), value: 300 },
        ] },
      ],
    },
    {
      name: 'memory floor: the bottom of the GC sawtooth',
      interval: '1m',
      input_series: [s(M.processRss.name, grp, perMinute(60, (t) => 100 * MiB + saw(t)))],
      promql_expr_test: [{ expr: R.processMemoryFloor, eval_time: '45m', exp_samples: [{ labels: sel(R.processMemoryFloor, grp), value: 100 * MiB }] }],
    },
    {
      name: 'GC sawtooth: the raw slope jumps above the leak threshold, the floor and its slope stay flat',
      interval: '1m',
      input_series: [s(M.processRss.name, grp, perMinute(200, (t) => 100 * MiB + saw(t)))],
      promql_expr_test: [
        { expr: `count(deriv(${M.processRss.name}[1h]) * 3600 > ${5 * MiB})`, eval_time: '132m', exp_samples: [{ labels: '{}', value: 1 }] },
        { expr: R.processMemoryFloor, eval_time: '132m', exp_samples: [{ labels: sel(R.processMemoryFloor, grp), value: 100 * MiB }] },
        { expr: R.processMemoryFloorSlope, eval_time: '132m', exp_samples: [{ labels: sel(R.processMemoryFloorSlope, grp), value: 0 }] },
      ],
    },
    {
      name: 'leak guard: after a restart the raw floor slope does rise (so the guard is what keeps the alert silent)',
      interval: '1m',
      input_series: memSeries('process', rss, '-86400x239 14400x241', '0x239 1x241'),
      promql_expr_test: [{
        expr: `count(${R.processMemoryFloorSlope} > ${MiB} and ${R.processMemoryFloorSlope} > 0.02 * ${R.processMemoryFloor})`,
        eval_time: '330m',
        exp_samples: [{ labels: '{}', value: 1 }],
      }],
    },
  ];
}

/** The annotations an alert renders for a case's labels (summary, description and the links). */
export type AnnotationsFn = (labels: Record<string, string>, summary: string, description: string, mttr7d?: string) => Record<string, string>;

/**
 * The promtool tests of one alert case: silent one evaluation before its `for:` has elapsed, then
 * firing with exact labels (plus `routing`: notify, role) and annotations; silent on the healthy
 * series (at the firing time and `healthyAt`) and in each silent case; firing in each extra case.
 */
export function alertCaseTests(c: AlertCaseSpec<string>, o: { forText: Duration; annotations: AnnotationsFn; routing?: Record<string, string> }): PromtoolTest[] {
  const out: PromtoolTest[] = [];
  const forS = durationSeconds(o.forText);
  const step = c.step ?? TEST_INTERVAL_SECONDS;
  const checked = [c.onset, ...(c.healthyAt ?? []), ...(c.silent ?? []).flatMap((sc) => sc.at), ...(c.moreFiring ?? []).map((fc) => fc.onset)];
  const offStep = checked.find((t) => t % step !== 0);
  if (offStep !== undefined) throw new Error(`${c.alert}: time ${offStep}s of its test cases is not a multiple of its evaluation step (${step}s)`);
  const firesAt = firesAtTime(c.onset, forS, step);
  const routing = o.routing ?? {};
  const silentAt = (t: number) => ({ eval_time: evalTime(t), alertname: c.alert, exp_alerts: [] });
  const fire = { eval_time: evalTime(firesAt), alertname: c.alert, exp_alerts: [{ exp_labels: { ...c.labels, ...routing }, exp_annotations: o.annotations(c.labels, c.summary, c.description, c.mttr7d) }] };
  const firing: PromtoolTest = { name: `${c.alert}: fires`, interval: '1m', input_series: c.firing, alert_rule_test: [fire] };
  if (forS > 0) {
    firing.alert_rule_test!.unshift(silentAt(firesAt - step));
    firing.name = `${c.alert}: silent one evaluation before for (${o.forText}) has elapsed, then fires`;
  }
  out.push(firing);
  if (c.healthy.length > 0) {
    out.push({ name: `${c.alert}: healthy series stay silent`, interval: '1m', input_series: c.healthy, alert_rule_test: [firesAt, ...(c.healthyAt ?? [])].map(silentAt) });
  }
  for (const sc of c.silent ?? []) {
    out.push({ name: `${c.alert}: ${sc.name}`, interval: '1m', input_series: sc.input, alert_rule_test: sc.at.map(silentAt) });
  }
  for (const fc of c.moreFiring ?? []) {
    const exp = { exp_labels: { ...fc.labels, ...routing }, exp_annotations: o.annotations(fc.labels, fc.summary, fc.description, fc.mttr7d) };
    out.push({ name: `${c.alert}: fires on ${fc.name}`, interval: '1m', input_series: fc.input, alert_rule_test: [{ eval_time: evalTime(firesAtTime(fc.onset, forS, step)), alertname: c.alert, exp_alerts: [exp] }] });
  }
  return out;
}

/** A rule group as a promtool test file loads it: its file (relative to prometheus/tests) and rules. */
export interface LoadableGroup {
  file: string;
  name: string;
  rules: { record?: string; alert?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[];
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A name as PromQL and template text use it: not part of a longer metric name. */
const nameRe = (name: string): RegExp => new RegExp(`(?<![A-Za-z0-9_:])${escapeRe(name)}(?![A-Za-z0-9_:])`);

/** The label matchers of every `ALERTS{...}` selector in a text; a bare `ALERTS` has none (matches every alert). */
function alertsSelectors(text: string): { label: string; op: string; value: string }[][] {
  const out: { label: string; op: string; value: string }[][] = [];
  for (const m of text.matchAll(/(?<![A-Za-z0-9_:])ALERTS(?![A-Za-z0-9_:])(\{([^}]*)\})?/g)) {
    const matchers = [...(m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")/g)]
      .map((x) => ({ label: x[1]!, op: x[2]!, value: JSON.parse(x[3]!) as string }));
    out.push(matchers);
  }
  return out;
}

/**
 * Whether an `ALERTS` selector could select an alert of this rule. Only the alert name and the
 * rule's own static labels are known here; a matcher on any other label (alertstate, job, labels
 * the expression carries) may match, so it does not rule the alert out.
 */
function selectsAlert(matchers: { label: string; op: string; value: string }[], rule: LoadableGroup['rules'][number]): boolean {
  return matchers.every(({ label, op, value }) => {
    const known = label === 'alertname' ? rule.alert : rule.labels?.[label];
    if (known === undefined) return true;
    const eq = op === '=~' || op === '!~' ? new RegExp(`^(?:${value})$`).test(known) : known === value;
    return op.startsWith('!') ? !eq : eq;
  });
}

/**
 * The groups a promtool test file must load, in evaluation order: the groups of the alerts its
 * tests check, the groups recording the names its expressions (and those groups' expressions
 * and annotation templates) use, and the alert groups whose alerts an `ALERTS` selector in them
 * could select, walked until nothing new is needed. Every rule a checked result can depend on
 * is evaluated as in the full set; promtool evaluates no rule the tests cannot see.
 */
export function groupsNeeded(all: readonly LoadableGroup[], tests: readonly PromtoolTest[]): LoadableGroup[] {
  const need = reached(all, (g) => g.rules, tests);
  return all.filter((g) => need.has(g));
}

/**
 * The rules whose results a promtool test can see, group by group in evaluation order (each
 * group's seen rules in their order in it): the alerts it checks, the recording rules their
 * expressions, labels and annotation templates (and its promql_expr_test expressions) read, and
 * the alerts an `ALERTS` selector in those could select, walked until nothing new is needed. Any
 * other rule, of the same groups or not, cannot change the test's result: the test suite uses
 * this to run again only the cases whose rules a setting changed.
 */
export function rulesSeen(all: readonly LoadableGroup[], tests: readonly PromtoolTest[]): { group: LoadableGroup; rules: LoadableGroup['rules'] }[] {
  const seen = reached(all.flatMap((g) => g.rules), (r) => [r], tests);
  return all.map((group) => ({ group, rules: group.rules.filter((r) => seen.has(r)) })).filter((g) => g.rules.length > 0);
}

type Rule = LoadableGroup['rules'][number];

/**
 * The units (groups, or single rules) whose rules the tests' results depend on: those holding a
 * checked alert, then every unit with a recording rule a reached rule's expression, labels or
 * annotations (or a promql_expr_test expression) name, or an alert an `ALERTS` selector in them
 * could select, until nothing new is reached.
 */
function reached<U>(units: readonly U[], rulesOf: (u: U) => readonly Rule[], tests: readonly PromtoolTest[]): Set<U> {
  const need = new Set<U>();
  const texts: string[] = [];
  const add = (u: U): void => {
    if (need.has(u)) return;
    need.add(u);
    for (const r of rulesOf(u)) texts.push(r.expr, ...Object.values(r.labels ?? {}), ...Object.values(r.annotations ?? {}));
  };
  const checked = new Set(tests.flatMap((t) => (t.alert_rule_test ?? []).map((a) => a.alertname)));
  for (const u of units) if (rulesOf(u).some((r) => r.alert !== undefined && checked.has(r.alert))) add(u);
  texts.push(...tests.flatMap((t) => (t.promql_expr_test ?? []).map((e) => e.expr)));
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    const selectors = alertsSelectors(text);
    for (const u of units) {
      if (need.has(u)) continue;
      const reads = (r: Rule): boolean => (r.record !== undefined && nameRe(r.record).test(text)) || (r.alert !== undefined && selectors.some((sel) => selectsAlert(sel, r)));
      if (rulesOf(u).some(reads)) add(u);
    }
  }
  return need;
}

/** A test file's name: `<base>.yml`, or `<base>-<step>.yml` for tests evaluated less often. */
const testFileName = (base: string, step: number): string => (step === TEST_INTERVAL_SECONDS ? `${base}.yml` : `${base}-${evalTime(step)}.yml`);

/** The rule-test files, by name (prometheus/tests/<name>). */
export function ruleTestFiles(cfg: BundleConfig): Record<string, string> {
  const all: LoadableGroup[] = [
    ...recordingGroups(cfg).map((g) => ({ ...g, file: `../rules/${fileOf(g.name)}.yml` })),
    ...alertGroups(cfg).map((g) => ({ ...g, file: `../alerts/${fileOf(g.name)}.yml` })),
  ];
  const alerts = alertGroups(cfg);
  const rules = new Map(allAlerts(cfg).map((r) => [r.alert, r]));
  const groupOf = new Map(alerts.flatMap((g) => g.rules.map((r) => [r.alert, fileOf(g.name)] as const)));
  const byFile = new Map<string, PromtoolTest[]>();
  const stepOf = new Map<string, number>();
  const add = (file: string, t: PromtoolTest, step = TEST_INTERVAL_SECONDS): void => {
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file)!.push(t);
    stepOf.set(file, step);
  };

  for (const c of cases(cfg)) {
    const rule = rules.get(c.alert);
    if (rule === undefined) throw new Error(`test case for unknown alert ${c.alert}`);
    const step = c.step ?? TEST_INTERVAL_SECONDS;
    const file = testFileName(groupOf.get(c.alert)!, step);
    // notify and role are the rule's own (checked against the incident hierarchy by the meta-test).
    const routing = { ...(rule.labels.notify !== undefined ? { notify: rule.labels.notify } : {}), ...(rule.labels.role !== undefined ? { role: rule.labels.role } : {}) };
    /** Every annotation of the alert as Prometheus renders it for these labels. */
    const annotations = (labels: Record<string, string>, summary: string, description: string, mttr7d?: string): Record<string, string> => ({
      summary, description,
      runbook_url: `${cfg.runbookBaseUrl}#${runbookAnchor(c.alert)}`,
      dashboard_url: dashboardUrlFor(cfg, ALERT_DASHBOARD[c.alert], labels),
      mttr_7d: labels.target === undefined ? '' : (mttr7d ?? MTTR_NONE),
    });
    for (const t of alertCaseTests(c, { forText: cfg.for[c.alert], annotations, routing })) add(file, t, step);
  }
  for (const { step = TEST_INTERVAL_SECONDS, ...t } of recordingTests(cfg)) add(testFileName('recording', step), t, step);

  const out: Record<string, string> = {};
  for (const [file, tests] of byFile) {
    // Each file loads only what its tests can see: promtool evaluates every loaded rule at every step.
    const groups = groupsNeeded(all, tests);
    out[file] = toYaml({ rule_files: groups.map((g) => g.file), evaluation_interval: evalTime(stepOf.get(file)!), group_eval_order: groups.map((g) => g.name), tests });
  }
  return out;
}

/** The alert test cases, for the meta-test. */
export function alertCases(cfg: BundleConfig): AlertCaseSpec[] {
  return cases(cfg);
}
