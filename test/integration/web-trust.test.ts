import type { IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { App } from '../../src/app';
import { ConfigError, ConfigErrors } from '../../src/config/errors';
import { validate } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { isTrusted } from '../../src/trust';
import { loadWebState, WebSurface } from '../../src/web/surface';
import { closedPort } from '../harness/ports';
import { scrape } from '../harness/prom-text';
import { waitFor } from '../harness/wait';
import { issue, makeCa } from '../harness/certs';

/**
 * Who sees what on the status page. The viewer's address decides (isTrusted), and this machine
 * has only loopback: a remote viewer is played by replacing the trust decision of a real,
 * listening exporter (the rendering and the HTTP path are the real ones), and the decision
 * itself is tested on its own with remote addresses and the policies real web configs give.
 */

jest.setTimeout(30_000);

const CONFIG_PATH = '/etc/stackwatch/internal-only.yml';
let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'sw-trust-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function exporterWith(trusted?: (req: IncomingMessage) => boolean): Promise<{ app: App; url: string }> {
  const refuse = (): never => { throw new ConfigErrors([new ConfigError(CONFIG_PATH, 'http[0].url', 'expected a URL, got "10.9.8.7"')]); };
  const closed = await closedPort();
  const config = validate({
    server: { listen: '127.0.0.1:0' },
    http: [{ name: 'backend', url: `http://127.0.0.1:${closed}/internal/health`, interval: '1s', timeout: '500ms' }],
  }, CONFIG_PATH);
  const app = new App({ config, configSource: CONFIG_PATH, log: silentLogger(), enableLifecycle: true, loadConfig: refuse, ...(trusted ? { trusted } : {}) });
  const addr = await app.start();
  const url = `http://127.0.0.1:${addr.port}`;
  await waitFor('backend down', async () => (await scrape(url)).get('stackwatch_target_up', { kind: 'http', target: 'backend' }) === 0);
  return { app, url };
}

describe('the status page and an untrusted viewer', () => {
  it('shows an untrusted viewer states and names, not the config path or raw errors', async () => {
    const seen: (string | undefined)[] = [];
    const { app, url } = await exporterWith((req) => { seen.push(req.socket.remoteAddress); return false; });
    try {
      const page = await (await fetch(`${url}/`)).text();
      expect(seen.length).toBeGreaterThan(0);
      expect(page).toContain('backend');
      expect(page).toMatch(/class="state">down</);
      // No error text at all for an untrusted viewer: only the state, the name and the figures.
      expect(page).not.toContain(CONFIG_PATH);
      expect(page).not.toContain('127.0.0.1:');
      expect(page).not.toMatch(/ECONNREFUSED|refused/i);
      // A refused reload does not tell an untrusted client the file or the keys either.
      const reload = await fetch(`${url}/-/reload`, { method: 'POST' });
      expect(reload.status).toBe(500);
      const text = await reload.text();
      expect(text).toContain('the reasons are in the log');
      expect(text).not.toMatch(/internal-only|http\[0\]|10\.9\.8\.7/);
    } finally {
      await app.stop();
    }
  });

  it('shows a loopback viewer (the default decision) the config path and the raw error', async () => {
    const { app, url } = await exporterWith();
    try {
      const page = await (await fetch(`${url}/`)).text();
      expect(page).toContain(CONFIG_PATH);
      expect(page).toMatch(/ECONNREFUSED|refused/i);
      expect(await (await fetch(`${url}/-/reload`, { method: 'POST' })).text()).toContain(`${CONFIG_PATH}: http[0].url: expected a URL`);
    } finally {
      await app.stop();
    }
  });
});

describe('the trust decision', () => {
  const remote = { socket: { remoteAddress: '10.1.2.3' } } as unknown as IncomingMessage;
  const local = { socket: { remoteAddress: '::ffff:127.0.0.1' } } as unknown as IncomingMessage;
  const web = async (text: string) => {
    const f = path.join(dir, `web-${Math.random()}.yml`);
    writeFileSync(f, text);
    return new WebSurface({ file: f, state: await loadWebState(f), registry: new Registry(), log: silentLogger(), host: '127.0.0.1' });
  };

  it('trusts remote viewers only when authentication is configured', async () => {
    const ca = makeCa(dir, 'ca');
    const srv = issue(dir, ca, 'srv');
    const tls = (mode: string) => `tls_server_config: { cert_file: ${srv.crt}, key_file: ${srv.key}, client_auth_type: ${mode}, client_ca_file: ${ca.crt} }\n`;
    const none = await web('');
    const auth = await web(`basic_auth_users: { alice: '${bcrypt.hashSync('x', 4)}' }\n`);
    const verified = await web(tls('RequireAndVerifyClientCert'));
    const optional = await web(tls('VerifyClientCertIfGiven'));
    expect([none, auth, verified, optional].map((p) => isTrusted(remote, p))).toEqual([false, true, true, false]);
    expect([none, auth, verified, optional].map((p) => isTrusted(local, p))).toEqual([true, true, true, true]);
  });

  it('warns when basic auth runs without TLS on a non-loopback address', async () => {
    const f = path.join(dir, 'auth-only.yml');
    writeFileSync(f, `basic_auth_users: { alice: '${bcrypt.hashSync('x', 4)}' }\n`);
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => { lines.push(l); } });
    for (const host of ['0.0.0.0', '127.0.0.1', '::1', '192.0.2.7']) {
      const s = new WebSurface({ file: f, state: await loadWebState(f), registry: new Registry(), log, host });
      await s.start();
      s.stop();
    }
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; listen: string }).filter((l) => /without TLS/.test(l.msg)).map((l) => l.listen);
    expect(warned).toEqual(['0.0.0.0', '192.0.2.7']);
  });
});
