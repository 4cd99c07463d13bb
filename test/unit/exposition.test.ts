import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { renderMetrics } from '../../src/metrics/exposition';

describe('renderMetrics', () => {
  it('writes exactly what prom-client writes, scrape after scrape', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'g', help: 'a gauge with \\ and\nnewline in its help', labelNames: ['a', 'b'], registers: [registry] });
    const c = new Counter({ name: 'c_total', help: 'a counter', labelNames: ['x'], registers: [registry] });
    const h = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['t'], buckets: [0.1, 1, 10], registers: [registry] });
    new Gauge({ name: 'empty', help: 'no series', registers: [registry] });
    const plain = new Gauge({ name: 'plain', help: 'no labels', registers: [registry] });
    const tracker = new AvailabilityTracker(registry, () => 1000);
    collectDefaultMetrics({ register: registry });

    g.set({ a: 'quote " backslash \\ newline \n', b: '' }, NaN);
    g.set({ a: 'inf' }, Infinity);
    g.set({ a: 'minus', b: 'inf' }, -Infinity);
    g.set({ b: 'only b' }, 0.1 + 0.2);
    c.inc({ x: 'one' }, 3);
    h.observe({ t: 'api' }, 0.05);
    h.observe({ t: 'api' }, 5);
    h.zero({ t: 'never' });
    plain.set(-1.5e-9);
    tracker.observe('http', 'api', false);
    tracker.observe('http', 'api', true);

    for (let round = 0; round < 3; round++) {
      // default metrics (event loop lag, heap) move between two calls: compare without them
      const strip = (s: string): string => s.split('\n\n').filter((b) => !/# HELP (process|nodejs)_/.test(b)).join('\n\n');
      expect(strip(await renderMetrics(registry))).toBe(strip(await registry.metrics()));
      g.set({ a: 'inf' }, round); // values change, cached label strings stay right
      c.inc({ x: `new ${round}` });
    }
    expect(await renderMetrics(registry)).toMatch(/^c_total\{x="new 2"\} 1$/m);
  });

  it('follows every change of a series kept between scrapes: new values, removed and re-created series, resets', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'g', help: 'g', labelNames: ['t'], registers: [registry] });
    const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['t', 'reason'], registers: [registry] });
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['t'], buckets: [0.1, 1], registers: [registry] });
    const plainH = new Histogram({ name: 'plain_seconds', help: 'no labels', buckets: [1], registers: [registry] });
    const s = new Summary({ name: 's_seconds', help: 'a summary (rendered from get())', percentiles: [0.5], registers: [registry] });
    let collected = 0;
    new Gauge({ name: 'collected', help: 'set in collect()', registers: [registry], collect() { collected += 1; this.set(collected); } });
    const same = async (): Promise<string> => {
      const mine = await renderMetrics(registry);
      collected -= 1; // prom-client's own rendering calls collect() again: the same value
      expect(mine).toBe(await registry.metrics());
      return mine;
    };
    for (let round = 0; round < 4; round++) {
      // A new labels object on every update, as the collectors do.
      g.set({ t: 'a' }, round % 2);
      g.set({ t: `only-in-${round}` }, round);
      c.inc({ t: 'a', reason: 'x' }, round === 2 ? 0 : 1);
      h.observe({ t: 'a' }, round * 0.3);
      plainH.observe(2);
      s.observe(round);
      if (round === 1) g.remove({ t: 'only-in-0' });
      await same();
    }
    // Removed and re-created with the same count and sum but other buckets: a new series.
    h.remove({ t: 'b' });
    h.observe({ t: 'b' }, 0.05);
    h.observe({ t: 'b' }, 0.95);
    await same();
    h.remove({ t: 'b' });
    h.observe({ t: 'b' }, 0.5);
    h.observe({ t: 'b' }, 0.5);
    expect(await same()).toMatch(/^h_seconds_bucket\{le="0.1",t="b"\} 0$/m);
    g.reset();
    h.reset();
    await same();
    g.set({ t: 'back' }, NaN);
    g.set({ t: 'nan-then-number' }, NaN);
    await same();
    g.set({ t: 'nan-then-number' }, 1);
    expect(await same()).toMatch(/^g\{t="nan-then-number"\} 1$/m);
    expect(collected).toBeGreaterThan(0);
  });
});
