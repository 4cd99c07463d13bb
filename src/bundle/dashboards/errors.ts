import { matcher } from '../../metrics/definitions';
import type { BundleConfig, BurnWindow } from '../bundle-config';
import { ALERT } from './alerts-ref';
import { boolMapping, type DashboardSpec } from './grafana';
import { BUDGET, commonVariables, HEALTH_MAPPING, healthCode, M, R, RANGE, RATE, rsel, sel } from './query';

/** The windows of the rules' multi-window burn-rate pairs (SRE workbook). */
const burnWindows = (cfg: BundleConfig): BurnWindow['long' | 'short'][] => [...new Set([...cfg.slo.fast, ...cfg.slo.slow].flatMap((b) => [b.long, b.short]))];

const STATUS_CLASSES = [
  { name: '2xx', expr: '>= 200 < 300' },
  { name: '3xx', expr: '>= 300 < 400' },
  { name: '4xx', expr: '>= 400 < 500' },
  { name: '5xx', expr: '>= 500' },
  { name: 'no response', expr: '== 0' },
] as const;

/** Access-log series: the `source` label is filtered by the target variable (a traffic target is named after its source). */
const lsel = (def: Parameters<typeof sel>[0], extra: readonly string[] = [], suffix: Parameters<typeof sel>[2] = ''): string =>
  sel(def, ['source=~"$target"', ...extra], suffix);
const REQ = (extra: readonly string[] = []): string => `rate(${lsel(M.logRequests, extra)}[${RATE}])`;

