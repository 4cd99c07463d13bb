import { startExporter, type RunningExporter } from '../harness/exporter';
import { Mosquitto } from '../harness/mosquitto';
import { ProcessSet } from '../harness/processes';
import type { Metrics } from '../harness/prom-text';
import { sleep, waitFor } from '../harness/wait';

/**
 * The MQTT collector against a real mosquitto (sys_interval 1): values cross-checked with
 * mosquitto_sub, app topic silence, a broker restart, and a SIGSTOP freeze. The tests share one
 * broker and one exporter and run in order; each asserts on deltas.
 */

jest.setTimeout(40_000);

const B = { broker: 'main' };
const T = { kind: 'mqtt', target: 'main' };
const STALE_BOUND_S = 3; // sys_stale_intervals × sys_interval below

const procs = new ProcessSet();
let broker: Mosquitto;
let ex: RunningExporter;

beforeAll(async () => {
  broker = await Mosquitto.start(procs);
  ex = await startExporter({
    mqtt: [{
      name: 'main',
      url: broker.url,
      client_id_prefix: 'sw-test',
      keepalive: '60s', // long on purpose: a freeze must be caught by the $SYS watchdog
      connect_timeout: '1s',
      sys_interval: '1s',
      sys_stale_intervals: 3,
      reconnect: { initial: '200ms', max: '1s' },
      roundtrip: { topic: 'stackwatch/probe', interval: '1s', timeout: '500ms' },
      topics: [{ topic: 'app/+/status', stale_after: '2s' }, { topic: 'chatbot/responses/#' }],
    }],
  });
  await waitFor('connected with $SYS and a round trip', async () => {
    const m = await ex.scrape();
    return m.get('stackwatch_mqtt_connected', B) === 1 && (m.get('stackwatch_mqtt_roundtrip_seconds_count', B) ?? 0) > 0 && m.get('stackwatch_target_up', T) === 1;
  }, 10_000);
});

afterAll(async () => {
  await ex?.stop();
  await procs.killAll();
  broker?.cleanup();
});

const val = (m: Metrics, name: string, labels: Record<string, string> = B): number => {
  const v = m.get(name, labels);
  if (v === undefined) throw new Error(`no series ${name}${JSON.stringify(labels)}`);
  return v;
};

const CROSS = [
  ['$SYS/broker/clients/connected', 'stackwatch_mqtt_broker_clients_connected'],
  ['$SYS/broker/clients/maximum', 'stackwatch_mqtt_broker_clients_maximum'],
  ['$SYS/broker/subscriptions/count', 'stackwatch_mqtt_broker_subscriptions'],
  ['$SYS/broker/retained messages/count', 'stackwatch_mqtt_broker_retained_messages'],
  ['$SYS/broker/messages/stored', 'stackwatch_mqtt_broker_messages_stored'],
  ['$SYS/broker/heap/current', 'stackwatch_mqtt_broker_heap_current_bytes'],
  ['$SYS/broker/messages/received', 'stackwatch_mqtt_broker_messages_received_total'],
  ['$SYS/broker/messages/sent', 'stackwatch_mqtt_broker_messages_sent_total'],
  ['$SYS/broker/publish/messages/dropped', 'stackwatch_mqtt_broker_publish_messages_dropped_total'],
  ['$SYS/broker/bytes/received', 'stackwatch_mqtt_broker_bytes_received_total'],
  ['$SYS/broker/bytes/sent', 'stackwatch_mqtt_broker_bytes_sent_total'],
] as const;

