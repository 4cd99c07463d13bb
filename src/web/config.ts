import { closeSync, fstatSync, openSync, readSync, constants as fsc } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, ConfigErrors } from '../config/errors';

/**
 * The web configuration file (--web.config.file), in the Prometheus exporter-toolkit format:
 *
 *   tls_server_config: { cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans,
 *                        min_version, max_version, cipher_suites, curve_preferences,
 *                        prefer_server_cipher_suites }
 *   http_server_config: { headers, http2 }
 *   basic_auth_users: { <user>: <bcrypt hash> }
 *
 * Validated strictly: an unknown key is an error naming its path, as in the exporter's own
 * configuration. Messages never print a password hash or a header value.
 */

export const CLIENT_AUTH_TYPES = [
  'NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
export type TlsVersionName = keyof typeof TLS_VERSIONS;

/**
 * Go's cipher suite names (crypto/tls) and OpenSSL's names for the same suites. TLS 1.3 suites
 * are accepted, as Go accepts them, but like Go they are not configurable: TLS 1.3 always offers
 * its three suites.
 */
export const CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
};

/** Go's curve names and OpenSSL's. */
export const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519',
};

/** The response headers exporter-toolkit lets a web config set, with their allowed values (any when absent). */
export const ALLOWED_HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

export interface TlsServerConfig {
  certFile: string;
  keyFile: string;
  clientAuthType: ClientAuthType;
  clientCaFile?: string;
  clientAllowedSans: string[];
  minVersion: TlsVersionName;
  maxVersion: TlsVersionName;
  cipherSuites: string[];
  curvePreferences: string[];
  preferServerCipherSuites: boolean;
}

export interface WebConfig {
  /** The file it came from (absent: no --web.config.file, plain HTTP, no auth). */
  file?: string;
  tls?: TlsServerConfig;
  headers: Record<string, string>;
  /** user -> bcrypt hash */
  basicAuthUsers: Record<string, string>;
}

export const EMPTY_WEB_CONFIG: WebConfig = { headers: {}, basicAuthUsers: {} };

/** Largest web config file and certificate/key file read (anything larger is not one). */
export const MAX_WEB_FILE_BYTES = 1024 * 1024;

const BCRYPT = /^\$2[abxy]?\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/**
 * Reads a small regular file without ever blocking on a FIFO or reading a device without bound.
 * Throws an Error whose message says what is wrong (no file contents).
 */
