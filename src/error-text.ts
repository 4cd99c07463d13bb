/**
 * Error texts kept for the status page and logs are short: a target that answers with a 1 MB
 * status string must not make a 1 MB status page or a 1 MB log line per probe. Texts are built
 * from bounded parts only (never by serialising a whole body) and capped here once more.
 */

/** Longest error text kept per target. */
export const MAX_ERROR_CHARS = 256;

/** `text` cut to `max` characters, with a marker when it was cut. */
export function capText(text: string, max = MAX_ERROR_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 12)}... (cut)`;
}

/** The message of anything thrown, capped; never serialises the thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return capText(`${err.name}: ${err.message}`);
  return capText(typeof err === 'string' ? err : `non-error thrown (${typeof err})`);
}

/**
 * A short description of a JSON value for an error text: scalars as JSON (strings cut),
 * containers by kind and size, without walking them (a 100,000-deep body costs nothing).
 */
export function describeJsonValue(v: unknown, maxChars = 64): string {
  if (v === undefined) return 'nothing';
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > maxChars ? `${v.slice(0, maxChars)}...` : v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}
