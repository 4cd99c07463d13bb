import { validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { Mosquitto } from '../harness/mosquitto';
import { ProcessSet } from '../harness/processes';
import { waitFor } from '../harness/wait';

/** Config reload: a broker removed from config leaves the output; the others carry on. */

jest.setTimeout(30_000);

const procs = new ProcessSet();
let broker: Mosquitto;
let ex: RunningExporter;
let next: Config;

const brokerCfg = (name: string, url: string): Record<string, unknown> => ({
  name, url, sys_interval: '1s', reconnect: { initial: '200ms', max: '500ms' },
  roundtrip: { topic: `stackwatch/probe/${name}`, interval: '1s', timeout: '500ms' },
  topics: [{ topic: `app/${name}/#` }],
});

beforeAll(async () => {
  broker = await Mosquitto.start(procs);
  next = validate({ server: { listen: '127.0.0.1:0' }, mqtt: [brokerCfg('one', broker.url)] }, '<reloaded>');
  ex = await startExporter({ mqtt: [brokerCfg('one', broker.url), brokerCfg('two', broker.url)] }, { loadConfig: () => next });
});

afterAll(async () => {
  await ex?.stop();
  await procs.killAll();
  broker?.cleanup();
});

test('reload: the removed broker\'s series are gone, the kept broker\'s counters carry on', async () => {
  broker.publish('app/two/x', 'hello');
  const m0 = await waitFor('both connected, app topic seen', async () => {
    const s = await ex.scrape();
    return s.get('stackwatch_mqtt_connected', { broker: 'one' }) === 1 && s.get('stackwatch_mqtt_connected', { broker: 'two' }) === 1
      && s.get('stackwatch_mqtt_broker_messages_received_total', { broker: 'one' }) !== undefined ? s : undefined;
  }, 10_000);
  if (m0.get('stackwatch_mqtt_topic_last_message_timestamp_seconds', { broker: 'two', topic: 'app/two/#' }) === undefined) {
    broker.publish('app/two/x', 'hello');
    await waitFor('app topic of two', async () => (await ex.scrape()).get('stackwatch_mqtt_topic_last_message_timestamp_seconds', { broker: 'two', topic: 'app/two/#' }) !== undefined, 3000);
  }
  const received0 = m0.get('stackwatch_mqtt_broker_messages_received_total', { broker: 'one' })!;
  const rtCount0 = m0.get('stackwatch_mqtt_roundtrip_seconds_count', { broker: 'one' })!;

  const started = Date.now();
  expect(await ex.app.reload()).toBeUndefined();
  expect(Date.now() - started).toBeLessThan(1500);

  const m1 = await waitFor('one reconnected after the reload', async () => {
    const s = await ex.scrape();
    return s.get('stackwatch_mqtt_connected', { broker: 'one' }) === 1 && s.get('stackwatch_mqtt_broker_messages_received_total', { broker: 'one' }) !== undefined ? s : undefined;
  }, 5000);
  // Nothing with broker="two" or target="two" is left.
  expect(m1.samples.filter((s) => s.labels.broker === 'two' || (s.labels.kind === 'mqtt' && s.labels.target === 'two'))).toEqual([]);
  expect(ex.app.tracker.has('mqtt', 'two')).toBe(false);
  // The kept broker's counters continue (not reset, not counted twice from the broker's totals).
  const received1 = m1.get('stackwatch_mqtt_broker_messages_received_total', { broker: 'one' })!;
  expect(received1).toBeGreaterThanOrEqual(received0);
  const snap = await broker.sysSnapshot();
  expect(received1).toBeLessThanOrEqual(Number(snap.get('$SYS/broker/messages/received')));
  expect(m1.get('stackwatch_mqtt_roundtrip_seconds_count', { broker: 'one' })).toBeGreaterThanOrEqual(rtCount0);
  expect(m1.get('stackwatch_mqtt_broker_restarts_total', { broker: 'one' })).toBe(0);
});
