/**
 * `promtool test rules` cases of the traffic rules (prometheus/tests/traffic.yml): for every
 * traffic alert, a firing case with exact labels and annotations, silent one evaluation before
 * its `for:` has elapsed, silent on healthy traffic; the guards (too few requests; a 502 burst
 * names the incident, so the fast burn stays silent); and checks of the recording rules.
 */
import { LOG_LATENCY_BUCKETS, M } from '../metrics/definitions';
import { durationSeconds, type BundleConfig } from './bundle-config';
import { dashboardUrlFor } from './alerts';
import { LATENCY_QUANTILE, TR, TRAFFIC_DASHBOARD, trafficAlertGroups, trafficRecordingGroups, type TrafficAlertName } from './logs-rules';
import { alertCaseTests, exporterLabels, firesAtTime, selector, type AlertCaseSpec, type InputSeries, type PromtoolTest } from './rules-tests';
import { toYaml } from './yaml';

const fileOf = (group: string): string => group.replace(/^stackwatch-/, '');

const m = (n: number): number => n * 60;
const num = (n: number): string => String(Number(n.toPrecision(12)));

/** `perMin` per minute for `minutes` minutes from 0. */
const grow = (perMin: number, minutes = 200): string => `0+${perMin}x${minutes}`;

/**
 * Request-duration buckets the latency cases need, from the histogram's own: the one healthy
 * requests end in (its bound at or below the threshold: their quantile stays below it) and the
 * one slow requests end in (above the first bound at or above the threshold: their quantile
 * passes it; +Inf past the last bound, whose quantile is that bound).
 */
export function latencyBuckets(seconds: number): { healthy: string; slow: string; bounds: string[] } {
  const b = LOG_LATENCY_BUCKETS;
  const healthy = [...b].reverse().find((x) => x <= seconds);
  const lo = b.findIndex((x) => x >= seconds);
  if (healthy === undefined || lo < 0) throw new Error(`traffic.latency.seconds ${seconds}: outside the request-duration buckets (${b[0]} to ${b[b.length - 1]} s)`);
  const slow = b[lo + 1];
  const extra = [healthy, b[lo]!, ...(slow === undefined ? [] : [slow])];
  const bounds = [...new Set([0.5, 1, 2.5, 5, ...extra])].sort((x, y) => x - y).map(String);
  return { healthy: String(healthy), slow: slow === undefined ? '+Inf' : String(slow), bounds: [...bounds, '+Inf'] };
}

/** Series helpers with the exporter's own labels (the config's job and scrape address). */
function kit(cfg: BundleConfig) {
  const EXP = exporterLabels(cfg);
  const sel = selector(EXP);
  const req = (route: string, method: string, code: string, values: string): InputSeries =>
    ({ series: sel(M.logRequests.name, { source: 'proxy', route, method, code }), values });
  const bucket = (route: string, le: string, values: string): InputSeries =>
    ({ series: sel(`${M.logRequestDuration.name}_bucket`, { source: 'proxy', route, le }), values });
  const { bounds } = latencyBuckets(cfg.traffic.latency.seconds);
  /** A route's histogram with every request in the bucket ending at `le`. */
  const latency = (route: string, perMin: number, le: string): InputSeries[] => {
    const at = (x: string): number => (x === '+Inf' ? Infinity : Number(x));
    return bounds.map((b) => bucket(route, b, at(b) >= at(le) ? grow(perMin) : grow(0)));
  };
  return { EXP, sel, req, latency };
}

/** A traffic alert's case; its labels include notify and role, so the cases pin the alert's place in the hierarchy. */
type Case = AlertCaseSpec<TrafficAlertName>;