test('broker $SYS values equal what mosquitto_sub reads from the same broker at the same time', async () => {
  // $SYS values change every second (our own probes and $SYS deliveries count), so compare a
  // scrape and a mosquitto_sub snapshot taken within the same publication: same uptime on both
  // sides and an identical scrape before and after the snapshot.
  let matched: { snap: Map<string, string>; m: Metrics } | undefined;
  const mismatches: string[] = [];
  let retainedTopics = (await broker.sysSnapshot()).size;
  for (let i = 0; i < 20 && matched === undefined; i += 1) {
    const before = await ex.scrape();
    const snap = await broker.sysSnapshot(retainedTopics);
    const after = await ex.scrape();
    if (!CROSS.every(([topic]) => snap.has(topic))) {
      // A $SYS topic appeared since the count was taken (mosquitto adds some on first change).
      retainedTopics = (await broker.sysSnapshot()).size;
      continue;
    }
    const sameWindow = `${val(before, 'stackwatch_mqtt_broker_uptime_seconds')} seconds` === snap.get('$SYS/broker/uptime')
      && CROSS.every(([, metric]) => val(before, metric) === val(after, metric));
    if (!sameWindow) {
      await sleep(150);
      continue;
    }
    const diff = CROSS.filter(([topic, metric]) => Number(snap.get(topic)) !== val(before, metric));
    if (diff.length === 0) matched = { snap, m: before };
    else mismatches.push(diff.map(([t, metric]) => `${t}=${snap.get(t)} vs ${val(before, metric)}`).join(', '));
  }
  expect(mismatches).toEqual([]);
  expect(matched).toBeDefined();
  const { m } = matched!;
  // Our client is connected and holds 14 subscriptions (12 $SYS topics, 2 app filters, probe = 15).
  expect(val(m, 'stackwatch_mqtt_broker_clients_connected')).toBeGreaterThanOrEqual(1);
  expect(val(m, 'stackwatch_mqtt_broker_subscriptions')).toBeGreaterThanOrEqual(15);
  expect(val(m, 'stackwatch_mqtt_broker_messages_received_total')).toBeGreaterThan(0);
  expect(val(m, 'stackwatch_mqtt_sys_parse_errors_total')).toBe(0);
  expect(val(m, 'stackwatch_mqtt_connected')).toBe(1);
  expect(val(m, 'stackwatch_target_up', T)).toBe(1);
  expect(val(m, 'stackwatch_mqtt_roundtrip_failures_total')).toBe(0);
  expect(Date.now() / 1000 - val(m, 'stackwatch_mqtt_sys_last_message_timestamp_seconds')).toBeLessThan(2);
  // Only the allow-list is read: nothing else under $SYS becomes a series.
  expect(m.samples.filter((s) => s.name.startsWith('stackwatch_mqtt_broker_') && !s.name.includes('restarts')).length).toBe(12);
});

test('app topic: last-message timestamp per configured filter, and it stops advancing when the topic goes silent', async () => {
  const sent1 = Date.now() / 1000;
  broker.publish('app/backend/status', 'ok');
  broker.publish('chatbot/responses/42', '{"text":"hi"}');
  broker.publish('unrelated/topic', 'x');
  // A retained message delivered at subscription time says nothing about now: not counted.
  broker.publish('app/retained/status', 'old', { retain: true });
  const m1 = await waitFor('app topic timestamps', async () => {
    const m = await ex.scrape();
    const a = m.get('stackwatch_mqtt_topic_last_message_timestamp_seconds', { ...B, topic: 'app/+/status' });
    const c = m.get('stackwatch_mqtt_topic_last_message_timestamp_seconds', { ...B, topic: 'chatbot/responses/#' });
    return a !== undefined && c !== undefined && a >= sent1 - 0.5 && c >= sent1 - 0.5 ? m : undefined;
  }, 5000);
  // Labels are the configured filters, never the concrete topics.
  const topics = m1.all('stackwatch_mqtt_topic_last_message_timestamp_seconds').map((s) => s.labels.topic).sort();
  expect(topics).toEqual(['app/+/status', 'chatbot/responses/#']);
  const t1 = val(m1, 'stackwatch_mqtt_topic_last_message_timestamp_seconds', { ...B, topic: 'app/+/status' });
  const sys1 = val(m1, 'stackwatch_mqtt_sys_last_message_timestamp_seconds');

  // Silence on the app topic while the broker keeps talking: its timestamp stays put.
  await sleep(2500);
  const m2 = await ex.scrape();
  expect(val(m2, 'stackwatch_mqtt_topic_last_message_timestamp_seconds', { ...B, topic: 'app/+/status' })).toBe(t1);
  expect(val(m2, 'stackwatch_mqtt_sys_last_message_timestamp_seconds')).toBeGreaterThan(sys1 + 1);
  expect(val(m2, 'stackwatch_mqtt_connected')).toBe(1);

  // A new message moves it again.
  broker.publish('app/worker/status', 'ok');
  await waitFor('app topic timestamp advances', async () => {
    const m = await ex.scrape();
    return val(m, 'stackwatch_mqtt_topic_last_message_timestamp_seconds', { ...B, topic: 'app/+/status' }) > t1;
  }, 5000);
});

