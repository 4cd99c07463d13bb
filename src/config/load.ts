import path from 'node:path';
import { Composer, Lexer, LineCounter, Parser, YAMLParseError, type CST, type Document } from 'yaml';
import type { z } from 'zod';
import { runAtOnce, runInSlices } from '../loop-turn';
import { ConfigError, ConfigErrors, formatPath } from './errors';
import { FileProblem, MAX_CONFIG_BYTES, MAX_SECRET_BYTES, readBoundedFile } from './files';
import { configSchema, type Config } from './schema';

/**
 * Loading a configuration: YAML, then `${ENV}` interpolation in string values, then `*_file`
 * secrets, then the schema (defaults filled in, unknown keys rejected). Every problem is
 * reported with the file, the key path and what was expected; several at once where possible.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** Keys whose `<key>_file` form reads the value from a file (Docker/Kubernetes secrets). */
const SECRET_KEYS = ['password', 'username', 'bearer_token'] as const;

/**
 * Keys whose values are secrets: errors about them never show the value. `headers` covers every
 * header value (an API key is as secret as a token); `url` may carry `user:pass@`.
 */
const SECRET_PATH_KEYS = new Set(['url', 'password', 'username', 'bearer_token', 'headers', 'password_file', 'username_file', 'bearer_token_file']);

/** Whether a key path leads into a secret-bearing value. */
export function isSecretPath(at: readonly PropertyKey[]): boolean {
  return at.some((p) => typeof p === 'string' && SECRET_PATH_KEYS.has(p));
}

export function loadConfigFile(file: string, env: Env = process.env): Config {
  return runAtOnce(loadSteps(file, env));
}

/**
 * loadConfigFile for a running daemon (a reload): the same steps, in slices of a few
 * milliseconds with the event loop let through between them. Loading a config of a hundred
 * targets takes 30-40 ms (most of it reading the YAML), which probes, scrapes and timers would
 * otherwise wait for all at once. `sliceMs`: the slice (SLICE_MS when absent; tests pass 0).
 */
export async function loadConfigFileAsync(file: string, env: Env = process.env, sliceMs?: number): Promise<Config> {
  return (await runInSlices(loadSteps(file, env), () => false, sliceMs))!;
}

function* loadSteps(file: string, env: Env): Generator<undefined, Config> {
  const text = readConfigText(file);
  yield;
  return yield* parseSteps(text, file, env);
}

function* parseSteps(text: string, file: string, env: Env): Generator<undefined, Config> {
  const raw = yield* yamlSteps(text, file);
  yield;
  const resolved = resolveConfig(raw, file, env);
  yield;
  return validate(resolved, file);
}

/** A regular file of bounded size, opened without blocking (a FIFO or /dev/zero is refused). */
function readConfigText(file: string): string {
  try {
    return readBoundedFile(file, MAX_CONFIG_BYTES).toString('utf8');
  } catch (err) {
    const why = err instanceof FileProblem ? err.message : 'cannot read';
    throw new ConfigErrors([new ConfigError(file, '', `cannot read the configuration file: ${why}`)]);
  }
}

export function parseConfig(text: string, file: string, env: Env = process.env): Config {
  return runAtOnce(parseSteps(text, file, env));
}

/** The YAML document as plain data (see yamlSteps), in one go. */
export function parseYaml(text: string, file: string): unknown {
  return runAtOnce(yamlSteps(text, file));
}

/** Lexemes read between two steps of yamlSteps (a few hundred microseconds of work). */
const LEXEMES_PER_STEP = 64;

/**
 * The YAML document as plain data; syntax errors name their line and column, never a value.
 * What the yaml library's parseDocument does, with the lexing and parsing (two thirds of the work)
 * in steps; composing the document and converting it to data are one step each.
 */
export function* yamlSteps(text: string, file: string): Generator<undefined, unknown> {
  const lines = new LineCounter();
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  const tokens: CST.Token[] = [];
  let n = 0;
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (++n % LEXEMES_PER_STEP === 0) yield;
  }
  for (const token of parser.end()) tokens.push(token);
  yield;
  let doc: Document.Parsed | undefined;
  for (const d of new Composer({ uniqueKeys: true }).compose(tokens, true, text.length)) {
    if (doc === undefined) {
      doc = d;
      continue;
    }
    doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'the file holds more than one YAML document (a second --- line)'));
    break;
  }
  // compose(…, forceDoc) always ends with a document, if only an empty one.
  if (doc!.errors.length > 0) {
    throw new ConfigErrors(doc!.errors.map((e) => {
      const pos = e.pos[0] >= 0 ? lines.linePos(e.pos[0]) : undefined;
      const where = pos !== undefined ? `line ${pos.line}, column ${pos.col}` : '';
      // The yaml library quotes the offending token, which may be (part of) a secret: drop it.
      const msg = e.message.split('\n')[0]!.replace(/:? "[^"\n]*"/g, '');
      return new ConfigError(file, where, `not valid YAML: ${msg}`);
    }));
  }
  yield;
  try {
    return (doc!.toJS() as unknown) ?? {};
  } catch (err) {
    // The yaml library refuses documents whose aliases expand without bound ("billion laughs").
    const m = (err as Error).message;
    const why = /excessive alias/i.test(m) ? 'too many alias expansions (a YAML alias bomb?)'
      : /unresolved alias/i.test(m) ? 'an alias (*name) refers to no anchor (&name) before it' : 'cannot be converted to data';
    throw new ConfigErrors([new ConfigError(file, '', `not valid YAML: ${why}`)]);
  }
}

