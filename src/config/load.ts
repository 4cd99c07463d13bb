import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError, ConfigErrors, formatPath } from './errors';
import { configSchema, type Config } from './schema';

/**
 * Loading a configuration: YAML, then `${ENV}` interpolation in string values, then `*_file`
 * secrets, then the schema (defaults filled in, unknown keys rejected). Every problem is
 * reported with the file, the key path and what was expected; several at once where possible.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** Keys whose `<key>_file` form reads the value from a file (Docker/Kubernetes secrets). */
const SECRET_KEYS = ['password', 'username', 'bearer_token'] as const;

export function loadConfigFile(file: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'file not found' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new ConfigErrors([new ConfigError(file, '', `cannot read the configuration file: ${why}`)]);
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string, env: Env = process.env): Config {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigErrors(doc.errors.map((e) => {
      const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      return new ConfigError(file, where, `not valid YAML: ${e.message.split('\n')[0]}`);
    }));
  }
  const raw: unknown = doc.toJS() ?? {};
  const errors: ConfigError[] = [];
  const baseDir = path.dirname(path.resolve(file));
  const resolved = resolveValues(raw, [], { file, env, baseDir, errors });
  if (errors.length > 0) throw new ConfigErrors(errors);
  return validate(resolved, file);
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
  const out: Record<string, unknown> = {};
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
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
      out[secret] = readFileSync(path.resolve(ctx.baseDir, p), 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      ctx.errors.push(new ConfigError(ctx.file, formatPath([...at, k]), `cannot read secret file ${p} (${code})`));
    }
  }
  return out;
}

/** `${VAR}`, `${VAR:-default}`; `$${` stands for a literal `${`. */
function interpolate(s: string, at: PropertyKey[], ctx: Ctx): string {
  return s.replace(/\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, escaped: string | undefined, name: string, dflt: string | undefined) => {
    if (escaped !== undefined) return whole.slice(1);
    const v = ctx.env[name];
    if (v !== undefined && v !== '') return v;
    if (dflt !== undefined) return dflt;
    ctx.errors.push(new ConfigError(ctx.file, formatPath(at), `environment variable ${name} is not set (use \${${name}:-default} for a default)`));
    return '';
  });
}

function issueToErrors(issue: z.core.$ZodIssue, file: string): ConfigError[] {
  const at = formatPath(issue.path);
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

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The configuration used when none is given: see ./defaults.ts. */
export type { Config };
