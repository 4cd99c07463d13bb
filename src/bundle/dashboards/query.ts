/**
 * PromQL building blocks for the dashboards: selectors that always carry the dashboard's
 * variables, so no panel can forget `job`, `instance` or `target`.
 */
import { HEALTH_STATUSES, matcher, type HealthStatus, type MetricDef } from '../../metrics/definitions';
import type { BundleConfig } from '../bundle-config';
import { R } from '../names';
import {
  customVariable, datasourceVariable, hiddenTextVariable, queryVariable, type ValueMapping, type Variable,
} from './grafana';
import { M } from '../../metrics/definitions';

/** Grafana's interval for rates: at least four scrape intervals (never a hard-coded window). */
export const RATE = '$__rate_interval';
/** The dashboard's selected time range (for "in the selected range" totals, instant queries). */
export const RANGE = '$__range';

/** Labels that name the monitored thing; the dashboards' `target` variable filters them. */
export const TARGET_LABELS = ['target', 'broker', 'container', 'group'] as const;

function targetLabelOf(def: MetricDef): string | undefined {
  return TARGET_LABELS.find((l) => def.labels.includes(l));
}

/**
 * `metric{job=~"$job", instance=~"$instance", <target label>=~"$target", ...extra}`.
 * `suffix` selects a histogram's `_bucket`, `_sum` or `_count` series.
 */
export function sel(def: MetricDef, extra: readonly string[] = [], suffix: '' | '_bucket' | '_sum' | '_count' = ''): string {
  if (suffix !== '' && def.type !== 'histogram') throw new Error(`${def.name} is not a histogram`);
  const matchers = ['job=~"$job"', 'instance=~"$instance"'];
  const tl = targetLabelOf(def);
  if (tl !== undefined) matchers.push(`${tl}=~"$target"`);
  matchers.push(...extra);
  return `${def.name}${suffix}{${matchers.join(', ')}}`;
}

/** The label a recording rule's output is aggregated to, from its level (`level:metric:ops`). */
export function recordingTargetLabel(name: string): string {
  const level = name.split(':')[0] ?? '';
  if (level === 'kind_target') return 'target';
  if (level === 'group' || level === 'container' || level === 'broker') return level;
  throw new Error(`recording rule ${name}: unknown level "${level}"`);
}

/**
 * A recording rule's output. The rules keep `job` and `instance` (they aggregate *within* one
 * exporter), so the same variables apply.
 */
export function rsel(name: string, extra: readonly string[] = []): string {
  const matchers = ['job=~"$job"', 'instance=~"$instance"', `${recordingTargetLabel(name)}=~"$target"`, ...extra];
  return `${name}{${matchers.join(', ')}}`;
}

// ---------------------------------------------------------------------------------------------
// Variables shared by every dashboard

/** The rules' availability objective (the bundle config's slo.objective), percent: the `slo` variable's default. */
export function defaultSlo(cfg: BundleConfig): string {
  return String(Number((cfg.slo.objective * 100).toPrecision(6)));
}
export function sloChoices(cfg: BundleConfig): string[] {
  return [...new Set(['99', '99.5', '99.9', '99.95', '99.99', defaultSlo(cfg)])].sort((a, b) => Number(a) - Number(b));
}
/** The reconnect counter of the backend's MQTT client (the example configs map mqtt.reconnect_attempts to it). */
export const RECONNECT_ATTEMPTS_FIELD = 'mqtt_reconnect_attempts';

export function commonVariables(cfg: BundleConfig, opts: { slo?: boolean } = {}): Variable[] {
  const vars: Variable[] = [
    datasourceVariable(),
    queryVariable('job', 'Job', 'Prometheus job(s) scraping stackwatch.',
      `label_values(${M.buildInfo.name}, job)`),
    queryVariable('instance', 'Instance', 'stackwatch exporter instance(s) within the selected jobs.',
      `label_values(${M.buildInfo.name}{job=~"$job"}, instance)`),
    queryVariable('target', 'Target', 'Monitored targets: HTTP targets, MQTT brokers, containers, process groups.',
      `label_values(${M.targetUp.name}{job=~"$job", instance=~"$instance"}, target)`),
  ];
  if (opts.slo) {
    vars.push(customVariable('slo', 'Objective %', 'Availability objective used for the error budget and burn rates (percent of good checks).', sloChoices(cfg), defaultSlo(cfg)));
  }
  // Where the alerts' runbook lives (the rules' runbook_url base); a hidden variable so that it can be pointed elsewhere.
  vars.push(hiddenTextVariable('runbook_url', 'Runbook URL', 'Base URL of the stackwatch runbook; panel links append the alert\'s anchor.', cfg.runbookBaseUrl));
  return vars;
}

/** The error budget as a fraction: 1 - objective. */
export const BUDGET = '(1 - $slo / 100)';

export { M, R };

/** Health states in the order of their codes in healthCode(): the catalogue's order. */
export const HEALTH_STATES = HEALTH_STATUSES.values;
const HEALTH_COLORS: Record<HealthStatus, string> = { healthy: 'green', degraded: 'orange', unhealthy: 'red', unknown: 'purple' };

/**
 * The current health state of each HTTP target as one number (0 healthy, 1 degraded,
 * 2 unhealthy, 3 unknown), for state timelines with HEALTH_MAPPING.
 */
export function healthCode(): string {
  const parts = HEALTH_STATES.map((s, i) => `(${sel(M.healthStatus, [matcher(M.healthStatus, 'status', s)])} == 1) * ${i}`);
  return `max by (job, instance, target) (${parts.join(' or ')})`;
}

export const HEALTH_MAPPING: ValueMapping = {
  type: 'value',
  options: Object.fromEntries(HEALTH_STATES.map((s, i) => [String(i), { text: s, color: HEALTH_COLORS[s], index: i }])),
};
