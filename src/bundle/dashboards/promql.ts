/**
 * Reading PromQL with Prometheus' own grammar (@prometheus-io/lezer-promql, the parser of
 * Prometheus' web UI): which series a query selects and with which label matchers, where more
 * matchers go, and the range windows given to each function. The bundle command adds the
 * configured exporter matchers to every selector with it, and the dashboard checks read panel
 * queries with it.
 *
 * Dashboard queries hold Grafana variables (`$job`, `${target}`, `[$__rate_interval]`), which
 * are not PromQL. Outside string literals each one is read as a duration of the same length
 * (`$__rate_interval` as `999999999999999s`), so the tree's offsets are the text's offsets and
 * a window reads back as written; inside strings they are just text.
 */
import { parser } from '@prometheus-io/lezer-promql';

/** A node of lezer-promql's syntax tree (typed from the parser, not from @lezer/common's ESM/CJS twins). */
export type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  /** The metric name; undefined for a bare `{...}` selector without `__name__`. */
  name: string | undefined;
  /** Label matchers other than the `__name__="..."` that names the metric. */
  matchers: Matcher[];
  /** Where more matchers go in the text: the offset of its `}`, or just after the name if it has no braces. */
  insertAt: number;
  /** How the selector is written: `name` (no braces), `{}` (braces, no matchers) or `{...}` (braces with matchers). */
  form: 'bare' | 'empty' | 'matchers';
  node: SyntaxNode;
}

export interface RangeUse {
  /** The function the range vector (or subquery) is given to, through parentheses; undefined if none. */
  fn: string | undefined;
  /** The text inside the brackets as written, e.g. `$__rate_interval`, `5m`, `1h:1m`. */
  window: string;
}

export interface ParsedQuery {
  selectors: Selector[];
  ranges: RangeUse[];
  functions: string[];
}

/** A Grafana variable: `$name`, `${name}`, `${name:format}`. */
const VARIABLE = /\$(?:\{[^}]*\}|[A-Za-z0-9_]+)/y;

/**
 * The text with every Grafana variable outside a string literal replaced by a duration of the
 * same length, so that offsets in the parsed tree are offsets in `expr`.
 */
export function maskVariables(expr: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' && c !== '`' ? 2 : 1;
      out += expr.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '#') {
      const end = expr.indexOf('\n', i);
      const j = end < 0 ? expr.length : end;
      out += expr.slice(i, j);
      i = j;
      continue;
    }
    VARIABLE.lastIndex = i;
    const v = c === '$' ? VARIABLE.exec(expr) : null;
    if (v !== null) {
      out += `${'9'.repeat(v[0].length - 1)}s`;
      i += v[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Parses PromQL (Grafana variables read as durations); `error` says where the first syntax error is. */
export function parseTree(expr: string): { top: SyntaxNode; error: string | undefined } {
  const tree = parser.parse(maskVariables(expr));
  let error: string | undefined;
  tree.iterate({
    enter: (n) => {
      if (error === undefined && n.type.isError) error = `syntax error at ${n.from}: ...${expr.slice(Math.max(0, n.from - 20), n.from + 20)}...`;
    },
  });
  return { top: tree.topNode, error };
}

/** The nodes named `name` inside `top`, in text order. */
export function nodesOf(top: SyntaxNode, name: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const cursor = top.cursor();
  // A cursor's next() walks on past the subtree: stop at its end.
  do {
    if (cursor.from >= top.to && cursor.to > top.to) break;
    if (cursor.name === name && cursor.to <= top.to) out.push(cursor.node);
  } while (cursor.next());
  return out;
}

const slice = (text: string, n: SyntaxNode): string => text.slice(n.from, n.to);

/** A string literal's value: double-quoted and single-quoted ones with escapes, backquoted ones raw. */
function stringValue(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  const inner = literal.slice(1, -1);
  return inner.replace(/\\(.)/g, (_m, ch: string) => ({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[ch] ?? ch);
}

function matcherOf(m: SyntaxNode, text: string): Matcher {
  const quoted = m.getChild('QuotedLabelName')?.getChild('StringLiteral');
  const label = quoted ? stringValue(slice(text, quoted)) : slice(text, m.getChild('LabelName')!);
  const op = slice(text, m.getChild('MatchOp')!) as Matcher['op'];
  const strings = m.getChildren('StringLiteral');
  return { label, op, value: stringValue(slice(text, strings[strings.length - 1]!)) };
}

/** Every series selector of a parsed query, with its matchers and where more go. */
export function selectorsOf(top: SyntaxNode, text: string): Selector[] {
  return nodesOf(top, 'VectorSelector').map((node) => {
    const id = node.getChild('Identifier');
    const braces = node.getChild('LabelMatchers');
    const all = braces === null ? [] : braces.getChildren('UnquotedLabelMatcher').concat(braces.getChildren('QuotedLabelMatcher'))
      .sort((a, b) => a.from - b.from)
      .map((m) => matcherOf(m, text));
    // `{"metric"}` names the metric with a bare quoted string.
    const bareName = braces?.getChildren('QuotedLabelName').find((q) => q.parent?.name === 'LabelMatchers');
    const byName = all.find((m) => m.label === '__name__' && m.op === '=');
    const name = id ? slice(text, id) : byName?.value ?? (bareName ? stringValue(slice(text, bareName.getChild('StringLiteral')!)) : undefined);
    return {
      name,
      matchers: id ? all : all.filter((m) => m !== byName),
      insertAt: braces === null ? node.to : braces.to - 1,
      form: braces === null ? 'bare' : all.length === 0 && bareName === undefined ? 'empty' : 'matchers',
      node,
    };
  });
}

/** The function a range or subquery is given to directly (`rate` in `rate(x[5m])`), through parentheses. */
function rangeCallOf(node: SyntaxNode, text: string): string | undefined {
  let n = node.parent;
  while (n?.name === 'ParenExpr') n = n.parent;
  if (n?.name !== 'FunctionCallBody') return undefined;
  const id = n.parent?.getChild('FunctionIdentifier');
  return id ? slice(text, id) : undefined;
}

/** Reads a query; throws on a syntax error. */
export function parsePromql(expr: string): ParsedQuery {
  const { top, error } = parseTree(expr);
  if (error !== undefined) throw new Error(`${error} in: ${expr}`);
  // Inner ranges first: in text order of their ends.
  const ranges = [...nodesOf(top, 'MatrixSelector'), ...nodesOf(top, 'SubqueryExpr')]
    .sort((a, b) => a.to - b.to)
    .map((node) => {
      const own = slice(expr, node);
      return { fn: rangeCallOf(node, expr), window: own.slice(own.lastIndexOf('[') + 1, own.lastIndexOf(']')).trim() };
    });
  const functions = [...nodesOf(top, 'FunctionIdentifier'), ...nodesOf(top, 'AggregateOp')]
    .sort((a, b) => a.from - b.from)
    .map((n) => slice(expr, n));
  return { selectors: selectorsOf(top, expr), ranges, functions };
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
