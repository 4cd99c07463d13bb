import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireBinary } from './require-binary';

/** Throw-away certificates made with openssl, for the TLS tests of the exporter's own server. */

export interface KeyPair {
  crt: string;
  key: string;
}

function openssl(dir: string, ...args: string[]): void {
  const bin = requireBinary('openssl', 'apt-get install -y openssl');
  execFileSync(bin, args, { cwd: dir, stdio: 'pipe', timeout: 20_000 });
}

export function makeCa(dir: string, name: string): KeyPair {
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`);
  return { crt: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** A certificate signed by `ca`: a server one for 127.0.0.1, or a client one. */
export function issue(dir: string, ca: KeyPair, name: string, o: { client?: boolean; san?: string } = {}): KeyPair {
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.csr`);
  const ext = o.client
    ? `subjectAltName=${o.san ?? `DNS:${name}`}\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n`
    : `subjectAltName=${o.san ?? 'IP:127.0.0.1'}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`;
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', ca.crt, '-CAkey', ca.key, '-CAcreateserial', '-days', '2',
    '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  return { crt: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}
