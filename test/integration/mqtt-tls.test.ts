import { startExporter, type RunningExporter } from '../harness/exporter';
import { Mosquitto } from '../harness/mosquitto';
import { ProcessSet } from '../harness/processes';
import { waitFor } from '../harness/wait';

/** A mosquitto serving MQTT over TLS with its own CA: trusted with `tls.ca_file`, refused without. */

jest.setTimeout(30_000);

const procs = new ProcessSet();
let broker: Mosquitto;
let ex: RunningExporter;

beforeAll(async () => {
  broker = await Mosquitto.start(procs, { tls: true });
  const common = { url: broker.url, sys_interval: '1s', connect_timeout: '2s', reconnect: { initial: '200ms', max: '500ms' } };
  ex = await startExporter({
    mqtt: [
      { name: 'with-ca', ...common, tls: { ca_file: broker.caFile } },
      { name: 'without-ca', ...common },
    ],
  });
});

afterAll(async () => {
  await ex?.stop();
  await procs.killAll();
  broker?.cleanup();
});

test('TLS: connects with the configured CA; an unknown CA is a tls connection failure', async () => {
  expect(broker.url).toMatch(/^mqtts:\/\//);
  const m = await waitFor('with-ca connected and without-ca refused', async () => {
    const s = await ex.scrape();
    return s.get('stackwatch_mqtt_connected', { broker: 'with-ca' }) === 1
      && (s.get('stackwatch_mqtt_connect_failures_total', { broker: 'without-ca', reason: 'tls' }) ?? 0) >= 2 ? s : undefined;
  }, 10_000);
  expect(m.get('stackwatch_target_up', { kind: 'mqtt', target: 'with-ca' })).toBe(1);
  expect(m.get('stackwatch_mqtt_broker_uptime_seconds', { broker: 'with-ca' })).toBeGreaterThanOrEqual(0);
  expect(m.get('stackwatch_mqtt_connect_failures_total', { broker: 'with-ca', reason: 'tls' })).toBe(0);
  expect(m.get('stackwatch_mqtt_connected', { broker: 'without-ca' })).toBe(0);
  expect(m.get('stackwatch_target_up', { kind: 'mqtt', target: 'without-ca' })).toBe(0);
  expect(ex.app.tracker.view('mqtt', 'without-ca')?.lastError).toMatch(/certificate/i);
});
