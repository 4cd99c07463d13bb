import type { Registry } from 'prom-client';
import type { Clock } from '../clock';
import { COLLECTOR_ERROR_REASONS as REASONS, M, type CollectorErrorReason } from '../metrics/definitions';
import { counter, gauge, type CounterOf, type GaugeOf } from '../metrics/instruments';

/** Why the exporter's own machinery failed (the `reason` label of stackwatch_collector_errors_total). */
export type { CollectorErrorReason };
export const COLLECTOR_ERROR_REASONS: readonly CollectorErrorReason[] = REASONS.values;

/** Node error codes that say the exporter itself ran out of something, not the target. */
const RESOURCE_CODES = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'ENOBUFS']);

/** Whether an error is the exporter running out of file descriptors or memory. */
export function isResourceExhaustion(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && RESOURCE_CODES.has(code);
}

/** The exporter's view of its collectors: last cycle duration, success, last success, errors. */
export class CollectorStats {
  private readonly duration: GaugeOf<typeof M.collectorDuration>;
  private readonly success: GaugeOf<typeof M.collectorSuccess>;
  private readonly lastSuccess: GaugeOf<typeof M.collectorLastSuccess>;
  private readonly errors: CounterOf<typeof M.collectorErrors>;
  /**
   * Each collector's label set, made once, and whether its error counters exist (at 0): a
   * collector that records every probe (HTTP, 20 a second at the reference load) then writes
   * three series per record and allocates nothing.
   */
  private readonly labelsOf = new Map<string, { collector: string }>();

  constructor(registry: Registry, private readonly clock: Clock) {
    this.duration = gauge(registry, M.collectorDuration);
    this.success = gauge(registry, M.collectorSuccess);
    this.lastSuccess = gauge(registry, M.collectorLastSuccess);
    this.errors = counter(registry, M.collectorErrors);
  }

  record(collector: string, seconds: number, ok: boolean): void {
    let labels = this.labelsOf.get(collector);
    if (labels === undefined) {
      labels = { collector };
      this.labelsOf.set(collector, labels);
      for (const reason of COLLECTOR_ERROR_REASONS) this.errors.inc({ collector, reason }, 0);
    }
    this.duration.set(labels, seconds);
    this.success.set(labels, ok ? 1 : 0);
    if (ok) this.lastSuccess.set(labels, this.clock());
  }

  /** Counts a failure of the collector's own machinery (see stackwatch_collector_errors_total). */
  error(collector: string, reason: CollectorErrorReason): void {
    for (const r of COLLECTOR_ERROR_REASONS) this.errors.inc({ collector, reason: r }, r === reason ? 1 : 0);
  }

  forget(collector: string): void {
    this.labelsOf.delete(collector);
    for (const g of [this.duration, this.success, this.lastSuccess]) g.remove({ collector });
    for (const reason of COLLECTOR_ERROR_REASONS) this.errors.remove({ collector, reason });
  }
}
