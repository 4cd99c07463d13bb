/**
 * nodejs_eventloop_lag_*: prom-client's names and help texts, from a histogram sampling every
 * 100 ms whose sampling period is taken off, so an idle loop reads ~0 (prom-client's reads one
 * period) and a blocked one reads how long it was blocked.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { EVENT_LOOP_METRICS, EventLoopDelay } from '../../src/metrics/event-loop-delay';
import { Metrics } from '../harness/prom-text';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the event loop is blocked */ }
}

describe('event-loop delay gauges', () => {
  let registry: Registry;
  let delay: EventLoopDelay;

  beforeEach(() => {
    registry = new Registry();
    delay = new EventLoopDelay(registry, 100);
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
    await sleep(1200);
    const m = Metrics.parse(await registry.metrics());
    // Uncorrected, every sample is at least the 100 ms period.
    expect(m.get('nodejs_eventloop_lag_p50_seconds')).toBeLessThan(0.05);
    expect(m.get('nodejs_eventloop_lag_min_seconds')).toBeLessThan(0.05);
    expect(m.get('nodejs_eventloop_lag_mean_seconds')).toBeLessThan(0.05);
  });

  test('a blocked loop reads how long it was blocked, and the next scrape starts afresh', async () => {
    await sleep(250);
    block(500);
    await sleep(250);
    let m = Metrics.parse(await registry.metrics());
    // The tick due during the block came 400-500 ms late (a 500-600 ms interval uncorrected).
    expect(m.get('nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.38);
    expect(m.get('nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.75);
    await sleep(1200);
    m = Metrics.parse(await registry.metrics());
    expect(m.get('nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.2);
  });
});
