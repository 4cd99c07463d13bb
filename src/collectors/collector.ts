import type { Registry } from 'prom-client';
import type { AvailabilityTracker, TargetKind } from '../availability';
import type { Clock } from '../clock';
import type { Config } from '../config/schema';
import type { Logger } from '../log';
import type { CollectorStats } from './collector-stats';

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
 * One kind of observation (HTTP, MQTT, Docker, processes, access logs), alive as long as the
 * exporter. The constructor only stores its context; sockets and timers open in apply() and
 * close in stop().
 *
 * apply() receives the collector's section of the configuration, at start and at every reload
 * that changed it, and reconciles the running targets with it, keyed by name: a target whose
 * configuration is unchanged keeps running untouched (its connection, timers and state), a
 * changed one is replaced, a removed one is forgotten with its series, a new one is declared.
 * A section that configures nothing leaves the collector idle, with none of its series left.
 */
export interface Collector<S> {
  /** Label value of `collector` in the self metrics. */
  readonly name: string;
  apply(section: S): Promise<void>;
  /** Stops timers, aborts work in flight and closes sockets; resolves when all are closed. */
  stop(): Promise<void>;
}

/** One row of the collector table: how a kind finds its section and builds its collector. */
export interface CollectorKind<S> {
  /** The collector's name (its `collector` label). */
  readonly name: string;
  /** The availability targets it observes. */
  readonly targetKind: TargetKind;
  /** Its section of the configuration. */
  section(config: Config): S;
  /** Whether the section asks for anything; an unconfigured kind is not even loaded. */
  configured(section: S): boolean;
  /** Builds the collector; its module is loaded only here. */
  create(ctx: CollectorContext): Collector<S>;
}
