/**
 * `promtool test rules` cases of the traffic rules (prometheus/tests/traffic.yml): for every
 * traffic alert, a firing case with exact labels and annotations, silent one evaluation before
 * its `for:` has elapsed, silent on healthy traffic; the guards (too few requests; a 502 burst
 * names the incident, so the fast burn stays silent); and checks of the recording rules.
 */
import { M } from '../metrics/definitions';
import { durationSeconds, type BundleConfig } from './bundle-config';
import { dashboardUrlFor } from './alerts';
import { TR, TRAFFIC_DASHBOARD, trafficAlertFor, trafficAlertGroups, trafficRecordingGroups, type TrafficAlertName } from './logs-rules';
import { alertCaseTests, exporterLabels, firesAtTime, selector, type AlertCaseSpec, type InputSeries, type PromtoolTest } from './rules-tests';
import { toYaml } from './yaml';

const fileOf = (group: string): string => group.replace(/^stackwatch-/, '');

const m = (n: number): number => n * 60;

/** `perMin` per minute for `minutes` minutes from 0. */
const grow = (perMin: number, minutes = 200): string => `0+${perMin}x${minutes}`;

/** Series helpers with the exporter's own labels (the config's job and scrape address). */
function kit(cfg: BundleConfig) {
  const EXP = exporterLabels(cfg);
  const sel = selector(EXP);
  const req = (route: string, method: string, code: string, values: string): InputSeries =>
    ({ series: sel(M.logRequests.name, { source: 'proxy', route, method, code }), values });
  const bucket = (route: string, le: string, values: string): InputSeries =>
    ({ series: sel(`${M.logRequestDuration.name}_bucket`, { source: 'proxy', route, le }), values });
  /** A route's histogram with every request in the bucket ending at `le`. */
  const latency = (route: string, perMin: number, le: '0.5' | '5'): InputSeries[] => {
    return ['0.5', '1', '2.5', '5', '+Inf'].map((b) => bucket(route, b, Number(b === '+Inf' ? Infinity : b) >= Number(le) ? grow(perMin) : grow(0)));
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
  /** The source's config says its proxy fronts the target `backend`. */
  const fronts = { series: sel(M.logSourceInfo.name, { source: 'proxy', upstream: 'backend' }), values: '1x300' };
  const linked = { target: 'backend', upstream: 'backend' };
  /** A cause page about the backend, firing over the given minutes (promtool's ALERTS input). */
  const backendCause = (values: string): InputSeries =>
    ({ series: sel('ALERTS', { alertname: 'StackwatchProcessNotRunning', alertstate: 'firing', severity: 'critical', notify: 'page', role: 'cause', kind: 'process', target: 'backend', group: 'backend' }), values });
  const badGatewayDescription = `The access log proxy (exporter ${EXP.instance}) recorded at least 10 responses 502 Bad Gateway or 504 Gateway Timeout within 2m: the backend behind the proxy is down, restarting, refusing connections or too slow. Users see these errors now.`;
  const fastWindows = cfg.slo.fast.map((b) => `${b.factor}x over ${b.long}`).join(', or ');
  const slowWindows = cfg.slo.slow.map((b) => `${b.factor}x over ${b.long}`).join(', or ');
  // Error rates follow the configured objective and burn factors.
  const budget = 1 - cfg.slo.objective;
  /** 500s per 1000 good requests a minute: twice the fastest burn at least (5% with the defaults). */
  const fastErrors = Math.max(50, Math.ceil(1000 * budget * Math.max(...cfg.slo.fast.map((b) => b.factor)) * 2));
  /** 5/3 of the highest slow factor (5x, 0.5% with the defaults). */
  const slowErrors = Number((1000 * budget * Math.max(...cfg.slo.slow.map((b) => b.factor)) * 5 / 3).toPrecision(6));
  /** Half the lowest slow factor, per 2000 good requests (0.05% with the defaults). */
  const withinErrors = Number((2000 * budget * Math.min(...cfg.slo.slow.map((b) => b.factor)) / 2).toPrecision(6));
  return [
    {
      alert: 'StackwatchTrafficFastBurn',
      // 5% of 1000 requests a minute answered 500 (with the default objective).
      firing: [ok(1000), e500(fastErrors)],
      onset: m(1),
      labels: { ...route, severity: 'critical', notify: 'page', role: 'symptom' },
      summary: 'Real users get errors on route chatbot of proxy',
      description: `route chatbot of proxy (exporter ${EXP.instance}) answers users with 5xx at a rate that spends the 30-day error budget of a ${pct} objective in days (burn rate at least ${fastWindows}), counted from the access log.`,
      healthy: [ok(1000), e500(0)],
      silent: [
        { name: 'too few requests: 1 of 2 a minute failing is noise', input: [req('chatbot', 'POST', '2xx', grow(0.5)), req('chatbot', 'POST', '500', grow(0.5))], at: [m(10), m(30)] },
        { name: 'a 502 burst is StackwatchTrafficBadGateway, the cause: no second page', input: [ok(1000), badGateway(60)], at: [m(8), m(20)] },
      ],
    },
    {
      alert: 'StackwatchTrafficSlowBurn',
      // 0.5% with the defaults: above 3x of a 0.1% budget, below the fast burn's 6x.
      firing: [ok(1000), e500(slowErrors)],
      onset: m(1),
      labels: { ...route, severity: 'warning', notify: 'ticket', role: 'symptom' },
      summary: 'route chatbot of proxy is burning its error budget',
      description: `route chatbot of proxy (exporter ${EXP.instance}) answers users with 5xx at a rate that will spend the 30-day error budget of a ${pct} objective before the period ends (burn rate at least ${slowWindows}), counted from the access log.`,
      healthy: [ok(1000), e500(0)],
      silent: [{ name: `a ${Number((withinErrors / 20).toPrecision(6))}% error rate stays within budget`, input: [ok(2000), e500(withinErrors)], at: [m(90)] }],
    },
    {
      alert: 'StackwatchTrafficBadGateway',
      // No 502 for 5 minutes, then 20 a minute.
      firing: [ok(100), badGateway(20)],
      onset: m(6),
      labels: { ...src, severity: 'critical', notify: 'page', role: 'symptom' },
      summary: 'The proxy of proxy cannot reach its backend (502/504)',
      description: badGatewayDescription,
      healthy: [ok(100), req('chatbot', 'POST', '502', grow(1))],
      moreFiring: [{
        name: 'a source whose proxy fronts backend: the target is backend, so its cause pages mute the burst in Alertmanager',
        input: [ok(100), badGateway(20), fronts], onset: m(6),
        labels: { ...src, ...linked, severity: 'critical', notify: 'page', role: 'symptom' },
        summary: 'The proxy of proxy cannot reach its backend (502/504)',
        description: badGatewayDescription,
      }, {
        name: 'a source with no upstream: a cause page about another target (backend) explains nothing',
        input: [ok(100), badGateway(20), backendCause('1x300')], onset: m(6),
        labels: { ...src, severity: 'critical', notify: 'page', role: 'symptom' },
        summary: 'The proxy of proxy cannot reach its backend (502/504)',
        description: badGatewayDescription,
      }],
      silent: [
        { name: 'the backend it fronts is not running (its cause page fires): one page, the cause', input: [ok(100), badGateway(20), fronts, backendCause('_x4 1x300')], at: [m(7), m(12), m(30)] },
        {
          // The backend is back at minute 10 (its cause page resolves) while the proxy still
          // answers 502 until minute 11: the burst counted over the last 2 minutes would page alone.
          name: 'the backend came back: the 502s counted just before do not page after its cause resolved',
          input: [ok(100), req('chatbot', 'POST', '502', '0x5 20+20x6 140x200'), fronts, backendCause('_x5 1x5')], at: [m(11), m(12), m(13)],
        },
      ],
    },
    {
      alert: 'StackwatchTrafficLatencyHigh',
      firing: [ok(100), ...latency('chatbot', 100, '5')],
      onset: m(1),
      labels: { ...route, severity: 'warning', notify: 'ticket', role: 'symptom' },
      summary: 'route chatbot of proxy is slow',
      description: `The 95th percentile of request durations on route chatbot of proxy (exporter ${EXP.instance}) has been above 2s for 10m, from the request times in the access log.`,
      healthy: [ok(100), ...latency('chatbot', 100, '0.5')],
      silent: [{ name: 'slow but nearly idle (2 requests a minute)', input: [ok(2), ...latency('chatbot', 2, '5')], at: [m(20)] }],
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
    const forText = trafficAlertFor(c.alert);
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
