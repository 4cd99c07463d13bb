import mqtt from 'mqtt';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { Mosquitto } from '../harness/mosquitto';
import { ProcessSet } from '../harness/processes';
import { sleep, waitFor } from '../harness/wait';

/**
 * Big messages on a watched topic: the exporter announces maximumPacketSize in its CONNECT, so a
 * real mosquitto does not send it messages above it (three retained 20 MB messages used to be
 * buffered whole); smaller messages keep flowing and the connection stays up.
 */

jest.setTimeout(60_000);

const B = { broker: 'main' };
const procs = new ProcessSet();
let broker: Mosquitto;
let ex: RunningExporter | undefined;
let pub: mqtt.MqttClient | undefined;

beforeAll(async () => {
  broker = await Mosquitto.start(procs);
  pub = await mqtt.connectAsync(broker.url, { clientId: 'sw-test-publisher', protocolVersion: 5 });
});

afterAll(async () => {
  await ex?.stop();
  await pub?.endAsync(true);
  await procs.killAll();
  broker?.cleanup();
});

test('messages over maximum_packet_size are not delivered; small ones are, and the client stays connected', async () => {
  const MB = 1024 * 1024;
  // Retained before the exporter subscribes: the broker would deliver them on subscribing.
  for (const i of [1, 2, 3]) await pub!.publishAsync(`app/big/${i}`, Buffer.alloc(20 * MB, 0x61), { qos: 1, retain: true });
  const rssBefore = process.memoryUsage().rss;
  ex = await startExporter({
    mqtt: [{
      name: 'main', url: broker.url, client_id_prefix: 'sw-test', connect_timeout: '2s', sys_interval: '1s',
      maximum_packet_size: 64 * 1024,
      topics: [{ topic: 'app/big/#' }, { topic: 'app/small/#' }],
    }],
  });
  await waitFor('connected', async () => (await ex!.scrape()).get('stackwatch_mqtt_connected', B) === 1, 15_000);
  await pub!.publishAsync('app/big/live', Buffer.alloc(2 * MB, 0x62), { qos: 1 });
  await pub!.publishAsync('app/small/live', 'ok', { qos: 1 });
  const m = await waitFor('the small message', async () => {
    const s = await ex!.scrape();
    return s.get('stackwatch_mqtt_topic_last_message_timestamp_seconds', { ...B, topic: 'app/small/#' }) !== undefined ? s : undefined;
  }, 10_000);
  await sleep(500);
  const after = await ex.scrape();
  expect(after.get('stackwatch_mqtt_topic_last_message_timestamp_seconds', { ...B, topic: 'app/big/#' })).toBeUndefined();
  expect(after.get('stackwatch_mqtt_connected', B)).toBe(1);
  expect(m.get('stackwatch_mqtt_reconnects_total', B)).toBe(0);
  expect(after.get('stackwatch_mqtt_messages_dropped_total', { ...B, reason: 'too_large' })).toBe(0);
  expect(after.get('stackwatch_mqtt_messages_dropped_total', { ...B, reason: 'error' })).toBe(0);
  // 60 MB of retained messages were not buffered (generous bound: the test process itself moves).
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(40 * MB);
});
