import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, type Gauge, Registry } from 'prom-client';
import { AvailabilityTracker, type TargetKind } from './availability';
import { systemClock, type Clock } from './clock';
import type { Collector, CollectorContext } from './collectors/collector';
import { buildCollectors } from './collectors/index';
import type { GroupMatches, ProcessCollector } from './collectors/process';
import { CollectorStats } from './collectors/self';
import { ConfigErrors } from './config/errors';
import { errorMessage } from './error-text';
import { splitListen, type Config } from './config/schema';
import type { Logger } from './log';
import { M } from './metrics/definitions';
import { gauge } from './metrics/instruments';
import { tapLatency } from './latency-tap';
import { Maintenance } from './maintenance';
import { Server } from './server';
import { Storage } from './storage';
import { VERSION } from './version';
import { plainWebState, WebSurface, type WebState } from './web/surface';
import type { BundleConfig } from './bundle/bundle-config';

/** The kind of availability target each collector observes. */
const COLLECTOR_KINDS: Readonly<Record<string, TargetKind>> = { http: 'http', mqtt: 'mqtt', docker: 'container', process: 'process', logs: 'traffic' };

/** Sampling period (ms) of the nodejs_eventloop_lag_* histogram: a blocked loop shows as the delay of the next sample. */
const EVENT_LOOP_SAMPLE_MS = 100;

export interface AppOptions {
  config: Config;
  /** Where the configuration came from (a file path or the built-in default). */
  configSource: string;
  /** Re-reads the configuration on reload; absent for the built-in default. */
  loadConfig?: () => Config;
  /** Overrides server.listen (the --listen flag). */
  listen?: string;
  log: Logger;
  clock?: Clock;
  /** The --web.config.file path, re-read when it or its certificates change. */
  webConfigFile?: string;
  /** The web config as loaded at startup (see loadWebState); plain HTTP without auth when absent. */
  webState?: WebState;
  /** Allows POST /-/reload (--web.enable-lifecycle). */
  enableLifecycle?: boolean;
  /** Replaces the status page's trust decision (tests play a remote viewer with it). */
  trusted?: (req: IncomingMessage) => boolean;
  /** The data directory (--storage.path); without it nothing survives a restart. */
  storagePath?: string;
  /** Seconds between snapshots (default 5). */
  snapshotInterval?: number;
  /** Builds the collectors for a configuration (tests swap in their own). */
  collectors?: (config: Config, ctx: CollectorContext) => Collector[];
  /** The bundle settings /runbook shows the thresholds of (--bundle.config); default: the built-in ones. */
  bundleConfig?: BundleConfig;
}

/**
 * Wires configuration, collectors, the availability tracker and the server together, and
 * carries them through reloads: a bad new configuration leaves the running one in place.
 */
export class App {
  readonly registry = new Registry();
  readonly tracker: AvailabilityTracker;
  private readonly ctx: CollectorContext;
  private readonly server: Server;
  readonly web: WebSurface;
  private readonly storage: Storage | undefined;
  private readonly maintenance: Maintenance;
  private readonly reloadOk: Gauge;
  private readonly reloadTime: Gauge;
  private config: Config;
  private collectors: Collector[] = [];
  private started = false;
  private reloading: Promise<string | undefined> = Promise.resolve(undefined);

  constructor(private readonly opts: AppOptions) {
    const clock = opts.clock ?? systemClock;
    this.config = opts.config;
    this.tracker = new AvailabilityTracker(this.registry, clock);
    this.ctx = {
      registry: this.registry, tracker: this.tracker, clock, log: opts.log, stats: new CollectorStats(this.registry, clock),
      ...(opts.storagePath !== undefined ? { dataDir: opts.storagePath } : {}),
    };
    this.maintenance = new Maintenance(this.registry, this.tracker);
    this.maintenance.configure(opts.config.maintenance.windows);
    this.storage = opts.storagePath === undefined ? undefined : new Storage(opts.storagePath, this.tracker, clock, opts.log, opts.snapshotInterval, this.registry);
    this.reloadOk = gauge(this.registry, M.configReloadOk);
    this.reloadTime = gauge(this.registry, M.configReloadTime);
    const { host, port } = splitListen(opts.listen ?? opts.config.server.listen);
    this.web = new WebSurface({
      registry: this.registry, log: opts.log, host,
      state: opts.webState ?? plainWebState(),
      ...(opts.webConfigFile !== undefined ? { file: opts.webConfigFile } : {}),
    });
    this.server = new Server(host, port, {
      registry: this.registry, tracker: this.tracker, clock, log: opts.log, version: VERSION,
      configSource: () => opts.configSource,
      ready: () => this.started,
      reload: () => this.reload(),
      processMatches: () => this.processMatches(),
      web: this.web,
      enableLifecycle: opts.enableLifecycle ?? false,
      ...(opts.trusted ? { trusted: opts.trusted } : {}),
      ...(opts.bundleConfig !== undefined ? { bundleConfig: opts.bundleConfig } : {}),
    });
  }

