/**
 * Access-log line parsers. Lines are untrusted input: every parser runs in time linear in the
 * line (no backtracking regular expressions on the line), never throws, and answers either a
 * record or the reason the line did not parse.
 *
 * Text formats are templates in nginx's `log_format` syntax: literal text and `$variables`.
 * Each variable takes the text up to the next occurrence of the literal that follows it (nginx
 * escapes `"` inside quoted fields as \x22, so quoted fields end at their closing quote). The
 * presets (nginx combined, Apache common/combined, gunicorn, uvicorn) are such templates too, so a
 * custom format is a declarative template, never code.
 *
 * JSON formats (nginx with escape=json, Caddy, Traefik) map record fields by dotted paths.
 */

import { LOG_CODES, LOG_METHODS, LOG_PARSE_FAILURE_REASONS, type LogMethod } from '../metrics/definitions';

/** What one access-log line says about one request. */
export interface LogRecord {
  method?: string;
  /** Path without the query string. */
  path?: string;
  status: number;
  /** Response bytes. */
  bytes?: number;
  /** Seconds from the first byte of the request to the last byte of the response. */
  duration?: number;
  /** Seconds the upstream took (summed over the upstreams nginx tried). */
  upstreamDuration?: number;
  /** Unix seconds the line's own timestamp says. */
  time?: number;
}

export const PARSE_FAILURE_REASONS = LOG_PARSE_FAILURE_REASONS.values;
export type ParseFailureReason = (typeof PARSE_FAILURE_REASONS)[number];

export type ParseResult = LogRecord | ParseFailureReason;
export type LineParser = (line: string) => ParseResult;

// ---------------------------------------------------------------------------------------------
// Templates (nginx log_format syntax)

interface Segment {
  /** Variable name without `$` ('' for a leading literal). */
  variable: string;
  /** The literal text after the variable (may be ''). */
  literal: string;
}

export interface Template {
  /** Literal text before the first variable. */
  prefix: string;
  segments: Segment[];
}

/** Variables the parser reads; any other variable is matched and ignored. */
export const KNOWN_VARIABLES = [
  'status', 'request', 'request_method', 'request_uri', 'uri', 'body_bytes_sent', 'bytes_sent',
  'request_time', 'upstream_response_time', 'time_local', 'time_iso8601', 'msec',
] as const;

/**
 * Compiles an nginx `log_format` string. Returns an error message when it cannot describe a
 * request: it needs `$status`, and two variables may not touch (nothing would tell where the
 * first one ends).
 */
export function compileTemplate(format: string): Template | string {
  const re = /\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  const segments: Segment[] = [];
  let prefix = '';
  let last = 0;
  let current: string | undefined;
  for (const m of format.matchAll(re)) {
    const literal = format.slice(last, m.index);
    if (current === undefined) prefix = literal;
    else {
      if (literal === '') return `$${current} and $${m[2] ?? m[3]} touch; a literal must separate two variables`;
      segments.push({ variable: current, literal });
    }
    current = m[2] ?? m[3]!;
    last = m.index + m[0].length;
  }
  if (current === undefined) return 'the format has no $variables';
  segments.push({ variable: current, literal: format.slice(last) });
  if (!segments.some((s) => s.variable === 'status')) return 'the format has no $status';
  return { prefix, segments };
}

/**
 * Matches a line against a template: returns the variables' values, or undefined. The line may
 * end early (extra fields missing, as in Apache common vs combined) once $status has been read,
 * and may carry extra text after the template (fields appended to a preset format).
 */
