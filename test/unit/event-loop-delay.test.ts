/**
 * nodejs_eventloop_lag_*: prom-client's names and help texts, from a sampler that records how late
 * it ran, so an idle loop reads ~0 (prom-client's reads its sampling period) and a blocked one
 * reads how long it was blocked. It samples every 100 ms after a window in which the loop worked
 * and every 5 s after a quiet one; the timing tests run it with shorter periods (50 ms after half a
 * second of work, 500 ms after a quiet one), and their waits and bounds follow.
 */
import fc from 'fast-check';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DelaySamples, EVENT_LOOP_METRICS, EventLoopDelay } from '../../src/metrics/event-loop-delay';
import { Metrics } from '../harness/prom-text';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the event loop is blocked */ }
}

/** Keeps the loop working: `ms` of work every `every` ms, until the returned function is called. */
function work(ms: number, every: number): () => void {
  const t = setInterval(() => block(ms), every);
  return () => clearInterval(t);
}

/** The sampler's periods in these tests (its defaults are 100 ms and 5 s). */
const FINE_MS = 50;
const COARSE_MS = 500;

describe('event-loop delay gauges', () => {
  let registry: Registry;
  let delay: EventLoopDelay;

  beforeEach(() => {
    registry = new Registry();
    delay = new EventLoopDelay(registry, FINE_MS, COARSE_MS);
    delay.start();
  });
  afterEach(() => delay.stop());

  test('the same names, types and help texts as prom-client\'s', async () => {
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs });
    const heads = async (r: Registry): Promise<string[]> => (await r.metrics()).split('\n').filter((l) => l.startsWith('#') && l.includes('nodejs_eventloop_lag')).sort();
    expect(await heads(registry)).toEqual(await heads(theirs));
    expect(registry.getMetricsAsArray().map((m) => m.name).sort()).toEqual([...EVENT_LOOP_METRICS].sort());
  });

  test('an idle loop reads about 0, not one sampling period', async () => {
    await sleep(600);
    const m = Metrics.parse(await registry.metrics());
    // A sampler that records the interval between its ticks reads at least its period here.
    expect(m.get('nodejs_eventloop_lag_p50_seconds')).toBeLessThan(0.05);
    expect(m.get('nodejs_eventloop_lag_min_seconds')).toBeLessThan(0.05);
    expect(m.get('nodejs_eventloop_lag_mean_seconds')).toBeLessThan(0.05);
  });

  test('a blocked loop reads how long it was blocked, and the next scrape starts afresh', async () => {
    await sleep(250);
    block(500);
    await sleep(250);
    let m = Metrics.parse(await registry.metrics());
    // The sample due during the block ran 450-500 ms late.
    expect(m.get('nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.38);
    expect(m.get('nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.75);
    await sleep(600);
    m = Metrics.parse(await registry.metrics());
    expect(m.get('nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.2);
  });

  test('an idle loop is sampled at the coarse period, a working one at the fine one', async () => {
    await sleep(750);
    let before = delay.samples;
    await sleep(1500);
    // Idle: about 3 samples (sampling at the fine period takes 30; slack for a loaded machine).
    expect(delay.samples - before).toBeGreaterThanOrEqual(2);
    expect(delay.samples - before).toBeLessThanOrEqual(10);
    const stopWork = work(3, 50);
    try {
      await sleep(600);
      before = delay.samples;
      await sleep(1000);
      // Working: about 20 samples (at the coarse period, 2).
      expect(delay.samples - before).toBeGreaterThanOrEqual(14);
    } finally {
      stopWork();
    }
  });

  test('a block that starts after an idle period shows by how late the next sample ran', async () => {
    await sleep(750);
    await registry.metrics();
    // A block longer than the idle period is always seen, by at least its length less that period.
    block(800);
    await sleep(25);
    const m = Metrics.parse(await registry.metrics());
    expect(m.get('nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.275);
    expect(m.get('nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.9);
    // The block counts as work: the next samples come at the fine period again.
    const before = delay.samples;
    await sleep(300);
    expect(delay.samples - before).toBeGreaterThanOrEqual(4);
  });

  test('while its period holds, the sampler re-arms one timer instead of making one per sample', async () => {
    const inner = delay as unknown as { timer: unknown; period: number };
    await sleep(750);
    const before = delay.samples;
    let seen = { timer: inner.timer, period: inner.period, samples: delay.samples };
    let compared = 0;
    for (let i = 0; i < 50; i++) {
      await sleep(25);
      const now = { timer: inner.timer, period: inner.period, samples: delay.samples };
      // A change of period (a busy second on a loaded machine) may make a new one; nothing else.
      if (now.period === seen.period && now.samples > seen.samples) {
        expect(now.timer).toBe(seen.timer);
        compared += 1;
      }
      seen = now;
    }
    expect(delay.samples - before).toBeGreaterThanOrEqual(1);
    expect(compared).toBeGreaterThanOrEqual(1);
  });

  test('stop() ends the sampling', async () => {
    delay.stop();
    const before = delay.samples;
    await sleep(600);
    expect(delay.samples).toBe(before);
  });
});

describe('DelaySamples', () => {
  /** The figures computed the obvious way; percentiles by nearest rank over the kept samples. */
  function expected(all: number[]): { min: number; max: number; mean: number; stddev: number; p: (q: number) => number } {
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    const kept = all.slice(-DelaySamples.CAPACITY).sort((a, b) => a - b);
    return {
      min: Math.min(...all), max: Math.max(...all), mean,
      stddev: Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length),
      p: (q) => kept[Math.max(0, Math.ceil((q / 100) * kept.length) - 1)]!,
    };
  }

  test('min, max, mean, stddev and percentiles of what was recorded', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 30, noNaN: true }), { minLength: 1, maxLength: 300 }), (values) => {
      const s = new DelaySamples();
      for (const v of values) s.record(v);
      const e = expected(values);
      expect(s.count).toBe(values.length);
      expect(s.min).toBe(e.min);
      expect(s.max).toBe(e.max);
      expect(s.mean).toBeCloseTo(e.mean, 9);
      expect(s.stddev).toBeCloseTo(e.stddev, 9);
      for (const q of [50, 90, 99]) expect(s.percentile(q)).toBe(e.p(q));
    }));
  });

  test('past its capacity the percentiles come from the latest samples, the rest from all', () => {
    const s = new DelaySamples();
    const values = Array.from({ length: DelaySamples.CAPACITY + 1000 }, (_, i) => (i < 1000 ? 5 : (i % 100) / 1000));
    for (const v of values) s.record(v);
    const e = expected(values);
    expect(s.max).toBe(5);
    expect(s.mean).toBeCloseTo(e.mean, 9);
    expect(s.percentile(99)).toBe(e.p(99));
    expect(s.percentile(99)).toBeLessThan(0.1);
  });

  test('reset starts afresh', () => {
    const s = new DelaySamples();
    s.record(3);
    s.reset();
    s.record(0.001);
    expect([s.count, s.min, s.max, s.mean, s.stddev, s.percentile(50)]).toEqual([1, 0.001, 0.001, 0.001, 0, 0.001]);
  });
});
