import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/**
 * The Prometheus text exposition of a registry, byte for byte what prom-client's
 * `registry.metrics()` writes (a test holds it to that), without its cost per scrape.
 *
 * prom-client's `get()` builds a fresh value object for every series (and, for a histogram, one
 * per bucket with its labels copied) on every scrape, and the text is then formatted from those:
 * at 8,000 series that was most of a scrape's CPU and half of it went to the garbage collector.
 * Here each series' text is kept between scrapes and rebuilt only when its value changed, and a
 * metric none of whose series changed, appeared or left reuses its whole block. The series are
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
  value: number;
  /** Histograms: the sum, and the table entry the text was made from (a re-created series is a new one). */
  sum?: number;
  entry?: object;
  seen: number;
}

/** A metric's kept texts: its header, each series by key, and the last whole block. */
interface MetricText {
  name: string;
  escapedName: string;
  help: string;
  head: string;
  series: Map<string, SeriesText>;
  block: string;
  count: number;
  generation: number;
}

const kept = new WeakMap<object, MetricText>();

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
      series: new Map(), block: '', count: -1, generation: 0,
    };
    kept.set(metric, t);
  }
  return t;
}

function pointText(name: string, p: Point): string {
  const labels = formatLabels(p.labels);
  return `\n${name}${labels === '' ? '' : `{${labels}}`} ${valueText(p.value)}`;
}

function histogramText(name: string, bounds: readonly number[], p: HistogramPoint): string {
  const labels = formatLabels(p.labels);
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

/** A gauge, counter or histogram from its table, reusing every text whose series did not change. */
function renderKept(metric: Collectable, table: Record<string, Point | HistogramPoint>): string {
  const t = textOf(metric);
  const name = t.escapedName;
  const histogram = metric.type === 'histogram';
  const generation = ++t.generation;
  let changed = false;
  // prom-client's tables are dictionaries: their keys are listed once, not by each for-in.
  const keys = Object.keys(table);
  const count = keys.length;
  for (const key of keys) {
    const p = table[key]!;
    let s = t.series.get(key);
    if (histogram) {
      const h = p as HistogramPoint;
      if (s === undefined || s.entry !== h || s.value !== h.count || !Object.is(s.sum, h.sum)) {
        s = { text: histogramText(name, metric.upperBounds!, h), value: h.count, sum: h.sum, entry: h, seen: generation };
        t.series.set(key, s);
        changed = true;
      }
    } else {
      const g = p as Point;
      if (s === undefined || !Object.is(s.value, g.value)) {
        s = { text: pointText(name, g), value: g.value, seen: generation };
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
  // One join makes one flat string; `+=` would leave a rope of thousands of pieces for every
  // later join and the socket write to walk.
  const pieces: string[] = [t.head];
  for (const key of keys) pieces.push(t.series.get(key)!.text);
  t.block = pieces.join('');
  t.count = count;
  return t.block;
}

function isTable(metric: Collectable): boolean {
  const table = metric.hashMap;
  if (table === null || typeof table !== 'object') return false;
  if (metric.type === 'histogram') return Array.isArray(metric.upperBounds);
  return metric.type === 'gauge' || metric.type === 'counter';
}

/** Anything else (a summary): formatted from its `get()`, as prom-client does. */
async function renderFromGet(metric: Collectable): Promise<string> {
  const data = metric.getForPromString ? await metric.getForPromString() : await metric.get();
  const name = escapeString(data.name);
  let out = `# HELP ${name} ${escapeString(data.help)}\n# TYPE ${name} ${data.type}`;
  for (const val of data.values) {
    const own = formatLabels((val.labels ?? {}), val.sharedLabels);
    const shared = val.sharedLabels === undefined ? '' : formatLabels(val.sharedLabels);
    const labels = own === '' ? shared : shared === '' ? own : `${own},${shared}`;
    out += `\n${val.metricName ?? name}${labels === '' ? '' : `{${labels}}`} ${valueText(val.value)}`;
  }
  return out;
}

async function render(metric: Collectable): Promise<string> {
  if (!isTable(metric)) return renderFromGet(metric);
  if (metric.collect !== undefined) {
    const v = metric.collect();
    if (v instanceof Promise) await v;
  }
  return renderKept(metric, metric.hashMap!);
}

export async function renderMetrics(registry: Registry): Promise<string> {
  const parts = await Promise.all((registry.getMetricsAsArray() as unknown as Collectable[]).map(render));
  return `${parts.join('\n\n')}\n`;
}
