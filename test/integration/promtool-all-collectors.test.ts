import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { MAIN, withStorage } from '../harness/cli';
import { boundPort } from '../harness/built-daemon';
import { issue, makeCa } from '../harness/certs';
import { Dockerd } from '../harness/dockerd';
import { startHealthBackendOnFreePort } from '../harness/health-backend';
import { Mosquitto } from '../harness/mosquitto';
import { ProcessSet } from '../harness/processes';
import { catalogueProblems, COMPLETE_LABELS } from '../harness/catalogue-conformance';
import { Metrics } from '../harness/prom-text';
import { requireBinary } from '../harness/require-binary';
import { waitFor } from '../harness/wait';

/**
 * `promtool check metrics` on the built daemon's /metrics with every collector on at once:
 * HTTP (plain with JSON fields and conditions, and HTTPS for the certificate metrics), MQTT
 * (a real mosquitto: $SYS, round trips, application topics), Docker (a private dockerd with a
 * health-checked container), processes (a named group and discovery) and an access log. No lint
 * problem is allowed: a non-histogram ending in _count, a gauge ending in _total, a missing unit...
 * The same exposition is held to the metric catalogue: only its labels and values, and state
 * sets and zero-declared reasons with exactly the catalogue's values.
 */

jest.setTimeout(180_000);

const procs = new ProcessSet();
let dir: string;
let docker: Dockerd | undefined;
let tlsServer: https.Server | undefined;
let daemon: ChildProcess | undefined;

beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'sw-promtool-')); });
afterAll(async () => {
  if (daemon) await procs.kill(daemon, 'SIGTERM');
  await procs.killAll();
  await new Promise<void>((r) => { if (tlsServer) tlsServer.close(() => r()); else r(); });
  await docker?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('passes promtool check metrics with HTTP, MQTT, Docker, process and log collectors all enabled', async () => {
  const promtool = requireBinary('promtool', 'apt-get install -y prometheus');

  const { port: backendPort } = await startHealthBackendOnFreePort(procs);
  const ca = makeCa(dir, 'ca');
  const srv = issue(dir, ca, 'srv');
  tlsServer = https.createServer({ cert: readFileSync(srv.crt), key: readFileSync(srv.key) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy"}');
  });
  await new Promise<void>((r) => tlsServer!.listen(0, '127.0.0.1', () => r()));
  const tlsPort = (tlsServer.address() as import('node:net').AddressInfo).port;
  const broker = await Mosquitto.start(procs);
  docker = await Dockerd.start();
  await docker.runContainer('web', ['--health-cmd', 'true', '--health-interval', '1s', '--health-timeout', '10s', '--health-retries', '3'], ['sleep', '1000']);

  const accessLog = path.join(dir, 'access.log');
  writeFileSync(accessLog, [
    '127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "GET /api/items HTTP/1.1" 200 12 "-" "curl/8"',
    '127.0.0.1 - - [14/Nov/2023:22:13:21 +0000] "POST /api/items HTTP/1.1" 502 0 "-" "curl/8"',
    'not an access log line',
    '',
  ].join('\n'));
  const config = path.join(dir, 'stackwatch.yml');
  writeFileSync(config, `
http:
  - name: backend
    url: http://127.0.0.1:${backendPort}/api/health
    interval: 1s
    timeout: 500ms
    json:
      status: status
      fields:
        mqtt_connected: mqtt.connected
        pending_requests: mqtt.pending_requests
    conditions: ["mqtt.pending_requests < 100"]
  - name: secure
    url: https://127.0.0.1:${tlsPort}/
    interval: 1s
    timeout: 500ms
    tls: { ca_file: ${ca.crt} }
mqtt:
  - name: main
    url: mqtt://127.0.0.1:${broker.port}
    sys_interval: 1s
    roundtrip: { topic: stackwatch/probe, interval: 1s, timeout: 500ms }
    topics: [{ topic: "app/#", stale_after: 1m }]
docker:
  enabled: true
  host: ${docker.host}
  resources_interval: 1s
processes:
  - name: backend
    cmdline: "health-backend\\\\.js ${backendPort}"
process_discovery:
  enabled: true
  top: 5
process_settings:
  interval: 1s
logs:
  - name: proxy
    path: ${accessLog}
    format: nginx
    routes: { api: "^/api/" }
    start_at: beginning
`);
  daemon = procs.start(process.execPath, [MAIN, ...withStorage(['--config', config, '--web.listen-address', '127.0.0.1:0'])]);
  let stderr = '';
  daemon.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  // Port 0: the kernel's choice, read back from the daemon's log (no port to lose to a parallel test).
  const port = await boundPort(daemon);
  const url = `http://127.0.0.1:${port}/metrics`;

  let missing: string[] = [];
  let lastContainer = '';
  const text = await waitFor('every collector to report', async () => {
    const body = await (await fetch(url)).text();
    const m = Metrics.parse(body);
    const up = (kind: string, target: string) => m.get('stackwatch_target_up', { kind, target }) === 1;
    const checks: Record<string, boolean> = {
      'http backend up': up('http', 'backend'), 'http secure up': up('http', 'secure'), 'mqtt main up': up('mqtt', 'main'),
      'container web up': up('container', 'web'), 'process backend up': up('process', 'backend'),
      'health fields': m.all('stackwatch_health_field').length > 0,
      'mqtt round trips': m.samples.some((s) => s.name.startsWith('stackwatch_mqtt_') && s.name.includes('roundtrip')),
      'container series': m.samples.some((s) => s.name.startsWith('stackwatch_container_')),
      'process series': m.samples.some((s) => s.name.startsWith('stackwatch_process_')),
      'tls series': m.samples.some((s) => s.name.includes('tls') || s.name.includes('cert')),
      'log requests': m.all('stackwatch_log_requests_total', { source: 'proxy', route: 'api', code: '502' }).length === 1,
    };
    missing = Object.entries(checks).filter(([, ok]) => !ok).map(([k]) => k);
    lastContainer = body.split('\n').filter((l) => l.startsWith('stackwatch_container_') && l.includes('"web"')).join('\n');
    return missing.length === 0 ? body : undefined;
  }, 90_000, 500).catch(async (err: unknown) => {
    throw new Error(`${String(err)}; still missing: ${missing.join(', ')}\n--- container series ---\n${lastContainer}\n--- docker inspect web ---\n${JSON.stringify((await docker!.inspect('web').catch(() => undefined))?.State)}\n--- stackwatch log ---\n${stderr.slice(-4000)}`, { cause: err });
  });

  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
  const samples = Metrics.parse(text).samples;
  expect(catalogueProblems(samples)).toEqual([]);
  // Every complete set was there to be checked.
  const names = new Set(samples.map((s) => s.name));
  expect(COMPLETE_LABELS.map(([d]) => d.name).filter((n) => !names.has(n))).toEqual([]);
});
