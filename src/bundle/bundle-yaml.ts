/**
 * bundle.yml: the user's overrides of the bundle config (src/bundle/bundle-config.ts), in
 * snake_case. Every key is optional; what is given is deep-merged over the defaults (mappings
 * merge key by key, lists and values replace). Unknown keys are errors naming their path, like
 * the exporter's own configuration; so are wrong types and malformed durations.
 *
 * To add a section: add its snake_case schema to `bundleYamlSchema` (and the field to
 * BundleConfig); keys are converted to camelCase, except those of mappings listed in
 * VERBATIM_KEYS (alert names under `for:`), which are kept as written.
 */
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError, ConfigErrors } from '../config/errors';
import { FileProblem, MAX_CONFIG_BYTES, readBoundedFile } from '../config/files';
import { issueToErrors } from '../config/load';
import { maintenanceSchema } from '../config/maintenance';
import { LOG_LATENCY_BUCKETS, M, type TargetKind } from '../metrics/definitions';
import {
  ALL_ALERT_NAMES, type AnyAlertName, type BundleConfig, bundleConfig, type Duration, exporterMatchers, NOTIFICATION_ROUTES,
  type NotificationRoute, SELECTOR_LABELS, durationSeconds,
} from './bundle-config';
import type { Matcher } from './dashboards/promql';
import { isPrometheusDuration } from '../config/duration';

/** A duration as Prometheus writes it: 30s, 5m, 1h30m, 1d. */
const duration = z
  .string({ error: 'expected a Prometheus duration like 30s, 5m or 1h30m' })
  .refine((v) => isPrometheusDuration(v), { error: (iss) => `expected a Prometheus duration like 30s, 5m or 1h30m, got ${JSON.stringify(iss.input)}` })
  .transform((v) => v as Duration);

const positive = z.number({ error: 'expected a number' }).positive('expected a number above 0');
const count = z.number({ error: 'expected a whole number' }).int('expected a whole number').min(1, 'expected at least 1');
const ratio = z.number({ error: 'expected a number' }).gt(0, 'expected a number between 0 and 1').lt(1, 'expected a number between 0 and 1');
const text = z.string({ error: 'expected text' }).min(1, 'expected text, got an empty string');
const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
/** A label value the rules match on (a health-body field name). */
const labelValue = z.string({ error: 'expected a name (text)' }).regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'expected 1-100 letters, digits or _ . : -');

/** ntfy message priority, 1 (min) to 5 (max). */
const priority = z.number({ error: 'expected a whole number 1-5' }).int('expected a whole number 1-5').min(1, 'expected a whole number 1-5').max(5, 'expected a whole number 1-5');

/** A channel setting; empty means not set. */
const setting = z.string({ error: 'expected text' });

const timing = z.strictObject({ group_wait: duration, group_interval: duration, repeat_interval: duration }).partial();

const burnWindow = z.strictObject({
  long: z.enum(['1h', '6h', '1d', '3d']),
  short: z.enum(['5m', '30m', '2h', '6h']),
  factor: positive,
});
const burnWindows = z.array(burnWindow, { error: 'expected a list of {long, short, factor}' }).min(1, 'expected at least one window pair');

/** `for:` of any alert, by its name. */
const forDurations = z.strictObject(Object.fromEntries(ALL_ALERT_NAMES.map((n) => [n, duration])) as Record<AnyAlertName, typeof duration>).partial();

/** Target kinds the exporter reports. */
const TARGET_KINDS = ['http', 'mqtt', 'container', 'process'] as const satisfies readonly TargetKind[];

