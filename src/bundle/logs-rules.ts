/**
 * Rules and alerts on real traffic, from the access-log collector (prometheus/rules/traffic-sli.yml,
 * prometheus/alerts/traffic.yml, tests in prometheus/tests/traffic.yml):
 *
 * - recording rules (prometheus/rules/traffic-sli.yml): the 5xx ratio per source and route over the SLO windows, and p95 latency;
 * - StackwatchTrafficFastBurn / StackwatchTrafficSlowBurn: the multi-window, multi-burn-rate
 *   alerts on that ratio, against the same availability objective as the synthetic checks;
 * - StackwatchTrafficBadGateway: a burst of 502/504 (the backend behind the proxy unreachable or
 *   timing out). It names the cause, so the fast burn of the same source stays silent meanwhile
 *   (its expression excludes it: one page per incident);
 * - StackwatchTrafficLatencyHigh: p95 latency of a route above a threshold.
 *
 * Per-source alerts carry `kind="traffic"` and a `target` like every per-target alert: the
 * source's `upstream` (the backend it fronts) when its config names one, else the source; plus
 * `route` where they are per route. The burst and the fast burn are muted in Prometheus while a
 * cause page about that target fires (and for the hold-down after, lengthened by the burst's window).
 */
import { M, matcher, type TargetKind } from '../metrics/definitions';
import { type BundleConfig, type BurnWindow, type Duration, durationSeconds, type Severity, type TrafficAlertName } from './bundle-config';
import type { AlertingRule, RecordingRule, RuleGroup } from './rules';
import { dashboardUrlAnnotation } from './alerts';

/** The dashboard the real-traffic alerts link to. */
export const TRAFFIC_DASHBOARD = 'stackwatch-errors';

/** SLI windows of the traffic error ratio (those of the burn-rate alerts, plus 30d for the budget). */
export const TRAFFIC_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'] as const;
export type TrafficWindow = (typeof TRAFFIC_WINDOWS)[number];

/** Recording-rule names (level:metric:operations). */
export const TR = {
  /** 5xx share of requests per source and route over a window. */
  errorRatio: (w: TrafficWindow) => `source_route:stackwatch_log_requests_errors:ratio_rate${w}`,
  /** Requests per second per source and route over 5m. */
  requestRate: 'source_route:stackwatch_log_requests:rate5m',
  /** p95 request duration per source and route over 5m, seconds. */
  latencyP95: 'source_route:stackwatch_log_request_duration_seconds:p95_5m',
} as const;

/** The quantile of request durations the latency rule records and its alert watches. */
export const LATENCY_QUANTILE = 0.95;

export { TRAFFIC_ALERTS, type TrafficAlertName } from './bundle-config';

const BY = 'job, instance, source, route';
const REQ = M.logRequests.name;
const num = (n: number): string => String(Number(n.toPrecision(12)));

/**
 * Adds kind="traffic" and the target: the `upstream` the source's config names (joined from
 * stackwatch_log_source_info), so a cause page about that backend (same job, instance and target)
 * mutes the alert and shares its incident; else the source itself. Without the info series (an
 * older exporter) the alert still fires, named after the source.
 */
const asTraffic = (expr: string): string => {
  const linked = `(${expr}) * on(job, instance, source) group_left(upstream) ${M.logSourceInfo.name} or on(job, instance, source) (${expr})`;
  return `label_replace(label_replace(label_replace(${linked}, "target", "$1", "source", "(.*)"), "target", "$1", "upstream", "(.+)"), "kind", "${'traffic' satisfies TargetKind}", "", "")`;
};

export function trafficRecordingGroups(): RuleGroup<RecordingRule>[] {
  const ratios: RecordingRule[] = TRAFFIC_WINDOWS.map((w) => ({
    record: TR.errorRatio(w),
    // A route without any 5xx has a ratio of 0, not no ratio: the `or ... * 0` fills it in.
    // `> -1` drops the NaN of a window without requests.
    expr: `(sum by (${BY}) (rate(${REQ}{code=~"5.."}[${w}])) or sum by (${BY}) (rate(${REQ}[${w}])) * 0) / sum by (${BY}) (rate(${REQ}[${w}])) > -1`,
  }));
  return [{
    name: 'stackwatch-traffic-sli',
    rules: [
      ...ratios,
      { record: TR.requestRate, expr: `sum by (${BY}) (rate(${REQ}[5m]))` },
      {
        record: TR.latencyP95,
        expr: `histogram_quantile(${LATENCY_QUANTILE}, sum by (${BY}, le) (rate(${M.logRequestDuration.name}_bucket[5m])))`,
      },
    ],
  }];
}

function burn(windows: readonly BurnWindow[], budget: number): string {
  return windows
    .map((b) => `(${TR.errorRatio(b.long)} > ${num(b.factor * budget)} and ${TR.errorRatio(b.short)} > ${num(b.factor * budget)})`)
    .join(' or ');
}

