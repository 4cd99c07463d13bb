import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * The `nodejs_eventloop_lag_*` gauges, under prom-client's names and help texts, from a delay
 * histogram that samples every `sampleMs` (100 ms) instead of prom-client's 10 ms: at 10 ms its
 * timer was most of an idle daemon's CPU (about 100 wake-ups a second).
 *
 * Node records each sample as the whole time between two ticks of that timer, so an idle loop
 * reads as a delay of one sampling period: prom-client reports 10 ms for an idle loop at its
 * 10 ms, and would report 100 ms at ours. Here the period is taken off (never below 0), so the
 * gauges say how late the loop was: ~0 when idle, 300 ms after a 300 ms block, whatever the
 * sampling period. A block shorter than the period delays only the next tick; it still shows in
 * max and the percentiles by its length.
 */

/** prom-client's names for what the histogram gives, and what each is taken from. */
const FROM_HISTOGRAM: readonly { name: string; help: string; read: (h: IntervalHistogram) => number; offset: boolean }[] = [
  { name: 'nodejs_eventloop_lag_min_seconds', help: 'The minimum recorded event loop delay.', read: (h) => h.min, offset: true },
  { name: 'nodejs_eventloop_lag_max_seconds', help: 'The maximum recorded event loop delay.', read: (h) => h.max, offset: true },
  { name: 'nodejs_eventloop_lag_mean_seconds', help: 'The mean of the recorded event loop delays.', read: (h) => h.mean, offset: true },
  { name: 'nodejs_eventloop_lag_stddev_seconds', help: 'The standard deviation of the recorded event loop delays.', read: (h) => h.stddev, offset: false },
  { name: 'nodejs_eventloop_lag_p50_seconds', help: 'The 50th percentile of the recorded event loop delays.', read: (h) => h.percentile(50), offset: true },
  { name: 'nodejs_eventloop_lag_p90_seconds', help: 'The 90th percentile of the recorded event loop delays.', read: (h) => h.percentile(90), offset: true },
  { name: 'nodejs_eventloop_lag_p99_seconds', help: 'The 99th percentile of the recorded event loop delays.', read: (h) => h.percentile(99), offset: true },
];
const LAG = 'nodejs_eventloop_lag_seconds';

/** Every name this module exports (prom-client's default metrics make the same ones: remove theirs first). */
export const EVENT_LOOP_METRICS: readonly string[] = [LAG, ...FROM_HISTOGRAM.map((m) => m.name)];

export class EventLoopDelay {
  private histogram: IntervalHistogram | undefined;

  constructor(private readonly registry: Registry, private readonly sampleMs = 100) {}

  start(): void {
    if (this.histogram !== undefined) return;
    const histogram = monitorEventLoopDelay({ resolution: this.sampleMs });
    histogram.enable();
    this.histogram = histogram;
    const period = this.sampleMs * 1e6;
    // Registered first: a scrape reads the metrics in order, and this one's collect sets the others.
    const lag: Gauge = new Gauge({
      name: LAG,
      help: 'Lag of event loop in seconds.',
      registers: [this.registry],
      // As prom-client: how long a setImmediate queued at scrape time waits (set after the scrape,
      // so a scrape shows the previous one's), and the histogram since the last scrape.
      collect: () => {
        const queued = process.hrtime.bigint();
        setImmediate(() => lag.set(Number(process.hrtime.bigint() - queued) / 1e9));
        if (histogram.count === 0) return;
        for (const { m, g } of gauges) g.set(Math.max(0, m.read(histogram) - (m.offset ? period : 0)) / 1e9);
        histogram.reset();
      },
    });
    const gauges = FROM_HISTOGRAM.map((m) => ({ m, g: new Gauge({ name: m.name, help: m.help, registers: [this.registry] }) }));
  }

  stop(): void {
    this.histogram?.disable();
  }
}
