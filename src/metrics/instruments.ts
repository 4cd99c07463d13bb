import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import type { EnumLabelOf, LabelOf, MetricDef, ValueOf } from './definitions';
import { trackWrites } from './exposition';

/**
 * prom-client instruments made from the definitions in ./definitions.ts.
 *
 * Instruments are created once per registry and shared: a collector rebuilt by a config
 * reload gets the same counters back, so nothing already counted is lost. Each counts its writes
 * (see trackWrites() in ./exposition.ts), so a scrape skips the ones nothing wrote to.
 */

function tracked<T extends object>(m: T): T {
  trackWrites(m);
  return m;
}

type Def<T extends MetricDef['type']> = MetricDef & { type: T };

/** The instrument made from a definition, typed by its label names. */
export type GaugeOf<D extends MetricDef> = Gauge<LabelOf<D>>;
export type CounterOf<D extends MetricDef> = Counter<LabelOf<D>>;
export type HistogramOf<D extends MetricDef> = Histogram<LabelOf<D>>;

function existing<T>(registry: Registry, def: MetricDef, ctor: abstract new (...a: never[]) => T): T | undefined {
  const m = registry.getSingleMetric(def.name);
  if (m === undefined) return undefined;
  if (!(m instanceof ctor)) throw new Error(`metric ${def.name} is registered with another type`);
  return m;
}

export function gauge<D extends Def<'gauge'>>(registry: Registry, def: D): GaugeOf<D> {
  return existing<GaugeOf<D>>(registry, def, Gauge)
    ?? tracked(keyedOnce(new Gauge<LabelOf<D>>({ name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] })));
}

/** A gauge as prom-client (pinned) keeps it: its table and its label names, sorted once. */
interface GaugeTable {
  hashMap: Record<string, { value: number; labels: object }>;
  labelNames: readonly string[];
  sortedLabelNames: readonly string[];
}

/**
 * prom-client's `Gauge.set(labels, value)` keys the series by sorting the labels' names anew
 * (`Object.keys` and `sort` on every call) and replaces the series' entry with a new object;
 * its `inc()` keys the series with the names it sorted once. This `set()` does what prom-client's
 * does (the same checks, the same key, an entry holding the value and the latest labels object)
 * but keys the series as `inc()` does and updates an existing entry in place: a gauge written on
 * every probe made about 0.9 KB of garbage per write. Anything else (no labels, a value that is
 * not a number, a label not declared) goes to prom-client's own `set()`, which throws as it did.
 */
function keyedOnce<T extends string>(g: Gauge<T>): Gauge<T> {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the gauge as `this`
  const original = g.set as (this: Gauge<T>, labels: unknown, value: unknown) => void;
  g.set = function (this: Gauge<T> & GaugeTable, labels: unknown, value?: unknown): void {
    if (labels === null || typeof labels !== 'object' || typeof value !== 'number') {
      original.call(this, labels, value);
      return;
    }
    const given = labels as Record<string, string | number | undefined>;
    for (const name in given) {
      if (!this.labelNames.includes(name)) {
        original.call(this, labels, value);
        return;
      }
    }
    let key = '';
    for (const name of this.sortedLabelNames) {
      const v = given[name];
      if (v !== undefined) key += `${name}:${v},`;
    }
    const entry = this.hashMap[key];
    if (entry === undefined) this.hashMap[key] = { value, labels };
    else {
      entry.value = value;
      entry.labels = labels;
    }
  };
  return g;
}

export function counter<D extends Def<'counter'>>(registry: Registry, def: D): CounterOf<D> {
  return existing<CounterOf<D>>(registry, def, Counter)
    ?? tracked(new Counter<LabelOf<D>>({ name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] }));
}

export function histogram<D extends Def<'histogram'>>(registry: Registry, def: D): HistogramOf<D> {
  return existing<HistogramOf<D>>(registry, def, Histogram)
    ?? tracked(new Histogram<LabelOf<D>>({
      name: def.name,
      help: def.help,
      labelNames: [...def.labels],
      buckets: [...(def.buckets ?? [])],
      registers: [registry],
    }));
}

/**
 * Sets a counter's series to exactly `value` (creating it if needed), for a counter whose total is
 * kept elsewhere and must read exactly that (an increment by the difference would drift by
 * rounding). The caller keeps it from going down. prom-client's `inc()` reports the key of the
 * series in its table (prom-client is pinned to an exact version in package.json).
 */
export function setCounter<T extends string>(c: Counter<T>, labels: Partial<Record<T, string | number>>, value: number): void {
  const { labelHash } = (c.inc as (l: typeof labels, v: number) => unknown)(labels, 0) as { labelHash: string };
  const entry = (c as unknown as { hashMap: Record<string, { value: number } | undefined> }).hashMap[labelHash];
  if (entry === undefined) throw new Error(`counter ${(c as unknown as { name: string }).name} keeps its series elsewhere`);
  entry.value = value;
}

/**
 * Removes every series of the named metrics whose labels include all of `match`
 * (e.g. `{ container: 'web' }` when a container is removed). Histograms lose all their buckets.
 * The series are found in the instrument's own table (prom-client, pinned, keeps one entry per
 * series with its labels), not through `get()`, which builds a value object per series and, for a
 * histogram, per bucket: removing a container walked all 50 containers' buckets of each metric.
 */
export async function dropSeries(registry: Registry, names: readonly string[], match: Record<string, string>): Promise<void> {
  const wanted = Object.entries(match);
  const matches = (labels: Record<string, string | number | undefined>): boolean => wanted.every(([k, val]) => labels[k] !== undefined && String(labels[k]) === val);
  for (const name of names) {
    type Removable = Metric & { remove?: (labels: Record<string, string>) => void; hashMap?: Record<string, { labels?: Record<string, string | number | undefined> }> };
    const metric: Removable | undefined = registry.getSingleMetric(name);
    if (metric?.remove === undefined) continue;
    const found: Record<string, string>[] = [];
    if (metric.hashMap !== null && typeof metric.hashMap === 'object') {
      for (const entry of Object.values(metric.hashMap)) {
        const labels = entry.labels ?? {};
        if (matches(labels)) found.push(stringLabels(labels));
      }
    } else {
      const seen = new Set<string>();
      for (const v of (await metric.get()).values) {
        const labels = stringLabels(v.labels, 'le');
        const key = JSON.stringify(labels);
        if (!matches(labels) || seen.has(key)) continue;
        seen.add(key);
        found.push(labels);
      }
    }
    for (const labels of found) metric.remove(labels);
  }
}

function stringLabels(labels: Record<string, string | number | undefined>, skip?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(labels)) {
    if (k !== skip && val !== undefined) out[k] = String(val);
  }
  return out;
}

/**
 * Sets a state-set gauge: 1 for `current`, 0 for every other value the catalogue lists for
 * `stateLabel`, so the exposition always holds exactly the catalogue's states.
 */
export function setStateSet<D extends Def<'gauge'>, K extends EnumLabelOf<D>>(
  g: GaugeOf<D>, def: D, labels: Partial<Record<Exclude<LabelOf<D>, K>, string>>, stateLabel: K, current: ValueOf<D, K>,
): void {
  const spec = def.spec[stateLabel] as { values: readonly string[] };
  for (const s of spec.values) g.set({ ...labels, [stateLabel]: s } as Partial<Record<LabelOf<D>, string>>, s === current ? 1 : 0);
}
