/**
 * mosquitto publishes most `$SYS` values only when they change, retained for 60 s: a client that
 * (re)connects later gets none of them. Against a real mosquitto restarted several times (and
 * the exporter's connection dropped without a restart): every `$SYS` series the exporter served
 * before is served again after, with the new broker's values.
 */
import { startExporter, type RunningExporter } from '../harness/exporter';
import { Mosquitto } from '../harness/mosquitto';
import { ProcessSet } from '../harness/processes';
import type { Metrics } from '../harness/prom-text';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(300_000);

const B = { broker: 'main' };
const procs = new ProcessSet();
let broker: Mosquitto;
let ex: RunningExporter;

/** The broker's `$SYS` series the exporter serves now (restarts_total is the exporter's own). */
const served = (m: Metrics): string[] =>
  [...new Set(m.samples.filter((x) => x.name.startsWith('stackwatch_mqtt_broker_') && x.name !== 'stackwatch_mqtt_broker_restarts_total' && x.labels.broker === 'main').map((x) => x.name))].sort();

beforeAll(async () => {
  broker = await Mosquitto.start(procs, { sysInterval: 2 });
  ex = await startExporter({
    mqtt: [{
      name: 'main', url: broker.url, sys_interval: '2s', connect_timeout: '1s',
      reconnect: { initial: '200ms', max: '1s' },
      roundtrip: { topic: 'stackwatch/probe', interval: '2s', timeout: '1s' },
    }],
  });
});

afterAll(async () => {
  await ex?.stop();
  await procs.killAll();
  broker?.cleanup();
});

async function allBack(what: string, expected: string[]): Promise<Metrics> {
  return waitFor(what, async () => {
    const s = await ex.scrape();
    return JSON.stringify(served(s)) === JSON.stringify(expected) ? s : undefined;
  }, 30_000, 200).catch(async (err: unknown) => {
    throw new Error(`${String(err)}; served: ${served(await ex.scrape()).join(', ')}; expected ${expected.join(', ')}`);
  });
}

test('every $SYS series served before a reconnection or a broker restart is served after it', async () => {
  await waitFor('connected and $SYS', async () => (await ex.scrape()).get('stackwatch_mqtt_broker_clients_maximum', B) !== undefined, 20_000, 200);
  // A few sys intervals: everything the broker publishes has arrived.
  await sleep(5000);
  const expected = served(await ex.scrape());
  expect(expected).toEqual(expect.arrayContaining(['stackwatch_mqtt_broker_clients_connected', 'stackwatch_mqtt_broker_clients_maximum', 'stackwatch_mqtt_broker_subscriptions']));

  // Steady for longer than the broker keeps an unchanged value retained; then the connection is
  // rebuilt (a freeze longer than the $SYS watchdog's bound) with the broker still the same.
  await sleep(62_000);
  const reconnects = (await ex.scrape()).get('stackwatch_mqtt_reconnects_total', B)!;
  broker.freeze();
  await waitFor('the exporter to drop the frozen connection', async () => (await ex.scrape()).get('stackwatch_mqtt_connected', B) === 0, 15_000, 100);
  broker.thaw();
  await waitFor('reconnected', async () => ((await ex.scrape()).get('stackwatch_mqtt_reconnects_total', B) ?? 0) > reconnects, 15_000, 100);
  let m = await allBack('every $SYS series back after the reconnection', expected);
  expect(m.get('stackwatch_mqtt_broker_restarts_total', B)).toBe(0);
  expect(m.get('stackwatch_mqtt_broker_clients_connected', B)).toBe(1);
  // And still there a few sys intervals later.
  await sleep(5000);
  expect(served(await ex.scrape())).toEqual(expected);

  for (let round = 1; round <= 3; round++) {
    // The broker has run long enough that its uptime cannot be mistaken for the next one's.
    await waitFor(`broker ${round} up for 12 s`, async () => ((await ex.scrape()).get('stackwatch_mqtt_broker_uptime_seconds', B) ?? 0) >= 12, 30_000, 200);
    await broker.stop();
    await sleep(3000);
    await broker.startAgain();
    const restarted = Date.now();
    await allBack(`every $SYS series back after restart ${round}`, expected);
    await waitFor(`restart ${round} counted`, async () => (await ex.scrape()).get('stackwatch_mqtt_broker_restarts_total', B) === round, 10_000, 100);
    // The new broker's values, not the old one's: an uptime no longer than it has run.
    m = await ex.scrape();
    expect(m.get('stackwatch_mqtt_broker_uptime_seconds', B)).toBeLessThanOrEqual((Date.now() - restarted) / 1000 + 2);
    expect(m.get('stackwatch_mqtt_broker_clients_connected', B)).toBe(1);
  }
});
