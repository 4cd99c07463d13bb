import { statSync } from 'node:fs';

/**
 * A string that changes when a configuration value changes, or when a file it names (any
 * `*_file` key: TLS certificates and keys, secrets) is replaced or rewritten, so that a reload
 * after a certificate rotation applies it although the configuration text is the same.
 *
 * The value's JSON, then each named file with its stamp: JSON.stringify without a replacer
 * function keeps V8's fast path (with one, a config of a hundred targets took ~10 ms per reload,
 * in one piece), and the files are found by a walk of their own.
 */
export function fingerprint(value: unknown): string {
  const files: string[] = [];
  namedFiles(value, files);
  let out = JSON.stringify(value) ?? 'undefined';
  for (const f of files) out += `\u0000${f}\u0000${fileStamp(f)}`;
  return out;
}

/** The values of `*_file` keys in `value`, in JSON's order. */
function namedFiles(value: unknown, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) namedFiles(v, out);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k.endsWith('_file') && typeof v === 'string') out.push(v);
    else namedFiles(v, out);
  }
}

function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'absent';
  }
}
