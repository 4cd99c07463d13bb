/**
 * `npm run bench mqtt`: a reconnect storm against a real mosquitto (sys_interval 1).
 *
 * 200 forced disconnects in a loop: every 10th is a broker restart (SIGTERM, start again on the
 * same port, after it has been up 2 s), the others a session takeover (mosquitto_pub connects with the collector's client
 * id, so the broker drops the collector's connection). Each round waits until the collector has
 * reconnected and reads `$SYS` again. Heap (after GC), RSS, active handles and series count are
 * taken after round 10 and after round 200; the target is the end within 10% of round 10.
 * Writes the "## MQTT reconnect storm" section of docs/benchmarks.md.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry, type Counter, type Gauge } from 'prom-client';
import { AvailabilityTracker } from '../src/availability';
import { systemClock } from '../src/clock';
import { MqttCollector } from '../src/collectors/mqtt';
import { CollectorStats } from '../src/collectors/collector-stats';
import { validate } from '../src/config/load';
import { silentLogger } from '../src/log';
import { M } from '../src/metrics/definitions';
import { Mosquitto } from '../test/harness/mosquitto';
import { ProcessSet } from '../test/harness/processes';
import { waitFor } from '../test/harness/wait';
import { writeSection } from './doc';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ROUNDS = 200;
const SAMPLE_AT = 10;
const RESTART_EVERY = 10;

interface Sample { heap: number; rss: number; handles: number; series: number; listeners: number }

async function sample(registry: Registry, collector: MqttCollector): Promise<Sample> {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const mem = process.memoryUsage();
  const json = await registry.getMetricsAsJSON();
  const client = collector.broker('bench')?.currentClient;
  const listeners = client === undefined ? 0 : client.eventNames().reduce((n, e) => n + client.listenerCount(e), 0);
  return {
    heap: mem.heapUsed,
    rss: mem.rss,
    handles: (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length,
    series: json.reduce((n, m) => n + m.values.length, 0),
    listeners,
  };
}

function takeover(port: number, clientId: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', clientId, '-t', 'bench/takeover', '-m', 'x'], { timeout: 5000 }, () => resolve());
  });
}

async function main(): Promise<void> {
  const procs = new ProcessSet();
  // Quiet: the harness keeps mosquitto's log in this process, which would count as our heap.
  const broker = await Mosquitto.start(procs, { quiet: true });
  const registry = new Registry();
  const clock = systemClock;
  const ctx = { registry, tracker: new AvailabilityTracker(registry, clock), clock, log: silentLogger(), stats: new CollectorStats(registry, clock) };
  const config = validate({
    mqtt: [{
      name: 'bench', url: broker.url, sys_interval: '1s', connect_timeout: '1s', keepalive: '60s',
      reconnect: { initial: '50ms', max: '200ms' },
      roundtrip: { topic: 'stackwatch/bench', interval: '1s', timeout: '500ms' },
      topics: [{ topic: 'app/#' }],
    }],
  }, '<bench>');
  const collector = new MqttCollector(ctx);
  const value = async (name: string): Promise<number> => {
    const m = registry.getSingleMetric(name) as Counter | Gauge | undefined;
    return (await m?.get())?.values.find((v) => v.labels.broker === 'bench')?.value ?? 0;
  };
  const started = Date.now();
  let first: Sample | undefined;
  let last: Sample | undefined;
  let restarts = 0;
  try {
    await collector.apply(config.mqtt);
    await waitFor('connected', async () => (await value(M.mqttConnected.name)) === 1, 10_000, 20);
    const clientId = collector.broker('bench')!.clientId;
    for (let round = 1; round <= ROUNDS; round += 1) {
      const before = await value(M.mqttReconnects.name);
      if (round % RESTART_EVERY === 0) {
        // A broker restarted within its first second is invisible in $SYS (uptime 0, totals 0
        // until its first sys_interval): let it publish a real uptime first.
        await waitFor('broker uptime', async () => (await value(M.mqttUptime.name)) >= 2, 10_000, 20);
        await broker.stop();
        await broker.startAgain();
        restarts += 1;
      } else {
        await takeover(broker.port, clientId);
      }
      await waitFor(`reconnect ${round}`, async () => (await value(M.mqttReconnects.name)) > before && (await value(M.mqttConnected.name)) === 1, 10_000, 10);
      if (round === SAMPLE_AT) first = await sample(registry, collector);
    }
    last = await sample(registry, collector);
  } finally {
    await collector.stop();
    await procs.killAll();
    broker.cleanup();
  }
  const seconds = (Date.now() - started) / 1000;
  const reconnectsTotal = await value(M.mqttReconnects.name);
  const brokerRestarts = await value(M.mqttBrokerRestarts.name);
  const pct = (a: number, b: number): string => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%`;
  const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
  const f = first!;
  const l = last;
  // Bounded memory: no growth beyond 10% (RSS may shrink when V8 hands pages back).
  const within = (l.heap - f.heap) / f.heap <= 0.1 && (l.rss - f.rss) / f.rss <= 0.1;
  const rows = [
    '| | after round 10 | after round 200 | change |',
    '|---|---|---|---|',
    `| heap used (after GC) | ${mb(f.heap)} MB | ${mb(l.heap)} MB | ${pct(f.heap, l.heap)} |`,
    `| RSS | ${mb(f.rss)} MB | ${mb(l.rss)} MB | ${pct(f.rss, l.rss)} |`,
    `| active handles | ${f.handles} | ${l.handles} | ${l.handles - f.handles} |`,
    `| series in the registry | ${f.series} | ${l.series} | ${l.series - f.series} |`,
    `| listeners on the live client | ${f.listeners} | ${l.listeners} | ${l.listeners - f.listeners} |`,
  ];
  const section = [
    '## MQTT reconnect storm',
    '',
    'Command: `npm run bench mqtt` (bench/mqtt.bench.ts). A real mosquitto 127.0.0.1 (`sys_interval 1`), one',
    `broker configured with round trips every 1 s and an app topic; ${ROUNDS} forced disconnects in a loop, every`,
    `${RESTART_EVERY}th a broker restart (SIGTERM and start again, after 2 s of uptime), the others a session takeover (mosquitto_pub`,
    'with the collector\'s client id). Each round waits for the reconnect and fresh `$SYS`. Target: heap and RSS',
    'after the last round no more than 10% above after round 10 (RSS may shrink as V8 returns pages).',
    '',
    `Result (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, Node ${process.version}): **${within ? 'no growth over 10%' : 'GREW more than 10%'}**.`,
    `${ROUNDS} rounds in ${seconds.toFixed(1)} s; reconnects counted ${reconnectsTotal}, broker restarts counted ${brokerRestarts} (of ${restarts}).`,
    '',
    ...rows,
    '',
  ].join('\n');
  console.log(section);
  writeSection(section);
  if (!within || reconnectsTotal < ROUNDS || brokerRestarts !== restarts) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
