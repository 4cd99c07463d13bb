/**
 * A small PromQL reader, enough to check dashboard queries without a Prometheus: which metric
 * names a query selects (skipping functions, aggregations, keywords, label names, strings,
 * durations and Grafana variables), with their label matchers, and the range windows given to
 * each function. Used by the dashboard lint test and the live panel-query test.
 */

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  /** The metric name; undefined for a bare `{...}` selector without `__name__`. */
  name: string | undefined;
  matchers: Matcher[];
  /** Where more matchers go in the text: the offset of its `}`, or just after the name if it has no braces. */
  insertAt: number;
  /** How the selector is written: `name` (no braces), `{}` (braces, no matchers) or `{...}` (braces with matchers). */
  form: 'bare' | 'empty' | 'matchers';
}

export interface RangeUse {
  /** Innermost function applied to the range vector (or subquery); undefined if none. */
  fn: string | undefined;
  /** The text inside the brackets, e.g. `$__rate_interval`, `5m`, `1h:1m`. */
  window: string;
}

export interface ParsedQuery {
  selectors: Selector[];
  ranges: RangeUse[];
  functions: string[];
}

/** A token and its place in the text: `at` its first character, `end` just after its last. */
type Tok = (
  | { t: 'ident'; v: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: string }
  | { t: 'var'; v: string }
  | { t: 'punct'; v: string }
) & { at: number; end: number };

/** Words that look like identifiers but are not metric names. */
const KEYWORDS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool',
  'offset', 'atan2', 'inf', 'nan', 'start', 'end',
]);
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);
/** Keywords followed by a parenthesised list of label names. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const PUNCT = ['=~', '!~', '!=', '==', '>=', '<=', '=', '>', '<', '+', '-', '*', '/', '%', '^', '(', ')', '{', '}', '[', ']', ',', ':', '@'];

export function tokenize(expr: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      // Comment to end of line.
      while (i < expr.length && expr[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let v = '';
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && c !== '`' && j + 1 < expr.length) {
          v += expr[j + 1];
          j += 2;
          continue;
        }
        v += expr[j];
        j++;
      }
      if (j >= expr.length) throw new Error(`unterminated string in: ${expr}`);
      out.push({ t: 'str', v, at: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    if (c === '$') {
      // Grafana variables: $name, ${name}, ${name:format}.
      const m = /^\$(\{[^}]*\}|[A-Za-z0-9_]+)/.exec(expr.slice(i));
      if (m === null) throw new Error(`stray $ in: ${expr}`);
      out.push({ t: 'var', v: m[0], at: i, end: i + m[0].length });
      i += m[0].length;
      continue;
    }
    const num = /^(0x[0-9a-fA-F]+|(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)((ms|[smhdwy])(\d+(ms|[smhdwy]))*)?/.exec(expr.slice(i));
    if (num !== null && /[\d.]/.test(c)) {
      out.push({ t: 'num', v: num[0], at: i, end: i + num[0].length });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i));
    if (id !== null) {
      out.push({ t: 'ident', v: id[0], at: i, end: i + id[0].length });
      i += id[0].length;
      continue;
    }
    const p = PUNCT.find((s) => expr.startsWith(s, i));
    if (p === undefined) throw new Error(`unexpected character "${c}" in: ${expr}`);
    out.push({ t: 'punct', v: p, at: i, end: i + p.length });
    i += p.length;
  }
  return out;
}

export function parsePromql(expr: string): ParsedQuery {
  const toks = tokenize(expr);
  const selectors: Selector[] = [];
  const ranges: RangeUse[] = [];
  const functions: string[] = [];
  /** Open parentheses: the function they belong to, or undefined for grouping. */
  const stack: (string | undefined)[] = [];
  const isP = (k: number, v: string): boolean => toks[k]?.t === 'punct' && toks[k]?.v === v;

  const readMatchers = (k: number): { matchers: Matcher[]; next: number; close: number } => {
    // toks[k] is '{'
    const matchers: Matcher[] = [];
    let j = k + 1;
    while (j < toks.length && !isP(j, '}')) {
      const l = toks[j];
      const op = toks[j + 1];
      const v = toks[j + 2];
      if (l?.t !== 'ident' || op?.t !== 'punct' || !['=', '!=', '=~', '!~'].includes(op.v) || v?.t !== 'str') {
        throw new Error(`bad label matcher near token ${j} in: ${expr}`);
      }
      matchers.push({ label: l.v, op: op.v as Matcher['op'], value: v.v });
      j += 3;
      if (isP(j, ',')) j++;
    }
    if (j >= toks.length) throw new Error(`unclosed { in: ${expr}`);
    return { matchers, next: j + 1, close: toks[j]!.at };
  };

  let k = 0;
  while (k < toks.length) {
    const tok = toks[k]!;
    if (tok.t === 'ident') {
      if (LABEL_LIST_KEYWORDS.has(tok.v)) {
        k++;
        if (isP(k, '(')) {
          while (k < toks.length && !isP(k, ')')) k++;
          k++;
        }
        continue;
      }
      if (KEYWORDS.has(tok.v)) {
        k++;
        continue;
      }
      if (AGGREGATIONS.has(tok.v) && (toks[k + 1]?.v === 'by' || toks[k + 1]?.v === 'without') && isP(k + 2, '(')) {
        // `sum by (labels) (expr)`: skip the label list; the aggregation's own parens follow.
        let j = k + 3;
        while (j < toks.length && !isP(j, ')')) j++;
        if (!isP(j + 1, '(')) throw new Error(`expected ( after ${tok.v} ${toks[k + 1]!.v} (...) in: ${expr}`);
        functions.push(tok.v);
        stack.push(tok.v);
        k = j + 2;
        continue;
      }
      if (isP(k + 1, '(')) {
        functions.push(tok.v);
        stack.push(tok.v);
        k += 2;
        continue;
      }
      if (isP(k + 1, '{')) {
        const { matchers, next, close } = readMatchers(k + 1);
        selectors.push({ name: tok.v, matchers, insertAt: close, form: matchers.length === 0 ? 'empty' : 'matchers' });
        k = next;
        continue;
      }
      selectors.push({ name: tok.v, matchers: [], insertAt: tok.end, form: 'bare' });
      k++;
      continue;
    }
    if (tok.t === 'punct') {
      if (tok.v === '{') {
        const { matchers, next, close } = readMatchers(k);
        const byName = matchers.find((m) => m.label === '__name__' && m.op === '=');
        selectors.push({ name: byName?.value, matchers: matchers.filter((m) => m !== byName), insertAt: close, form: matchers.length === 0 ? 'empty' : 'matchers' });
        k = next;
        continue;
      }
      if (tok.v === '(') {
        stack.push(undefined);
      } else if (tok.v === ')') {
        if (stack.length === 0) throw new Error(`unbalanced ) in: ${expr}`);
        stack.pop();
      } else if (tok.v === '[') {
        let j = k + 1;
        let window = '';
        while (j < toks.length && !isP(j, ']')) {
          window += toks[j]!.v;
          j++;
        }
        if (j >= toks.length) throw new Error(`unclosed [ in: ${expr}`);
        ranges.push({ fn: innermost(stack), window });
        k = j + 1;
        continue;
      }
    }
    k++;
  }
  if (stack.length > 0) throw new Error(`unclosed ( in: ${expr}`);
  return { selectors, ranges, functions };
}

