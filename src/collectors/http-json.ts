/**
 * Reading a health endpoint's JSON body: paths, the tri-state status, numeric fields and
 * conditions. Pure functions, unit-tested in test/unit/http-json.test.ts.
 */

import { HEALTH_STATUSES as STATUSES, type HealthStatus } from '../metrics/definitions';

export type { HealthStatus };
export const HEALTH_STATUSES: readonly HealthStatus[] = STATUSES.values;

export type StatusMap = Record<Exclude<HealthStatus, 'unknown'>, readonly string[]>;

export const DEFAULT_STATUS_MAP: StatusMap = {
  healthy: ['healthy', 'ok', 'up', 'pass', 'passing', 'green', 'true'],
  degraded: ['degraded', 'warn', 'warning', 'yellow', 'partial'],
  unhealthy: ['unhealthy', 'down', 'fail', 'failing', 'error', 'critical', 'red', 'false'],
};

/** `a.b.0.c`, `a.b[0].c` and `"a"` address into parsed JSON. Returns the segments. */
export function parsePath(path: string): string[] | undefined {
  const text = path.trim();
  if (text === '') return undefined;
  const segs: string[] = [];
  for (const raw of text.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(raw);
    if (m === null) return undefined;
    if (m[1] !== '') segs.push(m[1]!);
    else if (m[2] === '') return undefined;
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) segs.push(idx[1]!);
  }
  return segs;
}

export function lookup(value: unknown, segs: readonly string[]): unknown {
  let cur: unknown = value;
  for (const s of segs) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(s)) return undefined;
      cur = cur[Number(s)];
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, s)) return undefined;
      cur = (cur as Record<string, unknown>)[s];
    }
  }
  return cur;
}

/** Each status map's words, lower-cased, to their status (made on the map's first use; a map is not changed once used). */
const lowered = new WeakMap<StatusMap, ReadonlyMap<string, HealthStatus>>();

function wordsOf(map: StatusMap): ReadonlyMap<string, HealthStatus> {
  let words = lowered.get(map);
  if (words === undefined) {
    const m = new Map<string, HealthStatus>();
    // In reverse, so that a word listed under two statuses maps to the first (healthy, degraded, unhealthy).
    for (const status of ['unhealthy', 'degraded', 'healthy'] as const) {
      for (const v of map[status]) m.set(v.toLowerCase(), status);
    }
    lowered.set(map, (words = m));
  }
  return words;
}

/** Maps the body's status string (case-insensitive) to the tri-state status. */
export function mapStatus(raw: unknown, map: StatusMap): HealthStatus {
  if (typeof raw === 'boolean') raw = String(raw);
  if (typeof raw !== 'string') return 'unknown';
  return wordsOf(map).get(raw.trim().toLowerCase()) ?? 'unknown';
}

/**
 * A field's value as a number: numbers as they are, booleans as 1/0, numeric strings parsed,
 * other strings through the configured map. Undefined when it has no numeric meaning.
 */
export function fieldNumber(raw: unknown, map?: Readonly<Record<string, number>>): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw === 'string') {
    if (map !== undefined && Object.prototype.hasOwnProperty.call(map, raw)) return map[raw];
    const t = raw.trim();
    if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  }
  return undefined;
}

// --- conditions: `mqtt.connected == true`, `mqtt.pending_requests < 50`, `status != "down"` ---

export type ConditionOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type Literal = number | boolean | string | null;

export interface Condition {
  readonly text: string;
  readonly path: readonly string[];
  readonly op: ConditionOp;
  readonly value: Literal;
}

const CONDITION = /^\s*(\S+?)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$/;

/** Parses a condition, or returns a message saying what is wrong with it. */
export function parseCondition(text: string): Condition | string {
  const m = CONDITION.exec(text);
  if (m === null) return 'expected "<path> <op> <value>" with op one of == != < <= > >=';
  const path = parsePath(m[1]!);
  if (path === undefined) return `"${m[1]}" is not a JSON path`;
  const op = m[2] as ConditionOp;
  const value = parseLiteral(m[3]!);
  if (value === undefined) return `"${m[3]}" is not a value (number, true, false, null or a "quoted string")`;
  if ((op === '<' || op === '<=' || op === '>' || op === '>=') && typeof value !== 'number') {
    return `${op} needs a number on its right`;
  }
  return { text: text.trim(), path, op, value };
}

function parseLiteral(s: string): Literal | undefined {
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (s === 'null') return null;
  if (/^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(s)) return Number(s);
  const q = /^"((?:[^"\\]|\\.)*)"$/.exec(s) ?? /^'([^']*)'$/.exec(s);
  if (q !== null) return q[1]!.replace(/\\(.)/g, '$1');
  return undefined;
}

/** Evaluates a condition against the body. A missing field fails every condition except `!=`. */
export function evaluate(cond: Condition, body: unknown): boolean {
  const actual = lookup(body, cond.path);
  if (actual === undefined) return cond.op === '!=';
  switch (cond.op) {
    case '==': return looseEquals(actual, cond.value);
    case '!=': return !looseEquals(actual, cond.value);
    default: {
      const n = fieldNumber(actual);
      if (n === undefined || typeof cond.value !== 'number') return false;
      if (cond.op === '<') return n < cond.value;
      if (cond.op === '<=') return n <= cond.value;
      if (cond.op === '>') return n > cond.value;
      return n >= cond.value;
    }
  }
}

function looseEquals(actual: unknown, expected: Literal): boolean {
  if (expected === null) return actual === null;
  if (typeof expected === 'number') return fieldNumber(actual) === expected;
  if (typeof expected === 'boolean') return typeof actual === 'boolean' ? actual === expected : false;
  return typeof actual === 'string' && actual === expected;
}
