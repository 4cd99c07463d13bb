import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { startFaultServer, startTlsServer, type FaultServer } from '../harness/fault-server';
import { closedPort as refusingPort } from '../harness/ports';
import type { Metrics } from '../harness/prom-text';
import { requireBinary } from '../harness/require-binary';
import { waitFor } from '../harness/wait';

jest.setTimeout(60_000);

let plain: FaultServer;
let tls: FaultServer;
let exporter: RunningExporter;
let tmp: string;
let closedPort: number;
let rssBefore: number;

const FAULTS: Record<string, { path: string; reason: string; tls?: boolean; url?: () => string; json?: boolean; status?: number }> = {
  hang: { path: '/hang', reason: 'timeout' },
  drip: { path: '/drip', reason: 'timeout', json: true },
  huge: { path: '/huge', reason: 'body_too_large', json: true },
  huge_declared: { path: '/huge-declared', reason: 'body_too_large' },
  invalid_json: { path: '/invalid-json', reason: 'invalid_json', json: true, status: 200 },
  s502: { path: '/status/502', reason: 'status', status: 502 },
  s503: { path: '/status/503', reason: 'status', status: 503 },
  s504: { path: '/status/504', reason: 'status', status: 504 },
  redirect_loop: { path: '/loop', reason: 'status', status: 302 },
  self_signed: { path: '/', reason: 'tls', tls: true },
  reset: { path: '/reset', reason: 'connect' },
  refused: { path: '/', reason: 'connect', url: () => `http://127.0.0.1:${closedPort}/` },
  unresolvable: { path: '/', reason: 'dns', url: () => 'http://backend.stackwatch.invalid/api/health' },
};

beforeAll(async () => {
  requireBinary('openssl', 'apt-get install -y openssl');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sw-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'key.pem'),
    '-out', path.join(tmp, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  writeFileSync(path.join(tmp, 'token'), 'sekrit\n');
  plain = await startFaultServer();
  tls = await startTlsServer(readFileSync(path.join(tmp, 'key.pem')), readFileSync(path.join(tmp, 'cert.pem')));
  closedPort = await refusingPort();
  rssBefore = process.memoryUsage().rss;
  exporter = await startExporter({
    http: [
      ...Object.entries(FAULTS).map(([name, f]) => ({
        name,
        url: f.url ? f.url() : `${f.tls ? tls.url : plain.url}${f.path}`,
        interval: '2s',
        timeout: '1s',
        max_body_bytes: 1024 * 1024,
        ...(f.json ? { json: { status: 'status' } } : {}),
      })),
      // The same self-signed server, trusted through its CA file: this one must be up.
      { name: 'self_signed_trusted', url: `https://localhost:${new URL(tls.url).port}/`, interval: '2s', timeout: '1s', tls: { ca_file: path.join(tmp, 'cert.pem') } },
      // Configured headers and the bearer token reach the target (bearer_token_file: see config.test.ts).
      { name: 'authorized', url: `${plain.url}/auth`, interval: '2s', timeout: '1s', headers: { 'X-Tenant': 'blue' }, bearer_token: readFileSync(path.join(tmp, 'token'), 'utf8').trim() },
      { name: 'self_signed_skip_verify', url: `${tls.url}/`, interval: '2s', timeout: '1s', tls: { insecure_skip_verify: true } },
    ],
  });
});

afterAll(async () => {
  await exporter?.stop();
  await plain?.close();
  await tls?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('HTTP collector fault injection', () => {
  let m: Metrics;
  beforeAll(async () => {
    // every target has been probed at least twice
    m = await waitFor('two probes of every target', async () => {
      const s = await exporter.scrape();
      const names = [...Object.keys(FAULTS), 'self_signed_trusted', 'self_signed_skip_verify', 'authorized'];
      return names.every((t) => (s.get('stackwatch_target_checks_total', { kind: 'http', target: t }) ?? 0) >= 2) ? s : undefined;
    }, 20_000, 200);
  });

  it.each(Object.entries(FAULTS))('%s fails with its own reason and nothing else', (name, f) => {
    const failures = m.all('stackwatch_http_failures_total', { target: name });
    const nonZero = failures.filter((s) => s.value > 0).map((s) => s.labels.reason);
    expect(nonZero).toEqual([f.reason]);
    expect(m.get('stackwatch_target_up', { kind: 'http', target: name })).toBe(0);
    if (f.status !== undefined) expect(m.get('stackwatch_http_status_code', { target: name })).toBe(f.status);
  });

  it('reports the failures in words on the tracker', () => {
    expect(exporter.app.tracker.view('http', 'redirect_loop')?.lastError).toMatch(/more than 5 redirects/);
    expect(exporter.app.tracker.view('http', 'hang')?.lastError).toMatch(/no complete response within 1s/);
    expect(exporter.app.tracker.view('http', 'huge')?.lastError).toMatch(/over the 1048576-byte limit/);
  });

  it('trusts a self-signed server through its CA file or skip-verify, and reports the certificate expiry', () => {
    for (const t of ['self_signed_trusted', 'self_signed_skip_verify']) {
      expect(m.get('stackwatch_target_up', { kind: 'http', target: t })).toBe(1);
      const expiry = m.get('stackwatch_http_tls_cert_expiry_timestamp_seconds', { target: t })!;
      // openssl -days 2
      expect(expiry - Date.now() / 1000).toBeGreaterThan(86400);
      expect(expiry - Date.now() / 1000).toBeLessThan(3 * 86400);
    }
  });

  it('sends configured headers and the bearer token', () => {
    expect(m.get('stackwatch_target_up', { kind: 'http', target: 'authorized' })).toBe(1);
  });

  it('reuses one kept-alive connection across probes', async () => {
    const own = await startFaultServer();
    const ex = await startExporter({ http: [{ name: 'ka', url: `${own.url}/`, interval: '300ms', timeout: '200ms' }] });
    try {
      await waitFor('six probes', async () => ((await ex.scrape()).get('stackwatch_target_checks_total', { kind: 'http', target: 'ka' }) ?? 0) >= 6);
      expect(own.connections()).toBe(1);
    } finally {
      await ex.stop();
      await own.close();
    }
  });

  it('keeps /metrics fast while targets hang and drip', async () => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const res = await fetch(`${exporter.url}/metrics`);
      await res.text();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    // The hanging targets' timeout is 1000 ms; a scrape must not wait on them. (Bounds well under
    // that timeout, not speed targets: a loaded machine's slowest scrape reached 715 ms.)
    expect(times[5]).toBeLessThan(250);
    expect(times[9]).toBeLessThan(900);
  });

  it('keeps memory bounded after 100 MB bodies', () => {
    const grown = process.memoryUsage().rss - rssBefore;
    expect(grown).toBeLessThan(80 * 1024 * 1024);
  });
});