/** The function whose parentheses directly enclose the current position (grouping parens skipped). */
function innermost(stack: readonly (string | undefined)[]): string | undefined {
  for (let i = stack.length - 1; i >= 0; i--) {
    if (stack[i] !== undefined) return stack[i];
  }
  return undefined;
}

/** Metric names a query selects. */
export function metricNames(expr: string): string[] {
  return [...new Set(parsePromql(expr).selectors.map((s) => s.name).filter((n): n is string => n !== undefined))];
}

/**
 * Grafana's template variables in a query, replaced as Grafana would for a dashboard whose
 * multi-value variables are set to "All" (their allValue, `.+`).
 */
export function substituteVariables(expr: string, vars: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)/g, (whole, a: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? '';
    const v = vars[name];
    if (v === undefined) throw new Error(`no value for Grafana variable ${whole} in: ${expr}`);
    return v;
  });
}

/** A matcher as PromQL text: `job="x"`. */
export function matcherText(m: Matcher): string {
  return `${m.label}${m.op}${JSON.stringify(m.value)}`;
}

/**
 * Adds `matchers` to every series selector of an expression (metric names, recording rules,
 * `ALERTS`, bare `{...}` selectors), skipping a matcher the selector already has. The rest of
 * the text is kept as written.
 */
export function withMatchers(expr: string, matchers: readonly Matcher[]): string {
  if (matchers.length === 0) return expr;
  let out = expr;
  // From the end, so that earlier offsets stay valid.
  for (const s of [...parsePromql(expr).selectors].sort((a, b) => b.insertAt - a.insertAt)) {
    const missing = matchers.filter((m) => !s.matchers.some((h) => h.label === m.label && h.op === m.op && h.value === m.value));
    if (missing.length === 0) continue;
    const text = missing.map(matcherText).join(', ');
    const insert = s.form === 'bare' ? `{${text}}` : s.form === 'empty' ? text : `, ${text}`;
    out = out.slice(0, s.insertAt) + insert + out.slice(s.insertAt);
  }
  return out;
}

/** The label matchers of a selector text such as `job="x", instance=~"a.+"` (with or without braces). */
export function parseMatchers(text: string): Matcher[] {
  const t = text.trim();
  const sel = parsePromql(t.startsWith('{') ? t : `{${t}}`).selectors;
  if (sel.length !== 1) throw new Error('expected label matchers such as job="stackwatch"');
  return sel[0]!.matchers;
}