export function readSmallFile(file: string, max = MAX_WEB_FILE_BYTES): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer must not hang the event loop.
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'ENOENT' ? 'file not found' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory, not a file' : (e.code ?? e.message), { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new Error('is a directory, not a file');
    if (!st.isFile()) throw new Error('is not a regular file');
    if (st.size > max) throw new Error(`is larger than ${max} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

export function loadWebConfigFile(file: string): WebConfig {
  let text: string;
  try {
    text = readSmallFile(file).toString('utf8');
  } catch (err) {
    throw new ConfigErrors([new ConfigError(file, '', `cannot read the web configuration file: ${(err as Error).message}`)]);
  }
  return parseWebConfig(text, file);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : typeof v);

export function parseWebConfig(text: string, file: string): WebConfig {
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigErrors(doc.errors.map((e) => {
      const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      return new ConfigError(file, where, `not valid YAML: ${e.message.split('\n')[0]}`);
    }));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new ConfigErrors([new ConfigError(file, '', `not valid YAML: ${(err as Error).message.split('\n')[0]}`)]);
  }
  const errors: ConfigError[] = [];
  const fail = (p: string, problem: string): void => { errors.push(new ConfigError(file, p, problem)); };
  const baseDir = path.dirname(path.resolve(file));
  const out: WebConfig = { file, headers: {}, basicAuthUsers: {} };

  if (!isObj(raw)) {
    fail('', `expected a mapping at the top level, got ${typeName(raw)}`);
    throw new ConfigErrors(errors);
  }
  const known = (o: Obj, at: string, keys: readonly string[]): void => {
    for (const k of Object.keys(o)) {
      if (!keys.includes(k)) fail(at === '' ? k : `${at}.${k}`, `unknown key (expected one of: ${keys.join(', ')})`);
    }
  };
  // Own keys only: `__proto__` from YAML is an ordinary (unknown) key here.
  known(raw, '', ['tls_server_config', 'http_server_config', 'basic_auth_users']);

  const str = (o: Obj, at: string, key: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') {
      fail(`${at}.${key}`, `expected a non-empty string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  };
  const list = (o: Obj, at: string, key: string): string[] => {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      fail(`${at}.${key}`, `expected a list of strings, got ${typeName(v)}`);
      return [];
    }
    return v.flatMap((x, i) => {
      if (typeof x === 'string') return [x];
      fail(`${at}.${key}[${i}]`, `expected a string, got ${typeName(x)}`);
      return [];
    });
  };
  const bool = (o: Obj, at: string, key: string, dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') {
      fail(`${at}.${key}`, `expected true or false, got ${typeName(v)}`);
      return dflt;
    }
    return v;
  };
  const filePath = (p: string): string => (path.isAbsolute(p) ? p : path.join(baseDir, p));

  const tlsRaw = raw.tls_server_config;
  if (tlsRaw !== undefined && tlsRaw !== null) {
    const at = 'tls_server_config';
    if (!isObj(tlsRaw)) fail(at, `expected a mapping, got ${typeName(tlsRaw)}`);
    else {
      known(tlsRaw, at, ['cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'client_allowed_sans',
        'min_version', 'max_version', 'cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites']);
      const certFile = str(tlsRaw, at, 'cert_file');
      const keyFile = str(tlsRaw, at, 'key_file');
      if (certFile === undefined && tlsRaw.cert_file === undefined) fail(`${at}.cert_file`, 'required when tls_server_config is set');
      if (keyFile === undefined && tlsRaw.key_file === undefined) fail(`${at}.key_file`, 'required when tls_server_config is set');
      let clientAuthType: ClientAuthType = 'NoClientCert';
      const cat = str(tlsRaw, at, 'client_auth_type');
      if (cat !== undefined) {
        if ((CLIENT_AUTH_TYPES as readonly string[]).includes(cat)) clientAuthType = cat as ClientAuthType;
        else fail(`${at}.client_auth_type`, `expected one of ${CLIENT_AUTH_TYPES.join(', ')}, got "${cat}"`);
      }
      const clientCaFile = str(tlsRaw, at, 'client_ca_file');
      if (clientCaFile === undefined && (clientAuthType === 'RequireAndVerifyClientCert' || clientAuthType === 'VerifyClientCertIfGiven')) {
        fail(`${at}.client_ca_file`, `required when client_auth_type is ${clientAuthType}`);
      }
      if (clientCaFile !== undefined && !(clientAuthType === 'RequireAndVerifyClientCert' || clientAuthType === 'VerifyClientCertIfGiven')) {
        fail(`${at}.client_ca_file`, `has no effect unless client_auth_type is RequireAndVerifyClientCert or VerifyClientCertIfGiven (it is ${clientAuthType})`);
      }
      const clientAllowedSans = list(tlsRaw, at, 'client_allowed_sans');
      if (clientAllowedSans.length > 0 && clientAuthType !== 'RequireAndVerifyClientCert') {
        fail(`${at}.client_allowed_sans`, 'needs client_auth_type: RequireAndVerifyClientCert');
      }
      const version = (key: string, dflt: TlsVersionName): TlsVersionName => {
        const v = str(tlsRaw, at, key);
        if (v === undefined) return dflt;
        if (v in TLS_VERSIONS) return v as TlsVersionName;
        fail(`${at}.${key}`, `expected one of ${Object.keys(TLS_VERSIONS).join(', ')}, got "${v}"`);
        return dflt;
      };
      const minVersion = version('min_version', 'TLS12');
      const maxVersion = version('max_version', 'TLS13');
      const order = Object.keys(TLS_VERSIONS);
      if (order.indexOf(minVersion) > order.indexOf(maxVersion)) fail(`${at}.min_version`, `${minVersion} is above max_version ${maxVersion}`);
      const cipherSuites = list(tlsRaw, at, 'cipher_suites');
      cipherSuites.forEach((c, i) => {
        if (!(c in CIPHER_SUITES)) fail(`${at}.cipher_suites[${i}]`, `unknown cipher suite "${c}" (expected Go names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`);
      });
      const curvePreferences = list(tlsRaw, at, 'curve_preferences');
      curvePreferences.forEach((c, i) => {
        if (!(c in CURVES)) fail(`${at}.curve_preferences[${i}]`, `unknown curve "${c}" (expected one of ${Object.keys(CURVES).join(', ')})`);
      });
      const preferServerCipherSuites = bool(tlsRaw, at, 'prefer_server_cipher_suites', true);
      if (certFile !== undefined && keyFile !== undefined) {
        out.tls = {
          certFile: filePath(certFile), keyFile: filePath(keyFile), clientAuthType, clientAllowedSans,
          minVersion, maxVersion, cipherSuites, curvePreferences, preferServerCipherSuites,
          ...(clientCaFile !== undefined ? { clientCaFile: filePath(clientCaFile) } : {}),
        };
      }
    }
  }

  const httpRaw = raw.http_server_config;
  if (httpRaw !== undefined && httpRaw !== null) {
    const at = 'http_server_config';
    if (!isObj(httpRaw)) fail(at, `expected a mapping, got ${typeName(httpRaw)}`);
    else {
      known(httpRaw, at, ['headers', 'http2']);
      if (bool(httpRaw, at, 'http2', false)) fail(`${at}.http2`, 'HTTP/2 is not served by stackwatch; remove the key or set it to false');
      const h = httpRaw.headers;
      if (h !== undefined && h !== null) {
        if (!isObj(h)) fail(`${at}.headers`, `expected a mapping, got ${typeName(h)}`);
        else {
          for (const [name, value] of Object.entries(h)) {
            const p = `${at}.headers.${name}`;
            if (!Object.prototype.hasOwnProperty.call(ALLOWED_HEADERS, name)) {
              fail(p, `this header cannot be configured (allowed: ${Object.keys(ALLOWED_HEADERS).join(', ')})`);
            } else if (typeof value !== 'string' || value === '' || /[\r\n\0]/.test(value)) {
              // The value is not echoed: header values may carry anything.
              fail(p, `expected a non-empty single-line string, got ${typeName(value)}`);
            } else {
              const allowed = ALLOWED_HEADERS[name];
              if (allowed !== undefined && !allowed.includes(value.toLowerCase())) fail(p, `expected one of ${allowed.join(', ')}`);
              else out.headers[name] = value;
            }
          }
        }
      }
    }
  }

  const usersRaw = raw.basic_auth_users;
  if (usersRaw !== undefined && usersRaw !== null) {
    const at = 'basic_auth_users';
    if (!isObj(usersRaw)) fail(at, `expected a mapping of user names to bcrypt hashes, got ${typeName(usersRaw)}`);
    else {
      for (const [user, hash] of Object.entries(usersRaw)) {
        const p = `${at}.${user}`;
        if (user === '' || user.includes(':')) fail(p, 'a user name must be non-empty and contain no colon');
        else if (typeof hash !== 'string' || !BCRYPT.test(hash)) {
          // Never print the value: it may be a plain password typed by mistake.
          fail(p, 'expected a bcrypt hash such as $2y$10$... (generate one with `htpasswd -nBC 10 "" | tr -d \':\\n\'`); the value is not shown');
        } else {
          const cost = Number(BCRYPT.exec(hash)![1]);
          if (cost < 4 || cost > 31) fail(p, 'bcrypt cost must be between 4 and 31; the value is not shown');
          else out.basicAuthUsers[user] = hash;
        }
      }
    }
  }

  if (errors.length > 0) throw new ConfigErrors(errors);
  return out;
}