export const bundleYamlSchema = z.strictObject({
  /** Where the runbook is published; default: the exporter's own /runbook (exporter.external_url). */
  runbook_url: url,
  /** Grafana as the people who get notifications reach it (alerts link to their dashboard). */
  dashboard_base_url: url,
  exporter: z.strictObject({
    job: text,
    address: text,
    selector: text,
    external_url: url,
  }).partial(),
  prometheus: z.strictObject({
    scrape_interval: duration,
    evaluation_interval: duration,
    alertmanager: text,
  }).partial(),
  alertmanager: z.strictObject({
    webhook_base_url: url,
    page: timing,
    ticket: timing,
    other: timing,
    watchdog_repeat_interval: duration,
    receivers: z.strictObject({
      routes: z.array(z.enum(NOTIFICATION_ROUTES as readonly [NotificationRoute, ...NotificationRoute[]])).min(1, 'expected at least one route'),
      telegram: z.strictObject({
        chat_id: z.string({ error: 'expected the chat id as text' }).regex(/^(-?\d+)?$/, 'expected an integer chat id (or empty: none)'),
        api_url: url,
      }).partial(),
      // Empty text: not set (the channel's own default, or the environment's value at start).
      slack: z.strictObject({ channel: setting }).partial(),
      email: z.strictObject({ smarthost: setting, from: setting, to: setting, username: setting, require_tls: z.boolean({ error: 'expected true or false' }) }).partial(),
      ntfy: z.strictObject({ page_priority: priority, priority }).partial(),
    }).partial(),
  }).partial(),
  target_down_kinds: z.array(z.enum(TARGET_KINDS)).min(1, 'expected at least one kind'),
  slo: z.strictObject({ objective: ratio, fast: burnWindows, slow: burnWindows }).partial(),
  symptom_hold_down: duration,
  recovery_objective_seconds: positive,
  flapping: z.strictObject({ window: duration, outages: count }).partial(),
  health_fields: z.strictObject({ mqtt_connected: labelValue, mqtt_idle_seconds: labelValue, pending_requests: labelValue }).partial(),
  backend_mqtt_idle_seconds: positive,
  pending_requests: z.strictObject({ growth_window: duration, floor: positive, ceiling: positive }).partial(),
  mqtt: z.strictObject({
    sys_stale_seconds: positive,
    roundtrip_failure_window: duration,
    roundtrip_failures: count,
    roundtrip_slow_quantile: ratio,
    roundtrip_slow_seconds: positive,
    auth_failure_window: duration,
    roundtrip_recovery_window: duration,
  }).partial(),
  tls_cert: z.strictObject({ warning_days: positive, critical_days: positive }).partial(),
  restarts: z.strictObject({ window: duration, count }).partial(),
  oom_window: duration,
  leak: z.strictObject({ slope_window: duration, quiet_window: duration, min_bytes_per_hour: positive, min_ratio_per_hour: positive }).partial(),
  exhaustion_horizon_seconds: positive,
  fds: z.strictObject({ window: duration, horizon_seconds: positive, min_used_ratio: ratio }).partial(),
  traffic: z.strictObject({
    min_requests_per_hour: positive,
    bad_gateway: z.strictObject({ window: duration, count }).partial(),
    latency: z.strictObject({ seconds: positive, min_requests: positive }).partial(),
  }).partial(),
  for: forDurations,
  /** Maintenance windows muted in Alertmanager: the exporter's own `maintenance:` section, pasted as is. */
  maintenance: maintenanceSchema,
}).partial();

/** Mappings whose keys are names, kept as written (not converted to camelCase). */
const VERBATIM_KEYS = new Set(['for']);

const camel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** snake_case keys -> camelCase, recursively (lists kept, VERBATIM_KEYS' mappings kept). */
function camelKeys(v: unknown, verbatim = false): unknown {
  if (Array.isArray(v)) return v.map((x) => camelKeys(x));
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [verbatim ? k : camel(k), camelKeys(x, !verbatim && VERBATIM_KEYS.has(k))]));
}

