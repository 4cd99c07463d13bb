/**
 * Incident replay, MQTT and backend health (see incident-replay-helpers.ts):
 *  - a frozen broker (mosquitto SIGSTOPped: connections stay open, nothing moves): one page,
 *    naming the broker (StackwatchMqttBrokerDown; its $SYS and round-trip alerts muted inside it),
 *    then, after SIGCONT, only the resolve: no round-trip alert outlasting the recovery;
 *  - a backend whose pending requests keep growing (the seeds' leak of unanswered requests): one
 *    page naming it (StackwatchPendingRequestsGrowing), then the resolve when they drain;
 *  - an application topic on another broker that goes silent (its publisher stopped) while the
 *    first broker is frozen: one page naming the topic (StackwatchMqttTopicSilent), then the
 *    resolve when it speaks again.
 * All three play at the same time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { alertGroups } from '../../src/bundle/alerts';
import { durationSeconds } from '../../src/bundle/bundle-config';
import { Mosquitto } from '../harness/mosquitto';
import { sleep, waitFor } from '../harness/wait';
import { log, Replay } from './incident-replay-helpers';

const TOPIC = 'sensors/temp';
/** On the second broker, which stays up. */
const SIDE_TOPIC = 'sensors/humidity';

describe('incident replay: MQTT broker, pending requests, silent topic', () => {
  const r = new Replay();
  let broker: Mosquitto;
  let side: Mosquitto;
  let server: http.Server;
  let pending = 0;
  let publisher: mqtt.MqttClient;
  let publishing: NodeJS.Timeout | undefined;
  let sidePublisher: mqtt.MqttClient;
  let sidePublishing: NodeJS.Timeout | undefined;
  const publishSide = (): void => {
    sidePublishing = setInterval(() => sidePublisher.publish(SIDE_TOPIC, '40'), 500);
  };

  beforeAll(async () => {
    [broker, side] = await Promise.all([Mosquitto.start(r.procs, { sysInterval: 1 }), Mosquitto.start(r.procs, { sysInterval: 1 })]);
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'healthy', mqtt: { connected: true, pending_requests: pending } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    publisher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 500, connectTimeout: 2000 });
    const publish = (): void => {
      publishing = setInterval(() => publisher.publish(TOPIC, '21.5'), 500);
    };
    publish();
    sidePublisher = await mqtt.connectAsync(side.url, { reconnectPeriod: 500, connectTimeout: 2000 });
    publishSide();
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
      }, {
        name: 'side', url: side.url, sys_interval: '1s', sys_stale_intervals: 3, connect_timeout: '2s', keepalive: '5s',
        reconnect: { initial: '500ms', max: '2s' },
        topics: [{ topic: SIDE_TOPIC, stale_after: '5s' }],
      }],
      docker: { enabled: false },
    });
    await r.until('the brokers connected and the queue up', 'min(stackwatch_target_up) == 1 and count(stackwatch_target_up) == 3', 1);
    await r.until('the topics speaking', `count(stackwatch_mqtt_topic_silent == 0) == 2`, 2);
  }, 120_000);

  afterAll(async () => {
    clearInterval(publishing);
    clearInterval(sidePublishing);
    broker?.thaw();
    await publisher?.endAsync(true);
    await sidePublisher?.endAsync(true);
    await r.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  /** The alerts the broker's page mutes, as their expressions without that muting (made once, on first use). */
  let symptomRules: { name: string; expr: string }[] | undefined;
  const brokerSymptoms = (): { name: string; expr: string }[] => {
    if (symptomRules !== undefined) return symptomRules;
    const muting = / unless on\(job, instance, broker\) max_over_time\(ALERTS\{alertname="StackwatchMqttBrokerDown", alertstate="firing"\}\[[^\]]+\]\)/;
    const symptoms = alertGroups(r.cfg).flatMap((g) => g.rules).filter((rule) => muting.test(rule.expr))
      .map((rule) => ({ name: rule.alert, expr: rule.expr.replace(muting, '') }));
    expect(symptoms.map((x) => x.name).sort()).toEqual(['StackwatchMqttRoundtripFailing', 'StackwatchMqttSysStale', 'StackwatchMqttTopicSilent']);
    for (const x of symptoms) expect(x.expr).not.toContain('ALERTS');
    return (symptomRules = symptoms);
  };

  /** Which of those are true for broker "main" now, by name. */
  async function brokerSymptomsTrue(): Promise<string[]> {
    const results = await Promise.all(brokerSymptoms().map(async (x) => (await r.prom.query(x.expr)).some((v) => v.metric.broker === 'main') ? [x.name] : []));
    return results.flat().sort();
  }

  /**
   * No symptom outlasting the recovery: each alert the broker's page mutes ($SYS stale, round
   * trips failing, a topic silent), taken without that muting, must be false for broker "main"
   * before the hold-down after the page ends; else it would fire, and page, once the hold-down is
   * over. Resolves with the seconds from `recoveredAt` until all are false.
   */
  async function symptomsClear(recoveredAt: number): Promise<number> {
    const holdDownS = durationSeconds(r.cfg.symptomHoldDown);
    let still: string[] = [];
    try {
      await waitFor(`the broker's symptoms to clear within the hold-down (${holdDownS}s)`, async () => {
        still = await brokerSymptomsTrue();
        return still.length === 0;
      }, holdDownS * 1000 - 2000, 250);
    } catch (err) {
      throw new Error(`${String(err)}; still true after ${(Date.now() - recoveredAt) / 1000}s: ${still.join(', ')}`, { cause: err });
    }
    return (Date.now() - recoveredAt) / 1000;
  }

  test('a frozen broker, a growing queue, a silent topic: one page each, naming the cause; after recovery only the resolve', async () => {
    // Independent incidents: the queue starts growing, the broker freezes 5 s later (a broker
    // down mutes the backends' alerts of its exporter: had it fired first, the queue's page would
    // rightly wait for the broker) and the other broker's topic falls silent with it.
    const q0 = Date.now();
    const grow = setInterval(() => {
      pending = pending < 20 ? 25 : pending + 3;
    }, 1000);
    await sleep(5000);
    const t0 = Date.now();
    broker.freeze();
    clearInterval(sidePublishing);
    const silentTopic = (async () => {
      const { page, delayS } = await r.expectPage(SIDE_TOPIC, t0, 'StackwatchMqttTopicSilent', 120);
      log(`topic: page after ${delayS}s: ${page.alerts[0]!.annotations.summary!}`);
      expect(page.alerts[0]!.labels).toMatchObject({ broker: 'side', topic: SIDE_TOPIC });
      publishSide();
      const resolvedIn = await r.expectResolvedOnly(SIDE_TOPIC, Date.now(), 60, 5);
      log(`topic: resolved after ${resolvedIn}s`);
      expect(r.pages(SIDE_TOPIC).map((n) => n.status)).toEqual(['firing', 'resolved']);
    })();
    silentTopic.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    try {
      const main = await r.expectPage('main', t0, 'StackwatchMqttBrokerDown', 120);
      log(`broker: page after ${main.delayS}s: ${JSON.stringify(main.page.alerts.map((a) => a.labels.alertname))}`);
      expect(main.page.alerts.every((a) => a.labels.broker === 'main')).toBe(true);
      const queue = await r.expectPage('queue', q0, 'StackwatchPendingRequestsGrowing', 120);
      log(`queue: page after ${queue.delayS}s at ${pending} pending`);
      // Frozen long enough for the round trips and $SYS to fail for longer than their for: (the
      // $SYS stale after sysStaleSeconds, three round trips failed within a few seconds).
      const { cfg } = r;
      const frozenS = Math.max(durationSeconds(cfg.for.StackwatchMqttSysStale) + cfg.mqtt.sysStaleSeconds, durationSeconds(cfg.for.StackwatchMqttRoundtripFailing) + 5) + 10;
      await sleep(Math.max(0, t0 + frozenS * 1000 - Date.now()));
      const fired = (await r.prom.query('ALERTS{target="main",alertstate="firing"}')).map((s) => s.metric.alertname).sort();
      log(`broker: firing in Prometheus: ${fired.join(', ')}`);
      // Each symptom the page muted holds while frozen (so that their clearing below means something).
      expect(await brokerSymptomsTrue()).toEqual(['StackwatchMqttRoundtripFailing', 'StackwatchMqttSysStale', 'StackwatchMqttTopicSilent']);
    } finally {
      clearInterval(grow);
      broker.thaw();
    }
    const recovered = Date.now();
    pending = 0;
    // After each resolve, four group intervals without a message: a second notification of the
    // group would have come by then. (The broker's symptoms stay muted for symptomHoldDown after
    // its page ends, longer than this.)
    const quietS = 4 * durationSeconds(r.cfg.alertmanager.page.groupInterval);
    const [mainResolved, queueResolved, symptomsClearS] = await Promise.all([
      r.expectResolvedOnly('main', recovered, 60, quietS), r.expectResolvedOnly('queue', recovered, 60, quietS), symptomsClear(recovered)]);
    log(`resolved after ${mainResolved}s (broker) and ${queueResolved}s (queue); the broker's symptoms clear after ${symptomsClearS}s`);
    expect(r.pages('main').map((n) => n.status)).toEqual(['firing', 'resolved']);
    expect(r.pages('queue').map((n) => n.status)).toEqual(['firing', 'resolved']);
    // The topic fell silent while the broker was frozen: muted by the broker's page, never sent.
    expect(r.messages(TOPIC)).toEqual([]);
    await silentTopic;
    // Nothing else paged during the whole replay.
    expect(r.hook.notifications.filter((n) => n.path === '/page' && !['main', 'queue', SIDE_TOPIC].includes(n.groupLabels.target ?? ''))).toEqual([]);
  }, 240_000);
});