/** `${ENV}` interpolation and `*_file` secrets, over the parsed document. */
function resolveConfig(raw: unknown, file: string, env: Env): unknown {
  const errors: ConfigError[] = [];
  const baseDir = path.dirname(path.resolve(file));
  const resolved = resolveValues(raw, [], { file, env, baseDir, errors });
  if (errors.length > 0) throw new ConfigErrors(errors);
  return resolved;
}

/** Validates an already-parsed object (also used for the built-in default config). */
export function validate(raw: unknown, file: string): Config {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigErrors(result.error.issues.flatMap((issue) => issueToErrors(issue, file)));
}

interface Ctx {
  file: string;
  env: Env;
  baseDir: string;
  errors: ConfigError[];
}

function resolveValues(value: unknown, at: PropertyKey[], ctx: Ctx): unknown {
  if (typeof value === 'string') return interpolate(value, at, ctx);
  if (Array.isArray(value)) return value.map((v, i) => resolveValues(v, [...at, i], ctx));
  if (value === null || typeof value !== 'object') return value;
  // A null prototype: a key named `__proto__` stays a plain (unknown) key and changes nothing.
  const out = Object.create(null) as Record<string, unknown>;
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if (k === '__proto__') {
      ctx.errors.push(new ConfigError(ctx.file, formatPath([...at, k]), 'unknown key'));
      continue;
    }
    const secret = SECRET_KEYS.find((s) => k === `${s}_file`);
    if (secret === undefined) {
      out[k] = resolveValues(v, [...at, k], ctx);
      continue;
    }
    if (obj[secret] !== undefined) {
      ctx.errors.push(new ConfigError(ctx.file, formatPath([...at, k]), `set either ${secret} or ${k}, not both`));
      continue;
    }
    const p = resolveValues(v, [...at, k], ctx);
    if (typeof p !== 'string') {
      ctx.errors.push(new ConfigError(ctx.file, formatPath([...at, k]), 'expected a file path'));
      continue;
    }
    try {
      out[secret] = readBoundedFile(path.resolve(ctx.baseDir, p), MAX_SECRET_BYTES).toString('utf8').replace(/\r?\n$/, '');
    } catch (err) {
      const why = err instanceof FileProblem ? err.message : 'cannot read';
      ctx.errors.push(new ConfigError(ctx.file, formatPath([...at, k]), `cannot read secret file ${p}: ${why}`));
    }
  }
  return out;
}

/**
 * `${VAR}`, `${VAR:-default}` (the default may itself hold `${...}`, as in shells); `$${` stands
 * for a literal `${`. Unset or empty variables take the default.
 */
export function interpolate(s: string, at: PropertyKey[], ctx: Pick<Ctx, 'env' | 'errors' | 'file'>): string {
  return expand(s, 0, false, at, ctx).text;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Expands from `i`; inside a default (`nested`) it stops at the `}` closing it. */
function expand(s: string, i: number, nested: boolean, at: PropertyKey[], ctx: Pick<Ctx, 'env' | 'errors' | 'file'>): { text: string; end: number } {
  let out = '';
  while (i < s.length) {
    const c = s[i]!;
    if (nested && c === '}') return { text: out, end: i };
    if (c === '$' && s.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (c === '$' && s[i + 1] === '{') {
      const name = NAME.exec(s.slice(i + 2, i + 2 + 256))?.[0];
      const after = name === undefined ? -1 : i + 2 + name.length;
      if (name !== undefined && s[after] === '}') {
        out += lookupVar(name, undefined, at, ctx);
        i = after + 1;
        continue;
      }
      if (name !== undefined && s.startsWith(':-', after)) {
        // The default is expanded aside: its own unset variables matter only when it is used.
        const aside: ConfigError[] = [];
        const d = expand(s, after + 2, true, at, { ...ctx, errors: aside });
        if (d.end < s.length) {
          const v = ctx.env[name];
          if (v === undefined || v === '') ctx.errors.push(...aside);
          out += lookupVar(name, d.text, at, ctx);
          i = d.end + 1;
          continue;
        }
      }
    }
    out += c;
    i += 1;
  }
  return { text: out, end: i };
}

function lookupVar(name: string, dflt: string | undefined, at: PropertyKey[], ctx: Pick<Ctx, 'env' | 'errors' | 'file'>): string {
  const v = ctx.env[name];
  if (v !== undefined && v !== '') return v;
  if (dflt !== undefined) return dflt;
  ctx.errors.push(new ConfigError(ctx.file, formatPath(at), `environment variable ${name} is not set (use \${${name}:-default} for a default)`));
  return '';
}

/** A schema problem as configuration errors naming the key path (never a secret's value). */
export function issueToErrors(issue: z.core.$ZodIssue, file: string): ConfigError[] {
  const at = formatPath(issue.path);
  // Never show the value given for a secret-bearing key, whatever its type.
  const describe = isSecretPath(issue.path) ? describeSecret : describeValue;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => new ConfigError(file, formatPath([...issue.path, k]), 'unknown key'));
    case 'invalid_type': {
      const missing = issue.input === undefined;
      const msg = issue.message.replace(/^Invalid input: /, '').replace(/, received \w+$/, '');
      return [new ConfigError(file, at, missing ? `required: ${msg}` : `${msg}, got ${describe(issue.input)}`)];
    }
    case 'invalid_value':
      return [new ConfigError(file, at, `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}`)];
    case 'invalid_union': {
      const missing = issue.input === undefined;
      return [new ConfigError(file, at, missing ? `required: ${issue.message}` : `${issue.message}, got ${describe(issue.input)}`)];
    }
    default:
      return [new ConfigError(file, at, issue.message.replace(/^Invalid input: /, ''))];
  }
}

function describeSecret(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : `a ${typeof v} (value not shown: secret)`;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The configuration used when none is given: see ./defaults.ts. */
export type { Config };
