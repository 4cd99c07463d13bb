import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';

/**
 * Reading files named by the configuration (the config itself, `*_file` secrets, TLS files)
 * without trusting them: only regular files, opened non-blocking (a FIFO never stalls the
 * event loop), read up to a size cap (so `/dev/zero` cannot fill the memory). Errors say what is
 * wrong with the file, never what is in it.
 */

/** Largest secret file (`password_file`, `bearer_token_file`, ...). */
export const MAX_SECRET_BYTES = 64 * 1024;
/** Largest configuration file. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Largest TLS file (a CA bundle can hold a few hundred certificates). */
export const MAX_TLS_BYTES = 1024 * 1024;

export class FileProblem extends Error {}

function describeCode(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'file not found';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'ELOOP': return 'too many symbolic links';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    default: return err.code ?? 'cannot open';
  }
}

/** Reads a regular file of at most `maxBytes`; throws FileProblem saying why it cannot. */
export function readBoundedFile(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new FileProblem(describeCode(err as NodeJS.ErrnoException));
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new FileProblem('is a directory');
    if (!st.isFile()) throw new FileProblem('not a regular file (a device, FIFO or socket)');
    if (st.size > maxBytes) throw new FileProblem(`larger than ${maxBytes} bytes`);
    // Read one byte more than allowed: a file growing while read is still caught.
    const buf = Buffer.alloc(Math.min(maxBytes + 1, st.size + 1));
    let n = 0;
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, n, buf.length - n, null);
      } catch (err) {
        throw new FileProblem(describeCode(err as NodeJS.ErrnoException));
      }
      if (got === 0) break;
      n += got;
      if (n > maxBytes) throw new FileProblem(`larger than ${maxBytes} bytes`);
      if (n === buf.length) break;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export type TlsFileKind = 'ca' | 'cert' | 'key';

/**
 * Reads a TLS file and checks that it holds what it is named for: certificates (PEM, at least
 * one) for `ca`/`cert`, a private key for `key`. Returns the bytes to hand to Node's TLS.
 */
export function readTlsFile(path: string, kind: TlsFileKind): Buffer {
  const data = readBoundedFile(path, MAX_TLS_BYTES);
  if (kind === 'key') {
    try {
      createPrivateKey(data);
    } catch {
      throw new FileProblem('not a private key (PEM or DER)');
    }
    return data;
  }
  const text = data.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) new X509Certificate(data);
    else for (const b of blocks) new X509Certificate(b);
  } catch {
    throw new FileProblem('not a certificate (PEM or DER)');
  }
  return data;
}
