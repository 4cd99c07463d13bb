import type { Gauge, Registry } from 'prom-client';
import type { Clock } from '../clock';
import { M } from '../metrics/definitions';
import { gauge } from '../metrics/instruments';

/** The exporter's own view of its collectors: last cycle duration, success, last success. */
export class CollectorStats {
  private readonly duration: Gauge;
  private readonly success: Gauge;
  private readonly lastSuccess: Gauge;

  constructor(registry: Registry, private readonly clock: Clock) {
    this.duration = gauge(registry, M.collectorDuration);
    this.success = gauge(registry, M.collectorSuccess);
    this.lastSuccess = gauge(registry, M.collectorLastSuccess);
  }

  record(collector: string, seconds: number, ok: boolean): void {
    const labels = { collector };
    this.duration.set(labels, seconds);
    this.success.set(labels, ok ? 1 : 0);
    if (ok) this.lastSuccess.set(labels, this.clock());
  }

  forget(collector: string): void {
    for (const g of [this.duration, this.success, this.lastSuccess]) g.remove({ collector });
  }
}
