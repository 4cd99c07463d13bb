import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * When the exporter itself runs out of file descriptors, a probe that cannot open its socket says
 * nothing about the target: it is counted as stackwatch_collector_errors_total{reason="resources"}
 * and not as a failed check, so no false outage. The built exporter in a child process whose fds
 * are really exhausted (ulimit -n, then files held open until EMFILE, and every fd that frees up
 * taken again, as a leak elsewhere in the process would), probing a real loopback server in
 * another process (this one), as a target is, that closes every connection (so each probe needs
 * a new socket). With the server in the exporter's process, a socket closing just after the fds
 * were taken let one probe connect while the server could not accept it: a timeout, counted
 * against the target, that the exhaustion of a real exporter would not cause.
 */

jest.setTimeout(60_000);

const DIST = path.join(__dirname, '..', '..', 'dist');
let dir: string;
let backend: http.Server;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-fds-'));
  backend = http.createServer((_q, s) => s.writeHead(200, { connection: 'close' }).end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
});
afterAll(() => {
  backend.closeAllConnections();
  backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = `
const fs = require('node:fs');
const { App } = require(${JSON.stringify(path.join(DIST, 'app.js'))});
const { validate } = require(${JSON.stringify(path.join(DIST, 'config', 'load.js'))});
const { silentLogger } = require(${JSON.stringify(path.join(DIST, 'log.js'))});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const take = (held) => {
  try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
};
(async () => {
  const url = process.argv[2];
  const config = validate({ server: { listen: '127.0.0.1:0' }, http: [{ name: 'api', url, interval: '200ms', timeout: '150ms' }] }, 't');
  const app = new App({ config, configSource: 't', log: silentLogger() });
  await app.start();
  for (let i = 0; i < 50 && app.tracker.view('http', 'api').state !== 'up'; i++) await sleep(100);
  const before = app.tracker.view('http', 'api');
  const held = [];
  take(held);
  const taken = held.length;
  const retake = setInterval(() => take(held), 2);
  await sleep(1500);
  const during = app.tracker.view('http', 'api');
  const text = await app.registry.metrics();
  clearInterval(retake);
  for (const fd of held) fs.closeSync(fd);
  await sleep(800);
  const after = app.tracker.view('http', 'api');
  process.stdout.write(JSON.stringify({ before, during, after, held: taken, text }));
  await app.stop();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`;

test('EMFILE in probes: not a failed check, counted as reason resources; checks resume when fds free up', async () => {
  const script = path.join(dir, 'run.js');
  writeFileSync(script, SCRIPT);
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/`;
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile('bash', ['-c', `ulimit -n 200 && exec "${process.execPath}" "${script}" "${url}"`], { encoding: 'utf8', timeout: 40_000 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as { before: { state: string; failures: number; checks: number }; during: { state: string; failures: number; checks: number }; after: { state: string; failures: number; checks: number }; held: number; text: string };
  expect(out.held).toBeGreaterThan(0);
  expect(out.before.state).toBe('up');
  expect(out.during.state).toBe('up');
  expect(out.during.failures).toBe(out.before.failures);
  expect(out.after.state).toBe('up');
  expect(out.after.checks).toBeGreaterThan(out.during.checks);
  const resources = /stackwatch_collector_errors_total\{collector="http",reason="resources"\} (\d+)/.exec(out.text);
  expect(Number(resources?.[1])).toBeGreaterThan(0);
});
