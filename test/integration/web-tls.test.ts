import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import { MAIN, runCli, withStorage } from '../harness/cli';
import { issue, makeCa, type KeyPair } from '../harness/certs';
import { boundPort } from '../harness/built-daemon';
import { ProcessSet } from '../harness/processes';
import { Metrics } from '../harness/prom-text';
import { startPrometheus } from '../harness/prometheus';
import { waitFor } from '../harness/wait';

/**
 * The built daemon behind --web.config.file: TLS, basic auth on every endpoint, certificate
 * rotation without restart, client certificates, and the refusal of bad web configs.
 */

jest.setTimeout(90_000);

const procs = new ProcessSet();
let dir: string;
let ca: KeyPair;
let otherCa: KeyPair;
let srv1: KeyPair;
let srv2: KeyPair;
let client: KeyPair;
let rogue: KeyPair;
const PASSWORD = 'correct horse battery staple';
let hash: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-webtls-'));
  ca = makeCa(dir, 'ca');
  otherCa = makeCa(dir, 'other-ca');
  srv1 = issue(dir, ca, 'srv1');
  srv2 = issue(dir, ca, 'srv2');
  client = issue(dir, ca, 'scraper', { client: true });
  rogue = issue(dir, otherCa, 'rogue', { client: true });
  // Cost 10, the usual one: a few hundred ms in bcryptjs, far above a request's own cost.
  hash = bcrypt.hashSync(PASSWORD, 10);
  writeFileSync(path.join(dir, 'stackwatch.yml'), 'http: []\n');
});
afterAll(async () => {
  await procs.killAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string; fingerprint?: string }

function get(url: string, o: { user?: string; password?: string; cert?: KeyPair; method?: string; agent?: https.Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (o.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${o.user}:${o.password ?? ''}`).toString('base64')}`;
    const req = https.request(url, {
      method: o.method ?? 'GET', headers, ca: readFileSync(ca.crt), agent: o.agent ?? false, timeout: 10_000,
      ...(o.cert ? { cert: readFileSync(o.cert.crt), key: readFileSync(o.cert.key) } : {}),
    }, (res) => {
      let body = '';
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, fingerprint }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const fingerprintOf = (kp: KeyPair): string => new X509Certificate(readFileSync(kp.crt)).fingerprint256;

interface Daemon { child: ChildProcess; base: string; log: () => string }

async function startDaemon(webConfig: string, ready: (base: string) => Promise<boolean>): Promise<Daemon> {
  const child = procs.start(process.execPath, [MAIN, ...withStorage(['--config', path.join(dir, 'stackwatch.yml'), '--web.listen-address', '127.0.0.1:0', '--web.config.file', webConfig])]);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const base = `https://127.0.0.1:${await boundPort(child, 15_000)}`;
  await waitFor('daemon serving TLS', () => ready(base), 15_000, 200);
  return { child, base, log: () => stderr };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function timeIt(n: number, f: () => Promise<Answer>, status: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const t0 = process.hrtime.bigint();
    expect((await f()).status).toBe(status);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

describe('TLS and basic auth (--web.config.file)', () => {
  let d: Daemon;
  const certPath = () => path.join(dir, 'live.crt');
  const keyPath = () => path.join(dir, 'live.key');
  const auth = { user: 'alice', password: PASSWORD };

  beforeAll(async () => {
    writeFileSync(certPath(), readFileSync(srv1.crt));
    writeFileSync(keyPath(), readFileSync(srv1.key));
    const web = path.join(dir, 'web.yml');
    writeFileSync(web, `tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n  min_version: TLS12\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  alice: '${hash}'\n`);
    d = await startDaemon(web, async (base) => (await get(`${base}/-/ready`, auth)).status === 200);
  });

  it('asks for credentials on every endpoint; right password 200, wrong 401, unknown user 401', async () => {
    for (const p of ['/metrics', '/-/healthy', '/-/ready', '/', '/nope']) {
      const anon = await get(`${d.base}${p}`);
      expect([p, anon.status, anon.headers['www-authenticate']]).toEqual([p, 401, 'Basic']);
      expect(anon.headers['x-frame-options']).toBe('deny');
      expect((await get(`${d.base}${p}`, auth)).status).toBe(p === '/nope' ? 404 : 200);
      expect((await get(`${d.base}${p}`, { user: 'alice', password: 'wrong' })).status).toBe(401);
      expect((await get(`${d.base}${p}`, { user: 'mallory', password: PASSWORD })).status).toBe(401);
    }
    const ok = await get(`${d.base}/metrics`, auth);
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    expect(ok.fingerprint).toBe(fingerprintOf(srv1));
    // Authentication is configured, so an authenticated viewer is trusted with the config path.
    expect((await get(`${d.base}/`, auth)).body).toContain(path.join(dir, 'stackwatch.yml'));
    expect(Metrics.parse(ok.body).get('stackwatch_web_requests_refused_total', { reason: 'unauthorized' })).toBeGreaterThanOrEqual(15);
  });

  it('takes as long for an unknown user as for a wrong password (both run bcrypt; a cached success does not)', async () => {
    // One kept-alive connection: no TLS handshake in the figures, only the request and bcrypt.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(ca.crt) });
    const wrong = await timeIt(7, () => get(`${d.base}/-/healthy`, { user: 'alice', password: 'wrong', agent }), 401);
    const unknown = await timeIt(7, () => get(`${d.base}/-/healthy`, { user: 'nobody', password: 'wrong', agent }), 401);
    const cached = await timeIt(7, () => get(`${d.base}/-/healthy`, { ...auth, agent }), 200);
    agent.destroy();
    const ratio = median(unknown) / median(wrong);
    // Ratios of medians, not absolute times: the same class, and both well above a request without bcrypt.
    // Generous bounds for a loaded 2-core CI machine; without the dummy hash the ratio is about 0.15.
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
    expect(median(unknown)).toBeGreaterThan(3 * median(cached));
  });

  it('fails the handshake for plain HTTP on the TLS port', async () => {
    const port = new URL(d.base).port;
    await expect(new Promise((resolve, reject) => {
      const req = http.get(`http://127.0.0.1:${port}/-/healthy`, { agent: false, timeout: 5000 }, resolve);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    })).rejects.toThrow(/socket hang up|ECONNRESET/);
    const m = Metrics.parse((await get(`${d.base}/metrics`, auth)).body);
    expect(m.get('stackwatch_web_requests_refused_total', { reason: 'tls_handshake' })).toBeGreaterThanOrEqual(1);
  });

  it('is scraped by a real Prometheus over TLS with basic auth; a wrong password makes the target down', async () => {
    const target = new URL(d.base).host;
    const job = (name: string, password: string) => [
      `  - job_name: ${name}`, '    scheme: https', `    tls_config: { ca_file: ${JSON.stringify(ca.crt)} }`,
      `    basic_auth: { username: alice, password: ${JSON.stringify(password)} }`,
      `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
    ].join('\n');
    const prom = await startPrometheus({ config: `global: { scrape_interval: 3s, scrape_timeout: 3s }\nscrape_configs:\n${job('good', PASSWORD)}\n${job('bad', 'wrong')}\n` });
    try {
      // Prometheus's own view: the good job up, the bad one down because of the 401.
      await waitFor('both jobs scraped', async () => {
        const up = await prom.query('up');
        const of = (j: string) => up.find((s) => s.metric.job === j)?.value;
        const targets = await prom.api<{ activeTargets: { labels: { job: string }; lastError: string }[] }>('/api/v1/targets');
        const badError = targets.activeTargets.find((t) => t.labels.job === 'bad')?.lastError ?? '';
        return of('good') === 1 && of('bad') === 0 && badError.includes('401');
      }, 45_000, 500);
      expect((await prom.query('stackwatch_build_info{job="good"}')).length).toBe(1);
    } finally {
      await prom.stop();
    }
  });

  it('serves a rotated certificate without a restart, and keeps serving through a broken rotation', async () => {
    const pid = d.child.pid;
    // Rotate as certbot or cert-manager would: new files renamed into place.
    writeFileSync(`${keyPath()}.new`, readFileSync(srv2.key));
    writeFileSync(`${certPath()}.new`, readFileSync(srv2.crt));
    renameSync(`${keyPath()}.new`, keyPath());
    renameSync(`${certPath()}.new`, certPath());
    await waitFor('the rotated certificate served', async () => (await get(`${d.base}/-/healthy`, auth)).fingerprint === fingerprintOf(srv2), 15_000, 250);
    expect(d.child.pid).toBe(pid);
    expect(d.child.exitCode).toBeNull();

    // A broken certificate file: refused, the previous certificate keeps serving, metric 0.
    writeFileSync(certPath(), 'not a certificate\n');
    await waitFor('broken rotation refused', async () => Metrics.parse((await get(`${d.base}/metrics`, auth)).body).get('stackwatch_web_config_last_reload_successful') === 0, 15_000, 250);
    expect((await get(`${d.base}/-/healthy`, auth)).fingerprint).toBe(fingerprintOf(srv2));
    expect(d.log()).toContain('web configuration reload failed');
    expect(d.log()).toContain('tls_server_config.cert_file');
    expect(d.log()).not.toContain(hash);
    writeFileSync(certPath(), readFileSync(srv2.crt));
    await waitFor('repaired', async () => Metrics.parse((await get(`${d.base}/metrics`, auth)).body).get('stackwatch_web_config_last_reload_successful') === 1, 15_000, 250);
  });
});

describe('client certificates (RequireAndVerifyClientCert)', () => {
  it('admits a client certificate signed by client_ca_file and refuses none or another CA', async () => {
    const web = path.join(dir, 'web-mtls.yml');
    writeFileSync(web, `tls_server_config:\n  cert_file: ${srv1.crt}\n  key_file: ${srv1.key}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.crt}\n  client_allowed_sans: [scraper]\n`);
    const d = await startDaemon(web, async (base) => (await get(`${base}/-/ready`, { cert: client })).status === 200);
    const ok = await get(`${d.base}/`, { cert: client });
    expect(ok.status).toBe(200);
    // A verified client certificate is authentication: the viewer is trusted.
    expect(ok.body).toContain(path.join(dir, 'stackwatch.yml'));
    await expect(get(`${d.base}/-/healthy`)).rejects.toThrow();
    await expect(get(`${d.base}/-/healthy`, { cert: rogue })).rejects.toThrow();
    const m = Metrics.parse((await get(`${d.base}/metrics`, { cert: client })).body);
    expect(m.get('stackwatch_web_requests_refused_total', { reason: 'tls_handshake' })).toBeGreaterThanOrEqual(2);
    await procs.kill(d.child, 'SIGTERM');
  });

  it('refuses a verified client certificate that names none of client_allowed_sans', async () => {
    const other = issue(dir, ca, 'someone-else', { client: true });
    const web = path.join(dir, 'web-sans.yml');
    writeFileSync(web, `tls_server_config:\n  cert_file: ${srv1.crt}\n  key_file: ${srv1.key}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.crt}\n  client_allowed_sans: [scraper]\n`);
    const d = await startDaemon(web, async (base) => (await get(`${base}/-/ready`, { cert: client })).status === 200);
    await expect(get(`${d.base}/-/healthy`, { cert: other })).rejects.toThrow();
    const m = Metrics.parse((await get(`${d.base}/metrics`, { cert: client })).body);
    expect(m.get('stackwatch_web_requests_refused_total', { reason: 'client_certificate' })).toBe(1);
    await procs.kill(d.child, 'SIGTERM');
  });
});

describe('changing client_auth_type on a running server', () => {
  it('starts requiring client certificates after the web config changes, without a restart', async () => {
    const web = path.join(dir, 'web-switch.yml');
    writeFileSync(web, `tls_server_config:\n  cert_file: ${srv1.crt}\n  key_file: ${srv1.key}\n`);
    const d = await startDaemon(web, async (base) => (await get(`${base}/-/ready`)).status === 200);
    writeFileSync(web, `tls_server_config:\n  cert_file: ${srv1.crt}\n  key_file: ${srv1.key}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.crt}\n`);
    await waitFor('client certificates required', async () => {
      try {
        await get(`${d.base}/-/healthy`);
        return false;
      } catch {
        return true;
      }
    }, 15_000, 250);
    expect((await get(`${d.base}/-/healthy`, { cert: client })).status).toBe(200);
    await expect(get(`${d.base}/-/healthy`, { cert: rogue })).rejects.toThrow();
    await procs.kill(d.child, 'SIGTERM');
  });
});

describe('a bad web config file', () => {
  it('is refused at start and by --check-config with the field path, exit 2, no secret', () => {
    const bad = path.join(dir, 'bad-web.yml');
    writeFileSync(bad, `tls_server_config:\n  cert_file: ${srv1.crt}\n  key_file: ${srv1.key}\n  min_version: TLS1.3\n  cipher_suites: [TLS_FAKE_SUITE]\nbasic_auth_users:\n  alice: Plaintext-Marker-Password\n`);
    for (const args of [['--check-config'], []]) {
      const r = runCli(['--config', path.join(dir, 'stackwatch.yml'), '--web.config.file', bad, '--web.listen-address', '127.0.0.1:0', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${bad}: tls_server_config.min_version: expected one of TLS10, TLS11, TLS12, TLS13, got "TLS1.3"`);
      expect(r.stderr).toContain(`${bad}: tls_server_config.cipher_suites[0]: unknown cipher suite "TLS_FAKE_SUITE"`);
      expect(r.stderr).toContain(`${bad}: basic_auth_users.alice: expected a bcrypt hash`);
      expect(r.stderr).not.toContain('Plaintext-Marker-Password');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const good = path.join(dir, 'good-web.yml');
    writeFileSync(good, `basic_auth_users:\n  alice: '${hash}'\n`);
    const r = runCli(['--config', path.join(dir, 'stackwatch.yml'), '--web.config.file', good, '--check-config']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${good}: web configuration is valid`);
  });
});