function cases(cfg: BundleConfig): Case[] {
  const { EXP, sel, req, latency } = kit(cfg);
  const pct = `${String(Number((cfg.slo.objective * 100).toPrecision(12)))}%`;
  const route = { ...EXP, source: 'proxy', route: 'chatbot', kind: 'traffic', target: 'proxy' };
  const src = { ...EXP, source: 'proxy', kind: 'traffic', target: 'proxy' };
  const ok = (perMin: number) => req('chatbot', 'POST', '2xx', grow(perMin));
  const e500 = (perMin: number) => req('chatbot', 'POST', '500', grow(perMin));
  const badGateway = (perMin: number) => req('chatbot', 'POST', '502', `0x5 ${perMin}+${perMin}x200`);
  const T = cfg.traffic;
  const burstMinutes = durationSeconds(T.badGateway.window) / 60;
  /** 502s a minute: the burst's count within two minutes, twice over (20 with the defaults). */
  const burst = Math.max(20, T.badGateway.count);
  /** 502s a minute that never reach the count within the window (1 with the defaults). */
  const trickle = Number(Math.min(1, T.badGateway.count / (2 * burstMinutes)).toPrecision(6));
  // Onsets are a minute after the series start, when a window holds one minute of requests.
  /** Good requests a minute: the burn-rate alerts' minimum within the first minute, twice over (1000 with the defaults). */
  const busy = Math.max(1000, 2 * T.minRequestsPerHour);
  /** Requests a minute on the slow route: the latency alert's minimum within the first minute, twice over (100 with the defaults). */
  const slowRoute = Math.max(100, 2 * T.latency.minRequests);
  const { healthy: fastLe, slow: slowLe } = latencyBuckets(T.latency.seconds);
  /** The source's config says its proxy fronts the target `backend`. */
  const fronts = { series: sel(M.logSourceInfo.name, { source: 'proxy', upstream: 'backend' }), values: '1x300' };
  const linked = { target: 'backend', upstream: 'backend' };
  /** A cause page about the backend, firing over the given minutes (promtool's ALERTS input). */
  const backendCause = (values: string): InputSeries =>
    ({ series: sel('ALERTS', { alertname: 'StackwatchProcessNotRunning', alertstate: 'firing', severity: 'critical', notify: 'page', role: 'cause', kind: 'process', target: 'backend', group: 'backend' }), values });
  const badGatewayDescription = `The access log proxy (exporter ${EXP.instance}) recorded at least ${T.badGateway.count} responses 502 Bad Gateway or 504 Gateway Timeout within ${T.badGateway.window}: the backend behind the proxy is down, restarting, refusing connections or too slow. Users see these errors now.`;
  const fastWindows = cfg.slo.fast.map((b) => `${b.factor}x over ${b.long}`).join(', or ');
  const slowWindows = cfg.slo.slow.map((b) => `${b.factor}x over ${b.long}`).join(', or ');
  // Error rates follow the configured objective and burn factors.
  const budget = 1 - cfg.slo.objective;
  /** 500s per `busy` good requests a minute: twice the fastest burn at least (5% with the defaults). */
  const fastErrors = Math.max(busy / 20, Math.ceil(busy * budget * Math.max(...cfg.slo.fast.map((b) => b.factor)) * 2));
  /** 5/3 of the highest slow factor (5x, 0.5% with the defaults). */
  const slowErrors = Number((busy * budget * Math.max(...cfg.slo.slow.map((b) => b.factor)) * 5 / 3).toPrecision(6));
  /** Half the lowest slow factor, per 2 × `busy` good requests (0.05% with the defaults). */
  const withinErrors = Number((2 * busy * budget * Math.min(...cfg.slo.slow.map((b) => b.factor)) / 2).toPrecision(6));
  /** Requests a minute, half of them failing, that stay under the burn-rate alerts' minimum (a quarter of it). */
  const few = Number((T.minRequestsPerHour / 60 / 8).toPrecision(6));
  /** Requests a minute on a nearly idle slow route: under the latency alert's minimum (a quarter of it). */
  const idle = Number((T.latency.minRequests / 5 / 4).toPrecision(6));
  return [
    {
      alert: 'StackwatchTrafficFastBurn',
      // 5% of 1000 requests a minute answered 500 (with the default objective).
      firing: [ok(busy), e500(fastErrors)],
      onset: m(1),
      labels: { ...route, severity: 'critical', notify: 'page', role: 'symptom' },
      summary: 'Real users get errors on route chatbot of proxy',
      description: `route chatbot of proxy (exporter ${EXP.instance}) answers users with 5xx at a rate that spends the 30-day error budget of a ${pct} objective in days (burn rate at least ${fastWindows}), counted from the access log.`,
      healthy: [ok(busy), e500(0)],
      silent: [
        { name: `too few requests: ${num(2 * few)} a minute, half of them failing, is noise`, input: [req('chatbot', 'POST', '2xx', grow(few)), req('chatbot', 'POST', '500', grow(few))], at: [m(10), m(30)] },
        { name: 'a 502 burst is StackwatchTrafficBadGateway, the cause: no second page', input: [ok(busy), badGateway(Math.max(3 * burst, fastErrors))], at: [m(8), m(20)] },
      ],
    },
    {
      alert: 'StackwatchTrafficSlowBurn',
      // 0.5% with the defaults: above 3x of a 0.1% budget, below the fast burn's 6x.
      firing: [ok(busy), e500(slowErrors)],
      onset: m(1),
      labels: { ...route, severity: 'warning', notify: 'ticket', role: 'symptom' },
      summary: 'route chatbot of proxy is burning its error budget',
      description: `route chatbot of proxy (exporter ${EXP.instance}) answers users with 5xx at a rate that will spend the 30-day error budget of a ${pct} objective before the period ends (burn rate at least ${slowWindows}), counted from the access log.`,
      healthy: [ok(busy), e500(0)],
      silent: [{ name: `a ${Number((withinErrors / (2 * busy) * 100).toPrecision(6))}% error rate stays within budget`, input: [ok(2 * busy), e500(withinErrors)], at: [m(90)] }],
    },
    {
      alert: 'StackwatchTrafficBadGateway',
      // No 502 for 5 minutes, then a burst (20 a minute with the defaults).
      firing: [ok(100), badGateway(burst)],
      onset: m(6),
      labels: { ...src, severity: 'critical', notify: 'page', role: 'symptom' },
      summary: 'The proxy of proxy cannot reach its backend (502/504)',
      description: badGatewayDescription,
      healthy: [ok(100), req('chatbot', 'POST', '502', grow(trickle))],
      moreFiring: [{
        name: 'a source whose proxy fronts backend: the target is backend, so its cause pages mute the burst in Alertmanager',
        input: [ok(100), badGateway(burst), fronts], onset: m(6),
        labels: { ...src, ...linked, severity: 'critical', notify: 'page', role: 'symptom' },
        summary: 'The proxy of proxy cannot reach its backend (502/504)',
        description: badGatewayDescription,
      }, {
        name: 'a source with no upstream: a cause page about another target (backend) explains nothing',
        input: [ok(100), badGateway(burst), backendCause('1x300')], onset: m(6),
        labels: { ...src, severity: 'critical', notify: 'page', role: 'symptom' },
        summary: 'The proxy of proxy cannot reach its backend (502/504)',
        description: badGatewayDescription,
      }],
      silent: [
        { name: 'the backend it fronts is not running (its cause page fires): one page, the cause', input: [ok(100), badGateway(burst), fronts, backendCause('_x4 1x300')], at: [m(7), m(12), m(30)] },
        {
          // The backend is back at minute 10 (its cause page resolves) while the proxy still
          // answers 502 until minute 11: the burst counted over its window would page alone.
          name: 'the backend came back: the 502s counted just before do not page after its cause resolved',
          input: [ok(100), req('chatbot', 'POST', '502', `0x5 ${burst}+${burst}x6 ${7 * burst}x200`), fronts, backendCause('_x5 1x5')],
          at: [...new Set([11, 12, 11 + Math.ceil(burstMinutes), 12 + Math.ceil(burstMinutes)])].map(m),
        },
      ],
    },
    {
      alert: 'StackwatchTrafficLatencyHigh',
      firing: [ok(slowRoute), ...latency('chatbot', slowRoute, slowLe)],
      onset: m(1),
      labels: { ...route, severity: 'warning', notify: 'ticket', role: 'symptom' },
      summary: 'route chatbot of proxy is slow',
      description: `The ${num(LATENCY_QUANTILE * 100)}th percentile of request durations on route chatbot of proxy (exporter ${EXP.instance}) has been above ${num(T.latency.seconds)}s for ${cfg.for.StackwatchTrafficLatencyHigh}, from the request times in the access log.`,
      healthy: [ok(slowRoute), ...latency('chatbot', slowRoute, fastLe)],
      silent: [{ name: `slow but nearly idle (${idle} requests a minute)`, input: [ok(idle), ...latency('chatbot', idle, slowLe)], at: [m(20)] }],
    },
  ];
}

