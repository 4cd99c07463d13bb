/**
 * Every panel query of every dashboard, run against a live Prometheus (Debian's 2.42) that
 * scrapes a real stackwatch exporter watching real things on 127.0.0.1: the bundle's demo backend
 * (degraded, unhealthy, leaking, crashing and restarted by a supervisor), a target that is always
 * down, an HTTPS backend, a mosquitto broker the demo backend publishes to, a private dockerd with
 * a few containers (healthy, unhealthy, crash-looping), and the demo backend's process group. The
 * bundle's recording rules (prometheus/rules/*.yml) are loaded.
 *
 * Grafana variables are substituted as Grafana does for a dashboard with job = "stackwatch"
 * selected, every other multi-value variable on "All" (its allValue, `.+`), $__rate_interval = 10s (the
 * scrape interval is 1 s) and $__range = 5m. Then: no query may fail, every query must return
 * data except the justified ones in ALLOWED_EMPTY, and the scenario must show on the panels
 * meant for it (outages, MTTR, failures by reason, degraded/unhealthy states, restarts, ...).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Dashboard, Panel } from '../../src/bundle/dashboards/grafana';
import { substituteVariables } from '../harness/dashboard-lint';
import { startDemoBackend, type DemoBackend } from '../harness/demo-backend';
import { Dockerd } from '../harness/dockerd';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { startNginx, TIMED_LOG_FORMAT, type RunningNginx } from '../harness/nginx';
import { Mosquitto } from '../harness/mosquitto';
import { closedPort as refusingPort, fixedPort } from '../harness/ports';
import { ProcessSet } from '../harness/processes';
import { startPrometheus, type RunningPrometheus } from '../harness/prometheus';
import { requireBinary } from '../harness/require-binary';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(240_000);

const root = path.join(__dirname, '..', '..');
const DASH_DIR = path.join(root, 'grafana', 'dashboards');
const RULES_DIR = path.join(root, 'prometheus', 'rules');

/**
 * Queries allowed to return nothing here, by `dashboard uid / panel title / refId` (refId `*`:
 * every query of the panel), each with the reason. Every entry must really be empty (checked),
 * so the list cannot hide a panel that silently stopped working elsewhere.
 */
const ALLOWED_EMPTY: Record<string, string> = {
  'stackwatch-memory / Predicted time to memory limit / A':
    'needs a container whose 30-minute memory floor grows: min_over_time(30m) of a growing series stays at its first value for 30 minutes, longer than a test',
};

interface Query {
  key: string;
  dashboard: string;
  panel: Panel;
  refId: string;
  expr: string;
  instant: boolean;
}

interface Result {
  series: { metric: Record<string, string>; values: number[] }[];
  error?: string;
}

const procs = new ProcessSet();
let tmp: string | undefined;
let dockerd: Dockerd | undefined;
/** sw-app's health status as Docker reported it when the scenario was complete. */
let sappHealth = 'none';
let mosquitto: Mosquitto | undefined;
let demo: DemoBackend | undefined;
let tlsServer: https.Server | undefined;
let exporter: RunningExporter | undefined;
let nginx: RunningNginx | undefined;
/** Real traffic through nginx to the demo backend, for the access-log panels; stopped in afterAll. */
let trafficRunning = false;
let traffic: Promise<void> | undefined;
let prom: RunningPrometheus | undefined;
let queries: Query[] = [];
const results = new Map<string, Result>();
let scenarioStart = 0;

afterAll(async () => {
  trafficRunning = false;
  await traffic;
  await nginx?.stop().catch(() => undefined);
  await exporter?.stop().catch(() => undefined);
  await prom?.stop().catch(() => undefined);
  await demo?.stop().catch(() => undefined);
  await mosquitto?.stop().catch(() => undefined);
  mosquitto?.cleanup();
  if (tlsServer !== undefined) {
    tlsServer.closeAllConnections();
    await new Promise<void>((r) => tlsServer!.close(() => r()));
  }
  await dockerd?.stop().catch(() => undefined);
  await procs.killAll();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

/** A self-signed certificate for 127.0.0.1 (openssl), and an HTTPS health endpoint using it. */
async function startTlsBackend(dir: string): Promise<{ port: number; caFile: string }> {
  const openssl = requireBinary('openssl', 'apt-get install -y openssl');
  const key = path.join(dir, 'tls.key');
  const cert = path.join(dir, 'tls.crt');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 30_000 });
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'healthy', mqtt: { connected: true, pending_requests: 0 } }));
  });
  tlsServer = server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, caFile: cert };
}

