import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { DockerConfig } from '../config/docker';
import { fingerprint } from '../config/fingerprint';
import { M, namesWithLabel } from '../metrics/definitions';
import { counter, dropSeries, gauge, setStateSet, type CounterOf, type GaugeOf } from '../metrics/instruments';
import { errorMessage } from '../error-text';
import { compileUserRegex } from '../user-regex';
import { redactUrl } from './http-probe';
import type { Collector, CollectorContext } from './collector';
import type { Resources } from './docker-cgroup';
import { connectEngine, engineReachable, isOurBug, MAX_EVENT_LINE_BYTES, readEventLines, type Engine, type EngineFactory, type ListedContainer } from './docker-engine';
import { CgroupFiles, ContainerCgroup, resourcesFromStats } from './docker-resources';
import {
  applyEvent, applyInspect, available, COMPOSE_PROJECT, COMPOSE_SERVICE, createdRecord, exitSignal,
  matches, parseEventLine, recordFromInspect, type ContainerRecord, type DockerEvent, type Filters, type InspectInfo,
} from './docker-state';

/**
 * The Docker collector: which containers are watched, their state and series, and their
 * availability. The engine connection and events stream are in ./docker-engine.ts, the state
 * machine of one container in ./docker-state.ts, memory and CPU in ./docker-resources.ts.
 *
 * State comes from one list + inspect when the collector starts and after every reconnect, and
 * is then kept current from the events stream (no Docker API call at scrape time). Memory and
 * CPU figures are read from the containers' cgroup files on `resources_interval`; only where
 * those cannot be read is a one-shot stats request made, at a bounded rate. Each container is an
 * availability target (`kind="container"`), down while not running or unhealthy.
 */

/** Every series with a `container` label, dropped when a container goes. */
const CONTAINER_SERIES = namesWithLabel('docker', 'container');

/** Events waiting to be applied before the collector gives up on the stream and resyncs. */
const MAX_QUEUED_EVENTS = 10_000;
const INITIAL_BACKOFF_MS = 500;
/** A stream that stayed open this long resets the backoff. */
const STABLE_STREAM_MS = 30_000;
/** Inspects in flight during a full sync. */
const SYNC_CONCURRENCY = 8;
/**
 * Docker sends the events stream's headers before it subscribes to events: one sent in between
 * is lost. A second list this long after the stream opened finds what such an event changed.
 */
export const SUBSCRIBE_GRACE_MS = 2000;
/**
 * How long the verdict of a die is held while nothing says yet whether the container is being
 * removed (a removal is no outage: `docker rm -f`, `compose down`, `--rm`, a recreate). Its
 * destroy follows within a second, under load within a few. A start, or an inspect that says
 * running, restarting, removing or not found, settles it sooner; a container still exited when
 * it ends is down from the die's time on.
 */
export const REMOVAL_GRACE_MS = 5000;

interface Published {
  restarts: number;
  oomKills: number;
  cpu: number;
  info?: Record<string, string>;
}

interface Tracked {
  rec: ContainerRecord;
  pub: Published;
  cgroup: ContainerCgroup;
  /** While a die's verdict is held: when the grace ends (Date.now() ms), and its timer. */
  holdUntil?: number;
  holdTimer?: NodeJS.Timeout;
}

interface Instruments {
  up: GaugeOf<typeof M.dockerUp>;
  eventsUp: GaugeOf<typeof M.dockerEventsUp>;
  eventErrors: CounterOf<typeof M.dockerEventErrors>;
  state: GaugeOf<typeof M.containerState>;
  health: GaugeOf<typeof M.containerHealth>;
  restarts: CounterOf<typeof M.containerRestarts>;
  ooms: CounterOf<typeof M.containerOomKills>;
  exitCode: GaugeOf<typeof M.containerExitCode>;
  startedAt: GaugeOf<typeof M.containerStartedAt>;
  memUsage: GaugeOf<typeof M.containerMemUsage>;
  memLimit: GaugeOf<typeof M.containerMemLimit>;
  cpu: CounterOf<typeof M.containerCpu>;
  info: GaugeOf<typeof M.containerInfo>;
}

export function compileFilters(c: DockerConfig): Filters {
  const f: Filters = {
    // Container names are chosen by whoever can create containers; matching stays linear in them.
    include: c.include_names.map((r) => compileUserRegex(r)),
    exclude: c.exclude_names.map((r) => compileUserRegex(r)),
    labels: c.labels,
  };
  if (c.compose_project !== undefined) f.composeProject = c.compose_project;
  return f;
}

