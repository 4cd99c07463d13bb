import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { parseWebConfig } from '../../src/web/config';
import { loadWebState, WebSurface } from '../../src/web/surface';
import { refuseClient } from '../../src/web/tls';
import { issue, makeCa } from '../harness/certs';

let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'sw-surface-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('client_auth_type after the handshake', () => {
  const socket = (cert: object, authorized: boolean) => ({ getPeerCertificate: () => cert, authorized }) as unknown as TLSSocket;
  const mode = (m: string, extra = '') => parseWebConfig(`tls_server_config: { cert_file: a, key_file: b, client_auth_type: ${m}${m.includes('Verify') ? ', client_ca_file: c' : ''}${extra} }\n`, '/x/web.yml').tls!;
  const none = socket({}, false);
  const unverified = socket({ subjectaltname: 'DNS:scraper' }, false);
  const verified = socket({ subjectaltname: 'DNS:scraper, IP Address:127.0.0.1' }, true);

  it.each([
    ['NoClientCert', [undefined, undefined, undefined]],
    ['RequestClientCert', [undefined, undefined, undefined]],
    ['RequireAnyClientCert', ['no client certificate', undefined, undefined]],
    ['VerifyClientCertIfGiven', [undefined, 'client certificate not verified by client_ca_file', undefined]],
    ['RequireAndVerifyClientCert', ['no client certificate', 'client certificate not verified by client_ca_file', undefined]],
  ])('%s: no certificate, an unverified one, a verified one', (m, expected) => {
    expect([none, unverified, verified].map((s) => refuseClient(s, mode(m)))).toEqual(expected);
  });

  it('checks client_allowed_sans against DNS, IP, email and URI names', () => {
    const t = (sans: string) => mode('RequireAndVerifyClientCert', `, client_allowed_sans: [${sans}]`);
    expect(refuseClient(verified, t('scraper'))).toBeUndefined();
    expect(refuseClient(verified, t('127.0.0.1'))).toBeUndefined();
    expect(refuseClient(verified, t('other'))).toBe('client certificate names none of client_allowed_sans');
  });
});

describe('reloading the web config', () => {
  it('applies a good change, refuses a bad one and a switch between TLS and plain HTTP', async () => {
    const file = path.join(dir, 'web.yml');
    const users = (u: string) => `basic_auth_users: { ${u}: '${bcrypt.hashSync('x', 4)}' }\n`;
    writeFileSync(file, users('alice'));
    const registry = new Registry();
    const s = new WebSurface({ file, state: await loadWebState(file), registry, log: silentLogger(), host: '127.0.0.1' });
    const ok = async () => (await registry.getSingleMetricAsString('stackwatch_web_config_last_reload_successful')).trim().split('\n').pop();
    expect(s.authConfigured()).toBe(true);

    writeFileSync(file, '');
    expect(await s.reload()).toBeUndefined();
    expect(s.authConfigured()).toBe(false);

    writeFileSync(file, 'basic_auth_users: { alice: not-a-hash }\n');
    expect(await s.reload()).toContain(`${file}: basic_auth_users.alice: expected a bcrypt hash`);
    expect(await ok()).toBe('stackwatch_web_config_last_reload_successful 0');
    expect(s.authConfigured()).toBe(false);

    const ca = makeCa(dir, 'ca');
    const srv = issue(dir, ca, 'srv');
    writeFileSync(file, `tls_server_config: { cert_file: ${srv.crt}, key_file: ${srv.key} }\n`);
    expect(await s.reload()).toContain('switching between TLS and plain HTTP takes a restart');
    expect(s.tlsEnabled).toBe(false);

    writeFileSync(file, users('bob'));
    expect(await s.reload()).toBeUndefined();
    expect(await ok()).toBe('stackwatch_web_config_last_reload_successful 1');
    expect(s.authConfigured()).toBe(true);
  });
});
