import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { AvailabilityTracker } from './availability';
import { systemClock, type Clock } from './clock';
import { Coalescer } from './coalesce';
import type { Collector, CollectorContext, CollectorKind } from './collectors/collector';
import { CollectorStats } from './collectors/collector-stats';
import { COLLECTOR_TABLE } from './collectors/index';
import type { GroupMatches, ProcessCollector } from './collectors/process';
import { ConfigErrors } from './config/errors';
import { fingerprint } from './config/fingerprint';
import { errorMessage } from './error-text';
import { splitListen, type Config } from './config/schema';
import type { Logger } from './log';
import { M } from './metrics/definitions';
import { EVENT_LOOP_METRICS, EventLoopDelay } from './metrics/event-loop-delay';
import { OPEN_FDS, registerOpenFds } from './metrics/open-fds';
import { gauge, type GaugeOf } from './metrics/instruments';
import { tapLatency } from './latency-tap';
import { Maintenance } from './maintenance';
import { Server } from './server';
import { Storage } from './storage';
import { VERSION } from './version';
import { plainWebState, WebSurface, type WebState } from './web/surface';
import type { BundleConfig } from './bundle/bundle-config';

/**
 * prom-client's own event-loop delay histogram is replaced (src/metrics/event-loop-delay.ts): it
 * is made to sample once a minute, and its gauges are removed.
 */
const PROM_CLIENT_LOOP_SAMPLE_MS = 60_000;

export interface AppOptions {
  config: Config;
  /** Where the configuration came from (a file path or the built-in default). */
  configSource: string;
  /** Re-reads the configuration on reload; absent for the built-in default. */
  loadConfig?: () => Config | Promise<Config>;
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
  /** The collector table (tests swap in their own). */
  collectors?: readonly CollectorKind<unknown>[];
  /** The bundle settings /runbook shows the thresholds of (--bundle.config); default: the built-in ones. */
  bundleConfig?: BundleConfig;
}

/** A collector the exporter runs, and the fingerprint of the section it last applied whole. */
interface Running {
  readonly kind: CollectorKind<unknown>;
  readonly collector: Collector<unknown>;
  applied?: string;
}

/**
 * Wires configuration, collectors, the availability tracker and the server together. A reload
 * hands each collector its changed section (the collectors reconcile their targets); a bad new
 * configuration leaves the running one in place.
 */
