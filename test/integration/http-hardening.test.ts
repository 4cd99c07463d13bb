import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { App } from '../../src/app';
import { loadConfigFile, validate } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { runCli } from '../harness/cli';
import { scrape, type Metrics } from '../harness/prom-text';
import { requireBinary } from '../harness/require-binary';
import { waitFor } from '../harness/wait';

/**
 * A failing target never looks up, and credentials never follow a redirect to another origin:
 * real loopback servers, the exporter in-process (and the built CLI for --check-config).
 */

jest.setTimeout(60_000);

interface Recorder {
  url: string;
  /** Requests received: path and headers. */
  seen: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

async function recorder(handler: (req: http.IncomingMessage, res: http.ServerResponse, self: Recorder) => void): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const self: Recorder = { url: '', seen, close: () => Promise.resolve() };
  const { server, url } = await listen((req, res) => {
    seen.push({ path: req.url ?? '/', headers: req.headers });
    handler(req, res, self);
  });
  self.url = url;
  self.close = () => new Promise((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return self;
}

const DEPTH = 100_000;
const deepBody = `{"status":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`;
const bigStatus = JSON.stringify({ status: 'x'.repeat(1000 * 1000) });
const MARK = 'marker-7f3a9c';

let tmp: string;
let other: Recorder;
let origin: Recorder;
const apps: App[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sw-harden-'));
  other = await recorder((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  origin = await recorder((req, res) => {
    const p = req.url ?? '/';
    if (p === '/deep') res.writeHead(200, { 'content-type': 'application/json' }).end(deepBody);
    else if (p === '/big-status') res.writeHead(200, { 'content-type': 'application/json' }).end(bigStatus);
    else if (p === '/to-other') res.writeHead(302, { location: `${other.url}/landing` }).end();
    else if (p === '/to-same') res.writeHead(302, { location: '/ok' }).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await Promise.all([other.close(), origin.close()]);
  rmSync(tmp, { recursive: true, force: true });
});

async function start(config: ReturnType<typeof validate>, loadConfig?: () => ReturnType<typeof validate>): Promise<{ app: App; url: string; scrape: () => Promise<Metrics> }> {
  const app = new App({ config, configSource: '<test>', log: silentLogger(), enableLifecycle: true, ...(loadConfig ? { loadConfig } : {}) });
  apps.push(app);
  const addr = await app.start();
  const url = `http://127.0.0.1:${addr.port}`;
  return { app, url, scrape: () => scrape(url) };
}

const target = (name: string, url: string, extra: Record<string, unknown> = {}) => ({ name, url, interval: '300ms', timeout: '250ms', ...extra });

describe('a check that cannot be judged normally still fails its target', () => {
  it('a 100,000-deep JSON body with a failing condition: down, every probe counted, short error', async () => {
    const ex = await start(validate({
      server: { listen: '127.0.0.1:0' },
      http: [
        target('deep', `${origin.url}/deep`, { conditions: ['status == "ok"'], interval: '1s', timeout: '900ms' }),
        target('big', `${origin.url}/big-status`, { conditions: ['status == "ok"'], interval: '1s', timeout: '900ms' }),
      ],
    }, '<test>'));
    const m = await waitFor('three checks of each target', async () => {
      const s = await ex.scrape();
      return (s.get('stackwatch_target_checks_total', { kind: 'http', target: 'deep' }) ?? 0) >= 3
        && (s.get('stackwatch_target_checks_total', { kind: 'http', target: 'big' }) ?? 0) >= 3 ? s : undefined;
    });
    for (const t of ['deep', 'big']) {
      expect(m.get('stackwatch_target_up', { kind: 'http', target: t })).toBe(0);
      expect([t, ex.app.tracker.view('http', t)!.lastError]).toEqual([t, expect.stringContaining('condition failed')]);
      // Every check counted, every one failed (a slow machine may time one out; none is a success).
      expect(m.get('stackwatch_target_check_failures_total', { kind: 'http', target: t })).toBe(m.get('stackwatch_target_checks_total', { kind: 'http', target: t }));
      expect(m.get('stackwatch_http_failures_total', { target: t, reason: 'condition' })).toBeGreaterThanOrEqual(1);
      const view = ex.app.tracker.view('http', t)!;
      expect(view.lastError!.length).toBeLessThanOrEqual(256);
    }
    expect(ex.app.tracker.view('http', 'deep')!.lastError).toContain('a list of 1');
    // The status page for a target answering with a 1 MB status stays small.
    const page = await (await fetch(`${ex.url}/`)).text();
    expect(page.length).toBeLessThan(64 * 1024);
  });
});

describe('one target\'s unusable TLS file', () => {
  let ca: string;
  beforeAll(() => {
    requireBinary('openssl', 'apt-get install -y openssl');
    ca = path.join(tmp, 'ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'ca-key.pem'),
      '-out', ca, '-days', '2', '-subj', '/CN=stackwatch-test-ca'], { stdio: 'ignore' });
  });

  it('--check-config refuses a directory, a non-certificate and a FIFO as tls files, exit 2, one line each', () => {
    const dir = path.join(tmp, 'ca-dir');
    mkdirSync(dir, { recursive: true });
    const notCert = path.join(tmp, 'not-a-cert.pem');
    writeFileSync(notCert, 'hello\n');
    const fifo = path.join(tmp, 'ca.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [file, why] of [[dir, 'is a directory'], [notCert, 'not a certificate'], [fifo, 'not a regular file']] as const) {
      const cfg = path.join(tmp, 'tls-bad.yml');
      writeFileSync(cfg, `http:\n  - name: api\n    url: https://127.0.0.1:1/\n    tls: { ca_file: ${file} }\n`);
      const r = runCli(['--config', cfg, '--check-config']);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`http[0].tls.ca_file: cannot use file ${file}: ${why}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // A client certificate with another certificate's key, or without a key, would only fail at connect time.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'other-key.pem'),
      '-out', path.join(tmp, 'other.pem'), '-days', '2', '-subj', '/CN=other'], { stdio: 'ignore' });
    const pair = path.join(tmp, 'tls-pair.yml');
    writeFileSync(pair, `http:\n  - { name: a, url: "https://127.0.0.1:1/", tls: { cert_file: ${ca}, key_file: ${path.join(tmp, 'other-key.pem')} } }\n  - { name: b, url: "https://127.0.0.1:1/", tls: { cert_file: ${ca} } }\n`);
    const p = runCli(['--config', pair, '--check-config']);
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('http[0].tls.key_file: the private key does not belong to cert_file');
    expect(p.stderr).toContain('http[1].tls.key_file: cert_file and key_file go together');
    const good = path.join(tmp, 'tls-good.yml');
    writeFileSync(good, `http:\n  - name: api\n    url: https://127.0.0.1:1/\n    tls: { ca_file: ${ca}, cert_file: ${ca}, key_file: ${path.join(tmp, 'ca-key.pem')} }\n`);
    expect(runCli(['--config', good, '--check-config']).status).toBe(0);
  });

  it('a TLS file that became a directory after validation fails that target alone; the others are probed', async () => {
    const moving = path.join(tmp, 'moving-ca.pem');
    writeFileSync(moving, execFileSync('cat', [ca]));
    const config = validate({
      server: { listen: '127.0.0.1:0' },
      http: [target('tls-broken', 'https://127.0.0.1:1/', { tls: { ca_file: moving } }), target('after', `${origin.url}/ok`)],
    }, '<test>');
    rmSync(moving);
    mkdirSync(moving);
    const ex = await start(config);
    const m = await waitFor('both targets observed', async () => {
      const s = await ex.scrape();
      return s.get('stackwatch_target_up', { kind: 'http', target: 'tls-broken' }) === 0
        && s.get('stackwatch_target_up', { kind: 'http', target: 'after' }) === 1 ? s : undefined;
    });
    expect(m.get('stackwatch_http_failures_total', { target: 'tls-broken', reason: 'internal' })).toBeGreaterThanOrEqual(1);
    expect(m.get('stackwatch_collector_errors_total', { collector: 'http', reason: 'internal' })).toBeGreaterThanOrEqual(1);
    expect(ex.app.tracker.view('http', 'tls-broken')!.lastError).toContain('is a directory');
  });

  it('a reload with a directory as ca_file is refused: reload unsuccessful, the running target keeps being probed', async () => {
    const cfg = path.join(tmp, 'reload.yml');
    writeFileSync(cfg, `http:\n  - { name: api, url: "${origin.url}/ok", interval: 300ms, timeout: 250ms }\n`);
    const ex = await start(loadConfigFile(cfg), () => loadConfigFile(cfg));
    await waitFor('api up', async () => (await ex.scrape()).get('stackwatch_target_up', { kind: 'http', target: 'api' }) === 1);
    const dir = path.join(tmp, 'ca-dir2');
    mkdirSync(dir, { recursive: true });
    writeFileSync(cfg, `http:\n  - { name: api, url: "${origin.url}/ok", interval: 300ms, timeout: 250ms, tls: { ca_file: ${dir} } }\n`);
    const res = await fetch(`${ex.url}/-/reload`, { method: 'POST' });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('is a directory');
    const before = (await ex.scrape()).get('stackwatch_target_checks_total', { kind: 'http', target: 'api' })!;
    const m = await waitFor('api still probed', async () => {
      const s = await ex.scrape();
      return s.get('stackwatch_target_checks_total', { kind: 'http', target: 'api' })! >= before + 2 ? s : undefined;
    });
    expect(m.get('stackwatch_config_last_reload_successful')).toBe(0);
  });
});

describe('redirects to another origin carry no credentials', () => {
  it('strips Authorization, configured headers and cookies cross-origin; keeps them on the same origin', async () => {
    const headers = { 'X-Api-Key': `key-${MARK}`, Cookie: `session=${MARK}` };
    const ex = await start(validate({
      server: { listen: '127.0.0.1:0' },
      http: [
        target('cross', `${origin.url}/to-other`, { bearer_token: `tok-${MARK}`, headers }),
        target('same', `${origin.url}/to-same`, { bearer_token: `tok-${MARK}`, headers }),
      ],
    }, '<test>'));
    await waitFor('both up', async () => {
      const s = await ex.scrape();
      return s.get('stackwatch_target_up', { kind: 'http', target: 'cross' }) === 1 && s.get('stackwatch_target_up', { kind: 'http', target: 'same' }) === 1;
    });
    const landed = other.seen.filter((r) => r.path === '/landing');
    expect(landed.length).toBeGreaterThan(0);
    for (const r of landed) {
      expect(JSON.stringify(r.headers)).not.toContain(MARK);
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers['x-api-key']).toBeUndefined();
    }
    // The first hop and a same-origin hop do get them (the configuration is honoured).
    const first = origin.seen.find((r) => r.path === '/to-other')!;
    expect(first.headers.authorization).toBe(`Bearer tok-${MARK}`);
    const sameHop = origin.seen.find((r) => r.path === '/ok' && r.headers['x-api-key'] !== undefined)!;
    expect(sameHop.headers.authorization).toBe(`Bearer tok-${MARK}`);
    expect(sameHop.headers.cookie).toBe(`session=${MARK}`);
  });
});