function loadQueries(vars: Record<string, string>): Query[] {
  const out: Query[] = [];
  for (const f of readdirSync(DASH_DIR).filter((x) => x.endsWith('.json')).sort()) {
    const d = JSON.parse(readFileSync(path.join(DASH_DIR, f), 'utf8')) as Dashboard;
    // Variables not given explicitly are on "All": Grafana substitutes their allValue.
    const all = Object.fromEntries(d.templating.list.flatMap((v) => (v.type === 'query' ? [[v.name, v.allValue]] : [])));
    const dashVars = { ...all, ...vars };
    for (const p of d.panels) {
      if (p.type === 'row') continue;
      for (const t of p.targets) {
        out.push({
          key: `${d.uid} / ${p.title} / ${t.refId}`, dashboard: d.uid, panel: p, refId: t.refId,
          expr: substituteVariables(t.expr, dashVars), instant: t.instant,
        });
      }
    }
  }
  return out;
}

async function runQuery(q: Query, end: number): Promise<Result> {
  try {
    if (q.instant) {
      const r = await prom!.query(q.expr, end);
      return { series: r.map((s) => ({ metric: s.metric, values: [s.value] })) };
    }
    const start = Math.max(scenarioStart, end - 300);
    const r = await prom!.queryRange(q.expr, start, end, 2);
    return { series: r.map((s) => ({ metric: s.metric, values: s.values.map(([, v]) => v) })) };
  } catch (err) {
    return { series: [], error: String(err) };
  }
}

const hasData = (r: Result): boolean => r.series.some((s) => s.values.some((v) => Number.isFinite(v)));
const result = (key: string): Result => {
  const r = results.get(key);
  if (r === undefined) throw new Error(`no query ${key}; queries: ${[...results.keys()].join('\n')}`);
  return r;
};
/** Finite values of a query's series whose labels include `labels`. */
const valuesOf = (key: string, labels: Record<string, string> = {}): number[] =>
  result(key).series.filter((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v)).flatMap((s) => s.values.filter(Number.isFinite));

