import { Histogram, type Registry } from 'prom-client';
import type { AvailabilityTracker, TargetKind } from './availability';
import { M } from './metrics/definitions';

/**
 * Passes the latencies collectors already publish (the HTTP request-duration and MQTT round-trip
 * histograms) on to the availability tracker's history, so that no collector has to report the
 * same figure twice. Each histogram's `observe` is wrapped once; the value still goes into the
 * histogram first, unchanged.
 */
const SOURCES: readonly { name: string; kind: TargetKind; label: string }[] = [
  { name: M.httpDuration.name, kind: 'http', label: 'target' },
  { name: M.mqttRoundtrip.name, kind: 'mqtt', label: 'broker' },
];

const tapped = new WeakSet<Histogram>();

/** Wraps the latency histograms that exist in `registry` (call again after collectors start). */
export function tapLatency(registry: Registry, tracker: AvailabilityTracker): void {
  for (const s of SOURCES) {
    const h = registry.getSingleMetric(s.name);
    if (!(h instanceof Histogram) || tapped.has(h)) continue;
    tapped.add(h);
    const observe = h.observe.bind(h) as (labels: unknown, value: unknown) => void;
    // observe() takes (labels, value) or (value): passed on as they are, no arguments array per call.
    h.observe = ((labels: unknown, value?: unknown): void => {
      observe(labels, value);
      if (typeof value !== 'number' || typeof labels !== 'object' || labels === null) return;
      const name = (labels as Record<string, unknown>)[s.label];
      if (typeof name === 'string') tracker.noteLatency(s.kind, name, value);
    });
  }
}