/** Real traffic from the access logs (the logs collector), beside the synthetic checks. */
const realTraffic = (cfg: BundleConfig) => ({
  row: 'Real traffic (access logs)',
  panels: [
    {
      type: 'timeseries', title: 'Requests by code', unit: 'reqps', w: 12,
      description: 'Requests per second in the access logs by code: the class for 1xx-4xx, the exact code for 429, 499 (client gave up) and every 5xx.',
      queries: [{ expr: `sum by (source, code) (${REQ()})`, legend: '{{source}} {{code}}' }],
      custom: { stacking: { mode: 'normal', group: 'A' }, fillOpacity: 40 },
    },
    {
      type: 'timeseries', title: 'Real 5xx share per route', unit: 'percentunit', w: 12, max: 1,
      description: 'Requests answered 5xx / all requests per source and route, from the access log: the error rate users saw.',
      queries: [{
        expr: `(sum by (source, route) (${REQ(['code=~"5.."'])}) or sum by (source, route) (${REQ()}) * 0) / sum by (source, route) (${REQ()})`,
        legend: '{{source}} {{route}}',
      }],
      thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 0.01 }, { color: 'red', value: 0.05 }],
      runbook: ['StackwatchTrafficFastBurn', 'StackwatchTrafficSlowBurn'],
    },
    {
      type: 'timeseries', title: '502 / 504 (backend unreachable behind the proxy)', unit: 'reqps', w: 12,
      description: `Bad Gateway and Gateway Timeout answers per second by route. A burst of ${cfg.traffic.badGateway.count} within ${cfg.traffic.badGateway.window} pages: the backend behind the proxy is down, restarting or too slow.`,
      // Zero rather than no line for a route without any: `or <all requests> * 0`.
      queries: ['502', '504'].map((code) => ({
        expr: `sum by (source, route) (${REQ([`code="${code}"`])}) or sum by (source, route) (${REQ()}) * 0`,
        legend: `{{source}} {{route}} ${code}`,
      })),
      thresholds: [{ color: 'green', value: null }, { color: 'red', value: 0.01 }],
      runbook: ['StackwatchTrafficBadGateway'],
    },
    {
      type: 'timeseries', title: 'Synthetic checks vs real traffic: failed share', unit: 'percentunit', w: 12, max: 1,
      description: 'The failed share of the health checks (one probe every few seconds) beside the 5xx share of real requests: a backend can pass its checks while one route fails for users, and the other way round.',
      queries: [
        {
          expr: `sum by (target) (rate(${sel(M.targetCheckFailures, [matcher(M.targetCheckFailures, 'kind', 'http')])}[${RATE}])) / sum by (target) (rate(${sel(M.targetChecks, [matcher(M.targetChecks, 'kind', 'http')])}[${RATE}]))`,
          legend: 'synthetic {{target}}',
        },
        {
          expr: `(sum by (source) (${REQ(['code=~"5.."'])}) or sum by (source) (${REQ()}) * 0) / sum by (source) (${REQ()})`,
          legend: 'real {{source}}',
        },
      ],
      runbook: [ALERT.burnFast, 'StackwatchTrafficFastBurn'],
    },
    {
      type: 'timeseries', title: 'Request duration p50 / p95 / p99 per route', unit: 's', w: 12,
      description: 'From the request times in the access log (nginx $request_time): the whole request as the proxy saw it.',
      queries: [0.5, 0.95, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (source, route, le) (rate(${lsel(M.logRequestDuration, [], '_bucket')}[${RATE}])))`,
        legend: `{{source}} {{route}} p${q * 100}`,
      })),
      runbook: ['StackwatchTrafficLatencyHigh'],
    },
    {
      type: 'timeseries', title: 'Upstream p95 and response bytes', unit: 's', w: 12,
      description: 'p95 of the time the backend took (nginx $upstream_response_time); close to the request p95 means the backend is slow. Response bytes per second on the right axis.',
      queries: [
        { expr: `histogram_quantile(0.95, sum by (source, route, le) (rate(${lsel(M.logUpstreamDuration, [], '_bucket')}[${RATE}])))`, legend: '{{source}} {{route}} upstream p95' },
        { expr: `sum by (source, route) (rate(${lsel(M.logResponseBytes)}[${RATE}]))`, legend: '{{source}} {{route}} bytes/s' },
      ],
      overrides: [{ matcher: { id: 'byRegexp', options: '.*bytes/s' }, properties: [{ id: 'unit', value: 'Bps' }, { id: 'custom.axisPlacement', value: 'right' }] }],
    },
    {
      type: 'table', title: 'Log sources', unit: 'none', w: 12, h: 6,
      description: 'Per source: files its path names now (0: the log is missing), stale (1: no line for its stale_after), seconds since the last line.',
      queries: [
        { expr: lsel(M.logFiles), legend: 'files', instant: true },
        { expr: lsel(M.logStale), legend: 'stale', instant: true },
        { expr: `time() - ${lsel(M.logLastLine)}`, legend: 'age', instant: true },
      ],
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: { excludeByName: { Time: true, job: true }, renameByName: { 'Value #A': 'files', 'Value #B': 'stale', 'Value #C': 'seconds since last line' } } },
      ],
    },
    {
      type: 'timeseries', title: 'Log input problems', unit: 'ops', w: 12, h: 6,
      description: 'Lines not counted as requests (by reason: no_match, bad_status, invalid_json, too_long), read errors (e.g. permission denied) and rotations followed, per second.',
      queries: [
        { expr: `sum by (source, reason) (rate(${lsel(M.logParseFailures)}[${RATE}]))`, legend: '{{source}} {{reason}}' },
        { expr: `sum by (source) (rate(${lsel(M.logReadErrors)}[${RATE}]))`, legend: '{{source}} read errors' },
        { expr: `sum by (source, kind) (rate(${lsel(M.logRotations)}[${RATE}]))`, legend: '{{source}} {{kind}}' },
      ],
    },
  ],
}) satisfies DashboardSpec['rows'][number];

export const errors = (cfg: BundleConfig): DashboardSpec => ({
  uid: 'stackwatch-errors',
  title: 'stackwatch / Errors',
  description: 'Why checks fail (by reason), HTTP status classes, response times, error-budget burn rates, and the errors and latency of real traffic from the access logs.',
  tags: ['stackwatch'],
  time: 'now-6h',
  variables: commonVariables(cfg, { slo: true }),
  rows: [
    {
      row: 'Failures',
      panels: [
        {
          type: 'timeseries', title: 'HTTP failure rate by reason', unit: 'reqps', w: 12,
          description: 'Failed health checks per second by reason: timeout, connect, dns, tls, status, body_too_large, invalid_json, condition. "connect": nothing accepted the connection (the backend is dead), which a reverse proxy in front answers with 502.',
          queries: [{ expr: `sum by (target, reason) (rate(${sel(M.httpFailures)}[${RATE}]))`, legend: '{{target}} {{reason}}' }],
          custom: { stacking: { mode: 'normal', group: 'A' }, fillOpacity: 40 },
          runbook: [ALERT.targetDown],
        },
        {
          type: 'timeseries', title: 'Failed share of checks', unit: 'percentunit', w: 12, max: 1,
          description: 'Failed checks / all checks per target (event-based SLI), for every kind of target.',
          queries: [{
            expr: `sum by (job, instance, kind, target) (rate(${sel(M.targetCheckFailures)}[${RATE}])) / sum by (job, instance, kind, target) (rate(${sel(M.targetChecks)}[${RATE}]))`,
            legend: '{{kind}}/{{target}}',
          }],
          runbook: [ALERT.burnFast],
        },
        {
          type: 'bargauge', title: 'Failures by reason (selected range)', unit: 'none', w: 12, decimals: 0,
          description: 'Failed HTTP checks per target and reason within the dashboard\'s time range.',
          queries: [{ expr: `sum by (target, reason) (round(increase(${sel(M.httpFailures)}[${RANGE}]))) > 0`, legend: '{{target}} {{reason}}', instant: true }],
          thresholds: [{ color: 'orange', value: null }],
        },
        {
          type: 'timeseries', title: 'MQTT round-trip failures', unit: 'ops', w: 12,
          description: 'Probe messages published to the broker that did not come back within their timeout, per second.',
          queries: [{ expr: `rate(${sel(M.mqttRoundtripFailures)}[${RATE}])`, legend: '{{broker}}' }],
          runbook: [ALERT.roundtripFailing],
        },
      ],
    },
    {
      row: 'Status classes and health',
      panels: [
        {
          type: 'stat', title: 'Targets by last status class', unit: 'none', w: 12, h: 6,
          description: 'HTTP targets grouped by the class of the status code of their last response ("no response": timeout, refused connection, DNS or TLS failure).',
          queries: STATUS_CLASSES.map((c) => ({ expr: `count(${sel(M.httpStatusCode)} ${c.expr}) or vector(0)`, legend: c.name, instant: true })),
          colorMode: 'fixed',
          options: { textMode: 'value_and_name', colorMode: 'none' },
        },
        {
          type: 'timeseries', title: 'Last HTTP status code', unit: 'none', w: 12, h: 6, decimals: 0,
          description: 'Status code of the last response per target (0 when no response arrived).',
          queries: [{ expr: sel(M.httpStatusCode), legend: '{{target}}' }],
          thresholds: [{ color: 'red', value: null }, { color: 'green', value: 200 }, { color: 'yellow', value: 300 }, { color: 'orange', value: 400 }, { color: 'red', value: 500 }],
          custom: { drawStyle: 'points', pointSize: 4, showPoints: 'always' },
          colorMode: 'thresholds',
        },
        {
          type: 'state-timeline', title: 'Health status', unit: 'none', w: 12, h: 7,
          description: 'Status string of each health body over time: healthy, degraded, unhealthy, unknown.',
          queries: [{ expr: healthCode(), legend: '{{target}}' }],
          mappings: [HEALTH_MAPPING],
          runbook: [ALERT.healthDegraded],
        },
        {
          type: 'bargauge', title: 'Time degraded (selected range)', unit: 'percentunit', w: 12, h: 7, min: 0, max: 1,
          description: 'Share of the selected range each target\'s health body said "degraded" (still up, but not well: e.g. MQTT disconnected).',
          queries: [{ expr: `avg_over_time(${sel(M.healthStatus, [matcher(M.healthStatus, 'status', 'degraded')])}[${RANGE}])`, legend: '{{target}}', instant: true }],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 0.01 }, { color: 'red', value: 0.1 }],
          runbook: [ALERT.healthDegraded],
        },
      ],
    },
    {
      row: 'Latency',
      panels: [
        {
          type: 'timeseries', title: 'Health request duration p50 / p95 / p99', unit: 's', w: 12,
          description: 'Time from sending a health request to the end of its body (failed requests included), per target.',
          queries: [0.5, 0.95, 0.99].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (target, le) (rate(${sel(M.httpDuration, [], '_bucket')}[${RATE}])))`,
            legend: `{{target}} p${q * 100}`,
          })),
        },
        {
          type: 'timeseries', title: 'MQTT round trip p50 / p95', unit: 's', w: 12,
          description: 'Time from publishing a QoS 1 probe message to receiving it back from the broker.',
          queries: [0.5, 0.95].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (broker, le) (rate(${sel(M.mqttRoundtrip, [], '_bucket')}[${RATE}])))`,
            legend: `{{broker}} p${q * 100}`,
          })),
          runbook: [ALERT.roundtripSlow],
        },
        {
          type: 'table', title: 'TLS certificate expires in', unit: 's', w: 12, h: 6,
          description: 'Time until the TLS certificate of each HTTPS target expires.',
          queries: [{ expr: `${sel(M.httpCertExpiry)} - time()`, legend: '{{target}}' }],
          transformations: [{ id: 'organize', options: { excludeByName: { Time: true, job: true }, renameByName: { Value: 'expires in' } } }],
          thresholds: [{ color: 'red', value: null }, { color: 'orange', value: 7 * 86400 }, { color: 'green', value: 21 * 86400 }],
          custom: { cellOptions: { type: 'color-text' } },
        },
        {
          type: 'table', title: 'Collectors', unit: 'none', w: 12, h: 6,
          description: 'Whether each stackwatch collector\'s last cycle worked (its own machinery, not the target\'s health), and how long ago it last succeeded.',
          queries: [
            { expr: `${sel(M.collectorSuccess)}`, legend: 'success' },
            { expr: `time() - ${sel(M.collectorLastSuccess)}`, legend: 'age' },
          ],
          transformations: [
            { id: 'merge', options: {} },
            { id: 'organize', options: { excludeByName: { Time: true, job: true }, renameByName: { 'Value #A': 'ok', 'Value #B': 'seconds since success' } } },
          ],
          runbook: [ALERT.exporterDown],
        },
      ],
    },
    {
      row: 'The exporter itself',
      panels: [
        {
          type: 'stat', title: 'Configuration reload', unit: 'none', w: 6, h: 6,
          description: 'Whether the last configuration load or reload succeeded. After a failed reload the previous configuration stays in force until it is fixed.',
          queries: [{ expr: `${sel(M.configReloadOk)}`, legend: '{{instance}}', instant: true }],
          mappings: [boolMapping('FAILED', 'OK')],
          thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
          runbook: [ALERT.exporterDown],
        },
        {
          type: 'stat', title: 'Configuration loaded', unit: 'dateTimeFromNow', w: 6, h: 6,
          description: 'When the configuration in force was loaded.',
          queries: [{ expr: `${sel(M.configReloadTime)} * 1000`, legend: '{{instance}}', instant: true }],
          colorMode: 'fixed',
        },
        {
          type: 'stat', title: 'Web config (TLS, auth)', unit: 'none', w: 6, h: 6,
          description: 'Whether the last load of the --web.config.file (certificates, basic-auth users, headers) succeeded. After a failed load the previous TLS and auth setup keeps serving. No series when no web config file is given.',
          queries: [{ expr: `${sel(M.webConfigReloadOk)}`, legend: '{{instance}}', instant: true }],
          mappings: [boolMapping('FAILED', 'OK')],
          thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
        },
        {
          type: 'stat', title: 'History snapshot age', unit: 's', w: 6, h: 6,
          description: 'Seconds since the exporter last wrote its snapshot to the data directory (--storage.path; every 5 s normally), and snapshot writes or reads that failed in the selected range. A growing age means history and outages in progress would not survive a restart (disk full, read-only, directory removed). No series without --storage.path.',
          queries: [
            { expr: `time() - ${sel(M.storageSnapshotLastSuccess, [matcher(M.storageSnapshotLastSuccess, 'operation', 'write')])}`, legend: '{{instance}} age', instant: true },
            { expr: `increase(${sel(M.storageSnapshotFailures)}[$__range])`, legend: '{{instance}} {{operation}} failures in the selected range', instant: true },
          ],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 30 }, { color: 'red', value: 120 }],
        },
        {
          type: 'timeseries', title: 'Requests refused by the exporter', unit: 'reqps', w: 18, h: 6,
          description: 'Requests to the exporter\'s own server refused, by reason (failed basic auth, missing client certificate, cross-site request, lifecycle endpoint disabled, too many pending auth checks). A steady rate of auth failures is a scraper with a stale password, or someone guessing.',
          queries: [{ expr: `sum by (instance, reason) (rate(${sel(M.webRequestsRefused)}[${RATE}]))`, legend: '{{instance}} {{reason}}' }],
        },
        {
          type: 'timeseries', title: 'Collector cycle duration', unit: 's', w: 12, h: 6,
          description: 'Duration of each collector\'s last cycle (for http: the last probe). /metrics never waits on these.',
          queries: [{ expr: `${sel(M.collectorDuration)}`, legend: '{{instance}} {{collector}}' }],
        },
        {
          type: 'timeseries', title: 'Observation age per target', unit: 's', w: 12, h: 6,
          description: 'Seconds since each target was last observed. It stays below the target\'s interval (plus its timeout); a growing age means its collector is stuck, and then the up/down state above is stale.',
          queries: [{ expr: `time() - ${sel(M.targetLastCheck)}`, legend: '{{kind}}/{{target}}' }],
          runbook: [ALERT.exporterDown],
        },
        {
          type: 'timeseries', title: 'Skipped input', unit: 'ops', w: 12, h: 6,
          description: 'Input the collectors skipped, per second: $SYS payloads that were not numbers, Docker event lines that did not parse, /proc read errors other than vanished processes (e.g. permissions).',
          queries: [
            { expr: `rate(${sel(M.mqttSysParseErrors)}[${RATE}])`, legend: '{{broker}} SYS parse errors' },
            { expr: `rate(${sel(M.dockerEventErrors)}[${RATE}])`, legend: '{{instance}} Docker event errors' },
            { expr: `sum by (instance, reason) (rate(${sel(M.processReadErrors)}[${RATE}]))`, legend: '{{instance}} /proc {{reason}}' },
            { expr: `sum by (broker, reason) (rate(${sel(M.mqttMessagesDropped)}[${RATE}]))`, legend: '{{broker}} MQTT messages dropped ({{reason}})' },
            { expr: `rate(${sel(M.serverConnectionsDropped)}[${RATE}])`, legend: '{{instance}} server connections dropped (cap)' },
          ],
        },
        {
          type: 'timeseries', title: 'Exporter errors', unit: 'ops', w: 12, h: 6,
          description: 'Failures of the exporter\'s own machinery, per second. internal: an exception in a check or an unusable target setup (e.g. a TLS file); the targets concerned are reported down. resources: the exporter ran out of file descriptors or memory; those checks are not counted against the targets.',
          queries: [{ expr: `sum by (instance, collector, reason) (rate(${sel(M.collectorErrors)}[${RATE}]))`, legend: '{{instance}} {{collector}} {{reason}}' }],
        },
        {
          type: 'timeseries', title: 'Executables per process group', unit: 'short', w: 12, h: 6,
          description: 'Distinct executables among the processes a declared group matches. Above 1 the pattern likely also matches a wrapper (bash supervise.sh node app.js for cmdline "node"), which keeps the group up while its program is dead: anchor the pattern (stackwatch processes shows the matches).',
          queries: [{ expr: `${sel(M.processGroupExecutables)}`, legend: '{{instance}} {{group}}' }],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 2 }],
        },
      ],
    },
    realTraffic(cfg),
    {
      row: 'Error budget burn rate',
      panels: [
        {
          type: 'timeseries', title: 'Burn rate', unit: 'short', w: 24, h: 9,
          description: `How fast each target spends its error budget, over the windows the burn-rate alerts use (${burnWindows(cfg).join(', ')}): failed share of checks / (1 - objective). 1 spends exactly the budget over 30 days. The alerts fire when a long and a short window both exceed a factor: ${[...cfg.slo.fast, ...cfg.slo.slow].map((b) => `${b.long}+${b.short} > ${b.factor}`).join(', ')}.`,
          queries: burnWindows(cfg).map((w) => ({ expr: `${rsel(R.errorRatio(w))} / ${BUDGET}`, legend: `{{kind}}/{{target}} ${w}` })),
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: cfg.slo.slow[0]!.factor }, { color: 'red', value: cfg.slo.fast[0]!.factor }],
          custom: { thresholdsStyle: { mode: 'line+area' } },
          runbook: [ALERT.burnFast, ALERT.burnSlow],
        },
      ],
    },
  ],
});