function recordingTests(cfg: BundleConfig): PromtoolTest[] {
  const { EXP, sel, req, latency } = kit(cfg);
  return [{
    name: 'traffic SLI: the 5xx ratio per route, 0 for a route without errors, nothing for a route without requests; p95',
    interval: '1m',
    input_series: [
      req('chatbot', 'POST', '2xx', grow(1000)), req('chatbot', 'POST', '500', grow(40)), req('chatbot', 'POST', '502', grow(10)),
      req('health', 'GET', '2xx', grow(60)), req('idle', 'GET', '2xx', '5x200'),
      ...latency('chatbot', 1050, '5'),
    ],
    promql_expr_test: [
      {
        expr: `round(${TR.errorRatio('5m')}, 0.0001)`,
        eval_time: '30m',
        exp_samples: [
          { labels: `{${Object.entries({ ...EXP, source: 'proxy', route: 'chatbot' }).map(([k, v]) => `${k}="${v}"`).join(',')}}`, value: 0.0476 },
          { labels: `{${Object.entries({ ...EXP, source: 'proxy', route: 'health' }).map(([k, v]) => `${k}="${v}"`).join(',')}}`, value: 0 },
        ],
      },
      {
        expr: TR.latencyP95,
        eval_time: '30m',
        exp_samples: [{ labels: sel(TR.latencyP95, { source: 'proxy', route: 'chatbot' }), value: 4.875 }],
      },
    ],
  }];
}