export class App {
  readonly registry = new Registry();
  private readonly eventLoop = new EventLoopDelay(this.registry);
  readonly tracker: AvailabilityTracker;
  private readonly ctx: CollectorContext;
  private readonly server: Server;
  readonly web: WebSurface;
  private readonly storage: Storage | undefined;
  private readonly maintenance: Maintenance;
  private readonly reloadOk: GaugeOf<typeof M.configReloadOk>;
  private readonly reloadTime: GaugeOf<typeof M.configReloadTime>;
  private config: Config;
  /** The collectors by kind, created the first time their kind is configured. */
  private readonly running = new Map<string, Running>();
  private started = false;
  private stopping = false;
  /** The first apply of the configuration, made by start(). */
  private startup: Promise<unknown> = Promise.resolve();
  private readonly reloads = new Coalescer(() => this.reloadNow(), (err) => {
    // A bug of ours: this reload failed, the next one runs as usual.
    this.reloadOk.set(0);
    this.opts.log.error({ err }, 'configuration reload failed; keeping the previous configuration');
    return `reload failed: ${errorMessage(err)}`;
  });

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
    // First: a data directory in use by another daemon refuses the start before anything runs.
    // The snapshot goes in before any collector declares its targets, so they continue from it.
    await this.storage?.open();
    try {
      return await this.startOpened();
    } catch (err) {
      // Not started: the directory is not kept from the next start (main exits on this error).
      this.storage?.release();
      throw err;
    }
  }

  private async startOpened(): Promise<AddressInfo> {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: PROM_CLIENT_LOOP_SAMPLE_MS });
    // prom-client also exports these three gauges with a `_total` suffix, which promtool rejects;
    // their per-type breakdowns (nodejs_active_handles etc.) carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total', ...EVENT_LOOP_METRICS]) {
      this.registry.removeSingleMetric(name);
    }
    // prom-client lists /proc/self/fd on every scrape; ours counts it with one stat.
    this.registry.removeSingleMetric(OPEN_FDS);
    registerOpenFds(this.registry);
    this.eventLoop.start();
    gauge(this.registry, M.buildInfo).set({ version: VERSION, nodejs: process.version }, 1);
    this.reloadOk.set(1);
    this.reloadTime.set(this.ctx.clock());
    const address = await this.server.start();
    await this.web.start();
    // A reload requested while the collectors start waits for them (see reloadNow).
    const startup = this.applyConfig(this.config);
    this.startup = startup;
    if ((await startup).failed.length > 0) this.reloadOk.set(0);
    this.storage?.start();
    this.started = true;
    this.opts.log.info({ listen: `${address.address}:${address.port}`, config: this.opts.configSource, version: VERSION }, 'stackwatch started');
    return address;
  }

  /**
   * Reloads the configuration. At most one reload runs and at most one waits (a flood of
   * requests costs two reloads). Never rejects: the message says why a reload failed.
   */
  reload(): Promise<string | undefined> {
    return this.reloads.run();
  }

  private async reloadNow(): Promise<string | undefined> {
    const { log } = this.opts;
    await this.startup;
    if (this.stopping) return 'the exporter is stopping';
    let next: Config;
    try {
      next = this.opts.loadConfig ? await this.opts.loadConfig() : this.config;
    } catch (err) {
      this.reloadOk.set(0);
      const message = err instanceof ConfigErrors ? err.message : String(err);
      log.error({ err }, 'configuration reload failed; keeping the previous configuration');
      return message;
    }
    if (next.server.listen !== this.config.server.listen && this.opts.listen === undefined) {
      log.warn({ listen: next.server.listen }, 'server.listen changed; it takes effect at the next restart');
    }
    this.config = next;
    this.maintenance.configure(next.maintenance.windows);
    const { applied, failed } = await this.applyConfig(next);
    if (failed.length > 0) {
      // Applied, but not all of it runs: not a successful reload.
      this.reloadOk.set(0);
      return `configuration applied, but collectors failed to start: ${failed.join('; ')}`;
    }
    this.reloadOk.set(1);
    this.reloadTime.set(this.ctx.clock());
    if (applied.length > 0) log.info({ config: this.opts.configSource, collectors: applied }, 'configuration reloaded');
    else log.debug({ config: this.opts.configSource }, 'configuration unchanged; nothing to apply');
    return undefined;
  }

  /**
   * Hands every collector whose section changed (or whose last apply failed) its new section;
   * creates the collectors of kinds configured for the first time. Returns the collectors
   * applied and `name: error` of those that failed.
   */
  private async applyConfig(config: Config): Promise<{ applied: string[]; failed: string[] }> {
    const applied: string[] = [];
    const failed: string[] = [];
    for (const kind of this.opts.collectors ?? COLLECTOR_TABLE) {
      const section = kind.section(config);
      const print = fingerprint(section);
      let r = this.running.get(kind.name);
      if (r?.applied === print) continue;
      const configured = kind.configured(section);
      if (r === undefined && !configured) continue;
      try {
        if (r === undefined) {
          r = { kind, collector: kind.create(this.ctx) };
          this.running.set(kind.name, r);
        }
        r.applied = undefined;
        await r.collector.apply(section);
        r.applied = print;
        applied.push(kind.name);
        if (!configured) this.ctx.stats.forget(kind.name);
      } catch (err) {
        // A collector that cannot apply its section must not take the others down; its self
        // metrics say so, and its targets already known fail (they must not stay frozen at up).
        // The next reload applies its section again, changed or not.
        this.ctx.stats.record(kind.name, 0, false);
        this.ctx.stats.error(kind.name, 'internal');
        this.opts.log.error({ err, collector: kind.name }, 'collector failed to start');
        const error = `collector ${kind.name} failed to start: ${errorMessage(err)}`;
        failed.push(error);
        for (const v of this.tracker.views()) {
          if (v.kind === kind.targetKind) this.tracker.observe(v.kind, v.target, false, { error });
        }
      }
    }
    tapLatency(this.registry, this.tracker);
    return { applied, failed };
  }

  private async stopCollectors(): Promise<void> {
    await Promise.allSettled([...this.running.values()].map((r) => r.collector.stop()));
  }

  /** What each declared process group matched in the last cycle (pid, comm, exe), for the status page. */
  processMatches(): ReadonlyMap<string, GroupMatches> {
    const c = this.running.get('process')?.collector as ProcessCollector | undefined;
    return c?.groupMatches() ?? new Map();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.stopping = true;
    this.web.stop();
    // A reload in progress finishes first, so that nothing it opens outlives the stop.
    await this.reloads.idle();
    await Promise.allSettled([this.server.stop(), this.stopCollectors()]);
    await this.storage?.stop();
    this.eventLoop.stop();
  }
}