test('broker restart: reconnects by itself, restarts_total +1, one outage about as long as the real downtime', async () => {
  const m0 = await ex.scrape();
  const restarts0 = val(m0, 'stackwatch_mqtt_broker_restarts_total');
  const reconnects0 = val(m0, 'stackwatch_mqtt_reconnects_total');
  const outages0 = val(m0, 'stackwatch_target_outages_total', T);
  const recCount0 = m0.get('stackwatch_target_recovery_seconds_count', T) ?? 0;
  const recSum0 = m0.get('stackwatch_target_recovery_seconds_sum', T) ?? 0;
  const received0 = val(m0, 'stackwatch_mqtt_broker_messages_received_total');
  const uptime0 = val(m0, 'stackwatch_mqtt_broker_uptime_seconds');
  expect(uptime0).toBeGreaterThanOrEqual(3);

  const downAt = Date.now();
  await broker.stop();
  const mDown = await waitFor('connected 0 after the broker stopped', async () => {
    const m = await ex.scrape();
    return m.get('stackwatch_mqtt_connected', B) === 0 && m.get('stackwatch_target_up', T) === 0 ? m : undefined;
  }, 3000, 50);
  // No stale $SYS values while disconnected; availability keeps reporting failures on a timer.
  expect(mDown.get('stackwatch_mqtt_broker_uptime_seconds', B)).toBeUndefined();
  expect(mDown.get('stackwatch_mqtt_broker_clients_connected', B)).toBeUndefined();
  expect(mDown.get('stackwatch_mqtt_broker_messages_received_total', B)).toBeUndefined();
  const failures1 = val(mDown, 'stackwatch_target_check_failures_total', T);
  await sleep(2000 - (Date.now() - downAt));
  const mStill = await ex.scrape();
  expect(val(mStill, 'stackwatch_target_check_failures_total', T)).toBeGreaterThan(failures1);
  expect(val(mStill, 'stackwatch_mqtt_connect_failures_total', { ...B, reason: 'network' })).toBeGreaterThan(0);
  expect(val(mStill, 'stackwatch_target_up', T)).toBe(0);

  await broker.startAgain();
  const realDowntime = (Date.now() - downAt) / 1000;
  const m1 = await waitFor('recovered after the restart', async () => {
    const m = await ex.scrape();
    return m.get('stackwatch_target_up', T) === 1 && m.get('stackwatch_mqtt_connected', B) === 1 && m.get('stackwatch_mqtt_broker_restarts_total', B) === restarts0 + 1 ? m : undefined;
  }, 5000, 50);
  expect(val(m1, 'stackwatch_mqtt_reconnects_total')).toBe(reconnects0 + 1);
  expect(val(m1, 'stackwatch_target_outages_total', T)).toBe(outages0 + 1);
  expect(val(m1, 'stackwatch_target_recovery_seconds_count', T)).toBe(recCount0 + 1);
  const recovery = val(m1, 'stackwatch_target_recovery_seconds_sum', T) - recSum0;
  // Outage from the connection loss to the first good check after the reconnect (backoff ≤ 1 s).
  expect(recovery).toBeGreaterThan(realDowntime - 0.5);
  expect(recovery).toBeLessThan(realDowntime + 1.5);
  // Counters stay monotonic across the broker's reset (new totals are added).
  await waitFor('counters back', async () => (await ex.scrape()).get('stackwatch_mqtt_broker_messages_received_total', B) !== undefined, 3000, 50);
  expect(val(await ex.scrape(), 'stackwatch_mqtt_broker_messages_received_total')).toBeGreaterThanOrEqual(received0);
  expect(val(m1, 'stackwatch_mqtt_broker_uptime_seconds')).toBeLessThan(uptime0);
  // The broker's gauges come back too (they were removed while it was away).
  await waitFor('$SYS gauges back after the restart', async () => {
    const m = await ex.scrape();
    return m.get('stackwatch_mqtt_broker_clients_connected', B) !== undefined && m.get('stackwatch_mqtt_broker_subscriptions', B) !== undefined ? m : undefined;
  }, 5000, 100);
});