export function matchTemplate(t: Template, line: string): Map<string, string> | undefined {
  if (!line.startsWith(t.prefix)) return undefined;
  const out = new Map<string, string>();
  let pos = t.prefix.length;
  for (let i = 0; i < t.segments.length; i++) {
    const s = t.segments[i]!;
    if (s.literal === '') {
      out.set(s.variable, line.slice(pos));
      return out;
    }
    const end = line.indexOf(s.literal, pos);
    if (end < 0) {
      // The line ends inside this field or its literal: acceptable once the status is known.
      const rest = line.slice(pos);
      out.set(s.variable, rest.endsWith(s.literal.trimEnd()) && s.literal.trimEnd() !== '' ? rest.slice(0, rest.length - s.literal.trimEnd().length) : rest);
      return out.has('status') ? out : undefined;
    }
    out.set(s.variable, line.slice(pos, end));
    pos = end + s.literal.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field decoding

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** `10/Oct/2000:13:55:36 -0700` (nginx $time_local, Apache %t without brackets) to unix seconds. */
export function parseTimeLocal(v: string): number | undefined {
  const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2})(\d{2})$/.exec(v);
  if (m === null) return undefined;
  const month = MONTHS[m[2]!];
  if (month === undefined) return undefined;
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  const offset = (Number(m[9]) * 3600 + Number(m[10]) * 60) * (m[8] === '-' ? -1 : 1);
  const frac = m[7] === undefined ? 0 : Number(`0.${m[7]}`);
  const t = utc - offset + frac;
  return Number.isFinite(t) ? t : undefined;
}

/** ISO 8601 / RFC 3339 text or a number of unix seconds (or ms/us/ns by magnitude) to seconds. */
export function parseTimeAny(v: unknown): number | undefined {
  if (typeof v === 'number') return epochSeconds(v);
  if (typeof v !== 'string' || v.length > 64) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return epochSeconds(Number(v));
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v)) return parseTimeLocal(v);
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

function epochSeconds(n: number): number | undefined {
  if (!Number.isFinite(n) || n <= 0) return undefined;
  if (n > 1e17) return n / 1e9;
  if (n > 1e14) return n / 1e6;
  if (n > 1e11) return n / 1e3;
  return n;
}

/** A non-negative number, or undefined for `-`, empty or garbage. */
function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '' || v === '-' || v.length > 32) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * nginx $upstream_response_time: `0.012`, `0.010, 0.002` (several upstreams tried) or
 * `0.010 : 0.002` (internal redirect); `-` parts are skipped. The sum, or undefined if none.
 */
export function parseUpstreamTimes(v: string | undefined): number | undefined {
  if (v === undefined || v.length > 256) return undefined;
  // One upstream (the usual line): no list to split.
  if (v.indexOf(',') < 0 && v.indexOf(':') < 0) return num(v.trim());
  let total = 0;
  let any = false;
  for (const part of v.split(/[,:]/)) {
    const n = num(part.trim());
    if (n !== undefined) {
      total += n;
      any = true;
    }
  }
  return any ? total : undefined;
}

/** `GET /api/x?y=1 HTTP/1.1` to method and path (query dropped). */
export function splitRequest(v: string): { method?: string; path?: string } {
  const sp = v.indexOf(' ');
  if (sp <= 0) return {};
  const method = v.slice(0, sp);
  const rest = v.slice(sp + 1);
  const sp2 = rest.lastIndexOf(' HTTP/');
  return { method, path: stripQuery(sp2 >= 0 ? rest.slice(0, sp2) : rest) };
}

export function stripQuery(p: string): string {
  const q = p.indexOf('?');
  return q >= 0 ? p.slice(0, q) : p;
}

/** An HTTP status code 100-599 from text or number, else undefined. */
function statusOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
}

function recordFromVariables(vars: Map<string, string>): ParseResult {
  const status = statusOf(vars.get('status'));
  if (status === undefined) return 'bad_status';
  const r: LogRecord = { status };
  const request = vars.get('request');
  if (request !== undefined) Object.assign(r, splitRequest(request));
  const method = vars.get('request_method');
  if (method !== undefined && method !== '') r.method = method;
  const uri = vars.get('request_uri') ?? vars.get('uri');
  if (uri !== undefined && uri !== '') r.path = stripQuery(uri);
  const bytes = num(vars.get('body_bytes_sent') ?? vars.get('bytes_sent'));
  if (bytes !== undefined) r.bytes = bytes;
  const duration = num(vars.get('request_time'));
  if (duration !== undefined) r.duration = duration;
  const upstream = parseUpstreamTimes(vars.get('upstream_response_time'));
  if (upstream !== undefined) r.upstreamDuration = upstream;
  const tl = vars.get('time_local');
  const iso = vars.get('time_iso8601');
  const msec = num(vars.get('msec'));
  const time = msec ?? (tl !== undefined ? parseTimeLocal(tl) : iso !== undefined ? parseTimeAny(iso) : undefined);
  if (time !== undefined) r.time = time;
  return r;
}

