import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import type { MetricDef } from './definitions';

/**
 * prom-client instruments made from the definitions in ./definitions.ts.
 *
 * Instruments are created once per registry and shared: a collector rebuilt by a config
 * reload gets the same counters back, so nothing already counted is lost.
 */

type Def<T extends MetricDef['type']> = MetricDef & { type: T };

function existing<T>(registry: Registry, def: MetricDef, ctor: abstract new (...a: never[]) => T): T | undefined {
  const m = registry.getSingleMetric(def.name);
  if (m === undefined) return undefined;
  if (!(m instanceof ctor)) throw new Error(`metric ${def.name} is registered with another type`);
  return m;
}

export function gauge(registry: Registry, def: Def<'gauge'>): Gauge {
  return existing(registry, def, Gauge)
    ?? new Gauge({ name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] });
}

export function counter(registry: Registry, def: Def<'counter'>): Counter {
  return existing(registry, def, Counter)
    ?? new Counter({ name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] });
}

export function histogram(registry: Registry, def: Def<'histogram'>): Histogram {
  return existing(registry, def, Histogram)
    ?? new Histogram({
      name: def.name,
      help: def.help,
      labelNames: [...def.labels],
      buckets: [...(def.buckets ?? [])],
      registers: [registry],
    });
}

/**
 * Removes every series of the named metrics whose labels include all of `match`
 * (e.g. `{ container: 'web' }` when a container is removed). Histograms lose all their buckets.
 */
export async function dropSeries(registry: Registry, names: readonly string[], match: Record<string, string>): Promise<void> {
  for (const name of names) {
    const metric: (Metric & { remove?: (labels: Record<string, string>) => void }) | undefined = registry.getSingleMetric(name);
    if (metric?.remove === undefined) continue;
    const got = await metric.get();
    const seen = new Set<string>();
    for (const v of got.values) {
      const labels: Record<string, string> = {};
      for (const [k, val] of Object.entries(v.labels)) {
        if (k !== 'le' && val !== undefined) labels[k] = String(val);
      }
      if (!Object.entries(match).every(([k, val]) => labels[k] === val)) continue;
      const key = JSON.stringify(labels);
      if (seen.has(key)) continue;
      seen.add(key);
      metric.remove(labels);
    }
  }
}

/** Sets a state-set gauge: 1 for `current`, 0 for the other states. */
export function setStateSet(g: Gauge, labels: Record<string, string>, stateLabel: string, states: readonly string[], current: string): void {
  for (const s of states) g.set({ ...labels, [stateLabel]: s }, s === current ? 1 : 0);
}