/** The settings that make a connection to the engine: changing one reconnects, resyncing from scratch. */
function engineOf(c: DockerConfig): string {
  return fingerprint([c.enabled, c.host, c.api_timeout, c.reconnect_max_backoff]);
}

function filtersOf(c: DockerConfig): string {
  return fingerprint([c.include_names, c.exclude_names, c.labels, c.compose_project]);
}

/** A container's health as the list API's Status text says it: "Up 5 seconds (healthy)". */
export function healthFromListStatus(status: string | undefined): string {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status ?? '');
  if (m === null) return 'none';
  return m[1] === 'health: starting' ? 'starting' : m[1]!;
}

/** How many destroyed container ids are remembered (ids are never reused). */
const GONE_REMEMBERED = 4096;

export class DockerCollector implements Collector<DockerConfig> {
  readonly name = 'docker';
  private readonly byId = new Map<string, Tracked>();
  /** Containers seen but filtered out (until destroyed or renamed). */
  private readonly ignored = new Set<string>();
  /**
   * Ids of containers destroyed, or found missing by a list or inspect (the most recent
   * GONE_REMEMBERED; ids are never reused): an inspect answered just before the destroy, applied
   * just after it, must not bring one back.
   */
  private readonly gone = new Set<string>();
  /** Events parsed but not yet applied, per container id. */
  private readonly pending = new Map<string, number>();
  private queued = 0;
  private chain: Promise<void> = Promise.resolve();
  private abort = new AbortController();
  private engine?: Engine;
  private m?: Instruments;
  private filters?: Filters;
  private readonly files = new CgroupFiles();
  private loop?: Promise<void>;
  private events?: Readable;
  private resourcesTimer?: NodeJS.Timeout;
  private statsBusy = false;
  private wakeSleep?: () => void;
  private active = false;
  /** The last request to the engine worked; containers are observed only then. */
  private connected = false;
  private config?: DockerConfig;
  /** Containers being removed (or whose die may be a removal) with an inspect queued to see whether they are gone. */
  private readonly rechecking = new Set<string>();
  /** Of those, the ones whose grace ended while that inspect was in flight: one more follows. */
  private readonly recheckAgain = new Set<string>();

  /**
   * `connect` makes the engine connection (a fake engine in the unit tests); `subscribeGraceMs`
   * is SUBSCRIBE_GRACE_MS and `removalGraceMs` REMOVAL_GRACE_MS, shorter in those tests.
   */
  constructor(
    private readonly ctx: CollectorContext,
    private readonly connect: EngineFactory = connectEngine,
    private readonly subscribeGraceMs = SUBSCRIBE_GRACE_MS,
    private readonly removalGraceMs = REMOVAL_GRACE_MS,
  ) {}

  /**
   * Same engine: filters, thresholds and intervals change in place (a filter change resyncs from
   * one list). Another engine (or the collector turned on or off): the containers of the old one
   * leave and the new one is synced from scratch.
   */
  async apply(next: DockerConfig): Promise<void> {
    const prev = this.config;
    if (prev !== undefined && this.active && engineOf(prev) === engineOf(next)) {
      this.config = next;
      if (prev.failure_threshold !== next.failure_threshold || prev.success_threshold !== next.success_threshold) {
        for (const t of this.byId.values()) this.declare(t.rec.name);
      }
      if (prev.resources_interval !== next.resources_interval) {
        clearInterval(this.resourcesTimer);
        this.resourcesTimer = setInterval(() => this.resourcesCycle(), next.resources_interval * 1000);
      }
      if (prev.proc_root !== next.proc_root || prev.cgroup_root !== next.cgroup_root) {
        for (const t of this.byId.values()) t.cgroup.forget();
      }
      if (filtersOf(prev) !== filtersOf(next)) {
        this.filters = compileFilters(next);
        this.ignored.clear();
        // Unreachable engine: the reconnect syncs with the new filters.
        await this.enqueue(() => this.sync()).catch((err: unknown) => this.ctx.log.debug({ err }, 'docker resync after a filter change failed'));
      }
      return;
    }
    if (prev !== undefined) await this.close();
    this.config = next;
    await this.open();
  }

