import type { Registry } from 'prom-client';
import type { AvailabilityTracker } from '../availability';
import type { Clock } from '../clock';
import type { Config } from '../config/schema';
import type { Logger } from '../log';
import type { CollectorStats } from './self';

/** What every collector is given: the shared registry, availability tracker, clock and log. */
export interface CollectorContext {
  readonly registry: Registry;
  readonly tracker: AvailabilityTracker;
  readonly clock: Clock;
  readonly log: Logger;
  readonly stats: CollectorStats;
  /** The data directory (--storage.path) for state a collector keeps across restarts; absent when none. */
  readonly dataDir?: string;
}

/**
 * One kind of observation (HTTP, MQTT, Docker, processes). The constructor only stores its
 * configuration; sockets and timers open in start() and close in stop(). A config reload stops
 * the old instance, calls retire() on it with the new configuration, and starts a new one:
 * instruments are shared through the registry, so counters carry over.
 */
export interface Collector {
  /** Label value of `collector` in the self metrics. */
  readonly name: string;
  start(): Promise<void>;
  /** Stops timers, aborts work in flight and closes sockets; resolves when all are closed. */
  stop(): Promise<void>;
  /** Removes the series of targets that `next` no longer has (they leave the output). */
  retire(next: Config): Promise<void>;
}