/**
 * The reference semantics of a template parser: matchTemplate, then the known variables to a
 * record. templateParser does the same without building the map (tests check they agree).
 */
export function referenceTemplateParser(t: Template): LineParser {
  return (line) => {
    const vars = matchTemplate(t, line);
    return vars === undefined ? 'no_match' : recordFromVariables(vars);
  };
}

const SLOT = Object.fromEntries(KNOWN_VARIABLES.map((v, i) => [v, i])) as Record<(typeof KNOWN_VARIABLES)[number], number>;

/**
 * A template parser for the hot path: one pass over the line with indexOf, keeping only the
 * variables it reads (the others are skipped, not copied). `time: false` skips the line's own
 * timestamp (the collector dates lines by when it reads them).
 */
export function templateParser(t: Template, opts: { time?: boolean } = {}): LineParser {
  const withTime = opts.time !== false;
  const n = t.segments.length;
  const slots = t.segments.map((seg) => (seg.variable in SLOT ? SLOT[seg.variable as keyof typeof SLOT] : -1));
  const literals = t.segments.map((seg) => seg.literal);
  const trimmed = literals.map((l) => l.trimEnd());
  const statusSlot = SLOT.status;
  const vals: (string | undefined)[] = new Array<string | undefined>(KNOWN_VARIABLES.length);
  return (line) => {
    if (!line.startsWith(t.prefix)) return 'no_match';
    vals.fill(undefined);
    let pos = t.prefix.length;
    let haveStatus = false;
    for (let i = 0; i < n; i++) {
      const lit = literals[i]!;
      const slot = slots[i]!;
      if (lit === '') {
        if (slot >= 0) vals[slot] = line.slice(pos);
        break;
      }
      const end = line.indexOf(lit, pos);
      if (end < 0) {
        if (slot >= 0) {
          const rest = line.slice(pos);
          const tl = trimmed[i]!;
          vals[slot] = tl !== '' && rest.endsWith(tl) ? rest.slice(0, rest.length - tl.length) : rest;
        }
        if (slot === statusSlot) haveStatus = true;
        if (!haveStatus) return 'no_match';
        break;
      }
      if (slot >= 0) vals[slot] = line.slice(pos, end);
      if (slot === statusSlot) haveStatus = true;
      pos = end + lit.length;
    }
    return recordFromSlots(vals, withTime);
  };
}