/** prometheus/tests/traffic.yml */
export function trafficRuleTestFiles(cfg: BundleConfig): Record<string, string> {
  const rec = trafficRecordingGroups();
  const alerts = trafficAlertGroups(cfg);
  const rule_files = [...rec.map((g) => `../rules/${fileOf(g.name)}.yml`), ...alerts.map((g) => `../alerts/${fileOf(g.name)}.yml`)];
  const group_eval_order = [...rec.map((g) => g.name), ...alerts.map((g) => g.name)];
  const tests: PromtoolTest[] = [];
  for (const c of cases(cfg)) {
    const forText = cfg.for[c.alert];
    // Healthy traffic stays silent half an hour past the firing time too.
    const healthyAt = [firesAtTime(c.onset, durationSeconds(forText)) + m(30)];
    const annotations = (labels: Record<string, string>, summary: string, description: string): Record<string, string> => ({
      summary, description,
      runbook_url: `${cfg.runbookBaseUrl}#${c.alert.toLowerCase()}`,
      dashboard_url: dashboardUrlFor(cfg, TRAFFIC_DASHBOARD, labels),
    });
    tests.push(...alertCaseTests({ ...c, healthyAt }, { forText, annotations }));
  }
  tests.push(...recordingTests(cfg));
  return { 'traffic.yml': toYaml({ rule_files, evaluation_interval: '1m', group_eval_order, tests }) };
}

/** The alerts the cases cover, for the bundle's own checks. */
export function trafficAlertCases(cfg: BundleConfig): TrafficAlertName[] {
  return cases(cfg).map((c) => c.alert);
}
