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

/** Compiles a user pattern; throws an Error with RE2's message when it is not valid RE2 syntax. */
export function compileUserRegex(source: string): UserRegex {
  // The `u` flag is required by re2-wasm; patterns are matched anywhere in the text, as in JS.
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