test('broker frozen with SIGSTOP: caught by the $SYS watchdog, round trips fail, recovers after SIGCONT', async () => {
  const m0 = await ex.scrape();
  const rtFailures0 = val(m0, 'stackwatch_mqtt_roundtrip_failures_total');
  const restarts0 = val(m0, 'stackwatch_mqtt_broker_restarts_total');
  const reconnects0 = val(m0, 'stackwatch_mqtt_reconnects_total');
  const lastSys = val(m0, 'stackwatch_mqtt_sys_last_message_timestamp_seconds');
  expect(val(m0, 'stackwatch_mqtt_connected')).toBe(1);

  const frozenAt = Date.now();
  broker.freeze();
  // The TCP connection stays open (half-open from our side); only the watchdog can tell.
  await waitFor('connected 0 while frozen', async () => (await ex.scrape()).get('stackwatch_mqtt_connected', B) === 0, 6000, 50);
  const detected = (Date.now() - frozenAt) / 1000;
  // Bound: the last $SYS arrived before the freeze, plus the watchdog tick and scrape polling.
  expect(Date.now() / 1000 - lastSys).toBeLessThan(STALE_BOUND_S + 1.2);
  expect(detected).toBeLessThan(STALE_BOUND_S + 1);

  const mFrozen = await waitFor('round trips failing and target down', async () => {
    const m = await ex.scrape();
    return val(m, 'stackwatch_mqtt_roundtrip_failures_total') >= rtFailures0 + 2 && m.get('stackwatch_target_up', T) === 0 ? m : undefined;
  }, 4000, 100);
  expect(mFrozen.get('stackwatch_mqtt_broker_uptime_seconds', B)).toBeUndefined();
  // Reconnect attempts reach the kernel's backlog but get no CONNACK: connect timeouts.
  await waitFor('connect timeouts while frozen', async () => (await ex.scrape()).get('stackwatch_mqtt_connect_failures_total', { ...B, reason: 'timeout' })! > 0, 4000, 100);
  expect(ex.app.tracker.view('mqtt', 'main')?.lastError).toMatch(/connack timeout|round trip|\$SYS|not connected/);

  broker.thaw();
  const thawedAt = Date.now();
  const m1 = await waitFor('recovered after SIGCONT', async () => {
    const m = await ex.scrape();
    return m.get('stackwatch_mqtt_connected', B) === 1 && m.get('stackwatch_target_up', T) === 1 ? m : undefined;
  }, 6000, 50);
  expect((Date.now() - thawedAt) / 1000).toBeLessThan(4);
  // A freeze is not a restart.
  expect(val(m1, 'stackwatch_mqtt_broker_restarts_total')).toBe(restarts0);
  expect(val(m1, 'stackwatch_mqtt_reconnects_total')).toBe(reconnects0 + 1);
  const rt0 = val(m1, 'stackwatch_mqtt_roundtrip_seconds_count');
  await waitFor('round trips succeed again', async () => val(await ex.scrape(), 'stackwatch_mqtt_roundtrip_seconds_count') > rt0, 3000, 100);
});
