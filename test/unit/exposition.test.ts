import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
});
