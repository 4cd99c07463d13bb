import { setFlagsFromString } from 'node:v8';

/**
 * Regular expressions written by users (process `comm`/`exe`/`cmdline`, Docker name filters, log
 * routes) are matched against text that others choose (a command line any local user can set, a
 * container name, a request path anyone can send): they run on V8's linear-time RegExp engine (the
 * `l` flag), whose time is linear in the text, so a pattern like `^(a+)+$` cannot stall the
 * exporter whatever the text.
 *
 * The syntax is JavaScript's (without the `u` flag), minus what cannot run in linear time:
 * backreferences, lookahead and lookbehind, and counted repetitions (`{n}`, `{n,m}`) that repeat
 * more than 16 times in all. Flags (`(?i)`), Unicode property classes (`\p{L}`) and POSIX classes
 * (`[[:alpha:]]`) are rejected with a message rather than read as something else. `.` and a
 * negated class match one UTF-16 unit: a character outside the Basic Multilingual Plane (an emoji)
 * counts as two.
 *
 * The engine is switched on at the first pattern with v8.setFlagsFromString, so it needs no node
 * flag on any command line (npm start, the image, the systemd unit, jest). It replaced re2-wasm,
 * whose WebAssembly memory took 17.6 MB of RSS as soon as one pattern was compiled.
 */

/** What a user pattern can do: test a text. */
export interface UserRegex {
  readonly source: string;
  test(text: string): boolean;
}

let linearReady = false;
/** The flag that puts a RegExp on the linear-time engine (unknown to linters, hence a constant). */
const LINEAR = 'l';

/** Switches on V8's linear-time engine (once); throws when this Node.js has none. */
function linearEngine(): void {
  if (linearReady) return;
  setFlagsFromString('--enable-experimental-regexp-engine');
  try {
    new RegExp('a', LINEAR);
  } catch {
    throw new Error(`this Node.js (${process.version}) has no linear-time RegExp engine (V8 flag --enable-experimental-regexp-engine)`);
  }
  linearReady = true;
}

/** Characters with a meaning in a pattern; escaped (`\\.`), they stand for themselves. */
const META = new Set('\\.^$|?*+()[]{}'.split(''));
/** Punctuation that may be escaped in a literal (the metacharacters, `/` and `-`). */
const ESCAPABLE = new Set([...META, '/', '-']);

/**
 * The text a pattern stands for when it is a plain literal, optionally anchored (`^/api/chatbot/`,
 * `nginx`, `\\.js$`), else undefined. Such a pattern is matched with startsWith/endsWith/includes,
 * which is exactly what the regular expression answers for it, and several times faster (most
 * route, process and container patterns are literals, and a log collector tests one per line).
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

/**
 * Constructs that JavaScript without the `u` flag would read as something other than what a user
 * coming from RE2, PCRE or Unicode-mode JavaScript meant: rejected with the reason.
 */
function unsupported(source: string): string | undefined {
  if (/[\uD800-\uDFFF]/.test(source)) return 'characters outside the Basic Multilingual Plane (such as emoji) are not supported in a pattern';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === 'p' || next === 'P') return `Unicode property classes (\\${next}) are not supported`;
      if (next === 'u' && source[i + 2] === '{') return 'code point escapes (\\u{...}) are not supported; use \\uXXXX';
      i += 1;
    } else if (!inClass && c === '(' && /^\(\?[a-zA-Z-]/.test(source.slice(i, i + 3))) {
      return 'inline flags such as (?i) are not supported; write the cases out, e.g. [Nn]ginx';
    } else if (!inClass && c === '(' && /^\(\?<?[=!]/.test(source.slice(i, i + 4))) {
      // Node.js 24 runs some lookbehinds in linear time, Node.js 20 none: refused on both, so that a
      // configuration loads on every supported version or on none.
      return 'lookahead and lookbehind are not supported (they cannot be matched in linear time)';
    } else if (inClass) {
      if (c === ']') inClass = false;
      else if (c === '[' && /^\[:\^?[a-z]+:\]/.test(source.slice(i, i + 12))) return 'POSIX classes ([:alpha:]) are not supported; write the characters, e.g. [a-zA-Z]';
    } else if (c === '[') {
      // RE2 and POSIX read a `]` first in a class as a character; JavaScript reads `[]` as a class
      // matching nothing and `[^]` as one matching anything.
      if (source.startsWith(']', i + 1) || source.startsWith('^]', i + 1)) return 'a class cannot start with `]`; escape it: [\\]...]';
      inClass = true;
    }
  }
  return undefined;
}

/** Characters that keep their escape in the Unicode-mode check (its syntax characters). */
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

/**
 * The pattern for the strict (Unicode-mode) syntax check: an escaped punctuation character that
 * Unicode mode does not allow escaped (`\\-` outside a class, `\\:`, `\\_`, `\\#`) is written bare,
 * which means the same character in both modes.
 */
function forStrictCheck(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      const bare = /^[!-/:-@[-`{-~]$/.test(next) && !SYNTAX.has(next) && !(next === '-' && inClass);
      out += bare ? next : c + next;
      i += 1;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    out += c;
  }
  return out;
}

/** V8's message without its `Invalid regular expression: /.../flags: ` prefix. */
function reason(err: unknown): string {
  return (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
}

/** The pattern on the linear-time engine; throws an Error saying why it cannot be used. */
export function compileLinear(source: string): UserRegex {
  linearEngine();
  const bad = unsupported(source);
  if (bad !== undefined) throw new Error(bad);
  // The strict (Unicode-mode) parser rejects escapes and braces that the lenient one would take
  // as literal characters (`\A`, `\z`, `\Q`, `a{,3}`, `(?i)`). Parsed only, never run.
  try {
    new RegExp(forStrictCheck(source), 'u');
  } catch (err) {
    throw new Error(reason(err), { cause: err });
  }
  let re: RegExp;
  try {
    re = new RegExp(source, LINEAR);
  } catch (err) {
    const why = reason(err);
    if (!/linear time/i.test(why)) throw new Error(why, { cause: err });
    throw new Error('cannot be matched in linear time: backreferences are not supported, and counted repetitions ({n}, {n,m}) may repeat at most 16 times in all', { cause: err });
  }
  return { source, test: (text: string) => re.test(text) };
}

/** Compiles a user pattern; throws an Error saying why it cannot be used. */
export function compileUserRegex(source: string): UserRegex {
  const lit = literalOf(source);
  if (lit === undefined) return compileLinear(source);
  const { text, start, end } = lit;
  const test = start && end ? (s: string) => s === text
    : start ? (s: string) => s.startsWith(text)
      : end ? (s: string) => s.endsWith(text)
        : (s: string) => s.includes(text);
  return { source, test };
}

/** Why a pattern is not usable, or undefined when it is. */
export function userRegexProblem(source: string): string | undefined {
  try {
    compileUserRegex(source);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
