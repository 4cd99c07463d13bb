import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MAIN, runCli, withStorage } from '../harness/cli';
import { Mosquitto } from '../harness/mosquitto';
import { boundPort } from '../harness/built-daemon';
import { closedPort } from '../harness/ports';
import { ProcessSet } from '../harness/processes';
import { Metrics } from '../harness/prom-text';
import { waitFor } from '../harness/wait';

/**
 * A secret sweep: a marker in every secret-bearing key (an environment variable, `*_file`, URL
 * credentials, header values, the MQTT password) and none of them may show up in /metrics, the
 * status page, the logs at trace level, --check-config output, reload responses, or the error
 * messages of the failing probes (shown on the status page and logged). The built daemon, a real
 * mosquitto refusing the password, a target answering 401 and a closed port.
 */

jest.setTimeout(60_000);

const MARK = {
  env: 'swmarkENV4821',
  file: 'swmarkFILE9134',
  urlPass: 'swmarkURLPASS7712',
  urlUser: 'swmarkURLUSER3390',
  header: 'swmarkHEADER5527',
  cookie: 'swmarkCOOKIE6641',
  mqttPass: 'swmarkMQTT1187',
  mqttFile: 'swmarkMQTTFILE2250',
  mqttUrl: 'swmarkMQTTURL8803',
};
const NUMERIC = '84736251';
const ALL = [...Object.values(MARK), NUMERIC];

