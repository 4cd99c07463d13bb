/**
 * mosquitto publishes most `$SYS` values only when they change, retained for 60 s: a client that
 * (re)connects later gets none of them. Against a real mosquitto restarted several times (and
 * the exporter's connection dropped without a restart): every `$SYS` series the exporter served
 * before is served again after, with the new broker's values.
 *
 * The minute of steadiness is played by moving the broker's wall clock (libfaketime), by which
 * mosquitto dates the expiry of retained messages, a minute ahead; its sys_interval, keepalives
 * and uptime follow the monotonic clock and run in real time.
 */
import { startExporter, type RunningExporter } from '../harness/exporter';
import { Mosquitto } from '../harness/mosquitto';
import { ProcessSet } from '../harness/processes';
import type { Metrics } from '../harness/prom-text';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(180_000);

const B = { broker: 'main' };
const procs = new ProcessSet();
let broker: Mosquitto;
let ex: RunningExporter;

/** The broker's `$SYS` series the exporter serves now (restarts_total is the exporter's own). */
const served = (m: Metrics): string[] =>
  [...new Set(m.samples.filter((x) => x.name.startsWith('stackwatch_mqtt_broker_') && x.name !== 'stackwatch_mqtt_broker_restarts_total' && x.labels.broker === 'main').map((x) => x.name))].sort();

beforeAll(async () => {
  broker = await Mosquitto.start(procs, { sysInterval: 1, clock: true });
  ex = await startExporter({
    mqtt: [{
      name: 'main', url: broker.url, sys_interval: '1s', connect_timeout: '1s',
      reconnect: { initial: '200ms', max: '1s' },
      roundtrip: { topic: 'stackwatch/probe', interval: '1s', timeout: '800ms' },
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
  await sleep(3000);
  const expected = served(await ex.scrape());
  expect(expected).toEqual(expect.arrayContaining(['stackwatch_mqtt_broker_clients_connected', 'stackwatch_mqtt_broker_clients_maximum', 'stackwatch_mqtt_broker_subscriptions']));

  // Steady for longer than the broker keeps an unchanged value retained: its clock a minute on,
  // and a sys interval for the values that change to be published (and retained) again. Read by
  // a client of its own, the subscription count, unchanged, is no longer retained (the client
  // counts are no witness: the reading client is one of them).
  const aMinuteOn = async (): Promise<void> => {
    broker.advanceClock(61);
    await sleep(2500);
  };
  await aMinuteOn();
  const retained = [...(await broker.sysSnapshot()).keys()];
  expect(retained).toContain('$SYS/broker/uptime');
  expect(retained).not.toContain('$SYS/broker/subscriptions/count');
  // That client's coming and going changed a few values: once they settle, a minute on again.
  await sleep(2500);
  await aMinuteOn();
  // Then the connection is rebuilt (a freeze longer than the $SYS watchdog's bound) with the
  // broker still the same.
  const reconnects = (await ex.scrape()).get('stackwatch_mqtt_reconnects_total', B)!;
  broker.freeze();
  await waitFor('the exporter to drop the frozen connection', async () => (await ex.scrape()).get('stackwatch_mqtt_connected', B) === 0, 15_000, 100);
  broker.thaw();
  await waitFor('reconnected', async () => ((await ex.scrape()).get('stackwatch_mqtt_reconnects_total', B) ?? 0) > reconnects, 15_000, 100);
  let m = await allBack('every $SYS series back after the reconnection', expected);
  expect(m.get('stackwatch_mqtt_broker_restarts_total', B)).toBe(0);
  expect(m.get('stackwatch_mqtt_broker_clients_connected', B)).toBe(1);
  // And still there a few sys intervals later.
  await sleep(3000);
  expect(served(await ex.scrape())).toEqual(expected);

  for (let round = 1; round <= 3; round++) {
    // The broker has run long enough that its uptime cannot be mistaken for the next one's (one
    // or two seconds when the exporter first reads it: a reconnection within the 1 s backoff,
    // then the retained uptime; 5 s leaves room for a loaded machine).
    await waitFor(`broker ${round} up for 5 s`, async () => ((await ex.scrape()).get('stackwatch_mqtt_broker_uptime_seconds', B) ?? 0) >= 5, 30_000, 200);
    await broker.stop();
    await sleep(1000);
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
