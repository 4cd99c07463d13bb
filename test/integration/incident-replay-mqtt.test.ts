/**
 * Incident replay, MQTT and backend health (see incident-replay-helpers.ts):
 *  - a frozen broker (mosquitto SIGSTOPped: connections stay open, nothing moves): one page,
 *    naming the broker (StackwatchMqttBrokerDown; its $SYS and round-trip alerts muted inside it),
 *    then, after SIGCONT, only the resolve: no round-trip alert outlasting the recovery;
 *  - a backend whose pending requests keep growing (the seeds' leak of unanswered requests): one
 *    page naming it (StackwatchPendingRequestsGrowing), then the resolve when they drain;
 *  - an application topic that goes silent (its publisher stopped): one page naming the topic
 *    (StackwatchMqttTopicSilent), then the resolve when it speaks again.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { Mosquitto } from '../harness/mosquitto';
import { sleep } from '../harness/wait';
import { log, Replay } from './incident-replay-helpers';

const TOPIC = 'sensors/temp';

describe('incident replay: MQTT broker, pending requests, silent topic', () => {
  const r = new Replay();
  let broker: Mosquitto;
  let server: http.Server;
  let pending = 0;
  let publisher: mqtt.MqttClient;
  let publishing: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    broker = await Mosquitto.start(r.procs, { sysInterval: 1 });
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'healthy', mqtt: { connected: true, pending_requests: pending } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    publisher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 500, connectTimeout: 2000 });
    const publish = (): void => {
      publishing = setInterval(() => publisher.publish(TOPIC, '21.5'), 500);
    };
    publish();
    await r.start({
      http: [{
        name: 'queue', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`, interval: '1s', timeout: '800ms',
        json: { status: 'status', fields: { pending_requests: 'mqtt.pending_requests', mqtt_connected: 'mqtt.connected' } },
      }],
      mqtt: [{
        name: 'main', url: broker.url, sys_interval: '1s', sys_stale_intervals: 3, connect_timeout: '2s', keepalive: '5s',
        reconnect: { initial: '500ms', max: '2s' },
        roundtrip: { topic: 'stackwatch/probe', interval: '1s', timeout: '800ms' },
        topics: [{ topic: TOPIC, stale_after: '5s' }],
      }],
      docker: { enabled: false },
    });
    await r.until('the broker connected and the queue up', 'min(stackwatch_target_up) == 1 and count(stackwatch_target_up) == 2', 1);
    await r.until('the topic speaking', `stackwatch_mqtt_topic_silent{topic="${TOPIC}"} == 0`, 0);
  }, 120_000);

  afterAll(async () => {
    clearInterval(publishing);
    broker?.thaw();
    await publisher?.endAsync(true);
    await r.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  test('a frozen broker and a growing queue: one page each, naming the cause; after recovery only the resolve', async () => {
    // Two independent incidents: the queue starts growing, the broker freezes 5 s later (a broker
    // down mutes the backends' alerts of its exporter: had it fired first, the queue's page would
    // rightly wait for the broker).
    const q0 = Date.now();
    const grow = setInterval(() => {
      pending = pending < 20 ? 25 : pending + 3;
    }, 1000);
    await sleep(5000);
    const t0 = Date.now();
    broker.freeze();
    try {
      const main = await r.expectPage('main', t0, 'StackwatchMqttBrokerDown', 120);
      log(`broker: page after ${main.delayS}s: ${JSON.stringify(main.page.alerts.map((a) => a.labels.alertname))}`);
      expect(main.page.alerts.every((a) => a.labels.broker === 'main')).toBe(true);
      const queue = await r.expectPage('queue', q0, 'StackwatchPendingRequestsGrowing', 120);
      log(`queue: page after ${queue.delayS}s at ${pending} pending`);
      // Frozen long enough for the round trips and $SYS to fail for longer than their for:.
      await sleep(Math.max(0, t0 + 50_000 - Date.now()));
      const fired = (await r.prom.query('ALERTS{target="main",alertstate="firing"}')).map((s) => s.metric.alertname).sort();
      log(`broker: firing in Prometheus: ${fired.join(', ')}`);
    } finally {
      clearInterval(grow);
      broker.thaw();
    }
    const recovered = Date.now();
    pending = 0;
    const [mainResolved, queueResolved] = await Promise.all([r.expectResolvedOnly('main', recovered, 60, 15), r.expectResolvedOnly('queue', recovered, 60, 15)]);
    log(`resolved after ${mainResolved}s (broker) and ${queueResolved}s (queue)`);
    expect(r.pages('main').map((n) => n.status)).toEqual(['firing', 'resolved']);
    expect(r.pages('queue').map((n) => n.status)).toEqual(['firing', 'resolved']);
    // The topic fell silent while the broker was frozen: muted by the broker's page, never sent.
    expect(r.messages(TOPIC)).toEqual([]);
  }, 240_000);

  test('a silent topic: one page naming it, then the resolve when it speaks again', async () => {
    await r.until('the topic speaking again after the freeze', `stackwatch_mqtt_topic_silent{topic="${TOPIC}"} == 0`, 0, 30_000);
    clearInterval(publishing);
    const t0 = Date.now();
    const { page, delayS } = await r.expectPage(TOPIC, t0, 'StackwatchMqttTopicSilent', 120);
    log(`topic: page after ${delayS}s: ${page.alerts[0]!.annotations.summary!}`);
    expect(page.alerts[0]!.labels).toMatchObject({ broker: 'main', topic: TOPIC });
    publishing = setInterval(() => publisher.publish(TOPIC, '21.7'), 500);
    const resolvedIn = await r.expectResolvedOnly(TOPIC, Date.now(), 60, 5);
    log(`topic: resolved after ${resolvedIn}s`);
    // Nothing else paged during the whole replay.
    expect(r.hook.notifications.filter((n) => n.path === '/page' && !['main', 'queue', TOPIC].includes(n.groupLabels.target ?? ''))).toEqual([]);
  }, 120_000);
});
