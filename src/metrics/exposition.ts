import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/**
 * The Prometheus text exposition of a registry, byte for byte what prom-client's
 * `registry.metrics()` writes (a test holds it to that), without its cost per scrape.
 *
 * prom-client's `get()` builds a fresh value object for every series (and, for a histogram, one
 * per bucket with its labels copied) on every scrape, and the text is then formatted from those:
 * at 8,000 series that was most of a scrape's CPU and half of it went to the garbage collector.
 * Here each series' text is kept between scrapes and rebuilt only when its value changed, and a
 * metric none of whose series changed, appeared or left reuses its whole block, kept encoded: a
 * scrape is the list of those blocks, written to the socket as they are (no joined 600 KB string
 * and no copy of it into a Buffer per scrape, which fed the garbage collector). The series are
 * read from the instrument's own table (`hashMap`, keyed by label values), so a series keeps its
 * text even though collectors hand prom-client a new labels object on every update. prom-client
 * is pinned to an exact version in package.json; a metric that does not look as expected (another
 * type, no table) is rendered from its `get()` as before.
 */

type Labels = Record<string, string | number | undefined>;
type Value = MetricValue<string> & { metricName?: string; sharedLabels?: Labels };

/** A gauge's or counter's series as prom-client keeps it. */
interface Point { value: number; labels: Labels }
/** A histogram's series as prom-client keeps it (bucket counts are per bucket, not cumulative). */
interface HistogramPoint { labels: Labels; bucketValues: Record<string, number>; sum: number; count: number }

/** A registered metric as the registry holds it (its typings say MetricObject; it is the instance). */
interface Collectable {
  name: string;
  help: string;
  type: string;
  collect?: () => unknown;
  hashMap?: Record<string, Point | HistogramPoint>;
  upperBounds?: readonly number[];
  get(): Promise<MetricObjectWithValues<Value>>;
  getForPromString?: () => Promise<MetricObjectWithValues<Value>>;
}

/** One series' text and what it was made from. */
interface SeriesText {
  text: string;
  /** The labels object it was formatted from, its label names in order, and their text. */
  labels: Labels;
  names: string[];
  labelText: string;
  /** Its length in UTF-8. */
  bytes: number;
  value: number;
  /** Histograms: the sum, and the table entry the text was made from (a re-created series is a new one). */
  sum?: number;
  entry?: object;
  seen: number;
}

/** A metric's kept texts: its header, each series by key, and the last whole block, encoded. */
interface MetricText {
  name: string;
  escapedName: string;
  help: string;
  head: string;
  series: Map<string, SeriesText>;
  /** The keys and texts of the last block, in its order: while the table's order holds, no lookup by key. */
  keys: string[];
  texts: SeriesText[];
  /** The block as sent: header and series, and the blank line that separates it from the next. */
  block: Buffer;
  count: number;
  generation: number;
  /** The metric's write count (see trackWrites()) when the block was made; -1 when not tracked. */
  writes: number;
}

/** A whole exposition as the list of its parts, in order; `length` is their total in bytes. */
export interface Exposition {
  chunks: Buffer[];
  length: number;
}

const kept = new WeakMap<object, MetricText>();

/** Writes made through each tracked metric's methods (see trackWrites()). */
interface WriteCount { n: number }
const writeCounts = new WeakMap<object, WriteCount>();

/** The prom-client methods that change a gauge's, counter's or histogram's table. */
const WRITERS = ['set', 'inc', 'dec', 'setToCurrentTime', 'observe', 'zero', 'reset', 'remove'] as const;
type Fn = (...args: unknown[]) => unknown;

function countCalls(target: Record<string, unknown>, names: readonly string[], w: WriteCount): void {
  for (const name of names) {
    const f = target[name];
    if (typeof f !== 'function') continue;
    // remove() also takes label values as its arguments; the others take at most (labels, value),
    // passed on as they are: no arguments array on every write (several per probe).
    target[name] = name === 'remove'
      ? function (this: unknown, ...args: unknown[]): unknown {
        w.n++;
        return (f as Fn).apply(this, args);
      }
      : function (this: unknown, a: unknown, b: unknown): unknown {
        w.n++;
        return (f as Fn).call(this, a, b);
      };
  }
}

/** A timer's end function, counted as a write when it is called (it observes then). */
function countTimer(target: Record<string, unknown>, w: WriteCount): void {
  const start = target['startTimer'];
  if (typeof start !== 'function') return;
  target['startTimer'] = function (this: unknown, ...args: unknown[]): unknown {
    const end = (start as Fn).apply(this, args);
    if (typeof end !== 'function') return end;
    return (...a: unknown[]): unknown => {
      w.n++;
      return (end as Fn)(...a);
    };
  };
}

