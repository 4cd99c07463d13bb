import type { RE2 as RE2Type } from 're2-wasm';

/**
 * Regular expressions written by users (process `comm`/`exe`/`cmdline`, Docker name filters) are
 * matched with RE2, whose time is linear in the input: a pattern like `^(a+)+$` against a
 * command line any local user can choose cannot stall the exporter. RE2 has no backreferences or
 * lookaround; such patterns are rejected when the configuration loads.
 *
 * re2-wasm is used rather than the native `re2` binding (whose install downloads a prebuilt
 * binary or needs a compiler and Node headers) or V8's backtracking fallback flag (which must be
 * on the node command line of every way the daemon starts, jest included, and still backtracks
 * for patterns the fallback engine cannot run).
 */

/** What a user pattern can do: test a text. */
export interface UserRegex {
  readonly source: string;
  test(text: string): boolean;
}

let engine: typeof RE2Type | undefined;

/**
 * re2-wasm's module costs about 10 MB of RSS: it is loaded at the first pattern, so a
 * configuration without patterns (the built-in default) does not pay for it. A plain require:
 * import() would need jest's experimental VM modules.
 */
function re2(): typeof RE2Type {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  engine ??= (require('re2-wasm') as typeof import('re2-wasm')).RE2;
  return engine;
}

/** Characters with a meaning in a pattern; escaped (`\\.`), they stand for themselves. */
const META = new Set('\\.^$|?*+()[]{}'.split(''));
/** Punctuation that may be escaped in a literal (the metacharacters, `/` and `-`). */
const ESCAPABLE = new Set([...META, '/', '-']);

/**
 * The text a pattern stands for when it is a plain literal, optionally anchored (`^/api/chatbot/`,
 * `nginx`, `\\.js$`), else undefined. Such a pattern is matched with startsWith/endsWith/includes,
 * which is exactly what RE2 answers for it, without crossing into WebAssembly for every text
 * (most route, process and container patterns are literals, and a log collector tests one per
 * line).
 */
export function literalOf(source: string): { text: string; start: boolean; end: boolean } | undefined {
  let i = 0;
  const start = source.startsWith('^');
  if (start) i = 1;
  let text = '';
  let end = false;
  for (; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined || !ESCAPABLE.has(next)) return undefined;
      text += next;
      i += 1;
    } else if (c === '$' && i === source.length - 1) {
      end = true;
    } else if (META.has(c)) {
      return undefined;
    } else {
      text += c;
    }
  }
  return { text, start, end };
}

/** Compiles a user pattern; throws an Error with RE2's message when it is not valid RE2 syntax. */
export function compileUserRegex(source: string): UserRegex {
  const lit = literalOf(source);
  if (lit !== undefined) {
    const { text, start, end } = lit;
    const test = start && end ? (s: string) => s === text
      : start ? (s: string) => s.startsWith(text)
        : end ? (s: string) => s.endsWith(text)
          : (s: string) => s.includes(text);
    return { source, test };
  }
  // The `u` flag is required by re2-wasm; patterns are matched anywhere in the text, as in JS.
  const re = new (re2())(source, 'u');
  return { source, test: (text: string) => re.test(text) };
}

/** Compiles a pattern with RE2 whether or not it is a literal (tests compare the two). */
export function compileWithRe2(source: string): UserRegex {
  const re = new (re2())(source, 'u');
  return { source, test: (text: string) => re.test(text) };
}

/** Why a pattern is not usable, or undefined when it is. */
export function userRegexProblem(source: string): string | undefined {
  try {
    compileUserRegex(source);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^Invalid regular expression: \/.*\/u: /s, '');
  }
}
