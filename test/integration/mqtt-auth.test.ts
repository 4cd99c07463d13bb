import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { App } from '../../src/app';
import { parseConfig } from '../../src/config/load';
import { Mosquitto } from '../harness/mosquitto';
import { ProcessSet } from '../harness/processes';
import { scrape, type Metrics } from '../harness/prom-text';
import { sleep, waitFor } from '../harness/wait';

/**
 * A broker with `allow_anonymous false` and a password file: the exporter is configured the way
 * a user would (YAML, `${ENV}` username, `password_file` secrets), once with a wrong password and
 * once with the right one, in the same process.
 */

jest.setTimeout(30_000);

const RIGHT = 'r1ght-Passw0rd';
const WRONG = 'wr0ng-Passw0rd';

const procs = new ProcessSet();
let broker: Mosquitto;
let dir: string;
let app: App | undefined;
let url: string;
const logs: Record<string, unknown>[] = [];
let rawLog = '';

beforeAll(async () => {
  broker = await Mosquitto.start(procs, { users: { stackwatch: RIGHT } });
  dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-mqtt-auth-'));
  writeFileSync(path.join(dir, 'right-secret'), `${RIGHT}\n`);
  writeFileSync(path.join(dir, 'wrong-secret'), `${WRONG}\n`);
  const broker1 = (name: string, secret: string): string => `
  - name: ${name}
    url: ${broker.url}
    username: \${MQTT_USER}
    password_file: ./${secret}
    connect_timeout: 1s
    sys_interval: 1s
    reconnect: { initial: 200ms, max: 800ms }
    roundtrip: { topic: stackwatch/probe/${name}, interval: 1s, timeout: 500ms }`;
  const file = path.join(dir, 'stackwatch.yml');
  writeFileSync(file, `server:\n  listen: 127.0.0.1:0\nmqtt:${broker1('wrongpw', 'wrong-secret')}${broker1('rightpw', 'right-secret')}\n`);
  const config = parseConfig(`server:\n  listen: 127.0.0.1:0\nmqtt:${broker1('wrongpw', 'wrong-secret')}${broker1('rightpw', 'right-secret')}\n`, file, { MQTT_USER: 'stackwatch' });
  const log = pino({ level: 'debug' }, {
    write(line: string) {
      rawLog += line;
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  app = new App({ config, configSource: file, log });
  const addr = await app.start();
  url = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  await app?.stop();
  await procs.killAll();
  broker?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const W = { broker: 'wrongpw' };

test('wrong credentials: clear error in logs and metrics, retries with backoff, no crash; right ones connect', async () => {
  const m: Metrics = await waitFor('several refused attempts', async () => {
    const s = await scrape(url);
    return (s.get('stackwatch_mqtt_connect_failures_total', { ...W, reason: 'auth' }) ?? 0) >= 4 ? s : undefined;
  }, 8000, 100);
  expect(m.get('stackwatch_mqtt_connected', W)).toBe(0);
  expect(m.get('stackwatch_target_up', { kind: 'mqtt', target: 'wrongpw' })).toBe(0);
  expect(m.get('stackwatch_target_check_failures_total', { kind: 'mqtt', target: 'wrongpw' })).toBeGreaterThan(0);
  for (const reason of ['refused', 'timeout', 'network', 'tls', 'other']) {
    expect(m.get('stackwatch_mqtt_connect_failures_total', { ...W, reason })).toBe(0);
  }
  expect(m.get('stackwatch_mqtt_broker_uptime_seconds', W)).toBeUndefined();
  expect(app!.tracker.view('mqtt', 'wrongpw')?.lastError).toMatch(/^cannot connect: Connection refused: (Not authorized|Bad User Name or Password)/);

  // The right password on the same broker works, in the same exporter.
  await waitFor('rightpw connected', async () => {
    const s = await scrape(url);
    return s.get('stackwatch_mqtt_connected', { broker: 'rightpw' }) === 1 && s.get('stackwatch_target_up', { kind: 'mqtt', target: 'rightpw' }) === 1;
  }, 5000);

  // Logs: one warning with the reason and the broker's refusal; repeats of the same error at debug.
  const failed = logs.filter((l) => l.msg === 'mqtt connection failed' && l.broker === 'wrongpw');
  expect(failed.length).toBeGreaterThanOrEqual(4);
  const warned = failed.filter((l) => l.level === 40);
  expect(warned).toHaveLength(1);
  expect(warned[0]).toMatchObject({ reason: 'auth', err: { message: expect.stringMatching(/^Connection refused: (Not authorized|Bad User Name or Password)$/) as unknown } });
  // Backoff: doubling from 200 ms, capped at 800 ms (up to 20% jitter off).
  const waits = failed.map((l) => l.retryInSeconds as number);
  expect(waits[0]).toBeGreaterThanOrEqual(0.16);
  expect(waits[0]).toBeLessThanOrEqual(0.2);
  expect(waits[1]).toBeGreaterThanOrEqual(0.32);
  expect(Math.max(...waits)).toBeLessThanOrEqual(0.8);
  expect(waits[waits.length - 1]).toBeGreaterThanOrEqual(0.64);
  // Attempts are really spaced out: no reconnect loop.
  const times = failed.map((l) => l.time as number);
  for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(waits[i - 1]! * 1000 - 20);
  // The broker saw the refusals too.
  expect(broker.log).toMatch(/not authori[sz]ed|Bad username or password/i);

  // Secrets are never logged.
  expect(rawLog).not.toContain(RIGHT);
  expect(rawLog).not.toContain(WRONG);

  // Still failing, still serving, still retrying.
  const before = m.get('stackwatch_mqtt_connect_failures_total', { ...W, reason: 'auth' })!;
  await sleep(1200);
  const after = await scrape(url);
  expect(after.get('stackwatch_mqtt_connect_failures_total', { ...W, reason: 'auth' })).toBeGreaterThan(before);
  expect(after.get('stackwatch_target_up', { kind: 'mqtt', target: 'wrongpw' })).toBe(0);
});

test('stop() closes both connections well under a second', async () => {
  const logFrom = broker.log.length;
  const started = Date.now();
  await app!.stop();
  expect(Date.now() - started).toBeLessThan(1000);
  app = undefined;
  // The broker sees the connected client's socket close (end(true): no DISCONNECT packet).
  await waitFor('client gone from the broker', () => /Client stackwatch-[0-9a-f]{8} closed its connection/.test(broker.log.slice(logFrom)), 3000);
});
