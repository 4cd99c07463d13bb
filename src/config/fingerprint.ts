import { statSync } from 'node:fs';

/**
 * A string that changes when a configuration value changes, or when a file it names (any
 * `*_file` key: TLS certificates and keys, secrets) is replaced or rewritten, so that a reload
 * after a certificate rotation applies it although the configuration text is the same.
 */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => (key.endsWith('_file') && typeof v === 'string' ? `${v}\u0000${fileStamp(v)}` : v));
}

function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'absent';
  }
}
