import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { AvailabilityTracker, type TargetKind } from '../../src/availability';
import { DAY } from '../../src/history';
import { encodeSnapshot, SNAPSHOT_FILE, writeAtomic } from '../../src/storage';

export interface SeedOutage {
  /** Seconds before `now` it began. */
  ago: number;
  seconds: number;
  reason: string;
}

export interface SeedTarget {
  kind: TargetKind;
  name: string;
  outages?: SeedOutage[];
  /** Latency of a check at time t (HTTP, MQTT); absent for kinds without one. */
  latency?: (t: number) => number;
}

/**
 * Writes a data directory whose snapshot holds `days` of history for `targets`, as if the
 * exporter had watched them with checks every `interval` seconds until `now`: the built daemon
 * started with this --storage.path continues from it.
 */
export function seedHistory(dir: string, now: number, targets: SeedTarget[], days = 90, interval = 300): AvailabilityTracker {
  let t = now - days * DAY;
  const tracker = new AvailabilityTracker(new Registry(), () => t);
  for (const s of targets) tracker.declare(s.kind, s.name);
  for (; t < now; t += interval) {
    for (const s of targets) {
      const out = s.outages?.find((o) => t >= now - o.ago && t < now - o.ago + o.seconds);
      tracker.observe(s.kind, s.name, out === undefined, {
        at: t,
        ...(out !== undefined ? { error: out.reason } : {}),
        ...(s.latency !== undefined ? { latencySeconds: s.latency(t) } : {}),
      });
    }
  }
  t = now;
  mkdirSync(dir, { recursive: true });
  writeAtomic(path.join(dir, SNAPSHOT_FILE), encodeSnapshot(tracker.exportState()));
  return tracker;
}