  /** Stops watching the engine and forgets its containers and series. */
  private async close(): Promise<void> {
    await this.stop();
    for (const t of [...this.byId.values()]) await this.dropContainer(t);
    this.ignored.clear();
    this.gone.clear();
    this.pending.clear();
    this.queued = 0;
    this.connected = false;
    // The engine's own series leave the output too (a later open recreates them).
    for (const name of [M.dockerUp.name, M.dockerEventsUp.name, M.dockerEventErrors.name]) this.ctx.registry.removeSingleMetric(name);
    this.m = undefined;
  }

  private async open(): Promise<void> {
    const c = this.config!;
    if (c.enabled === false) return;
    if (c.enabled === 'auto' && c.host.startsWith('unix://') && !existsSync(c.host.slice('unix://'.length))) {
      this.ctx.log.debug({ host: redactUrl(c.host) }, 'docker socket not found; docker collector off');
      this.ctx.stats.forget(this.name);
      return;
    }
    if (c.enabled === 'auto' && !c.host.startsWith('unix://') && !(await engineReachable(c.host, c.api_timeout))) {
      this.ctx.log.debug({ host: redactUrl(c.host) }, 'docker host not reachable; docker collector off');
      this.ctx.stats.forget(this.name);
      return;
    }
    this.active = true;
    this.abort = new AbortController();
    const { registry } = this.ctx;
    this.m = {
      up: gauge(registry, M.dockerUp),
      eventsUp: gauge(registry, M.dockerEventsUp),
      eventErrors: counter(registry, M.dockerEventErrors),
      state: gauge(registry, M.containerState),
      health: gauge(registry, M.containerHealth),
      restarts: counter(registry, M.containerRestarts),
      ooms: counter(registry, M.containerOomKills),
      exitCode: gauge(registry, M.containerExitCode),
      startedAt: gauge(registry, M.containerStartedAt),
      memUsage: gauge(registry, M.containerMemUsage),
      memLimit: gauge(registry, M.containerMemLimit),
      cpu: counter(registry, M.containerCpu),
      info: gauge(registry, M.containerInfo),
    };
    this.m.up.set(0);
    this.m.eventsUp.set(0);
    this.m.eventErrors.inc(0);
    this.filters = compileFilters(c);
    this.engine = this.connect(c.host, c.api_timeout, this.abort.signal);
    try {
      this.files.loadMounts();
    } catch (err) {
      this.ctx.log.warn({ err }, 'cannot read cgroup mounts; docker resources from known paths only');
    }
    // The first sync runs before start() resolves, so the first scrape already has the containers.
    const firstSync = new Promise<void>((resolve) => {
      this.loop = this.run(resolve);
    });
    await firstSync;
    this.resourcesTimer = setInterval(() => this.resourcesCycle(), c.resources_interval * 1000);
  }

  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.abort.abort();
    clearInterval(this.resourcesTimer);
    for (const t of this.byId.values()) clearTimeout(t.holdTimer);
    this.events?.destroy();
    this.wakeSleep?.();
    const settle = (p: Promise<unknown> | undefined): Promise<unknown> => Promise.race([p, new Promise((r) => setTimeout(r, 800).unref())]);
    await settle(Promise.allSettled([this.loop, this.chain]));
    this.files.close();
    this.m?.eventsUp.set(0);
  }

  // --- connection loop -------------------------------------------------------------------

  private async run(firstDone: () => void): Promise<void> {
    let backoff = INITIAL_BACKOFF_MS;
    let first = true;
    while (!this.abort.signal.aborted) {
      let openedAt: number | undefined;
      let stream: Readable | undefined;
      try {
        await this.enqueue(() => this.sync());
        stream = await this.openEvents();
        // Listen at once: a stream cut during the gap check must still end this round.
        const closed = this.untilClosed(stream);
        openedAt = Date.now();
        if (first) {
          first = false;
          firstDone();
        }
        // Events between the sync and the stream opening: a quick list finds what changed.
        await this.enqueue(() => this.gapCheck());
        // And once more after Docker has surely subscribed the stream to events.
        const grace = this.sleep(this.subscribeGraceMs).then(() => true);
        if (await Promise.race([closed.then(() => false), grace])) await this.enqueue(() => this.gapCheck());
        else this.wakeSleep?.();
        await closed;
        if (!this.abort.signal.aborted) this.ctx.log.warn({ host: redactUrl(this.config!.host) }, 'docker events stream ended');
      } catch (err) {
        if (this.abort.signal.aborted) break;
        if (isOurBug(err)) {
          // Not the engine: a bug of ours broke the sync. Its containers are not left as they were.
          this.ctx.stats.error(this.name, 'internal');
          const at = this.ctx.clock();
          for (const t of this.byId.values()) this.ctx.tracker.observe('container', t.rec.name, false, { at, error: `internal error: ${errorMessage(err)}` });
        }
        this.m!.up.set(0);
        this.ctx.stats.record(this.name, 0, false);
        // Warn once per outage of the engine; the retries are debug.
        if (this.connected || first) this.ctx.log.warn({ err, host: redactUrl(this.config!.host), retryInMs: backoff }, 'docker engine unreachable');
        else this.ctx.log.debug({ err, host: redactUrl(this.config!.host), retryInMs: backoff }, 'docker engine still unreachable');
        this.connected = false;
      } finally {
        stream?.destroy();
        this.m!.eventsUp.set(0);
        this.events = undefined;
      }
      if (first) {
        first = false;
        firstDone();
      }
      if (this.abort.signal.aborted) break;
      if (openedAt !== undefined && Date.now() - openedAt >= STABLE_STREAM_MS) backoff = INITIAL_BACKOFF_MS;
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, this.config!.reconnect_max_backoff * 1000);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeSleep = undefined;
        resolve();
      }, ms);
      this.wakeSleep = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async openEvents(): Promise<Readable> {
    const stream = await this.engine!.openEvents();
    this.events = stream;
    this.m!.eventsUp.set(1);
    this.m!.up.set(1);
    this.ctx.log.info({ host: redactUrl(this.config!.host), containers: this.byId.size }, 'docker events stream open');
    return stream;
  }

  private untilClosed(stream: Readable): Promise<void> {
    return readEventLines(stream, {
      line: (line, cut) => this.onLine(line, cut),
      overlong: (count) => {
        // The event it carried is lost: only a full list + inspect brings the state back.
        this.m!.eventErrors.inc(count);
        this.ctx.log.warn({ maxBytes: MAX_EVENT_LINE_BYTES }, 'docker event line too long; resyncing');
      },
      error: (err) => {
        if (!this.abort.signal.aborted) this.ctx.log.warn({ err }, 'docker events stream failed');
      },
    });
  }

  private onLine(line: string, cut: () => void): void {
    const parsed = parseEventLine(line);
    if (parsed.kind === 'other') return;
    if (parsed.kind === 'bad') {
      // An event we could not read may have changed any container: resync from a list.
      this.m!.eventErrors.inc();
      this.ctx.log.warn({ reason: parsed.reason, bytes: line.length }, 'docker event line unreadable; resyncing');
      cut();
      return;
    }
    if (this.queued >= MAX_QUEUED_EVENTS) {
      // Applying events fell far behind: drop the stream; the reconnect resyncs from a list.
      this.ctx.log.warn({ queued: this.queued }, 'docker events backlog too long; resyncing');
      cut();
      return;
    }
    const ev = parsed.event;
    this.queued += 1;
    this.pending.set(ev.id, (this.pending.get(ev.id) ?? 0) + 1);
    void this.enqueue(async () => {
      const left = (this.pending.get(ev.id) ?? 1) - 1;
      if (left <= 0) this.pending.delete(ev.id);
      else this.pending.set(ev.id, left);
      this.queued -= 1;
      await this.handleEvent(ev);
    }).catch((err: unknown) => {
      if (this.abort.signal.aborted) return;
      // The engine went away mid-request, or a bug of ours: either way the event's effect is
      // unknown, so the stream is cut and the reconnect resyncs from a list.
      this.ctx.log.warn({ err, action: ev.action }, 'docker event handling failed; resyncing');
      if (isOurBug(err)) {
        this.ctx.stats.error(this.name, 'internal');
        const t = this.byId.get(ev.id);
        if (t !== undefined) this.ctx.tracker.observe('container', t.rec.name, false, { error: `internal error handling a ${ev.action} event: ${errorMessage(err)}` });
      }
      cut();
    });
  }

  /** Runs `fn` after everything queued before it: sync and events never interleave. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(() => undefined, () => undefined);
    return run;
  }

  // --- Docker API ------------------------------------------------------------------------

  private inspect(id: string): Promise<InspectInfo | undefined> {
    return this.engine!.inspect(id);
  }

  private list(): Promise<ListedContainer[]> {
    return this.engine!.list();
  }

  /** One list + inspect of every watched container; reconciles counters with Docker's. */
  private async sync(): Promise<void> {
    const t0 = process.hrtime.bigint();
    const list = await this.list();
    this.m!.up.set(1);
    if (!this.connected) this.ctx.log.info({ host: redactUrl(this.config!.host) }, 'docker engine reachable');
    this.connected = true;
    const seen = new Set<string>();
    const want: string[] = [];
    for (const c of list) {
      seen.add(c.Id);
      const name = (c.Names?.[0] ?? '').replace(/^\//, '');
      if (matches(this.filters!, name, c.Labels ?? {})) want.push(c.Id);
      else this.ignored.add(c.Id);
    }
    for (const id of this.ignored) if (!seen.has(id)) this.ignored.delete(id);
    const infos: InspectInfo[] = [];
    for (let i = 0; i < want.length; i += SYNC_CONCURRENCY) {
      const batch = await Promise.all(want.slice(i, i + SYNC_CONCURRENCY).map((id) => this.inspect(id)));
      for (const info of batch) if (info !== undefined) infos.push(info);
    }
    const found = new Set(infos.map((i) => i.Id));
    for (const t of [...this.byId.values()]) {
      if (!found.has(t.rec.id)) await this.containerGone(t);
    }
    const now = this.ctx.clock();
    for (const info of infos) {
      const known = this.byId.get(info.Id);
      try {
        if (known === undefined) {
          await this.adopt(recordFromInspect(info), now);
        } else {
          const oldName = known.rec.name;
          const held = known.rec.exitUnconfirmed;
          applyInspect(known.rec, info, 'sync', false, this.graceOver(known));
          if (known.rec.name !== oldName || !matches(this.filters!, known.rec.name, known.rec.labels)) await this.renamed(known, oldName);
          else this.publishSettled(known, held, now);
        }
      } catch (err) {
        // One container we cannot handle (a bug of ours) must not stop the sync of the others,
        // nor be taken for the engine being unreachable: that container alone is failed.
        this.ctx.stats.error(this.name, 'internal');
        this.ctx.log.error({ err, container: info.Name }, 'docker container could not be synced');
        const name = this.byId.get(info.Id)?.rec.name;
        if (name !== undefined) this.ctx.tracker.observe('container', name, false, { at: now, error: `internal error: ${errorMessage(err)}` });
      }
    }
    this.ctx.stats.record(this.name, Number(process.hrtime.bigint() - t0) / 1e9, true);
    this.ctx.log.debug({ containers: this.byId.size, listed: list.length }, 'docker state synced');
    this.resourcesCycle();
  }

  /** After the stream opened: containers created, removed or changed since the sync. */
  private async gapCheck(): Promise<void> {
    const list = await this.list();
    const ids = new Set(list.map((c) => c.Id));
    for (const t of [...this.byId.values()]) if (!ids.has(t.rec.id)) await this.containerGone(t);
    for (const c of list) {
      const t = this.byId.get(c.Id);
      if (t === undefined && this.ignored.has(c.Id)) continue;
      // Unchanged state and health (a health_status event is sent once per change: one that
      // came between the sync and the stream's opening is only seen here).
      if (t !== undefined && t.rec.state === c.State && t.rec.health === healthFromListStatus(c.Status)) continue;
      const info = await this.inspect(c.Id);
      if (info === undefined) {
        // Removed since the list.
        this.rememberGone(c.Id);
        if (t !== undefined && this.byId.get(c.Id) === t) await this.containerGone(t);
        continue;
      }
      if (t === undefined) await this.adoptIfWatched(recordFromInspect(info));
      else if (this.byId.get(c.Id) === t) {
        // (Unless it was destroyed while being inspected.)
        const held = t.rec.exitUnconfirmed;
        applyInspect(t.rec, info, 'refresh', this.pending.has(c.Id), this.graceOver(t));
        this.publishSettled(t, held, this.ctx.clock());
      }
    }
  }

  // --- events ----------------------------------------------------------------------------

  private async handleEvent(ev: DockerEvent): Promise<void> {
    if (this.abort.signal.aborted) return;
    const t = this.byId.get(ev.id);
    if (ev.action === 'destroy') this.rememberGone(ev.id);
    if (t === undefined) {
      if (ev.action === 'destroy') {
        this.ignored.delete(ev.id);
        return;
      }
      if (this.ignored.has(ev.id) && ev.action !== 'rename' && ev.action !== 'update') return;
      const info = await this.inspect(ev.id);
      if (info === undefined) return;
      this.ignored.delete(ev.id);
      const rec = ev.action === 'create' ? createdRecord(info) : recordFromInspect(info);
      if (ev.action === 'create') applyInspect(rec, info, 'refresh', this.pending.has(ev.id));
      // First seen by its die, exited: as for a known one, a removal may follow.
      if (ev.action === 'die' && exitSignal(info) === 'unsure') {
        rec.exitUnconfirmed = true;
        rec.dieAt = ev.time;
      }
      await this.adoptIfWatched(rec);
      const adopted = this.byId.get(ev.id);
      if (adopted?.rec === rec && rec.exitUnconfirmed) this.holdExit(adopted);
      return;
    }
    const held = t.rec.exitUnconfirmed;
    const effect = applyEvent(t.rec, ev);
    if (effect.remove) {
      // Also a die held until now: the container was removed, it did not fail.
      await this.dropContainer(t);
      return;
    }
    if (ev.action === 'start') t.cgroup.forget();
    // A die is no verdict yet (the inspect below, or the end of the grace, tells an exit from a
    // removal); a start after one settles it: an exit, down from the die to this start.
    if (t.rec.exitUnconfirmed && !held) this.holdExit(t);
    this.publishSettled(t, held, ev.time);
    if (!effect.refresh) return;
    const info = await this.inspect(ev.id);
    if (this.byId.get(ev.id) !== t) return;
    if (info === undefined) {
      // Gone already (its destroy event is on its way, or was lost): it leaves now.
      await this.containerGone(t);
      return;
    }
    const oldName = t.rec.name;
    const oldPid = t.rec.pid;
    const heldBefore = t.rec.exitUnconfirmed;
    applyInspect(t.rec, info, 'refresh', this.pending.has(ev.id), this.graceOver(t));
    if (t.rec.name !== oldName || !matches(this.filters!, t.rec.name, t.rec.labels)) {
      // Re-adopted under its new name (or dropped): the new record is published there.
      await this.renamed(t, oldName);
      return;
    }
    if (t.rec.pid !== oldPid) t.cgroup.forget();
    this.publishSettled(t, heldBefore, this.ctx.clock());
  }

  /** A die's verdict is held: at the end of the grace, an inspect settles it (see REMOVAL_GRACE_MS). */
  private holdExit(t: Tracked): void {
    clearTimeout(t.holdTimer);
    t.holdUntil = Date.now() + this.removalGraceMs;
    t.holdTimer = setTimeout(() => {
      t.holdTimer = undefined;
      if (this.byId.get(t.rec.id) === t && t.rec.exitUnconfirmed) this.recheck(t);
    }, this.removalGraceMs);
    t.holdTimer.unref();
  }

  private graceOver(t: Tracked): boolean {
    return t.holdUntil === undefined || Date.now() >= t.holdUntil;
  }

  /**
   * Publishes the record at `at`. When it held a die's verdict (`wasHeld`) that is now settled
   * as an exit, the outage is dated from the die: the down is observed at the die's time, then,
   * if it has been started again since, the current state at `at`.
   */
  private publishSettled(t: Tracked, wasHeld: boolean, at: number): void {
    if (wasHeld && !t.rec.exitUnconfirmed) {
      clearTimeout(t.holdTimer);
      t.holdTimer = undefined;
      t.holdUntil = undefined;
      const dieAt = t.rec.dieAt ?? at;
      if (available(t.rec) === false) {
        this.publish(t, dieAt);
        return;
      }
      this.ctx.tracker.observe('container', t.rec.name, false, { at: dieAt, error: 'container exited' });
    }
    this.publish(t, at);
  }

  private async adoptIfWatched(rec: ContainerRecord): Promise<void> {
    if (!matches(this.filters!, rec.name, rec.labels)) {
      this.ignored.add(rec.id);
      return;
    }
    await this.adopt(rec, this.ctx.clock());
  }

  private async adopt(rec: ContainerRecord, at: number): Promise<void> {
    if (this.gone.has(rec.id)) return;
    // A name is unique among existing containers; a record still holding it is stale.
    for (const other of [...this.byId.values()]) {
      if (other.rec.name === rec.name && other.rec.id !== rec.id) await this.dropContainer(other);
    }
    const t: Tracked = { rec, pub: { restarts: 0, oomKills: 0, cpu: 0 }, cgroup: new ContainerCgroup() };
    this.byId.set(rec.id, t);
    this.declare(rec.name);
    this.publish(t, at);
  }

  private rememberGone(id: string): void {
    this.gone.add(id);
    if (this.gone.size > GONE_REMEMBERED) this.gone.delete(this.gone.values().next().value!);
  }

  private declare(name: string): void {
    this.ctx.tracker.declare('container', name, {
      failureThreshold: this.config!.failure_threshold, successThreshold: this.config!.success_threshold,
    });
  }

  /** The container's name changed, or it no longer matches the filters: its old series go. */
  private async renamed(t: Tracked, oldName: string): Promise<void> {
    const newRec = t.rec;
    clearTimeout(t.holdTimer);
    await this.removeSeries(oldName);
    this.byId.delete(newRec.id);
    const fresh: ContainerRecord = { ...newRec };
    if (!matches(this.filters!, fresh.name, fresh.labels)) {
      this.ignored.add(fresh.id);
      return;
    }
    await this.adopt(fresh, this.ctx.clock());
    // A die still held under the old name is held under the new one.
    const next = this.byId.get(fresh.id);
    if (next !== undefined && fresh.exitUnconfirmed) this.holdExit(next);
  }

  /** The engine no longer has the container (ids are never reused): it leaves for good. */
  private async containerGone(t: Tracked): Promise<void> {
    this.rememberGone(t.rec.id);
    await this.dropContainer(t);
  }

  /**
   * A container being removed, or whose die may be the start of a removal, is inspected again
   * (once at a time) until it is gone or has a state: were its destroy event lost, its series
   * would otherwise stay.
   */
  private recheck(t: Tracked): void {
    const id = t.rec.id;
    if (this.rechecking.has(id)) {
      // The one in flight may have been asked before the grace ended: ask once more after it.
      if (t.rec.exitUnconfirmed && this.graceOver(t)) this.recheckAgain.add(id);
      return;
    }
    this.rechecking.add(id);
    void this.enqueue(async () => {
      if (this.byId.get(id) !== t || this.abort.signal.aborted) return;
      const info = await this.inspect(id);
      if (this.byId.get(id) !== t) return;
      if (info === undefined) await this.containerGone(t);
      else {
        const held = t.rec.exitUnconfirmed;
        applyInspect(t.rec, info, 'refresh', this.pending.has(id), this.graceOver(t));
        this.publishSettled(t, held, this.ctx.clock());
      }
    }).catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.ctx.log.debug({ err, container: t.rec.name }, 'docker recheck of a container being removed failed');
    }).finally(() => {
      this.rechecking.delete(id);
      if (this.recheckAgain.delete(id) && this.byId.get(id) === t && t.rec.exitUnconfirmed && !this.abort.signal.aborted) this.recheck(t);
    });
  }

  private async dropContainer(t: Tracked): Promise<void> {
    clearTimeout(t.holdTimer);
    t.holdTimer = undefined;
    if (this.byId.get(t.rec.id) === t) this.byId.delete(t.rec.id);
    await this.removeSeries(t.rec.name);
    this.ctx.log.debug({ container: t.rec.name }, 'docker container gone');
  }

  private async removeSeries(name: string): Promise<void> {
    this.ctx.tracker.forget('container', name);
    await dropSeries(this.ctx.registry, CONTAINER_SERIES, { container: name });
  }

  // --- series ----------------------------------------------------------------------------

  /** Writes the record's series and gives the availability tracker its verdict at `at`. */
  private publish(t: Tracked, at: number): void {
    const m = this.m!;
    const r = t.rec;
    const l = { container: r.name };
    setStateSet(m.state, M.containerState, l, 'state', r.state);
    setStateSet(m.health, M.containerHealth, l, 'status', r.health);
    if (r.restarts > t.pub.restarts || t.pub.restarts === 0) m.restarts.inc(l, Math.max(0, r.restarts - t.pub.restarts));
    t.pub.restarts = Math.max(t.pub.restarts, r.restarts);
    if (r.oomKills > t.pub.oomKills || t.pub.oomKills === 0) m.ooms.inc(l, Math.max(0, r.oomKills - t.pub.oomKills));
    t.pub.oomKills = Math.max(t.pub.oomKills, r.oomKills);
    if (r.exitCode !== undefined) m.exitCode.set(l, r.exitCode);
    if (r.startedAt !== undefined) m.startedAt.set(l, r.startedAt);
    const info = {
      container: r.name, image: r.image, compose_project: r.labels[COMPOSE_PROJECT] ?? '', compose_service: r.labels[COMPOSE_SERVICE] ?? '',
    };
    if (t.pub.info !== undefined && JSON.stringify(t.pub.info) !== JSON.stringify(info)) m.info.remove(t.pub.info);
    m.info.set(info, 1);
    t.pub.info = info;
    if (r.state !== 'running' && r.state !== 'paused') m.memUsage.remove(l);
    const ok = available(r);
    if (ok === undefined) return;
    this.ctx.tracker.observe('container', r.name, ok, ok ? { at } : { at, error: downReason(r) });
  }

  // --- resources -------------------------------------------------------------------------

  /** Reads memory and CPU of every running container from its cgroup files; observes availability. */
  private resourcesCycle(): void {
    if (this.abort.signal.aborted || this.m === undefined) return;
    const t0 = process.hrtime.bigint();
    const now = this.ctx.clock();
    const needStats: Tracked[] = [];
    let failed = false;
    for (const t of this.byId.values()) {
      try {
        // While the engine is unreachable nothing is known about its containers: no observation.
        // Nor while events of the container wait to be applied: its state is about to change (an
        // "up" observed now would date the outage its queued die starts after now).
        const ok = this.connected && !this.pending.has(t.rec.id) ? available(t.rec) : undefined;
        if (ok !== undefined) this.ctx.tracker.observe('container', t.rec.name, ok, ok ? { at: now } : { at: now, error: downReason(t.rec) });
        if (this.connected && !this.pending.has(t.rec.id) && (t.rec.state === 'removing' || t.rec.exitUnconfirmed)) this.recheck(t);
        if (t.rec.state !== 'running' && t.rec.state !== 'paused') continue;
        const res = this.readCgroup(t);
        if (res === undefined) needStats.push(t);
        else this.setResources(t, res);
      } catch (err) {
        // One container's failure stays its own: it is observed as failed, the others go on.
        failed = true;
        this.ctx.stats.error(this.name, 'internal');
        this.ctx.log.error({ err, container: t.rec.name }, 'docker resources cycle failed for a container');
        this.ctx.tracker.observe('container', t.rec.name, false, { at: now, error: `internal error: ${errorMessage(err)}` });
      }
    }
    this.files.sweep();
    this.ctx.stats.record(this.name, Number(process.hrtime.bigint() - t0) / 1e9, this.connected && !failed);
    if (needStats.length > 0) void this.statsFallback(needStats);
  }

  /** Resources from the container's cgroup files; undefined when they cannot be read. */
  private readCgroup(t: Tracked): Resources | undefined {
    return t.cgroup.read(t.rec.id, t.rec.pid, this.files, this.config!, () => {
      this.ctx.log.debug({ container: t.rec.name }, 'docker cgroup files not readable; using one-shot stats');
    });
  }

  private setResources(t: Tracked, res: Resources): void {
    const m = this.m!;
    const l = { container: t.rec.name };
    m.memUsage.set(l, res.memoryUsage);
    if (res.memoryLimit !== undefined) m.memLimit.set(l, res.memoryLimit);
    else m.memLimit.remove(l);
    // The cgroup's counter starts again at 0 with each run; the exported counter keeps growing.
    const total = t.cgroup.cpuTotal(res.cpuSeconds);
    m.cpu.inc(l, Math.max(0, total - t.pub.cpu));
    t.pub.cpu = Math.max(t.pub.cpu, total);
  }

  /** One-shot stats for containers without readable cgroup files: at most stats_per_interval per cycle, one at a time. */
  private async statsFallback(list: Tracked[]): Promise<void> {
    if (this.statsBusy || this.config!.stats_per_interval === 0) return;
    this.statsBusy = true;
    try {
      // Those served longest ago first, so every container gets its turn.
      const turn = [...list].sort((a, b) => (a.cgroup.statsAt ?? 0) - (b.cgroup.statsAt ?? 0)).slice(0, this.config!.stats_per_interval);
      for (const t of turn) {
        if (this.abort.signal.aborted) return;
        t.cgroup.statsAt = Date.now();
        try {
          const res = resourcesFromStats(await this.engine!.stats(t.rec.id));
          if (res !== undefined && this.byId.get(t.rec.id) === t) this.setResources(t, res);
        } catch (err) {
          if (!this.abort.signal.aborted) this.ctx.log.debug({ err, container: t.rec.name }, 'docker one-shot stats failed');
        }
      }
    } finally {
      this.statsBusy = false;
    }
  }
}

function downReason(r: ContainerRecord): string {
  return r.state === 'running' ? 'container unhealthy' : `container ${r.state}`;
}