function statusOfText(v: string | undefined): number | undefined {
  if (v === undefined || v.length !== 3) return undefined;
  const a = v.charCodeAt(0) - 48;
  const b = v.charCodeAt(1) - 48;
  const c = v.charCodeAt(2) - 48;
  if (a < 1 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return undefined;
  return a * 100 + b * 10 + c;
}

function recordFromSlots(v: (string | undefined)[], withTime: boolean): ParseResult {
  const status = statusOfText(v[SLOT.status]);
  if (status === undefined) return 'bad_status';
  const r: LogRecord = { status };
  const request = v[SLOT.request];
  if (request !== undefined) {
    // splitRequest without its intermediate object and strings.
    const sp = request.indexOf(' ');
    if (sp > 0) {
      r.method = request.slice(0, sp);
      const proto = request.lastIndexOf(' HTTP/');
      const stop = proto > sp ? proto : request.length;
      const q = request.indexOf('?', sp + 1);
      r.path = request.slice(sp + 1, q >= 0 && q < stop ? q : stop);
    }
  }
  const method = v[SLOT.request_method];
  if (method !== undefined && method !== '') r.method = method;
  const uri = v[SLOT.request_uri] ?? v[SLOT.uri];
  if (uri !== undefined && uri !== '') r.path = stripQuery(uri);
  const bytes = num(v[SLOT.body_bytes_sent] ?? v[SLOT.bytes_sent]);
  if (bytes !== undefined) r.bytes = bytes;
  const duration = num(v[SLOT.request_time]);
  if (duration !== undefined) r.duration = duration;
  const upstream = parseUpstreamTimes(v[SLOT.upstream_response_time]);
  if (upstream !== undefined) r.upstreamDuration = upstream;
  if (withTime) {
    const tl = v[SLOT.time_local];
    const iso = v[SLOT.time_iso8601];
    const msec = num(v[SLOT.msec]);
    const time = msec ?? (tl !== undefined ? parseTimeLocal(tl) : iso !== undefined ? parseTimeAny(iso) : undefined);
    if (time !== undefined) r.time = time;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Where each field sits in a JSON access-log record (dotted paths). */
export interface JsonFields {
  method?: string;
  /** Path or URI (the query string is dropped). */
  path?: string;
  /** Alternative to method + path: the whole request line (`GET /x HTTP/1.1`). */
  request?: string;
  status: string;
  bytes?: string;
  duration?: string;
  duration_unit: DurationUnit;
  upstream_duration?: string;
  upstream_duration_unit: DurationUnit;
  time?: string;
}

export const DURATION_UNITS = ['s', 'ms', 'us', 'ns'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];
const UNIT_SCALE: Record<DurationUnit, number> = { s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };

function pick(obj: unknown, path: string | undefined): unknown {
  if (path === undefined) return undefined;
  let cur = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function numAny(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v === 'string') return parseUpstreamTimes(v);
  return undefined;
}

export function jsonParser(f: JsonFields): LineParser {
  return (line) => {
    const start = line.indexOf('{');
    if (start < 0) return 'invalid_json';
    let obj: unknown;
    try {
      obj = JSON.parse(start === 0 ? line : line.slice(start));
    } catch {
      return 'invalid_json';
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return 'invalid_json';
    const status = statusOf(pick(obj, f.status));
    if (status === undefined) return 'bad_status';
    const r: LogRecord = { status };
    const request = pick(obj, f.request);
    if (typeof request === 'string') Object.assign(r, splitRequest(request));
    const method = pick(obj, f.method);
    if (typeof method === 'string' && method !== '') r.method = method;
    const path = pick(obj, f.path);
    if (typeof path === 'string' && path !== '') r.path = stripQuery(path);
    const bytes = numAny(pick(obj, f.bytes));
    if (bytes !== undefined) r.bytes = bytes;
    const d = numAny(pick(obj, f.duration));
    if (d !== undefined) r.duration = d * UNIT_SCALE[f.duration_unit];
    const u = numAny(pick(obj, f.upstream_duration));
    if (u !== undefined) r.upstreamDuration = u * UNIT_SCALE[f.upstream_duration_unit];
    const t = parseTimeAny(pick(obj, f.time));
    if (t !== undefined) r.time = t;
    return r;
  };
}

// ---------------------------------------------------------------------------------------------
// Presets

export const NGINX_COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
/** Apache combined (%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"); common lines end after %b. */
export const APACHE_COMBINED = '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
/** uvicorn's access log: `INFO:     127.0.0.1:51234 - "GET /x HTTP/1.1" 200 OK` (with or without the level). */
export const UVICORN = '$client - "$request" $status $reason';

export const JSON_PRESETS = {
  /** nginx `log_format ... escape=json` with the variables' own names as keys. */
  nginx_json: {
    method: 'request_method', path: 'request_uri', request: 'request', status: 'status', bytes: 'body_bytes_sent',
    duration: 'request_time', duration_unit: 's', upstream_duration: 'upstream_response_time',
    upstream_duration_unit: 's', time: 'time_iso8601',
  },
  /** Caddy's `log { format json }` access logger. */
  caddy: {
    method: 'request.method', path: 'request.uri', status: 'status', bytes: 'size',
    duration: 'duration', duration_unit: 's', upstream_duration_unit: 's', time: 'ts',
  },
  /** Traefik's `accessLog.format: json` (durations in nanoseconds). */
  traefik: {
    method: 'RequestMethod', path: 'RequestPath', status: 'DownstreamStatus', bytes: 'DownstreamContentSize',
    duration: 'Duration', duration_unit: 'ns', upstream_duration: 'OriginDuration', upstream_duration_unit: 'ns',
    time: 'StartUTC',
  },
} as const satisfies Record<string, JsonFields>;

export const TEXT_PRESETS = {
  nginx: NGINX_COMBINED,
  apache: APACHE_COMBINED,
  /** gunicorn's default access_log_format is Apache combined. */
  gunicorn: APACHE_COMBINED,
  uvicorn: UVICORN,
} as const;

export const FORMAT_PRESETS = [...Object.keys(TEXT_PRESETS), ...Object.keys(JSON_PRESETS)] as
  (keyof typeof TEXT_PRESETS | keyof typeof JSON_PRESETS)[];
export type FormatPreset = (typeof FORMAT_PRESETS)[number];

/** The parser of a preset, or of a custom nginx `log_format` string (which wins), or JSON field overrides. */
export function buildParser(o: { format: FormatPreset; log_format?: string | undefined; json_fields?: Partial<JsonFields> | undefined; time?: boolean }): LineParser {
  const opts = { time: o.time !== false };
  if (o.log_format !== undefined) {
    const t = compileTemplate(o.log_format);
    if (typeof t === 'string') throw new Error(`log_format: ${t}`);
    return templateParser(t, opts);
  }
  const overrides = Object.fromEntries(Object.entries(o.json_fields ?? {}).filter(([, v]) => v !== undefined)) as Partial<JsonFields>;
  if (o.format in JSON_PRESETS) {
    const base: JsonFields = JSON_PRESETS[o.format as keyof typeof JSON_PRESETS];
    return jsonParser({ ...base, ...overrides });
  }
  if (o.json_fields !== undefined) {
    return jsonParser({ duration_unit: 's', upstream_duration_unit: 's', status: 'status', ...overrides });
  }
  const t = compileTemplate(TEXT_PRESETS[o.format as keyof typeof TEXT_PRESETS]);
  if (typeof t === 'string') throw new Error(t);
  return templateParser(t, opts);
}

// ---------------------------------------------------------------------------------------------
// Labels

/** The methods counted by name (the catalogue's method values but other). */
export const METHODS: readonly Exclude<LogMethod, 'other'>[] = LOG_METHODS.values.filter((m): m is Exclude<LogMethod, 'other'> => m !== 'other');
const METHOD_SET = new Set<string>(METHODS);

/** `method` label: one of METHODS, else `other`. */
export function methodLabel(m: string | undefined): string {
  return m !== undefined && METHOD_SET.has(m) ? m : 'other';
}

/** `code` label: the exact code for 429, 499 and 5xx, else the class (`1xx`...`4xx`). */
export function codeLabel(status: number): string {
  if (status === 429 || status === 499 || (status >= 500 && status <= 599)) return String(status);
  return `${Math.floor(status / 100)}xx`;
}

/** Every `code` label value codeLabel can answer. */
export const CODE_LABELS: readonly string[] = LOG_CODES.values;

/** The position of codeLabel(status) in CODE_LABELS, without building the string (status 100-599). */
export function codeIndex(status: number): number {
  if (status >= 500) return 6 + (status - 500);
  if (status === 429) return 4;
  if (status === 499) return 5;
  return Math.floor(status / 100) - 1;
}

/** The position of methodLabel(m) in METHODS, or METHODS.length for `other`. */
export function methodIndex(m: string | undefined): number {
  if (m === undefined) return METHODS.length;
  const i = METHOD_INDEX.get(m);
  return i === undefined ? METHODS.length : i;
}
const METHOD_INDEX = new Map<string, number>(METHODS.map((m, i) => [m, i]));

/** Route patterns are tested on at most this much of the path (bounds the cost of each match). */
export const ROUTE_PATH_LIMIT = 2048;

/** `route` label: the first configured pattern that matches the path (query excluded), else `other`. */
export function routeLabel(routes: readonly (readonly [string, { test(text: string): boolean }])[], path: string | undefined): string {
  if (path === undefined) return 'other';
  const p = path.length > ROUTE_PATH_LIMIT ? path.slice(0, ROUTE_PATH_LIMIT) : path;
  for (const [name, re] of routes) if (re.test(p)) return name;
  return 'other';
}