beforeAll(async () => {
  requireBinary('prometheus', 'apt-get install -y prometheus');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-dash-'));
  scenarioStart = Math.floor(Date.now() / 1000) - 1;

  // Real things to watch.
  const [docker, broker, tls] = await Promise.all([Dockerd.start(), Mosquitto.start(procs, { sysInterval: 1 }), startTlsBackend(tmp)]);
  dockerd = docker;
  mosquitto = broker;
  await Promise.all([
    docker.runContainer('sw-app', ['--memory', '64m', '--health-cmd', 'true', '--health-interval', '1s'], ['sleep', '3600']),
    docker.runContainer('sw-sick', ['--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1'], ['sleep', '3600']),
    docker.runContainer('sw-crashy', ['--restart', 'on-failure:30', '--memory', '32m'], ['sh', '-c', 'sleep 2; exit 3']),
  ]);
  demo = await startDemoBackend(procs, await fixedPort(), {
    healthyFor: '5s', degradedFor: '4s', unhealthyFor: '3s', crashAfter: '16s', leakPerSecond: '256k',
    pendingPerSecond: 2, mqttUrl: broker.url, mqttTopic: 'demo/responses', mqttEvery: '1s',
  }, { restartDelayMs: 3000 });
  const closedPort = await refusingPort();
  // nginx in front of the demo backend, with real requests: 200s, 503s while it is unhealthy,
  // 502s while it is down after its crash, 404s on an unknown route.
  const demoPort = Number(new URL(demo.healthUrl).port);
  nginx = await startNginx(procs, { backendPort: demoPort });
  const ngx = nginx;
  trafficRunning = true;
  traffic = (async () => {
    for (let i = 0; trafficRunning; i++) {
      await fetch(`${ngx.url}${i % 5 === 4 ? '/api/chatbot/messages' : '/api/health?n=' + String(i)}`).then((r) => r.arrayBuffer()).catch(() => undefined);
      await sleep(50);
    }
  })();

  exporter = await startExporter({
    http: [
      {
        name: 'demo-backend', url: demo.healthUrl, interval: '1s', timeout: '800ms', expect_status: [200],
        json: {
          status: 'status',
          fields: {
            mqtt_connected: 'mqtt.connected', mqtt_last_activity_seconds_ago: 'mqtt.last_activity_seconds_ago',
            mqtt_reconnect_attempts: 'mqtt.reconnect_attempts', pending_requests: 'mqtt.pending_requests',
          },
        },
      },
      { name: 'tls-backend', url: `https://127.0.0.1:${tls.port}/api/health`, interval: '2s', timeout: '1s', tls: { ca_file: tls.caFile }, json: { status: 'status' } },
      // Nothing listens here: an outage in progress for the whole test.
      { name: 'ghost', url: `http://127.0.0.1:${closedPort}/api/health`, interval: '1s', timeout: '500ms' },
    ],
    mqtt: [{
      name: 'mosquitto', url: broker.url, sys_interval: '1s',
      roundtrip: { topic: 'stackwatch/probe', interval: '1s', timeout: '800ms' },
      topics: [{ topic: 'demo/responses', stale_after: '30s' }],
    }],
    docker: { enabled: true, host: docker.host, resources_interval: '1s' },
    processes: [{ name: 'demo-backend-process', cmdline: 'demo-backend/server\\.js' }],
    process_settings: { interval: '1s' },
    logs: [{
      name: 'proxy', path: ngx.accessLog, log_format: TIMED_LOG_FORMAT, routes: { health: '^/api/health', chatbot: '^/api/chatbot/' },
      traffic: { window: '10s', min_requests: 5, interval: '1s' },
    }],
  }, { storagePath: path.join(tmp, 'data') });
  const ex = exporter;
  const exporterAddr = ex.url.replace(/^http:\/\//, '');

  const ruleFiles = Object.fromEntries(readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml')).sort()
    .map((f) => [`rules/${f}`, readFileSync(path.join(RULES_DIR, f), 'utf8')]));
  expect(Object.keys(ruleFiles).length).toBeGreaterThan(0);
  prom = await startPrometheus({ procs, interval: '1s', scrape: [{ job: 'stackwatch', targets: [exporterAddr] }], ruleFiles });
  await prom.waitForTargetsUp(20_000);
  await prom.waitForRules(20_000);

  // The scenario: the demo backend crashed, was restarted and recovered; it went degraded and
  // unhealthy; a container restarted; the broker's $SYS and the demo's topic arrived.
  let missing: string[] = [];
  try {
    await waitFor('the demo backend to crash, restart and recover (a recovery observed)', async () => {
      const m = await ex.scrape();
      const checks: Record<string, boolean> = {
        'demo backend started twice': demo!.starts() >= 2,
        'a recovery of demo-backend': (m.get('stackwatch_target_recovery_seconds_count', { kind: 'http', target: 'demo-backend' }) ?? 0) >= 1,
        'a restart of demo-backend-process': (m.get('stackwatch_process_restarts_total', { group: 'demo-backend-process' }) ?? 0) >= 1,
        'a restart of sw-crashy': (m.get('stackwatch_container_restarts_total', { container: 'sw-crashy' }) ?? 0) >= 1,
        'a message on the demo topic': m.all('stackwatch_mqtt_topic_last_message_timestamp_seconds').length > 0,
        'sw-sick unhealthy': (m.get('stackwatch_container_health_status', { container: 'sw-sick', status: 'unhealthy' }) ?? 0) === 1,
        'sw-app running': (m.get('stackwatch_container_state', { container: 'sw-app', state: 'running' }) ?? 0) === 1,
        // The health status Docker itself reports for sw-app, whatever it is (on a loaded
        // machine its first check can still be running), is the one the exporter reports.
        'sw-app health as Docker reports it': (m.get('stackwatch_container_health_status', { container: 'sw-app', status: sappHealth = (await docker.inspect('sw-app')).State?.Health?.Status ?? 'none' }) ?? 0) === 1,
        'nginx answered 502 while the demo backend was down': (m.get('stackwatch_log_requests_total', { source: 'proxy', route: 'health', method: 'GET', code: '502' }) ?? 0) >= 1,
        'nginx passed on a 503 of the unhealthy demo backend': (m.get('stackwatch_log_requests_total', { source: 'proxy', route: 'health', method: 'GET', code: '503' }) ?? 0) >= 1,
      };
      missing = Object.entries(checks).filter(([, ok]) => !ok).map(([what]) => what);
      return missing.length === 0;
    }, 90_000, 500);
  } catch (err) {
    throw new Error(`${(err as Error).message}; still missing: ${missing.join(', ')}`, { cause: err });
  }
  // ...and Prometheus has it all: each phase scraped, the counters' increases visible, the rules
  // evaluated on the latest state.
  const p = prom;
  const seen = async (expr: string): Promise<boolean> => (await p.query(expr)).some((r) => r.value > 0);
  const wanted = [
    'max_over_time(stackwatch_health_status{target="demo-backend", status="degraded"}[5m])',
    'max_over_time(stackwatch_health_status{target="demo-backend", status="unhealthy"}[5m])',
    'max_over_time(stackwatch_health_status{target="demo-backend", status="healthy"}[5m])',
    'stackwatch_target_recovery_seconds_count{target="demo-backend"}',
    'kind_target:stackwatch_target_recovery_seconds:mean1d{target="demo-backend"}',
    'increase(stackwatch_process_restarts_total{group="demo-backend-process"}[5m])',
    'increase(stackwatch_container_restarts_total{container="sw-crashy"}[5m])',
    'stackwatch_container_health_status{container="sw-sick", status="unhealthy"}',
    'stackwatch_container_state{container="sw-app", state="running"}',
    'stackwatch_target_up{target="demo-backend"}',
    'increase(stackwatch_log_requests_total{source="proxy", code="502"}[5m])',
  ];
  await waitFor('Prometheus to have scraped every phase of the scenario', async () => {
    const missing: string[] = [];
    for (const e of wanted) if (!(await seen(e))) missing.push(e);
    if (missing.length > 0) throw new Error(`not yet: ${missing.join(', ')}`);
    return true;
  }, 90_000, 1000);
  await sleep(2000);

  const instance = exporterAddr.replace(/\./g, '\\\\.');
  queries = loadQueries({ job: 'stackwatch', instance, slo: '99.9', __rate_interval: '10s', __range: '5m', __interval: '2s' });
  const end = Math.floor(Date.now() / 1000);
  for (const q of queries) results.set(q.key, await runQuery(q, end));
}, 200_000);

describe('dashboard panel queries against a live Prometheus', () => {
  it('found every panel query of the six dashboards', () => {
    expect(new Set(queries.map((q) => q.dashboard)).size).toBe(6);
    expect(queries.length).toBeGreaterThan(80);
  });

  it('run without a single query error', () => {
    const errors = queries.map((q) => [q.key, results.get(q.key)?.error]).filter(([, e]) => e !== undefined);
    expect(errors).toEqual([]);
  });

  it('return data, except the justified ALLOWED_EMPTY queries, which are indeed empty', () => {
    const allowed = (q: Query): boolean => `${q.dashboard} / ${q.panel.title} / ${q.refId}` in ALLOWED_EMPTY
      || `${q.dashboard} / ${q.panel.title} / *` in ALLOWED_EMPTY;
    const empty = queries.filter((q) => !hasData(result(q.key)));
    expect(empty.filter((q) => !allowed(q)).map((q) => `${q.key}: ${q.expr}`)).toEqual([]);
    // The list stays honest: every entry names a real query that is really empty.
    for (const key of Object.keys(ALLOWED_EMPTY)) {
      const matching = queries.filter((q) => `${q.dashboard} / ${q.panel.title} / ${q.refId}` === key || `${q.dashboard} / ${q.panel.title} / *` === key);
      expect([key, matching.length > 0, matching.every((q) => !hasData(result(q.key)))]).toEqual([key, true, true]);
    }
  });
});

describe('the scenario shows on the panels meant for it', () => {
  it('Overview: the always-down target is an active outage, the HTTPS backend is not, uptime and budget are computed', () => {
    expect(valuesOf('stackwatch-overview / Targets down / A')[0]).toBeGreaterThanOrEqual(1);
    const outages = result('stackwatch-overview / Active outages / A').series.map((s) => s.metric.target);
    expect(outages).toContain('ghost');
    expect(outages).not.toContain('tls-backend');
    expect(valuesOf('stackwatch-overview / Active outages / A', { target: 'ghost' })[0]).toBeGreaterThan(5);
    const up24h = valuesOf('stackwatch-overview / Uptime per target (24h / 7d / 30d) / A', { target: 'demo-backend' })[0]!;
    expect(up24h).toBeGreaterThan(0.3);
    expect(up24h).toBeLessThan(1);
    expect(valuesOf('stackwatch-overview / Uptime per target (24h / 7d / 30d) / A', { target: 'ghost' })[0]).toBe(0);
    // The demo backend failed checks (crash, unhealthy): more than the 0.1 % budget is spent.
    expect(valuesOf('stackwatch-overview / Error budget left (30d) / A', { target: 'demo-backend' })[0]).toBeLessThan(0);
    expect(valuesOf('stackwatch-overview / Exporter / A')).toEqual([1]);
  });

  it('Overview and Errors: the health state went healthy -> degraded -> unhealthy (codes 0, 1, 2)', () => {
    const codes = new Set(valuesOf('stackwatch-overview / Health status (tri-state) / A', { target: 'demo-backend' }));
    for (const c of [0, 1, 2]) expect(codes).toContain(c);
    expect(valuesOf('stackwatch-errors / Time degraded (selected range) / A', { target: 'demo-backend' })[0]).toBeGreaterThan(0);
  });

  it('Recovery: outages counted, MTTR near the real restart delay, recovery histogram filled, restarts seen', () => {
    expect(valuesOf('stackwatch-recovery / Outages in the selected range / A', { target: 'demo-backend' })[0]).toBeGreaterThanOrEqual(1);
    const mttr = valuesOf('stackwatch-recovery / MTTR (1d / 7d) / A', { target: 'demo-backend' })[0]!;
    // Supervisor restart delay 3 s plus the node start and one probe interval.
    expect(mttr).toBeGreaterThan(2);
    expect(mttr).toBeLessThan(15);
    // The first recovery of a target counts too (its histogram series is born with it).
    const inRange = valuesOf('stackwatch-recovery / MTTR in the selected range / A', { target: 'demo-backend' })[0]!;
    expect(inRange).toBeGreaterThan(2);
    expect(inRange).toBeLessThan(15);
    const bucketCounts = result('stackwatch-recovery / Recovery time histogram (selected range) / A').series
      .filter((s) => s.metric.le === '+Inf').flatMap((s) => s.values);
    expect(bucketCounts[0]).toBeGreaterThanOrEqual(1);
    expect(Math.max(...valuesOf('stackwatch-recovery / Process restarts / A', { group: 'demo-backend-process' }))).toBeGreaterThan(0);
    expect(Math.max(...valuesOf('stackwatch-recovery / Container restarts / A', { container: 'sw-crashy' }))).toBeGreaterThan(0);
  });

  it('Errors: failures by reason show the crash (connect) and the 503 (status); burn rates are computed', () => {
    const reasons = new Set(result('stackwatch-errors / Failures by reason (selected range) / A').series
      .filter((s) => s.metric.target === 'demo-backend').map((s) => s.metric.reason));
    expect(reasons).toContain('connect');
    expect(reasons).toContain('status');
    expect(result('stackwatch-errors / Burn rate / A').series.length).toBeGreaterThan(0);
    expect(valuesOf('stackwatch-errors / TLS certificate expires in / A', { target: 'tls-backend' })[0]).toBeGreaterThan(20 * 86400);
  });

  it('Errors, real traffic: nginx\'s 502s and 503s, the 404 route, synthetic beside real, latency from the access log', () => {
    const codes = new Set(result('stackwatch-errors / Requests by code / A').series.filter((s) => s.metric.source === 'proxy').map((s) => s.metric.code));
    for (const c of ['2xx', '4xx', '502', '503']) expect(codes).toContain(c);
    expect(Math.max(...valuesOf('stackwatch-errors / 502 / 504 (backend unreachable behind the proxy) / A', { source: 'proxy', route: 'health' }))).toBeGreaterThan(0);
    expect(Math.max(...valuesOf('stackwatch-errors / Real 5xx share per route / A', { source: 'proxy', route: 'health' }))).toBeGreaterThan(0);
    // Synthetic and real side by side: the demo backend's failed checks and the proxy's 5xx share.
    expect(Math.max(...valuesOf('stackwatch-errors / Synthetic checks vs real traffic: failed share / A', { target: 'demo-backend' }))).toBeGreaterThan(0);
    expect(Math.max(...valuesOf('stackwatch-errors / Synthetic checks vs real traffic: failed share / B', { source: 'proxy' }))).toBeGreaterThan(0);
    expect(Math.max(...valuesOf('stackwatch-errors / Request duration p50 / p95 / p99 per route / B', { source: 'proxy', route: 'health' }))).toBeGreaterThan(0);
    expect(valuesOf('stackwatch-errors / Log sources / A', { source: 'proxy' })).toEqual([1]);
    expect(valuesOf('stackwatch-errors / Log sources / B', { source: 'proxy' })).toEqual([0]);
  });

  it('Memory & leaks: pending requests climbed while degraded, RSS and fds of the demo process are shown', () => {
    expect(Math.max(...valuesOf('stackwatch-memory / Pending requests / A', { target: 'demo-backend' }))).toBeGreaterThanOrEqual(2);
    expect(Math.max(...valuesOf('stackwatch-memory / Process resident memory (RSS) / A', { group: 'demo-backend-process' }))).toBeGreaterThan(10e6);
    expect(Math.max(...valuesOf('stackwatch-memory / Open file descriptors / A', { group: 'demo-backend-process' }))).toBeGreaterThan(3);
    const used = valuesOf('stackwatch-memory / Container memory used of limit / A', { container: 'sw-app' })[0]!;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(1);
  });

  it('MQTT: connected, $SYS fresh, the demo backend\'s topic fresh, its own MQTT view went disconnected and back', () => {
    expect(valuesOf('stackwatch-mqtt / Connected / A', { broker: 'mosquitto' })).toEqual([1]);
    expect(valuesOf('stackwatch-mqtt / $SYS age / A', { broker: 'mosquitto' })[0]).toBeLessThan(10);
    expect(valuesOf('stackwatch-mqtt / Application topics: last message age / A', { topic: 'demo/responses' })[0]).toBeLessThan(30);
    const seen = new Set(valuesOf('stackwatch-mqtt / Backend MQTT connected / A', { target: 'demo-backend' }));
    expect(seen).toEqual(new Set([0, 1]));
  });

  it('Containers & processes: states, health checks and exit codes of the real containers', () => {
    const state = (name: string): number[] => valuesOf('stackwatch-containers / Container state / A', { container: name });
    expect(state('sw-app')).toContain(1); // running
    const health = (name: string): number[] => valuesOf('stackwatch-containers / Container health check / A', { container: name });
    // Healthy as soon as Docker's first check passed; the panel shows what Docker said.
    expect(health('sw-app')).toContain(['starting', 'healthy', 'unhealthy', 'none'].indexOf(sappHealth));
    if (sappHealth !== 'healthy') console.warn(`sw-app's health check had not passed yet in Docker's view: ${sappHealth}`);
    expect(health('sw-sick')).toContain(2); // unhealthy
    // The crash-looping container is listed with its restarts in the selected range.
    expect(valuesOf('stackwatch-containers / Containers / C', { container: 'sw-crashy' })[0]).toBeGreaterThanOrEqual(1);
    expect(valuesOf('stackwatch-containers / Containers / A', { container: 'sw-app' })).toEqual([1]);
    expect(valuesOf('stackwatch-containers / Docker API and events stream / A')).toEqual([1]);
    expect(valuesOf('stackwatch-containers / Processes per group / A', { group: 'demo-backend-process' })).toContain(1);
  });
});
