import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * The `nodejs_eventloop_lag_*` gauges, under prom-client's names and help texts, from our own
 * sampler: a timer that records how late it ran (its delay past its due time), so an idle loop
 * reads ~0 and a blocked one how long it was blocked, whatever the sampling period.
 *
 * The period adapts to the loop's work, so that an idle daemon does not wake ten times a second
 * to measure nothing (that timer was most of an idle daemon's CPU):
 *  - every `fineMs` (100 ms) after a window in which the loop worked (BUSY_UTILIZATION): any
 *    block longer than 100 ms then shows by at least its length less 100 ms;
 *  - every `coarseMs` (5 s) after a window in which it did not. A block starting in such a quiet
 *    window shows by how late the next sample ran (a block longer than 5 s always shows, by at
 *    least its length less 5 s; a shorter one when a sample falls due inside it), and the block
 *    itself makes the next window sampled at 100 ms.
 * The loop's work is read from the event-loop utilization (time outside the poll for I/O) over
 * the last `coarseMs` at least, which costs no wake-up of its own.
 *
 * Why 5 s and not 1 s when quiet: each wake-up of an idle process costs far more than the
 * sample's own JavaScript (the epoll return, the timer lists, two context switches); at 1 s the
 * sampler was ~0.2 of an idle daemon's ~0.6 ms/s (docs/benchmarks.md, "The idle daemon's
 * wake-ups"). A quiet loop has nothing waiting for it, so a short block there delays nothing; a
 * daemon with work to do samples every 100 ms, as before.
 */

/** prom-client's names for what the samples give. */
const FROM_SAMPLES: readonly { name: string; help: string; read: (s: DelaySamples) => number }[] = [
  { name: 'nodejs_eventloop_lag_min_seconds', help: 'The minimum recorded event loop delay.', read: (s) => s.min },
  { name: 'nodejs_eventloop_lag_max_seconds', help: 'The maximum recorded event loop delay.', read: (s) => s.max },
  { name: 'nodejs_eventloop_lag_mean_seconds', help: 'The mean of the recorded event loop delays.', read: (s) => s.mean },
  { name: 'nodejs_eventloop_lag_stddev_seconds', help: 'The standard deviation of the recorded event loop delays.', read: (s) => s.stddev },
  { name: 'nodejs_eventloop_lag_p50_seconds', help: 'The 50th percentile of the recorded event loop delays.', read: (s) => s.percentile(50) },
  { name: 'nodejs_eventloop_lag_p90_seconds', help: 'The 90th percentile of the recorded event loop delays.', read: (s) => s.percentile(90) },
  { name: 'nodejs_eventloop_lag_p99_seconds', help: 'The 99th percentile of the recorded event loop delays.', read: (s) => s.percentile(99) },
];
const LAG = 'nodejs_eventloop_lag_seconds';

/** Every name this module exports (prom-client's default metrics make the same ones: remove theirs first). */
export const EVENT_LOOP_METRICS: readonly string[] = [LAG, ...FROM_SAMPLES.map((m) => m.name)];

/**
 * The delays recorded since the last scrape, in seconds. Not Node's HDR histogram: reading its
 * stddev walks every bucket (0.4-2 ms a call, most of an idle exporter's scrape). Count, min,
 * max, mean and stddev cover every sample; the percentiles the latest CAPACITY (at 10 samples a
 * second, the last 6.8 minutes: longer than any scrape interval).
 */
export class DelaySamples {
  static readonly CAPACITY = 4096;
  private readonly ring = new Float64Array(DelaySamples.CAPACITY);
  count = 0;
  min = 0;
  max = 0;
  mean = 0;
  /** Sum of squared differences from the mean (Welford). */
  private m2 = 0;

  record(v: number): void {
    this.ring[this.count % DelaySamples.CAPACITY] = v;
    this.count += 1;
    if (this.count === 1 || v < this.min) this.min = v;
    if (this.count === 1 || v > this.max) this.max = v;
    const d = v - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (v - this.mean);
  }

  /** Population standard deviation, as Node's histogram gives. */
  get stddev(): number {
    return this.count === 0 ? 0 : Math.sqrt(this.m2 / this.count);
  }

  /** The smallest recorded value with at least p % of the (kept) samples at or below it. */
  percentile(p: number): number {
    const n = Math.min(this.count, DelaySamples.CAPACITY);
    if (n === 0) return 0;
    const sorted = this.ring.slice(0, n).sort();
    return sorted[Math.max(0, Math.ceil((p / 100) * n) - 1)]!;
  }

  reset(): void {
    this.count = 0;
    this.min = 0;
    this.max = 0;
    this.mean = 0;
    this.m2 = 0;
  }
}

/**
 * The share of a window that the loop spent outside its poll for I/O from which on it counts as
 * working: 20 ms a second. A sample's own callback takes under 0.1 ms; over a whole window, being
 * descheduled now and then on a loaded machine stays well under it.
 */
const BUSY_UTILIZATION = 0.02;

export class EventLoopDelay {
  private readonly delays = new DelaySamples();
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() at which the pending sample is due. */
  private due = 0;
  /** Where the current window of the loop's work began (performance.now(), utilization then). */
  private windowStart = 0;
  private windowElu: EventLoopUtilization = performance.eventLoopUtilization();
  /** The sampling period until the current window ends: fineMs or coarseMs. */
  private period = 0;
  /** The period the current Timeout was made with (refresh() keeps it). */
  private armedPeriod = 0;
  /** Samples taken since start (tests read how often the sampler wakes). */
  private taken = 0;
  private registered = false;

  constructor(private readonly registry: Registry, private readonly fineMs = 100, private readonly coarseMs = 5000) {}

  get samples(): number {
    return this.taken;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.register();
    this.windowElu = performance.eventLoopUtilization();
    this.windowStart = performance.now();
    // Starting is work: the first second is sampled finely.
    this.period = this.fineMs;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Arms the timer for the next sample. While the period holds, the one Timeout is re-armed with
   * refresh() rather than a new one made: an idle daemon then allocates nothing per sample, so its
   * young generation fills (and the garbage collector wakes) only for work it does.
   */
  private schedule(): void {
    this.due = performance.now() + this.period;
    if (this.timer !== undefined && this.armedPeriod === this.period) {
      this.timer.refresh();
      return;
    }
    clearTimeout(this.timer);
    this.armedPeriod = this.period;
    this.timer = setTimeout(this.sample, this.period);
    this.timer.unref();
  }

  private readonly sample = (): void => {
    const now = performance.now();
    this.taken += 1;
    this.delays.record(Math.max(0, now - this.due) / 1000);
    if (now - this.windowStart >= this.coarseMs) {
      const elu = performance.eventLoopUtilization();
      const busy = performance.eventLoopUtilization(elu, this.windowElu).utilization >= BUSY_UTILIZATION;
      this.period = busy ? this.fineMs : this.coarseMs;
      this.windowStart = now;
      this.windowElu = elu;
    }
    this.schedule();
  };

  private register(): void {
    if (this.registered) return;
    this.registered = true;
    const delays = this.delays;
    // Registered first: a scrape reads the metrics in order, and this one's collect sets the others.
    const lag: Gauge = new Gauge({
      name: LAG,
      help: 'Lag of event loop in seconds.',
      registers: [this.registry],
      // As prom-client: how long a setImmediate queued at scrape time waits (set after the scrape,
      // so a scrape shows the previous one's), and the delays since the last scrape.
      collect: () => {
        const queued = process.hrtime.bigint();
        setImmediate(() => lag.set(Number(process.hrtime.bigint() - queued) / 1e9));
        if (delays.count === 0) return;
        for (const { m, g } of gauges) g.set(m.read(delays));
        delays.reset();
      },
    });
    const gauges = FROM_SAMPLES.map((m) => ({ m, g: new Gauge({ name: m.name, help: m.help, registers: [this.registry] }) }));
  }
}