/** `over` merged into `base`: mappings key by key, everything else (values, lists) replaced. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (over === null || typeof over !== 'object' || Array.isArray(over) || base === null || typeof base !== 'object' || Array.isArray(base)) return over as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
  return out as T;
}

/** Does a matcher accept a label value? (Prometheus anchors regular expressions.) */
function matches(m: Matcher, value: string): boolean {
  const re = (): boolean => new RegExp(`^(?:${m.value})$`, 'u').test(value);
  switch (m.op) {
    case '=': return value === m.value;
    case '!=': return value !== m.value;
    case '=~': return re();
    case '!~': return !re();
  }
}

/** Checks that need the merged config: the selector's form, and that it selects the exporter itself. */
function crossChecks(cfg: BundleConfig, file: string): ConfigError[] {
  const errors: ConfigError[] = [];
  let matchers: Matcher[];
  try {
    matchers = exporterMatchers(cfg);
  } catch {
    return [new ConfigError(file, 'exporter.selector', 'expected label matchers such as job="stackwatch" or job=~"stackwatch|stackwatch-eu"')];
  }
  for (const m of matchers) {
    if (!(SELECTOR_LABELS as readonly string[]).includes(m.label)) {
      errors.push(new ConfigError(file, 'exporter.selector', `may only match on ${SELECTOR_LABELS.join(' and ')} (the labels every rule keeps), got ${m.label}`));
    } else if (m.op === '=~' || m.op === '!~') {
      try {
        new RegExp(m.value, 'u');
      } catch {
        errors.push(new ConfigError(file, 'exporter.selector', `${m.label}${m.op}: not a valid regular expression`));
      }
    }
  }
  if (errors.length === 0) {
    const own = { job: cfg.exporter.job, instance: cfg.exporter.address };
    if (!matchers.every((m) => matches(m, own[m.label as 'job' | 'instance']))) {
      errors.push(new ConfigError(file, 'exporter.selector', `must select the exporter's own series (job ${JSON.stringify(own.job)}, instance ${JSON.stringify(own.instance)}: exporter.job and exporter.address, which the generated rule tests use)`));
    }
  }
  if (cfg.tlsCert.criticalDays >= cfg.tlsCert.warningDays) {
    errors.push(new ConfigError(file, 'tls_cert.critical_days', `must be below tls_cert.warning_days (${cfg.tlsCert.warningDays})`));
  }
  // Symptoms are muted while max_over_time(ALERTS{role="cause"}[hold-down]) finds a cause page: the
  // window must hold samples of it, one per evaluation (every minute in the generated rule tests).
  const hold = durationSeconds(cfg.symptomHoldDown);
  if (hold < 120 || hold < 2 * durationSeconds(cfg.prometheus.evaluationInterval)) {
    errors.push(new ConfigError(file, 'symptom_hold_down', `must be at least 2m and twice prometheus.evaluation_interval (${cfg.prometheus.evaluationInterval}): a cause page's samples, one per rule evaluation, must fall inside it`));
  }
  // The latency alert reads a quantile of the request-duration histogram: between its first and last bucket.
  const [first, last] = [Math.min(...LOG_LATENCY_BUCKETS), Math.max(...LOG_LATENCY_BUCKETS)];
  if (cfg.traffic.latency.seconds < first || cfg.traffic.latency.seconds >= last) {
    errors.push(new ConfigError(file, 'traffic.latency.seconds', `must be at least ${first} and below ${last} (the buckets of ${M.logRequestDuration.name})`));
  }
  if (durationSeconds(cfg.traffic.badGateway.window) < 120) {
    errors.push(new ConfigError(file, 'traffic.bad_gateway.window', 'must be at least 2m: the rule tests stackwatch bundle writes count the burst from samples a minute apart'));
  }
  // Windows the rules read with increase(), changes() or deriv(): the generated rule tests sample
  // every minute, and a window needs two samples (Prometheus 2 ranges include both ends).
  const sampledWindows: [string, Duration][] = [
    ['restarts.window', cfg.restarts.window], ['flapping.window', cfg.flapping.window], ['oom_window', cfg.oomWindow],
    ['mqtt.roundtrip_failure_window', cfg.mqtt.roundtripFailureWindow], ['mqtt.auth_failure_window', cfg.mqtt.authFailureWindow],
    ['mqtt.roundtrip_recovery_window', cfg.mqtt.roundtripRecoveryWindow], ['pending_requests.growth_window', cfg.pendingRequests.growthWindow],
    ['leak.slope_window', cfg.leak.slopeWindow], ['leak.quiet_window', cfg.leak.quietWindow], ['fds.window', cfg.fds.window],
  ];
  for (const [field, w] of sampledWindows) {
    if (durationSeconds(w) < 60) {
      errors.push(new ConfigError(file, field, `must be at least 1m: the rule tests stackwatch bundle writes sample every minute, and a window needs two samples to see a change (got ${w})`));
    }
  }
  if (cfg.pendingRequests.floor >= cfg.pendingRequests.ceiling) {
    errors.push(new ConfigError(file, 'pending_requests.floor', `must be below pending_requests.ceiling (${cfg.pendingRequests.ceiling})`));
  }
  return errors;
}

