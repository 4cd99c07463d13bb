import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { silentLogger } from '../../src/log';
import { renderExposition, renderMetrics, trackWrites } from '../../src/metrics/exposition';
import { setCounter } from '../../src/metrics/instruments';
import { Server } from '../../src/server';
import { plainWebState, WebSurface } from '../../src/web/surface';

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

  it('follows every way of writing to a metric that counts its writes, and reads it only after one', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'g', help: 'g', labelNames: ['t'], registers: [registry] });
    const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['t'], registers: [registry] });
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['t'], buckets: [0.1, 1], registers: [registry] });
    const still = new Gauge({ name: 'still', help: 'written once', labelNames: ['t'], registers: [registry] });
    for (const m of [g, c, h, still]) trackWrites(m);
    still.set({ t: 'x' }, 1);
    const steps: (() => void)[] = [
      () => g.set({ t: 'a' }, 1),
      () => g.inc({ t: 'a' }, 2),
      () => g.dec({ t: 'a' }),
      () => g.labels({ t: 'b' }).set(7),
      () => g.labels('b').inc(),
      () => { const child = g.labels({ t: 'c' }); child.dec(3); },
      () => g.startTimer({ t: 'timer' })(),
      () => g.labels({ t: 'timer2' }).startTimer()(),
      () => g.setToCurrentTime({ t: 'now' }),
      () => g.remove({ t: 'b' }),
      () => g.reset(),
      () => c.inc({ t: 'a' }),
      () => c.labels({ t: 'b' }).inc(3),
      () => setCounter(c, { t: 'a' }, 41.5),
      () => c.remove({ t: 'b' }),
      () => c.reset(),
      () => h.observe({ t: 'a' }, 0.5),
      () => h.labels({ t: 'b' }).observe(0.05),
      () => h.startTimer({ t: 'c' })(),
      () => h.labels({ t: 'd' }).startTimer()(),
      () => h.zero({ t: 'e' }),
      () => h.remove({ t: 'a' }),
      () => h.reset(),
      () => registry.resetMetrics(),
    ];
    for (const step of steps) {
      step();
      expect(await renderMetrics(registry)).toBe(await registry.metrics());
    }
    // A table changed behind the methods' back is not looked at until the metric is written again.
    still.set({ t: 'x' }, 2);
    expect(await renderMetrics(registry)).toMatch(/^still\{t="x"\} 2$/m);
    const table = (still as unknown as { hashMap: Record<string, { value: number; labels: { t: string } }> }).hashMap;
    Object.values(table).find((e) => e.labels.t === 'x')!.value = 3;
    expect(await renderMetrics(registry)).toMatch(/^still\{t="x"\} 2$/m);
    still.set({ t: 'y' }, 0);
    expect(await renderMetrics(registry)).toMatch(/^still\{t="x"\} 3$/m);
  });

  it('writes the labels in the order of the labels object prom-client keeps, also when only the order changed', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'g', help: 'g', labelNames: ['a', 'b'], registers: [registry] });
    const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['a', 'b'], registers: [registry] });
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['a', 'b'], buckets: [1], registers: [registry] });
    const steps: (() => void)[] = [
      () => { g.set({ a: '1', b: '2' }, 1); c.inc({ a: '1', b: '2' }); h.observe({ a: '1', b: '2' }, 0.5); },
      () => { g.set({ b: '2', a: '1' }, 2); c.inc({ b: '2', a: '1' }); h.observe({ b: '2', a: '1' }, 2); }, // same series, other order
      () => { g.set({ a: '1', b: '2' }, 3); }, // back
      () => { g.set({ a: '1', b: '3' }, 3); g.set({ a: '1', b: '2' }, 4); },
      () => { g.set({ a: 'x"y', b: '2' }, 4); g.set({ a: 'x"y', b: '2' }, 5); }, // a new object with the same text
    ];
    for (const step of steps) {
      step();
      expect(await renderMetrics(registry)).toBe(await registry.metrics());
    }
  });

  it('keeps an unchanged metric\'s block as the same bytes and never alters the blocks of an earlier scrape', async () => {
    const registry = new Registry();
    const still = new Gauge({ name: 'still', help: 'does not change', labelNames: ['t'], registers: [registry] });
    const moving = new Counter({ name: 'moving_total', help: 'changes', labelNames: ['t'], registers: [registry] });
    const h = new Histogram({ name: 'h_seconds', help: 'changes', labelNames: ['t'], buckets: [0.1, 1], registers: [registry] });
    for (let i = 0; i < 50; i++) {
      still.set({ t: `s${i}` }, i);
      moving.inc({ t: `m${i}` });
      h.observe({ t: `h${i}` }, i / 10);
    }
    const first = await renderExposition(registry);
    const firstText = Buffer.concat(first.chunks).toString();
    expect(first.length).toBe(Buffer.byteLength(firstText));
    expect(firstText).toBe(await registry.metrics());

    still.set({ t: 's3' }, 3); // the same value in a new labels object: no change
    moving.inc({ t: 'm7' });
    h.observe({ t: 'h2' }, 0.05);
    const second = await renderExposition(registry);
    expect(second.chunks).toHaveLength(3);
    expect(second.chunks[0]).toBe(first.chunks[0]); // the very same Buffer: nothing encoded again
    expect(second.chunks[1]).not.toBe(first.chunks[1]);
    // The first scrape's bytes (possibly still being written to a slow client) are untouched.
    expect(Buffer.concat(first.chunks).toString()).toBe(firstText);
    expect(Buffer.concat(second.chunks).toString()).toBe(await registry.metrics());
    expect(second.length).toBe(Buffer.concat(second.chunks).length);

    expect(Buffer.concat((await renderExposition(new Registry())).chunks).toString()).toBe(await new Registry().metrics());
  });
});

describe('GET /metrics', () => {
  const registry = new Registry();
  const g = new Gauge({ name: 'g', help: 'g', labelNames: ['t'], registers: [registry] });
  for (let i = 0; i < 2000; i++) g.set({ t: `target-${i}-é` }, i); // ~70 KB, with UTF-8 in it
  const log = silentLogger();
  const web = new WebSurface({ registry, log, host: '127.0.0.1', state: plainWebState() });
  const server = new Server('127.0.0.1', 0, {
    registry, tracker: new AvailabilityTracker(registry, () => 1000), clock: () => 1000, log, version: 'test', configSource: () => '',
    ready: () => true, reload: () => Promise.resolve(undefined), web, enableLifecycle: false,
  });
  let port = 0;
  beforeAll(async () => { port = (await server.start()).port; });
  afterAll(() => server.stop());

  const request = (method: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/metrics', method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.setTimeout(5000, () => req.destroy(new Error('no answer')));
      req.on('error', reject);
      req.end();
    });

  it('sends the exposition with its length and type, uncompressed also to a client asking for gzip', async () => {
    for (let round = 0; round < 3; round++) {
      g.set({ t: `target-${round}-é` }, -round);
      const res = await request('GET', { 'accept-encoding': 'gzip' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(registry.contentType);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
      expect(res.body.toString()).toBe(await registry.metrics());
    }
  });

  it('answers HEAD with the headers only', async () => {
    const res = await request('HEAD');
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(await registry.metrics()));
    expect(res.body.length).toBe(0);
  });
});