/**
 * Makes a metric count its own writes, so that a scrape reuses its block without looking at its
 * series while nothing was written (at the reference load most of the 8,000 series do not move
 * between two scrapes close together). Every method that changes the table counts, and so do
 * the children made by `labels()` and the end functions of `startTimer()`, which write through
 * prom-client's internals. A metric with a `collect()` hook is read anew on every scrape whatever
 * it counted (its hook may write to its table directly). Untracked metrics are always read.
 */
export function trackWrites(metric: object): void {
  if (writeCounts.has(metric)) return;
  const w: WriteCount = { n: 0 };
  const m = metric as Record<string, unknown>;
  countCalls(m, WRITERS, w);
  countTimer(m, w);
  const labels = m['labels'];
  if (typeof labels === 'function') {
    m['labels'] = function (this: unknown, ...args: unknown[]): unknown {
      const child = (labels as Fn).apply(this, args) as Record<string, unknown>;
      countCalls(child, WRITERS, w);
      countTimer(child, w);
      return child;
    };
  }
  writeCounts.set(metric, w);
}

const EMPTY = Buffer.alloc(0);
const LINE_END = Buffer.from('\n');

const escapeString = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatLabels(labels: Labels, exclude?: Labels): string {
  let out = '';
  for (const name in labels) {
    if (!Object.prototype.hasOwnProperty.call(labels, name)) continue;
    if (exclude !== undefined && Object.prototype.hasOwnProperty.call(exclude, name)) continue;
    const v = labels[name];
    const text = typeof v === 'string' ? escapeString(v).replace(/"/g, '\\"') : String(v);
    out += `${out === '' ? '' : ','}${name}="${text}"`;
  }
  return out;
}

function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function textOf(metric: Collectable): MetricText {
  let t = kept.get(metric);
  if (t === undefined || t.name !== metric.name || t.help !== metric.help) {
    const name = escapeString(metric.name);
    t = {
      name: metric.name, escapedName: name, help: metric.help, head: `# HELP ${name} ${escapeString(metric.help)}\n# TYPE ${name} ${metric.type}`,
      series: new Map(), keys: [], texts: [], block: EMPTY, count: -1, generation: 0, writes: -1,
    };
    kept.set(metric, t);
  }
  return t;
}

function pointText(name: string, labels: string, p: Point): string {
  return `\n${name}${labels === '' ? '' : `{${labels}}`} ${valueText(p.value)}`;
}

function histogramText(name: string, labels: string, bounds: readonly number[], p: HistogramPoint): string {
  const tail = labels === '' ? '' : `,${labels}`;
  let out = '';
  let acc = 0;
  for (const b of bounds) {
    acc += p.bucketValues[b] ?? 0;
    out += `\n${name}_bucket{le="${b}"${tail}} ${valueText(acc)}`;
  }
  out += `\n${name}_bucket{le="+Inf"${tail}} ${valueText(p.count)}`;
  out += `\n${name}_sum${labels === '' ? '' : `{${labels}}`} ${valueText(p.sum)}`;
  out += `\n${name}_count${labels === '' ? '' : `{${labels}}`} ${valueText(p.count)}`;
  return out;
}

/**
 * The label text of a series whose value changed: the previous one when the labels are the same
 * names in the same order with the same values (collectors pass a new labels object on every
 * update; prom-client writes the labels in the order of the object it keeps), else formatted anew.
 */
function labelsOf(previous: SeriesText | undefined, labels: Labels): { labels: Labels; names: string[]; labelText: string } {
  if (previous !== undefined && (previous.labels === labels || sameLabels(previous, labels))) {
    return { labels, names: previous.names, labelText: previous.labelText };
  }
  const names: string[] = [];
  for (const name in labels) if (Object.prototype.hasOwnProperty.call(labels, name)) names.push(name);
  return { labels, names, labelText: formatLabels(labels) };
}

function sameLabels(previous: SeriesText, labels: Labels): boolean {
  const { names, labels: before } = previous;
  let i = 0;
  for (const name in labels) {
    if (!Object.prototype.hasOwnProperty.call(labels, name)) continue;
    if (names[i] !== name || before[name] !== labels[name]) return false;
    i++;
  }
  return i === names.length;
}

function seriesText(text: string, l: { labels: Labels; names: string[]; labelText: string }, value: number, generation: number): SeriesText {
  return { text, labels: l.labels, names: l.names, labelText: l.labelText, bytes: Buffer.byteLength(text), value, seen: generation };
}

/** A gauge, counter or histogram from its table, reusing every text whose series did not change. */
function renderKept(metric: Collectable, table: Record<string, Point | HistogramPoint>): Buffer {
  const t = textOf(metric);
  const writes = metric.collect === undefined ? writeCounts.get(metric)?.n ?? -1 : -1;
  if (writes !== -1 && writes === t.writes) return t.block;
  t.writes = writes;
  const name = t.escapedName;
  const histogram = metric.type === 'histogram';
  const generation = ++t.generation;
  let changed = false;
  // prom-client's tables are dictionaries: their keys are listed once, not by each for-in.
  const keys = Object.keys(table);
  const count = keys.length;
  const lastKeys = t.keys;
  const lastTexts = t.texts;
  for (let i = 0; i < count; i++) {
    const key = keys[i]!;
    const p = table[key]!;
    let s = lastKeys[i] === key ? lastTexts[i] : t.series.get(key);
    if (histogram) {
      const h = p as HistogramPoint;
      if (s === undefined || s.entry !== h || s.value !== h.count || !Object.is(s.sum, h.sum)) {
        const l = labelsOf(s, h.labels);
        s = seriesText(histogramText(name, l.labelText, metric.upperBounds!, h), l, h.count, generation);
        s.sum = h.sum;
        s.entry = h;
        t.series.set(key, s);
        changed = true;
      }
    } else {
      const g = p as Point;
      if (s === undefined || !Object.is(s.value, g.value)) {
        const l = labelsOf(s, g.labels);
        s = seriesText(pointText(name, l.labelText, g), l, g.value, generation);
        t.series.set(key, s);
        changed = true;
      }
    }
    s.seen = generation;
  }
  if (!changed && count === t.count) return t.block;
  if (t.series.size > count) {
    for (const [key, s] of t.series) if (s.seen !== generation) t.series.delete(key);
  }
  // Encoded straight into a new Buffer (the one a scrape may still be writing stays as it is).
  const texts: SeriesText[] = new Array<SeriesText>(count);
  let bytes = Buffer.byteLength(t.head) + 2;
  for (let i = 0; i < count; i++) {
    const s = t.series.get(keys[i]!)!;
    texts[i] = s;
    bytes += s.bytes;
  }
  const block = Buffer.allocUnsafeSlow(bytes);
  let at = block.write(t.head);
  for (const s of texts) at += block.write(s.text, at);
  block.write('\n\n', at);
  t.block = block;
  t.keys = keys;
  t.texts = texts;
  t.count = count;
  return block;
}

function isTable(metric: Collectable): boolean {
  const table = metric.hashMap;
  if (table === null || typeof table !== 'object') return false;
  if (metric.type === 'histogram') return Array.isArray(metric.upperBounds);
  return metric.type === 'gauge' || metric.type === 'counter';
}

/** Anything else (a summary): formatted from its `get()`, as prom-client does. */
async function renderFromGet(metric: Collectable): Promise<Buffer> {
  const data = metric.getForPromString ? await metric.getForPromString() : await metric.get();
  const name = escapeString(data.name);
  let out = `# HELP ${name} ${escapeString(data.help)}\n# TYPE ${name} ${data.type}`;
  for (const val of data.values) {
    const own = formatLabels((val.labels ?? {}), val.sharedLabels);
    const shared = val.sharedLabels === undefined ? '' : formatLabels(val.sharedLabels);
    const labels = own === '' ? shared : shared === '' ? own : `${own},${shared}`;
    out += `\n${val.metricName ?? name}${labels === '' ? '' : `{${labels}}`} ${valueText(val.value)}`;
  }
  return Buffer.from(`${out}\n\n`);
}

/**
 * The exposition as a list of encoded blocks, one per metric, in the registry's order. As in
 * prom-client, every metric's `collect()` runs first (asynchronous ones together), then each is read.
 */
export async function renderExposition(registry: Registry): Promise<Exposition> {
  const metrics = registry.getMetricsAsArray() as unknown as Collectable[];
  const n = metrics.length;
  if (n === 0) return { chunks: [LINE_END], length: 1 };
  const chunks = new Array<Buffer>(n);
  const tables = new Array<boolean>(n);
  let pending: Promise<unknown>[] | undefined;
  for (let i = 0; i < n; i++) {
    const m = metrics[i]!;
    tables[i] = isTable(m);
    if (!tables[i]) {
      (pending ??= []).push(renderFromGet(m).then((b) => { chunks[i] = b; }));
    } else if (m.collect !== undefined) {
      const v = m.collect();
      if (v instanceof Promise) (pending ??= []).push(v);
    }
  }
  if (pending !== undefined) await Promise.all(pending);
  let length = 0;
  for (let i = 0; i < n; i++) {
    const m = metrics[i]!;
    // Read after every collect() has run, as prom-client reads its values after awaiting it.
    if (tables[i]) chunks[i] = renderKept(m, m.hashMap!);
    length += chunks[i]!.length;
  }
  // Blocks are separated by a blank line; the last one ends with a single newline.
  const last = chunks[n - 1]!;
  chunks[n - 1] = last.subarray(0, last.length - 1);
  return { chunks, length: length - 1 };
}

/** The exposition as one string (tests, and callers that want the text). */
export async function renderMetrics(registry: Registry): Promise<string> {
  const { chunks, length } = await renderExposition(registry);
  return Buffer.concat(chunks, length).toString();
}