const procs = new ProcessSet();
let dir: string;
let broker: Mosquitto;
let unauthorized: http.Server;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-secrets-'));
  broker = await Mosquitto.start(procs, { users: { stackwatch: 'the-right-one' } });
  unauthorized = http.createServer((_req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('{"error":"unauthorized"}'));
  await new Promise<void>((r) => unauthorized.listen(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  await procs.killAll();
  broker?.cleanup();
  unauthorized.closeAllConnections();
  await new Promise((r) => unauthorized.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function expectClean(where: string, text: string): void {
  const found = ALL.filter((m) => text.includes(m));
  expect({ where, found }).toEqual({ where, found: [] });
}

test('no secret marker leaves: /metrics, status page, trace logs, check-config, reload responses, probe errors', async () => {
  const closed = await closedPort();
  const target = `http://127.0.0.1:${(unauthorized.address() as AddressInfo).port}`;
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${MARK.file}\n`);
  const mqttPassFile = path.join(dir, 'mqtt-pass');
  writeFileSync(mqttPassFile, `${MARK.mqttFile}\n`);
  chmodSync(mqttPassFile, 0o600);
  const brokerPort = new URL(broker.url).port;
  const config = (extra = ''): string => `server: { listen: "127.0.0.1:0" }
http:
  - { name: env-token, url: "${target}/a", interval: 300ms, timeout: 250ms, bearer_token: "\${SW_TEST_TOKEN}" }
  - { name: file-token, url: "${target}/b", interval: 300ms, timeout: 250ms, bearer_token_file: ${tokenFile} }
  - { name: url-creds, url: "http://${MARK.urlUser}:${MARK.urlPass}@127.0.0.1:${closed}/c", interval: 300ms, timeout: 250ms }
  - { name: headers, url: "${target}/d", interval: 300ms, timeout: 250ms, headers: { X-Api-Key: "${MARK.header}", Cookie: "s=${MARK.cookie}" } }
mqtt:
  - { name: wrong-pass, url: "mqtt://127.0.0.1:${brokerPort}", username: stackwatch, password: "${MARK.mqttPass}", connect_timeout: 1s, sys_interval: 1s, reconnect: { initial: 200ms, max: 500ms } }
  - { name: wrong-file, url: "mqtt://127.0.0.1:${brokerPort}", username: stackwatch, password_file: ${mqttPassFile}, connect_timeout: 1s, sys_interval: 1s, reconnect: { initial: 200ms, max: 500ms } }
  - { name: url-creds, url: "mqtt://stackwatch:${MARK.mqttUrl}@127.0.0.1:${closed}", connect_timeout: 1s, sys_interval: 1s, reconnect: { initial: 200ms, max: 500ms } }
${extra}`;
  const cfg = path.join(dir, 'c.yml');
  writeFileSync(cfg, config());
  const env = { SW_TEST_TOKEN: MARK.env };

  const check = runCli(['--config', cfg, '--check-config'], env);
  expect(check.status).toBe(0);
  expectClean('--check-config (valid)', check.stdout + check.stderr);

  const daemon = procs.start(process.execPath, [MAIN, ...withStorage(['--config', cfg, '--log-level', 'trace', '--web.enable-lifecycle'])], { env: { ...process.env, ...env } });
  let logs = '';
  daemon.stdout?.on('data', (d: Buffer) => { logs += d.toString(); });
  daemon.stderr?.on('data', (d: Buffer) => { logs += d.toString(); });
  const url = `http://127.0.0.1:${await boundPort(daemon)}`;
  const targets = [['http', 'env-token'], ['http', 'file-token'], ['http', 'url-creds'], ['http', 'headers'], ['mqtt', 'wrong-pass'], ['mqtt', 'wrong-file'], ['mqtt', 'url-creds']];
  const m = await waitFor('every target failed twice', async () => {
    const res = await fetch(`${url}/metrics`);
    const s = Metrics.parse(await res.text());
    return targets.every(([kind, t]) => (s.get('stackwatch_target_check_failures_total', { kind: kind!, target: t! }) ?? 0) >= 2) ? s : undefined;
  }, 20_000).catch((err: unknown) => { throw new Error(`${String(err)}\n${logs.slice(-3000)}`); });
  expect(m.get('stackwatch_mqtt_connect_failures_total', { broker: 'wrong-pass', reason: 'auth' })).toBeGreaterThan(0);
  expect(m.get('stackwatch_http_failures_total', { target: 'env-token', reason: 'status' })).toBeGreaterThan(0);

  expectClean('/metrics', await (await fetch(`${url}/metrics`)).text());
  expectClean('status page', await (await fetch(`${url}/`)).text());

  // Reloads refused for type errors on secret keys: the response names the keys, not the values.
  writeFileSync(cfg, `${config()}  - { name: numeric, url: "mqtt://127.0.0.1:1", password: ${NUMERIC}, username: ${NUMERIC} }\n`);
  const bad = await fetch(`${url}/-/reload`, { method: 'POST' });
  const badText = await bad.text();
  expect(bad.status).toBe(500);
  expect(badText).toContain('mqtt[3].password');
  expectClean('reload response (refused)', badText);
  writeFileSync(cfg, config().replace(/headers: \{ X-Api-Key: "[^"]*"/, `headers: { X-Api-Key: [${MARK.header}]`));
  const bad2 = await (await fetch(`${url}/-/reload`, { method: 'POST' })).text();
  expect(bad2).toContain('http[3].headers.X-Api-Key');
  expectClean('reload response (header)', bad2);
  writeFileSync(cfg, config());
  const good = await fetch(`${url}/-/reload`, { method: 'POST' });
  expectClean('reload response (accepted)', await good.text());

  const invalid = path.join(dir, 'invalid.yml');
  writeFileSync(invalid, `mqtt:\n  - { name: m, url: "mqtt://127.0.0.1:1", password: ${NUMERIC} }\nhttp:\n  - { name: a, url: "ftp://u:${MARK.urlPass}@127.0.0.1/", headers: { X: ${NUMERIC} } }\n`);
  const checkBad = runCli(['--config', invalid, '--check-config'], env);
  expect(checkBad.status).toBe(2);
  expectClean('--check-config (invalid)', checkBad.stdout + checkBad.stderr);

  // Let a few more failures be logged after the reload, then stop and sweep the logs.
  await waitFor('more failures after the reload', async () => {
    const s = Metrics.parse(await (await fetch(`${url}/metrics`)).text());
    return (s.get('stackwatch_target_check_failures_total', { kind: 'http', target: 'headers' }) ?? 0) > m.get('stackwatch_target_check_failures_total', { kind: 'http', target: 'headers' })! + 2;
  });
  await procs.kill(daemon, 'SIGTERM');
  expect(logs).toMatch(/"level":20/); // run at trace: every debug line is in too
  expect(logs).toContain('http check failed');
  expectClean('logs at trace level', logs);
});
