/**
 * The server side of `npm run bench scrape` (bench/scrape.bench.ts), run as its own process:
 *
 *   node [flags] scrape-server.js BUILD_DIR
 *
 * loads BUILD_DIR/dist (the build under test, so two builds can be compared in the same run),
 * fills a registry as the reference daemon's is filled — the catalogue's instruments with 100
 * HTTP targets, 50 containers, 10 process groups and one broker, the availability tracker for
 * each, prom-client's default metrics as src/app.ts registers them — and serves it with the real
 * Server (express, the /metrics route). Values move as the collectors move them: every target,
 * container and group is updated once per 5 s, spread over the period in 100 ms steps, the
 * broker every 10 s; `move` on stdin moves all of them at once. Prints `PORT <n>` when listening. Its parent compiles it with TypeScript's
 * transpileModule, so no TypeScript is loaded here.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Registry as RegistryT } from 'prom-client';
import type * as Availability from '../src/availability';
import type * as Definitions from '../src/metrics/definitions';
import type * as EventLoop from '../src/metrics/event-loop-delay';
import type * as Instruments from '../src/metrics/instruments';
import type * as ServerModule from '../src/server';
import type * as Surface from '../src/web/surface';
import type * as Log from '../src/log';

const dir = path.resolve(process.argv[2] ?? '.');
const requireFromBuild = createRequire(path.join(dir, 'dist', 'main.js'));
const load = <T>(p: string): T => requireFromBuild(`./${p}`) as T;
const { M } = load<typeof Definitions>('metrics/definitions.js');
const { gauge, counter, histogram, setStateSet } = load<typeof Instruments>('metrics/instruments.js');
const { AvailabilityTracker } = load<typeof Availability>('availability.js');
const { EVENT_LOOP_METRICS, EventLoopDelay } = load<typeof EventLoop>('metrics/event-loop-delay.js');
const { Server } = load<typeof ServerModule>('server.js');
const { WebSurface, plainWebState } = load<typeof Surface>('web/surface.js');
const { silentLogger } = load<typeof Log>('log.js');
const { Registry, collectDefaultMetrics } = requireFromBuild('prom-client') as typeof import('prom-client');

const HTTP = Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(3, '0')}`);
const CONTAINERS = Array.from({ length: 50 }, (_, i) => `ref-${String(i).padStart(2, '0')}`);
const GROUPS = Array.from({ length: 10 }, (_, i) => `g${i}`);
const BROKER = 'main';

const registry: RegistryT = new Registry();
const clock = (): number => Date.now() / 1000;
const tracker = new AvailabilityTracker(registry, clock);
const log = silentLogger();
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 60_000 });
for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total', ...EVENT_LOOP_METRICS]) {
  registry.removeSingleMetric(name);
}
const eventLoop = new EventLoopDelay(registry);
eventLoop.start();

let seq = 0;
const rnd = (): number => {
  seq = (seq * 1103515245 + 12345) % 2147483648;
  return seq / 2147483648;
};

// ---------------------------------------------------------------- HTTP targets
const httpDuration = histogram(registry, M.httpDuration);
const httpStatus = gauge(registry, M.httpStatusCode);
const httpFailures = counter(registry, M.httpFailures);
const healthStatus = gauge(registry, M.healthStatus);
const healthField = gauge(registry, M.healthField);
function probe(t: string): void {
  tracker.observe('http', t, true);
  tracker.noteLatency('http', t, 0.002 + rnd() * 0.01);
  httpDuration.observe({ target: t }, 0.002 + rnd() * 0.01);
  httpStatus.set({ target: t }, 200);
  setStateSet(healthStatus, M.healthStatus, { target: t }, 'status', 'healthy');
  healthField.set({ target: t, field: 'pending_requests' }, Math.floor(rnd() * 5));
}
for (const t of HTTP) {
  tracker.declare('http', t);
  for (const reason of M.httpFailures.spec.reason.values) httpFailures.inc({ target: t, reason }, 0);
  probe(t);
}

// ---------------------------------------------------------------- containers
const dockerUp = gauge(registry, M.dockerUp);
const eventsUp = gauge(registry, M.dockerEventsUp);
const state = gauge(registry, M.containerState);
const health = gauge(registry, M.containerHealth);
const restarts = counter(registry, M.containerRestarts);
const ooms = counter(registry, M.containerOomKills);
const exitCode = gauge(registry, M.containerExitCode);
const startedAt = gauge(registry, M.containerStartedAt);
const memUsage = gauge(registry, M.containerMemUsage);
const memLimit = gauge(registry, M.containerMemLimit);
const cpu = counter(registry, M.containerCpu);
const info = gauge(registry, M.containerInfo);
counter(registry, M.dockerEventErrors).inc(0);
dockerUp.set(1);
eventsUp.set(1);
function resources(c: string): void {
  tracker.observe('container', c, true);
  memUsage.set({ container: c }, Math.floor(500_000 + rnd() * 100_000));
  cpu.inc({ container: c }, rnd() * 0.001);
}
for (const c of CONTAINERS) {
  tracker.declare('container', c);
  setStateSet(state, M.containerState, { container: c }, 'state', 'running');
  setStateSet(health, M.containerHealth, { container: c }, 'status', 'none');
  restarts.inc({ container: c }, 0);
  ooms.inc({ container: c }, 0);
  exitCode.set({ container: c }, 0);
  startedAt.set({ container: c }, clock());
  memLimit.set({ container: c }, 64 * 1024 * 1024);
  info.set({ container: c, image: 'busybox:latest', compose_project: '', compose_service: '' }, 1);
  resources(c);
}

// ---------------------------------------------------------------- process groups
const procs = gauge(registry, M.processGroupProcesses);
const exes = gauge(registry, M.processGroupExecutables);
const procRestarts = counter(registry, M.processRestarts);
const procCpu = counter(registry, M.processCpu);
const procRss = gauge(registry, M.processRss);
const procVirtual = gauge(registry, M.processVirtual);
const procFds = gauge(registry, M.processOpenFds);
const procMaxFds = gauge(registry, M.processMaxFds);
const procThreads = gauge(registry, M.processThreads);
const procOldest = gauge(registry, M.processOldestStart);
for (const reason of M.processReadErrors.spec.reason.values) counter(registry, M.processReadErrors).inc({ reason }, 0);
gauge(registry, M.hostInfo).set({ hostname: 'bench', os: 'Linux', kernel: '6.1.0', arch: 'x64' }, 1);
function group(g: string): void {
  tracker.observe('process', g, true);
  procs.set({ group: g }, 3);
  exes.set({ group: g }, 1);
  for (const mode of ['user', 'system'] as const) procCpu.inc({ group: g, mode }, rnd() * 0.01);
  procRss.set({ group: g }, Math.floor(10_000_000 + rnd() * 1000) * 4096);
  procVirtual.set({ group: g }, 900_000_000);
  procFds.set({ group: g }, 20 + Math.floor(rnd() * 3));
  procThreads.set({ group: g }, 7);
}
for (const g of GROUPS) {
  tracker.declare('process', g);
  procRestarts.inc({ group: g }, 0);
  procMaxFds.set({ group: g }, 1024);
  procOldest.set({ group: g }, clock() - 3600);
  group(g);
}

// ---------------------------------------------------------------- the broker
const mqttGauges = [M.mqttConnected, M.mqttSysLast, M.mqttUptime, M.mqttClientsConnected, M.mqttClientsMaximum, M.mqttSubscriptions,
  M.mqttRetained, M.mqttStored, M.mqttHeap].map((d) => gauge(registry, d));
const mqttCounters = [M.mqttReconnects, M.mqttMsgsReceived, M.mqttMsgsSent, M.mqttDropped, M.mqttBytesReceived, M.mqttBytesSent,
  M.mqttBrokerRestarts, M.mqttSysParseErrors, M.mqttRoundtripFailures].map((d) => counter(registry, d));
const roundtrip = histogram(registry, M.mqttRoundtrip);
for (const reason of M.mqttConnectFailures.spec.reason.values) counter(registry, M.mqttConnectFailures).inc({ broker: BROKER, reason }, 0);
for (const reason of M.mqttMessagesDropped.spec.reason.values) counter(registry, M.mqttMessagesDropped).inc({ broker: BROKER, reason }, 0);
tracker.declare('mqtt', BROKER);
function broker(): void {
  tracker.observe('mqtt', BROKER, true);
  for (const g of mqttGauges) g.set({ broker: BROKER }, Math.floor(rnd() * 1000));
  for (const c of mqttCounters) c.inc({ broker: BROKER }, Math.floor(rnd() * 10));
  roundtrip.observe({ broker: BROKER }, rnd() * 0.005);
}
broker();

// ---------------------------------------------------------------- the exporter's own
const collectorNames = ['http', 'docker', 'mqtt', 'process'] as const;
const collectorDuration = gauge(registry, M.collectorDuration);
for (const c of collectorNames) {
  gauge(registry, M.collectorSuccess).set({ collector: c }, 1);
  for (const reason of M.collectorErrors.spec.reason.values) counter(registry, M.collectorErrors).inc({ collector: c, reason }, 0);
}
gauge(registry, M.configReloadOk).set(1);
gauge(registry, M.configReloadTime).set(clock());
for (const operation of M.storageSnapshotFailures.spec.operation.values) counter(registry, M.storageSnapshotFailures).inc({ operation }, 0);
gauge(registry, M.buildInfo).set({ version: '0.1.0', nodejs: process.version }, 1);

// ---------------------------------------------------------------- movement: each thing once per period
let step = 0;
const STEPS = 50; // 100 ms steps: 5 s
function move(): void {
  const s = step++ % STEPS;
  for (let i = s; i < HTTP.length; i += STEPS) probe(HTTP[i]!);
  for (let i = s; i < CONTAINERS.length; i += STEPS) resources(CONTAINERS[i]!);
  for (let i = s; i < GROUPS.length; i += STEPS) group(GROUPS[i]!);
  if (s === 0) {
    for (const c of collectorNames) {
      collectorDuration.set({ collector: c }, rnd() * 0.01);
      gauge(registry, M.collectorLastSuccess).set({ collector: c }, clock());
    }
    if (step % (2 * STEPS) === 1) broker();
  }
}
const mover = setInterval(move, 100);
// `move` on stdin: every target, container and group moves at once (as between two scrapes 15 s
// apart); answered with `moved` on stdout.
let input = '';
process.stdin.on('data', (d: Buffer) => {
  input += d.toString();
  for (let nl = input.indexOf('\n'); nl >= 0; nl = input.indexOf('\n')) {
    if (input.slice(0, nl) === 'move') {
      for (let i = 0; i < STEPS; i++) move();
      process.stdout.write('moved\n');
    }
    input = input.slice(nl + 1);
  }
});

const web = new WebSurface({ registry, log, host: '127.0.0.1', state: plainWebState() });
const server = new Server('127.0.0.1', 0, {
  registry, tracker, clock, log, version: '0.1.0', configSource: () => 'bench', ready: () => true,
  reload: () => Promise.resolve(undefined), web, enableLifecycle: false,
});
void server.start().then((address) => {
  process.stdout.write(`PORT ${address.port}\n`);
});
process.on('SIGTERM', () => {
  clearInterval(mover);
  process.stdin.destroy();
  eventLoop.stop();
  void server.stop().then(() => process.exit(0));
});