/** The bundle config for already-parsed bundle.yml data: validated, merged over the defaults. */
export function bundleConfigFrom(raw: unknown, file: string, defaults: BundleConfig = bundleConfig): BundleConfig {
  const result = bundleYamlSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!result.success) throw new ConfigErrors(result.error.issues.flatMap((issue) => issueToErrors(issue, file)));
  const { maintenance, ...data } = result.data;
  const over = camelKeys(data) as Partial<BundleConfig> & { runbookUrl?: string; exporter?: Partial<BundleConfig['exporter']> };
  const { runbookUrl, ...rest } = over;
  const cfg = deepMerge(defaults, rest);
  // The schema gives the windows in the bundle config's own shape already.
  if (maintenance !== undefined) cfg.maintenance = maintenance.windows;
  // The runbook: the one given, else the one the exporter serves at its external URL.
  cfg.runbookBaseUrl = runbookUrl ?? (over.exporter?.externalUrl !== undefined ? `${over.exporter.externalUrl.replace(/\/+$/, '')}/runbook` : defaults.runbookBaseUrl);
  const errors = crossChecks(cfg, file);
  if (errors.length > 0) throw new ConfigErrors(errors);
  return cfg;
}

/** Parses bundle.yml text. */
export function parseBundleYaml(text: string, file: string): BundleConfig {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigErrors(doc.errors.map((e) => {
      const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      return new ConfigError(file, where, `not valid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }));
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch {
    throw new ConfigErrors([new ConfigError(file, '', 'not valid YAML: cannot be converted to data (an alias without anchor, or too many alias expansions)')]);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigErrors([new ConfigError(file, '', 'expected a mapping of settings (exporter:, slo:, for:, ...)')]);
  }
  return bundleConfigFrom(raw, file);
}

/** Reads and parses a bundle.yml file. */
export function loadBundleYaml(file: string): BundleConfig {
  let text: string;
  try {
    text = readBoundedFile(file, MAX_CONFIG_BYTES).toString('utf8');
  } catch (err) {
    const why = err instanceof FileProblem ? err.message : 'cannot read';
    throw new ConfigErrors([new ConfigError(file, '', `cannot read the bundle configuration: ${why}`)]);
  }
  return parseBundleYaml(text, file);
}

/** The bundle config as bundle.yml data (snake_case): every setting, for docs and tests. */
export function bundleConfigAsYaml(cfg: BundleConfig): Record<string, unknown> {
  const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const conv = (v: unknown, verbatim = false): unknown => {
    if (Array.isArray(v)) return v.map((x) => conv(x));
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [verbatim ? k : snake(k), conv(x, !verbatim && VERBATIM_KEYS.has(k))]));
  };
  const { runbookBaseUrl, maintenance, ...rest } = cfg;
  return { runbook_url: runbookBaseUrl, ...(conv(rest) as Record<string, unknown>), maintenance: { windows: conv(maintenance) } };
}
