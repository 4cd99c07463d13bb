import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
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

/** A regular expression given as text; checked when the config loads. */
export const regex = z.string({ error: 'expected a regular expression (text)' }).superRefine((v, ctx) => {
  try {
    new RegExp(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
  }
});

/** Flap damping, shared by every kind of target. */
export const dampingShape = {
  failure_threshold: z.number().int().min(1).max(100).default(1),
  success_threshold: z.number().int().min(1).max(100).default(1),
};

/** A path to a file that must be readable when the config loads. */
export const readableFile = z.string({ error: 'expected a file path' }).superRefine((v, ctx) => {
  try {
    accessSync(v, constants.R_OK);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `cannot read file ${v} (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
  }
});

export const tlsSchema = z.strictObject({
  ca_file: readableFile.optional(),
  cert_file: readableFile.optional(),
  key_file: readableFile.optional(),
  server_name: z.string().optional(),
  insecure_skip_verify: z.boolean().default(false),
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
