import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { renderMetrics } from '../../src/metrics/exposition';
import { dropSeries } from '../../src/metrics/instruments';

describe('dropSeries', () => {
  it('removes exactly the series whose labels include the match, from every kind of metric', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'g', help: 'g', labelNames: ['container', 'state'], registers: [registry] });
    const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['container'], registers: [registry] });
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['container'], buckets: [0.1, 1], registers: [registry] });
    const s = new Summary({ name: 's_seconds', help: 's', labelNames: ['container'], percentiles: [0.5], registers: [registry] });
    const other = new Gauge({ name: 'other', help: 'not named', labelNames: ['container'], registers: [registry] });
    for (const name of ['web', 'web2', 'db']) {
      for (const state of ['running', 'exited']) g.set({ container: name, state }, state === 'running' ? 1 : 0);
      c.inc({ container: name }, 3);
      h.observe({ container: name }, 0.5);
      s.observe({ container: name }, 1);
      other.set({ container: name }, 1);
    }
    g.set({ container: '42', state: 'running' }, 1);
    await renderMetrics(registry); // kept texts exist: the removal must show in the next scrape
    await dropSeries(registry, ['g', 'c_total', 'h_seconds', 's_seconds', 'missing'], { container: 'web' });
    await dropSeries(registry, ['g'], { container: '42' });
    await dropSeries(registry, ['g'], { container: 'db', state: 'exited' });
    const text = await renderMetrics(registry);
    expect(text).toBe(await registry.metrics());
    for (const line of text.split('\n').filter((l) => l.includes('container="web"'))) expect(line).toMatch(/^other\{/);
    expect(text).not.toContain('container="42"');
    expect(text).toMatch(/^g\{container="db",state="running"\} 1$/m);
    expect(text).not.toMatch(/^g\{container="db",state="exited"\}/m);
    expect(text).toMatch(/^g\{container="web2",state="exited"\} 0$/m);
    expect(text).toMatch(/^h_seconds_bucket\{le="1",container="web2"\} 1$/m);
    expect(text).toMatch(/^s_seconds_count\{container="db"\} 1$/m);
    expect(text).toMatch(/^c_total\{container="web2"\} 3$/m);
  });
});