const badGatewayExpr = (cfg: BundleConfig): string =>
  `sum by (job, instance, source) (increase(${REQ}{${matcher(M.logRequests, 'code', '502', '504')}}[${cfg.traffic.badGateway.window}])) >= ${cfg.traffic.badGateway.count}`;

interface Spec { name: TrafficAlertName; severity: Severity; expr: string; summary: string; description: string }

/**
 * How long a cause page explains the traffic alerts after it resolved: the symptom hold-down plus
 * the 502 burst's window, so that the 502s the proxy answered up to the hold-down after the
 * backend came back are explained for as long as the burst counts them.
 */
function trafficHoldDown(cfg: BundleConfig): Duration {
  const s = durationSeconds(cfg.symptomHoldDown) + durationSeconds(cfg.traffic.badGateway.window);
  return s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

export function trafficAlertGroups(cfg: BundleConfig): RuleGroup<AlertingRule>[] {
  // A cause page about the target explains the traffic alerts, also for a while after it
  // resolves: a 502 burst counted over the last minutes must not page again once the backend is back.
  const unexplained = ` unless on(job, instance, target) max_over_time(ALERTS{alertstate="firing", notify="page", role="cause"}[${trafficHoldDown(cfg)}])`;
  const budget = 1 - cfg.slo.objective;
  const pct = `${num(cfg.slo.objective * 100)}%`;
  const enough = `on(${BY}) sum by (${BY}) (increase(${REQ}[1h])) >= ${cfg.traffic.minRequestsPerHour}`;
  const R = 'route {{ $labels.route }} of {{ $labels.source }}';
  const ON = '(exporter {{ $labels.instance }})';
  const specs: Spec[] = [
    {
      name: 'StackwatchTrafficFastBurn', severity: 'critical',
      expr: `${asTraffic(`((${burn(cfg.slo.fast, budget)}) and ${enough}) unless on(job, instance, source) (${badGatewayExpr(cfg)})`)}${unexplained}`,
      summary: `Real users get errors on ${R}`,
      description: `${R} ${ON} answers users with 5xx at a rate that spends the 30-day error budget of a ${pct} objective in days (burn rate at least ${cfg.slo.fast.map((b) => `${b.factor}x over ${b.long}`).join(', or ')}), counted from the access log.`,
    },
    {
      name: 'StackwatchTrafficSlowBurn', severity: 'warning',
      expr: asTraffic(`(${burn(cfg.slo.slow, budget)}) and ${enough}`),
      summary: `${R} is burning its error budget`,
      description: `${R} ${ON} answers users with 5xx at a rate that will spend the 30-day error budget of a ${pct} objective before the period ends (burn rate at least ${cfg.slo.slow.map((b) => `${b.factor}x over ${b.long}`).join(', or ')}), counted from the access log.`,
    },
    {
      name: 'StackwatchTrafficBadGateway', severity: 'critical',
      expr: `${asTraffic(badGatewayExpr(cfg))}${unexplained}`,
      summary: 'The proxy of {{ $labels.source }} cannot reach its backend (502/504)',
      description: `The access log {{ $labels.source }} ${ON} recorded at least ${cfg.traffic.badGateway.count} responses 502 Bad Gateway or 504 Gateway Timeout within ${cfg.traffic.badGateway.window}: the backend behind the proxy is down, restarting, refusing connections or too slow. Users see these errors now.`,
    },
    {
      name: 'StackwatchTrafficLatencyHigh', severity: 'warning',
      expr: asTraffic(`${TR.latencyP95} > ${num(cfg.traffic.latency.seconds)} and on(${BY}) ${TR.requestRate} * 300 >= ${cfg.traffic.latency.minRequests}`),
      summary: `${R} is slow`,
      description: `The ${num(LATENCY_QUANTILE * 100)}th percentile of request durations on ${R} ${ON} has been above ${num(cfg.traffic.latency.seconds)}s for ${cfg.for.StackwatchTrafficLatencyHigh}, from the request times in the access log.`,
    },
  ];
  return [{
    name: 'stackwatch-traffic',
    rules: specs.map((s) => ({
      alert: s.name,
      expr: s.expr,
      for: cfg.for[s.name],
      // Real-traffic alerts are symptoms: users see errors. The 502/504 burst too: it says the proxy
      // cannot reach the backend, whose own alerts (process not running, container unhealthy) are
      // the cause and mute it (same target, through `upstream`). The burst and the fast burn page
      // (the fast burn stays silent while the burst fires); the slow burn and latency are tickets.
      labels: { severity: s.severity, notify: s.severity === 'critical' ? 'page' : 'ticket', role: 'symptom' },
      annotations: { summary: s.summary, description: s.description, runbook_url: `${cfg.runbookBaseUrl}#${s.name.toLowerCase()}`, dashboard_url: dashboardUrlAnnotation(cfg, TRAFFIC_DASHBOARD) },
    })),
  }];
}
