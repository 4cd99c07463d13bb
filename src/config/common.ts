import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { userRegexProblem } from '../user-regex';
import { FileProblem, readTlsFile, type TlsFileKind } from './files';
import { parseDuration } from './duration';

/** A duration (`500ms`, `5s`, `2m`) or a number of seconds; parsed to seconds. */
export const duration = z
  .union([z.string(), z.number()], { error: 'expected a duration like 500ms, 5s or 2m' })
  .transform((v, ctx) => {
    const s = parseDuration(v);
    if (s === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 5s or 2m, got "${String(v)}"` });
      return z.NEVER;
    }
    return s;
  });

/** A name that becomes a label value: non-empty, printable, bounded. */
export const targetName = z
  .string({ error: 'expected a name (text)' })
  .regex(/^[\p{L}\p{N}_.:/-][\p{L}\p{N}_.:/ -]{0,99}$/u, 'expected a name of 1-100 letters, digits, spaces or _ . : / -');

/**
 * A regular expression given as text, in JavaScript syntax, matched in linear time (no
 * backreferences or lookaround; see src/user-regex.ts); checked when the config loads.
 */
export const regex = z.string({ error: 'expected a regular expression (text)' }).superRefine((v, ctx) => {
  const problem = userRegexProblem(v);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: `not a usable regular expression (matched in linear time: no backreferences or lookaround): ${problem}` });
  }
});

/** Flap damping, shared by every kind of target. */
export const dampingShape = {
  failure_threshold: z.number().int().min(1).max(100).default(1),
  success_threshold: z.number().int().min(1).max(100).default(1),
};

/**
 * A TLS file that must be usable when the config loads: a readable regular file holding
 * certificates (`ca`, `cert`) or a private key (`key`). What --check-config accepts also starts.
 */
const tlsFile = (kind: TlsFileKind) => z.string({ error: 'expected a file path' }).superRefine((v, ctx) => {
  try {
    readTlsFile(v, kind);
  } catch (err) {
    const why = err instanceof FileProblem ? err.message : 'cannot read';
    ctx.addIssue({ code: 'custom', message: `cannot use file ${v}: ${why}` });
  }
});

export const tlsSchema = z.strictObject({
  ca_file: tlsFile('ca').optional(),
  cert_file: tlsFile('cert').optional(),
  key_file: tlsFile('key').optional(),
  server_name: z.string().optional(),
  insecure_skip_verify: z.boolean().default(false),
}).superRefine((t, ctx) => {
  // A client certificate needs its key, and the two must belong together.
  if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
    ctx.addIssue({ code: 'custom', path: [t.cert_file === undefined ? 'cert_file' : 'key_file'], message: 'cert_file and key_file go together: set both or neither' });
    return;
  }
  if (t.cert_file === undefined || t.key_file === undefined) return;
  try {
    createSecureContext({ cert: readTlsFile(t.cert_file, 'cert'), key: readTlsFile(t.key_file, 'key') });
  } catch (err) {
    if (err instanceof FileProblem) return; // already reported for the file itself
    ctx.addIssue({ code: 'custom', path: ['key_file'], message: 'the private key does not belong to cert_file' });
  }
});

/** Rejects two list entries with the same `name` (they would share one label value). */
export function uniqueNames<T extends { name: string }>(list: T[], ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  list.forEach((item, i) => {
    const prev = seen.get(item.name);
    if (prev !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name "${item.name}" (also at index ${prev})` });
    }
    seen.set(item.name, i);
  });
}
