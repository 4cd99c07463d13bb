import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MAIN } from '../harness/cli';
import { boundPort } from '../harness/built-daemon';
import { ProcessSet } from '../harness/processes';
import { Metrics } from '../harness/prom-text';
import { sleep, waitFor } from '../harness/wait';

/**
 * Idle and slow clients of the exporter's own server under a small fd limit (ulimit -n 128, as a
 * constrained container has): they may delay /metrics for a few seconds, but they never take the
 * descriptors the probes need, so a healthy target is never reported failing (a false outage).
 * The built daemon, a real loopback target.
 */

jest.setTimeout(60_000);

const procs = new ProcessSet();
let dir: string;
let backend: http.Server;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-srv-'));
  backend = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await procs.killAll();
  backend.closeAllConnections();
  await new Promise((r) => backend.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function metrics(url: string): Promise<Metrics | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? Metrics.parse(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

test('300 idle connections under ulimit -n 128: the target keeps passing, idle clients are cut, /metrics comes back', async () => {
  const cfg = path.join(dir, 'c.yml');
  const target = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/health`;
  writeFileSync(cfg, `server: { listen: "127.0.0.1:0" }\nhttp:\n  - { name: api, url: "${target}", interval: 300ms, timeout: 250ms }\n`);
  const daemon = procs.start('bash', ['-c', `ulimit -n 128 && exec "${process.execPath}" "${MAIN}" --config "${cfg}" --storage.path "${path.join(dir, 'data')}"`]);
  let stderr = '';
  daemon.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const port = await boundPort(daemon);
  const url = `http://127.0.0.1:${port}`;
  const before = await waitFor('the target up', async () => {
    const m = await metrics(url);
    return m?.get('stackwatch_target_up', { kind: 'http', target: 'api' }) === 1 ? m : undefined;
  }, 15_000).catch((err: unknown) => { throw new Error(`${String(err)}\n${stderr.slice(-2000)}`); });

  // Half-open clients: they connect and never send a byte.
  // In batches, so that the target (served by this same process) keeps answering in time.
  for (let i = 0; i < 300; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    sockets.push(s);
    if (i % 20 === 19) await sleep(20);
  }
  await sleep(3000);

  const after = await waitFor('/metrics answering again (idle clients cut after the header deadline)', () => metrics(url), 30_000, 250);
  const checks = (m: Metrics): number => m.get('stackwatch_target_checks_total', { kind: 'http', target: 'api' })!;
  const failures = (m: Metrics): number => m.get('stackwatch_target_check_failures_total', { kind: 'http', target: 'api' })!;
  expect(checks(after)).toBeGreaterThan(checks(before) + 8);
  expect(after.all('stackwatch_http_failures_total', { target: 'api' }).filter((s) => s.value > 0).map((s) => s.labels.reason)).toEqual([]);
  expect(failures(after)).toBe(failures(before));
  expect(after.get('stackwatch_target_up', { kind: 'http', target: 'api' })).toBe(1);
  expect(after.get('stackwatch_target_outages_total', { kind: 'http', target: 'api' })).toBe(0);
  expect(after.get('stackwatch_http_server_connections_dropped_total')).toBeGreaterThan(0);
  expect(after.get('stackwatch_collector_errors_total', { collector: 'http', reason: 'resources' })).toBe(0);
});