  async start(): Promise<AddressInfo> {
    // The event-loop delay histogram samples every EVENT_LOOP_SAMPLE_MS instead of prom-client's
    // 10 ms: at 10 ms its timer was most of an idle daemon's CPU (~100 wake-ups a second).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // prom-client also exports these three gauges with a `_total` suffix, which promtool rejects;
    // their per-type breakdowns (nodejs_active_handles etc.) carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    gauge(this.registry, M.buildInfo).set({ version: VERSION, nodejs: process.version }, 1);
    this.reloadOk.set(1);
    this.reloadTime.set(this.ctx.clock());
    // The snapshot goes in before any collector declares its targets, so they continue from it.
    this.storage?.load();
    const address = await this.server.start();
    await this.web.start();
    if ((await this.startCollectors(this.config)).length > 0) this.reloadOk.set(0);
    this.storage?.start();
    this.started = true;
    this.opts.log.info({ listen: `${address.address}:${address.port}`, config: this.opts.configSource, version: VERSION }, 'stackwatch started');
    return address;
  }

  /** Reloads the configuration. Serialised: concurrent calls run one after the other. */
  reload(): Promise<string | undefined> {
    this.reloading = this.reloading.then(() => this.reloadNow());
    return this.reloading;
  }

  private async reloadNow(): Promise<string | undefined> {
    const { log } = this.opts;
    let next: Config;
    try {
      next = this.opts.loadConfig ? this.opts.loadConfig() : this.config;
    } catch (err) {
      this.reloadOk.set(0);
      const message = err instanceof ConfigErrors ? err.message : String(err);
      log.error({ err }, 'configuration reload failed; keeping the previous configuration');
      return message;
    }
    if (next.server.listen !== this.config.server.listen && this.opts.listen === undefined) {
      log.warn({ listen: next.server.listen }, 'server.listen changed; it takes effect at the next restart');
    }
    await this.stopCollectors();
    const old = this.collectors;
    for (const c of old) await c.retire(next);
    this.config = next;
    this.maintenance.configure(next.maintenance.windows);
    const failed = await this.startCollectors(next);
    for (const c of old) {
      if (!this.collectors.some((n) => n.name === c.name)) this.ctx.stats.forget(c.name);
    }
    if (failed.length > 0) {
      // Applied, but not all of it runs: not a successful reload.
      this.reloadOk.set(0);
      return `configuration applied, but collectors failed to start: ${failed.join('; ')}`;
    }
    this.reloadOk.set(1);
    this.reloadTime.set(this.ctx.clock());
    log.info({ config: this.opts.configSource }, 'configuration reloaded');
    return undefined;
  }

  /** Starts the collectors; returns `name: error` of those that failed. */
  private async startCollectors(config: Config): Promise<string[]> {
    this.collectors = (this.opts.collectors ?? buildCollectors)(config, this.ctx);
    const failed: string[] = [];
    for (const c of this.collectors) {
      try {
        await c.start();
      } catch (err) {
        // A collector that cannot start must not take the others down; its self metrics say so,
        // and its targets already known fail (they must not stay frozen at up).
        this.ctx.stats.record(c.name, 0, false);
        this.ctx.stats.error(c.name, 'internal');
        this.opts.log.error({ err, collector: c.name }, 'collector failed to start');
        const error = `collector ${c.name} failed to start: ${errorMessage(err)}`;
        failed.push(error);
        const kind = COLLECTOR_KINDS[c.name];
        for (const v of this.tracker.views()) {
          if (v.kind === kind) this.tracker.observe(v.kind, v.target, false, { error });
        }
      }
    }
    tapLatency(this.registry, this.tracker);
    return failed;
  }

  private async stopCollectors(): Promise<void> {
    await Promise.allSettled(this.collectors.map((c) => c.stop()));
  }

  /** What each declared process group matched in the last cycle (pid, comm, exe), for the status page. */
  processMatches(): ReadonlyMap<string, GroupMatches> {
    const c = this.collectors.find((x): x is ProcessCollector => x.name === 'process');
    return c?.groupMatches() ?? new Map();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.web.stop();
    await Promise.allSettled([this.server.stop(), this.stopCollectors()]);
    await this.storage?.stop();
  }
}
