import { createSecureContext, type SecureContextOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import { ConfigError, ConfigErrors } from '../config/errors';
import { CIPHER_SUITES, CURVES, readSmallFile, TLS_VERSIONS, type TlsServerConfig } from './config';

/**
 * TLS for the exporter's own server, from the `tls_server_config` of the web config file:
 * certificate files are read (and checked to form a usable pair) here, so that a bad rotation
 * is refused before it is applied.
 */

export type ServerTlsOptions = SecureContextOptions & Pick<TlsOptions, 'requestCert' | 'rejectUnauthorized'>;

export function buildTlsOptions(tls: TlsServerConfig, file: string): ServerTlsOptions {
  const at = 'tls_server_config';
  const errors: ConfigError[] = [];
  const read = (key: string, p: string): Buffer | undefined => {
    try {
      return readSmallFile(p);
    } catch (err) {
      errors.push(new ConfigError(file, `${at}.${key}`, `cannot read ${p}: ${(err as Error).message}`));
      return undefined;
    }
  };
  const cert = read('cert_file', tls.certFile);
  const key = read('key_file', tls.keyFile);
  const ca = tls.clientCaFile !== undefined ? read('client_ca_file', tls.clientCaFile) : undefined;
  if (errors.length > 0) throw new ConfigErrors(errors);

  const ciphers = tls.cipherSuites.map((c) => CIPHER_SUITES[c]).filter((c): c is string => typeof c === 'string');
  const opts: ServerTlsOptions = {
    cert, key,
    minVersion: TLS_VERSIONS[tls.minVersion],
    maxVersion: TLS_VERSIONS[tls.maxVersion],
    honorCipherOrder: tls.preferServerCipherSuites,
    requestCert: tls.clientAuthType !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuthType === 'RequireAndVerifyClientCert',
    ...(ca !== undefined ? { ca } : {}),
    // TLS 1.3 suites are not configurable (as in Go): keep OpenSSL's three.
    ...(ciphers.length > 0 ? { ciphers: [...ciphers, 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'].join(':') } : {}),
    ...(tls.curvePreferences.length > 0 ? { ecdhCurve: tls.curvePreferences.map((c) => CURVES[c]).join(':') } : {}),
  };
  try {
    createSecureContext(opts);
  } catch (err) {
    const msg = (err as Error).message;
    const keyPath = /key|private/i.test(msg) ? 'key_file' : /cipher/i.test(msg) ? 'cipher_suites' : /curve/i.test(msg) ? 'curve_preferences' : 'cert_file';
    throw new ConfigErrors([new ConfigError(file, `${at}.${keyPath}`, `unusable TLS setup: ${msg.slice(0, 200)}`)]);
  }
  return opts;
}

/**
 * What exporter-toolkit's client_auth_type and client_allowed_sans demand of a TLS connection
 * once the handshake is done; returns why it is refused, or undefined when it may proceed.
 */
export function refuseClient(socket: TLSSocket, tls: TlsServerConfig): string | undefined {
  if (tls.clientAuthType === 'NoClientCert' || tls.clientAuthType === 'RequestClientCert') return undefined;
  const peer = socket.getPeerCertificate();
  const given = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0;
  if (!given) {
    return tls.clientAuthType === 'VerifyClientCertIfGiven' ? undefined : 'no client certificate';
  }
  if (tls.clientAuthType === 'RequireAnyClientCert') return undefined;
  if (!socket.authorized) return 'client certificate not verified by client_ca_file';
  if (tls.clientAllowedSans.length > 0) {
    const sans = (peer.subjectaltname ?? '').split(/,\s*/).map((s) => s.replace(/^(DNS|IP Address|email|URI):/, ''));
    if (!tls.clientAllowedSans.some((a) => sans.includes(a))) return 'client certificate names none of client_allowed_sans';
  }
  return undefined;
}
