import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import bcrypt from 'bcryptjs';
import { ConfigErrors } from '../../src/config/errors';
import { parseWebConfig, readSmallFile } from '../../src/web/config';
import { buildTlsOptions } from '../../src/web/tls';
import { issue, makeCa } from '../harness/certs';

const HASH = bcrypt.hashSync('pw', 4);

function errorsOf(text: string): string[] {
  try {
    parseWebConfig(text, 'web.yml');
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  throw new Error('expected the web config to be refused');
}

let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'sw-webcfg-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('web config file (exporter-toolkit format)', () => {
  it('accepts every documented key and maps Go names to OpenSSL names', () => {
    const c = parseWebConfig(`
tls_server_config:
  cert_file: server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [scraper]
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: '${HASH}'
`, '/etc/sw/web.yml');
    expect(c.tls).toEqual({
      certFile: '/etc/sw/server.crt', keyFile: '/abs/server.key', clientCaFile: '/etc/sw/ca.crt',
      clientAuthType: 'RequireAndVerifyClientCert', clientAllowedSans: ['scraper'], minVersion: 'TLS12', maxVersion: 'TLS13',
      cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256'], curvePreferences: ['X25519', 'CurveP256'],
      preferServerCipherSuites: false,
    });
    expect(c.headers).toEqual({ 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
    expect(c.basicAuthUsers).toEqual({ alice: HASH });
    expect(parseWebConfig('', 'empty.yml')).toEqual({ file: 'empty.yml', headers: {}, basicAuthUsers: {} });
  });

  it.each([
    ['an unknown top-level key', 'tls_config: {}\n', 'web.yml: tls_config: unknown key'],
    ['an unknown TLS key', 'tls_server_config: { cert_file: a, key_file: b, certfile: c }\n', 'web.yml: tls_server_config.certfile: unknown key'],
    ['an unknown HTTP key', 'http_server_config: { header: {} }\n', 'web.yml: http_server_config.header: unknown key'],
    ['a __proto__ key', '__proto__: { polluted: true }\n', 'web.yml: __proto__: unknown key'],
    ['a missing key file', 'tls_server_config: { cert_file: a }\n', 'web.yml: tls_server_config.key_file: required when tls_server_config is set'],
    ['a bad client_auth_type', 'tls_server_config: { cert_file: a, key_file: b, client_auth_type: Always }\n', 'web.yml: tls_server_config.client_auth_type: expected one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert, got "Always"'],
    ['verification without a CA', 'tls_server_config: { cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert }\n', 'web.yml: tls_server_config.client_ca_file: required when client_auth_type is RequireAndVerifyClientCert'],
    ['a bad min_version', 'tls_server_config: { cert_file: a, key_file: b, min_version: TLS1.2 }\n', 'web.yml: tls_server_config.min_version: expected one of TLS10, TLS11, TLS12, TLS13, got "TLS1.2"'],
    ['min above max', 'tls_server_config: { cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12 }\n', 'web.yml: tls_server_config.min_version: TLS13 is above max_version TLS12'],
    ['an unknown cipher suite', 'tls_server_config: { cert_file: a, key_file: b, cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ECDHE-RSA-AES128-GCM-SHA256] }\n', 'web.yml: tls_server_config.cipher_suites[1]: unknown cipher suite "ECDHE-RSA-AES128-GCM-SHA256"'],
    ['an unknown curve', 'tls_server_config: { cert_file: a, key_file: b, curve_preferences: [P256] }\n', 'web.yml: tls_server_config.curve_preferences[0]: unknown curve "P256"'],
    ['a header that cannot be set', 'http_server_config: { headers: { Server: nginx } }\n', 'web.yml: http_server_config.headers.Server: this header cannot be configured'],
    ['a bad X-Frame-Options', 'http_server_config: { headers: { X-Frame-Options: allow } }\n', 'web.yml: http_server_config.headers.X-Frame-Options: expected one of deny, sameorigin'],
    ['HTTP/2', 'http_server_config: { http2: true }\n', 'web.yml: http_server_config.http2: HTTP/2 is not served by stackwatch'],
    ['a user name with a colon', `basic_auth_users: { "a:b": '${HASH}' }\n`, 'web.yml: basic_auth_users.a:b: a user name must be non-empty and contain no colon'],
    ['a wrong type', 'basic_auth_users: [alice]\n', 'web.yml: basic_auth_users: expected a mapping of user names to bcrypt hashes, got a list'],
  ])('refuses %s, naming the key path', (_what, text, message) => {
    expect(errorsOf(text).some((e) => e.startsWith(message))).toBe(true);
  });

  it('never prints a password given instead of a hash, nor a header value', () => {
    const errs = errorsOf('basic_auth_users:\n  alice: Marker-Plain-84736251\n  bob: 84736251\nhttp_server_config:\n  headers: { X-XSS-Protection: ["Marker-Header-Value"] }\n').join('\n');
    expect(errs).toContain('basic_auth_users.alice: expected a bcrypt hash');
    expect(errs).toContain('basic_auth_users.bob: expected a bcrypt hash');
    expect(errs).toContain('http_server_config.headers.X-XSS-Protection');
    expect(errs).not.toMatch(/Marker|84736251/);
  });

  it('reports YAML errors and alias bombs as configuration errors', () => {
    expect(errorsOf('tls_server_config: [\n')[0]).toMatch(/^web\.yml: line \d+, column \d+: not valid YAML/);
    const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n';
    expect(errorsOf(bomb)[0]).toMatch(/^web\.yml: (line .*: )?not valid YAML/);
  });
});

describe('reading the web config and certificate files', () => {
  it('refuses a FIFO without blocking, a directory and a device', () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => readSmallFile(fifo)).toThrow('is not a regular file');
    expect(() => readSmallFile(dir)).toThrow('is a directory, not a file');
    expect(() => readSmallFile('/dev/zero')).toThrow('is not a regular file');
    expect(() => readSmallFile(path.join(dir, 'nope'))).toThrow('file not found');
    const big = path.join(dir, 'big');
    writeFileSync(big, Buffer.alloc(2 * 1024 * 1024));
    expect(() => readSmallFile(big)).toThrow('is larger than 1048576 bytes');
  });

  it('checks certificate files at load, naming the key that is wrong', () => {
    const d = path.join(dir, 'certs');
    mkdirSync(d);
    const ca = makeCa(d, 'ca');
    const a = issue(d, ca, 'a');
    const b = issue(d, ca, 'b');
    const tls = (o: object) => parseWebConfig(`tls_server_config: ${JSON.stringify(o)}\n`, path.join(d, 'web.yml')).tls!;
    expect(buildTlsOptions(tls({ cert_file: a.crt, key_file: a.key }), 'web.yml').cert).toBeDefined();
    const mismatch = () => buildTlsOptions(tls({ cert_file: a.crt, key_file: b.key }), 'web.yml');
    expect(mismatch).toThrow(/^web\.yml: tls_server_config\.key_file: unusable TLS setup/);
    const missing = () => buildTlsOptions(tls({ cert_file: 'gone.crt', key_file: a.key }), 'web.yml');
    expect(missing).toThrow(`web.yml: tls_server_config.cert_file: cannot read ${path.join(d, 'gone.crt')}: file not found`);
    copyFileSync(a.key, path.join(d, 'key-as-cert.pem'));
    expect(() => buildTlsOptions(tls({ cert_file: 'key-as-cert.pem', key_file: a.key }), 'web.yml')).toThrow(/tls_server_config\.cert_file: unusable TLS setup/);
    const ciphers = buildTlsOptions(tls({ cert_file: a.crt, key_file: a.key, cipher_suites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'] }), 'web.yml').ciphers;
    expect(ciphers?.split(':')[0]).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
  });
});

describe('examples/web-config.yml', () => {
  it('is valid, and its hash is the one its comment says', () => {
    const file = path.join(__dirname, '..', '..', 'examples', 'web-config.yml');
    const c = parseWebConfig(readFileSync(file, 'utf8'), file);
    expect(c.tls?.certFile).toBe('/etc/stackwatch/tls/tls.crt');
    expect(bcrypt.compareSync('change me', c.basicAuthUsers.prometheus!)).toBe(true);
  });
});

describe('TLS settings in a handshake', () => {
  async function handshake(webTls: object, client: tls.ConnectionOptions): Promise<string> {
    const d = path.join(dir, `hs-${Math.random()}`);
    mkdirSync(d);
    const ca = makeCa(d, 'ca');
    const srv = issue(d, ca, 'srv');
    const cfg = parseWebConfig(`tls_server_config: ${JSON.stringify({ cert_file: srv.crt, key_file: srv.key, ...webTls })}\n`, path.join(d, 'web.yml')).tls!;
    const server = tls.createServer(buildTlsOptions(cfg, 'web.yml'), (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      return await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(ca.crt), ...client }, () => {
          const got = `${s.getProtocol()} ${s.getCipher().name}`;
          s.destroy();
          resolve(got);
        });
        s.on('error', reject);
      });
    } finally {
      server.close();
    }
  }

  it('offers only the configured TLS 1.2 cipher suites', async () => {
    const only = { cipher_suites: ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'], max_version: 'TLS12' };
    expect(await handshake(only, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384' })).toBe('TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384');
    await expect(handshake(only, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).rejects.toThrow();
  });

  it('keeps to min_version and max_version', async () => {
    await expect(handshake({ min_version: 'TLS13' }, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
    expect(await handshake({ max_version: 'TLS12' }, {})).toMatch(/^TLSv1\.2 /);
    expect(await handshake({}, {})).toMatch(/^TLSv1\.3 /);
  });
});
