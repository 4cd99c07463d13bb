import { fingerprint } from '../config/fingerprint';
import type { LogSourceConfig } from '../config/logs';
import { LOG_ROTATION_KINDS, M, namesWithLabel } from '../metrics/definitions';
import { counter, dropSeries, gauge, histogram, type CounterOf, type GaugeOf, type HistogramOf } from '../metrics/instruments';
import { compileUserRegex, literalOf, type UserRegex } from '../user-regex';
import type { Collector, CollectorContext } from './collector';
import {
  buildParser, CODE_LABELS, codeIndex, METHODS, methodIndex, PARSE_FAILURE_REASONS, ROUTE_PATH_LIMIT, type FormatPreset,
  type LineParser, type LogRecord, type ParseFailureReason,
} from './log-formats';
import { PositionStore } from './log-positions';
import { LogTail } from './log-tail';
import { TrafficWindow } from './log-traffic';

/**
 * The access-log collector: one source per `logs` entry (its name is the `source` label). Each
 * source follows its file(s) (./log-tail.ts), parses every line (./log-formats.ts) and counts
 * requests by route, method and code, durations, bytes and parse failures. A source with a
 * `traffic` block is an availability target of kind `traffic`: down while its 5xx ratio over
 * the window is above the threshold with enough requests.
 *
 * Read positions live in the collector's store (a source replaced by a reload continues from
 * them) and, with a data directory, survive restarts (./log-positions.ts).
 */

/** Every series with a `source` label, dropped when a source goes or counts differently. */
const SOURCE_SERIES = namesWithLabel('logs', 'source');

/** How often positions are saved and the stale and files gauges refreshed. */
const TICK_SECONDS = 1;

interface Instruments {
  info: GaugeOf<typeof M.logSourceInfo>;
  requests: CounterOf<typeof M.logRequests>;
  duration: HistogramOf<typeof M.logRequestDuration>;
  upstream: HistogramOf<typeof M.logUpstreamDuration>;
  bytes: CounterOf<typeof M.logResponseBytes>;
  failures: CounterOf<typeof M.logParseFailures>;
  lastLine: GaugeOf<typeof M.logLastLine>;
  stale: GaugeOf<typeof M.logStale>;
  files: GaugeOf<typeof M.logFiles>;
  rotations: CounterOf<typeof M.logRotations>;
  readErrors: CounterOf<typeof M.logReadErrors>;
}

type Inc = { inc(v?: number): void };
type Obs = { observe(v: number): void };

const METHOD_LABELS: readonly string[] = [...METHODS, 'other'];
/** Paths whose route is remembered (patterns that are not literals); the memo is emptied when full. */
const ROUTE_MEMO_SIZE = 1024;
/** Longer paths are not remembered. */
const ROUTE_MEMO_PATH = 256;

class LogSource {
  private readonly parser: LineParser;
  /**
   * Route patterns, matched in linear time (the paths come from anyone who can send the proxy a
   * request); literal ones with startsWith and the like (src/user-regex.ts).
   */
  private readonly routes: UserRegex[];
  /** Route names; index routes.length is `other`. */
  private readonly routeNames: string[];
  /** Path -> route index, for patterns that are not literals (a bounded memo: a log repeats its paths). */
  private readonly routeMemo: Map<string, number> | undefined;
  /** The clock read once per batch of lines (lines are dated by when they are read). */
  private batchNow: number | undefined;
  private readonly window: TrafficWindow | undefined;
  private tail?: LogTail;
  private lastLineAt?: number;
  private readonly startedAt: number;
  /**
   * prom-client children by label values, resolved once per (route, method, code) and kept by a
   * number built from their indices. Request and byte counts are summed here and added to the
   * counters once per batch of lines (the end of each read), not once per line.
   */
  private readonly requestChildren = new Map<number, { child: Inc; pending: number }>();
  private readonly pendingRequests: { child: Inc; pending: number }[] = [];
  private readonly routeChildren: ({ duration: Obs; upstream: Obs; bytes: Inc; pendingBytes: number } | undefined)[] = [];
  private readonly failureChildren = new Map<string, Inc>();
  private lastErrorLog = 0;

  constructor(
    readonly cfg: LogSourceConfig,
    private readonly m: Instruments,
    private readonly ctx: CollectorContext,
    private readonly store: PositionStore,
  ) {
    // Lines are dated by when they are read: the parser skips their own timestamps.
    this.parser = buildParser({ format: cfg.format as FormatPreset, log_format: cfg.log_format, json_fields: cfg.json_fields, time: false });
    this.routes = Object.values(cfg.routes).map((re) => compileUserRegex(re));
    this.routeNames = [...Object.keys(cfg.routes), 'other'];
    this.routeMemo = Object.values(cfg.routes).every((re) => literalOf(re) !== undefined) ? undefined : new Map();
    this.window = cfg.traffic === undefined ? undefined : new TrafficWindow(cfg.traffic.window);
    this.startedAt = ctx.clock();
  }

  start(): void {
    const { cfg, m } = this;
    const source = cfg.name;
    m.info.set({ source, upstream: cfg.upstream ?? '' }, 1);
    for (const reason of PARSE_FAILURE_REASONS) m.failures.inc({ source, reason }, 0);
    for (const kind of LOG_ROTATION_KINDS.values) m.rotations.inc({ source, kind }, 0);
    m.readErrors.inc({ source }, 0);
    if (cfg.traffic !== undefined) {
      this.ctx.tracker.declare('traffic', source, { failureThreshold: cfg.traffic.failure_threshold, successThreshold: cfg.traffic.success_threshold });
    }
    this.tail = new LogTail(
      {
        path: cfg.path, startAt: cfg.start_at, maxLineBytes: cfg.max_line_bytes, pollInterval: cfg.poll_interval,
        rotateWait: cfg.rotate_wait, watch: cfg.watch,
      },
      {
        line: (text) => this.line(text),
        batchEnd: () => this.flush(),
        tooLong: () => this.fail('too_long'),
        rotated: (kind) => {
          m.rotations.inc({ source, kind });
          this.ctx.log.info({ source, kind, path: cfg.path }, 'log file rotated');
        },
        error: (err) => {
          m.readErrors.inc({ source });
          // One log line per minute at most: a permission problem would otherwise log every poll.
          const now = this.ctx.clock();
          if (now - this.lastErrorLog >= 60) {
            this.lastErrorLog = now;
            this.ctx.log.warn({ err, source, path: cfg.path }, 'cannot read log file');
          }
        },
      },
      this.ctx.clock,
      this.store.get(source),
    );
    this.tail.start();
    if (!this.tail.watching && cfg.watch) {
      this.ctx.log.info({ source, path: cfg.path, poll_interval: cfg.poll_interval }, 'log directory not watchable yet; polling');
    }
    this.tick();
  }

  stop(): void {
    if (this.tail === undefined) return;
    // Read what is there now, so the saved position is as far as it can be.
    this.tail.scan();
    this.store.set(this.cfg.name, this.tail.positions());
    this.tail.stop();
    this.tail = undefined;
  }

  /** Once a second: positions to the store, stale and files gauges. */
  tick(): void {
    if (this.tail === undefined) return;
    const source = this.cfg.name;
    this.store.set(source, this.tail.positions());
    const now = this.ctx.clock();
    if (this.lastLineAt !== undefined) this.m.lastLine.set({ source }, this.lastLineAt);
    this.m.stale.set({ source }, now - (this.lastLineAt ?? this.startedAt) >= this.cfg.stale_after ? 1 : 0);
    this.m.files.set({ source }, this.tail.attachedFiles);
  }

  /** One availability observation of the traffic target. */
  judge(): void {
    const t = this.cfg.traffic;
    if (t === undefined || this.window === undefined) return;
    const now = this.ctx.clock();
    const j = this.window.judge(now, t.max_error_ratio, t.min_requests);
    const opts: { at: number; error?: string } = { at: now };
    if (!j.ok) opts.error = `${j.errors} of ${j.requests} requests answered 5xx in the last ${t.window}s`;
    this.ctx.tracker.observe('traffic', this.cfg.name, j.ok, opts);
  }

  private now(): number {
    this.batchNow ??= this.ctx.clock();
    return this.batchNow;
  }

  private line(text: string): void {
    this.lastLineAt = this.now();
    let r: ReturnType<LineParser>;
    try {
      r = this.parser(text);
    } catch {
      // Parsers do not throw; should one ever do, the line counts as not matching.
      r = 'no_match';
    }
    if (typeof r === 'string') {
      this.fail(r);
      return;
    }
    this.count(r);
  }

  /** The index of the first route whose pattern matches the path (query excluded), routes.length for `other`. */
  private routeOf(path: string | undefined): number {
    const other = this.routes.length;
    if (path === undefined || other === 0) return other;
    const p = path.length > ROUTE_PATH_LIMIT ? path.slice(0, ROUTE_PATH_LIMIT) : path;
    const memo = this.routeMemo;
    if (memo !== undefined) {
      const known = memo.get(p);
      if (known !== undefined) return known;
    }
    let i = 0;
    while (i < other && !this.routes[i]!.test(p)) i++;
    if (memo !== undefined && p.length <= ROUTE_MEMO_PATH) {
      if (memo.size >= ROUTE_MEMO_SIZE) memo.clear();
      memo.set(p, i);
    }
    return i;
  }

  private count(r: LogRecord): void {
    const ri = this.routeOf(r.path);
    const mi = methodIndex(r.method);
    const ci = codeIndex(r.status);
    const key = (ri * METHOD_LABELS.length + mi) * CODE_LABELS.length + ci;
    let req = this.requestChildren.get(key);
    if (req === undefined) {
      const labels = { source: this.cfg.name, route: this.routeNames[ri]!, method: METHOD_LABELS[mi]!, code: CODE_LABELS[ci]! };
      req = { child: this.m.requests.labels(labels), pending: 0 };
      this.requestChildren.set(key, req);
    }
    if (req.pending === 0) this.pendingRequests.push(req);
    req.pending += 1;
    let rc = this.routeChildren[ri];
    if (rc === undefined) {
      const labels = { source: this.cfg.name, route: this.routeNames[ri]! };
      rc = { duration: this.m.duration.labels(labels), upstream: this.m.upstream.labels(labels), bytes: this.m.bytes.labels(labels), pendingBytes: 0 };
      this.routeChildren[ri] = rc;
    }
    if (r.duration !== undefined) rc.duration.observe(r.duration);
    if (r.upstreamDuration !== undefined) rc.upstream.observe(r.upstreamDuration);
    if (r.bytes !== undefined) rc.pendingBytes += r.bytes;
    this.window?.add(this.now(), r.status >= 500);
  }

  /** Adds the batch's request and byte counts to the counters. */
  private flush(): void {
    this.batchNow = undefined;
    for (const r of this.pendingRequests) {
      r.child.inc(r.pending);
      r.pending = 0;
    }
    this.pendingRequests.length = 0;
    for (const r of this.routeChildren) {
      if (r === undefined || r.pendingBytes === 0) continue;
      r.bytes.inc(r.pendingBytes);
      r.pendingBytes = 0;
    }
  }

  private fail(reason: ParseFailureReason): void {
    let c = this.failureChildren.get(reason);
    if (c === undefined) {
      c = this.m.failures.labels({ source: this.cfg.name, reason });
      this.failureChildren.set(reason, c);
    }
    c.inc();
  }
}

interface Running {
  source: LogSource;
  key: string;
  judge?: NodeJS.Timeout;
}

export class LogsCollector implements Collector<readonly LogSourceConfig[]> {
  readonly name = 'logs';
  private readonly sources = new Map<string, Running>();
  private ticker?: NodeJS.Timeout;
  private store?: PositionStore;
  private m?: Instruments;

  constructor(private readonly ctx: CollectorContext) {}

  /**
   * Sources are keyed by name: an unchanged one keeps reading untouched; a changed one is
   * replaced and continues from its read position (unless its path changed); a removed one
   * leaves with its series, its traffic target and its position.
   */
  apply(configs: readonly LogSourceConfig[]): Promise<void> {
    const { registry, log, stats } = this.ctx;
    const began = process.hrtime.bigint();
    let store = this.store;
    if (store === undefined) {
      store = this.store = new PositionStore(this.ctx.dataDir);
      const loadErr = store.load();
      if (loadErr !== undefined) log.warn({ err: loadErr }, 'cannot read saved log positions; starting without them');
      if (store.file === undefined) log.info({}, 'no data directory: log read positions are kept in memory only (lost at restart)');
    }
    const m = (this.m ??= {
      info: gauge(registry, M.logSourceInfo), requests: counter(registry, M.logRequests), duration: histogram(registry, M.logRequestDuration),
      upstream: histogram(registry, M.logUpstreamDuration), bytes: counter(registry, M.logResponseBytes),
      failures: counter(registry, M.logParseFailures), lastLine: gauge(registry, M.logLastLine),
      stale: gauge(registry, M.logStale), files: gauge(registry, M.logFiles), rotations: counter(registry, M.logRotations),
      readErrors: counter(registry, M.logReadErrors),
    });
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const dropping: Promise<void>[] = [];
    for (const [name, r] of [...this.sources]) {
      const next = wanted.get(name);
      if (next !== undefined && fingerprint(next) === r.key) continue;
      this.sources.delete(name);
      clearInterval(r.judge);
      r.source.stop();
      const old = r.source.cfg;
      // Another file: the old positions mean nothing for it.
      if (next === undefined || next.path !== old.path) store.delete(name);
      if (old.traffic !== undefined && next?.traffic === undefined) this.ctx.tracker.forget('traffic', name);
      // Gone, or counted differently (other routes or format): its series start again.
      if (next === undefined || fingerprint([next.routes, next.format, next.log_format, next.json_fields]) !== fingerprint([old.routes, old.format, old.log_format, old.json_fields])) {
        dropping.push(dropSeries(registry, SOURCE_SERIES, { source: name }));
      } else if (next.upstream !== old.upstream) {
        // Only the link moved: the old info series goes, the replacement declares the new one.
        dropping.push(dropSeries(registry, [M.logSourceInfo.name], { source: name, upstream: old.upstream ?? '' }));
      }
    }
    return Promise.all(dropping).then(() => {
      for (const c of configs) {
        if (this.sources.has(c.name)) continue;
        const source = new LogSource(c, m, this.ctx, store);
        const r: Running = { source, key: fingerprint(c) };
        source.start();
        if (c.traffic !== undefined) {
          r.judge = setInterval(() => source.judge(), c.traffic.interval * 1000);
          r.judge.unref();
        }
        this.sources.set(c.name, r);
      }
      if (this.sources.size > 0 && this.ticker === undefined) {
        this.ticker = setInterval(() => this.tick(), TICK_SECONDS * 1000);
        this.ticker.unref();
      } else if (this.sources.size === 0) {
        this.stopTicker();
      }
      stats.record(this.name, Number(process.hrtime.bigint() - began) / 1e9, true);
    });
  }

  private tick(): void {
    const began = process.hrtime.bigint();
    let ok = true;
    for (const r of this.sources.values()) r.source.tick();
    try {
      this.store?.save();
    } catch (err) {
      ok = false;
      this.ctx.log.warn({ err, file: this.store?.file }, 'cannot save log positions');
    }
    this.ctx.stats.record(this.name, Number(process.hrtime.bigint() - began) / 1e9, ok);
  }

  private stopTicker(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  stop(): Promise<void> {
    this.stopTicker();
    for (const r of this.sources.values()) {
      clearInterval(r.judge);
      r.source.stop();
    }
    try {
      this.store?.save();
    } catch (err) {
      this.ctx.log.warn({ err, file: this.store?.file }, 'cannot save log positions');
    }
    return Promise.resolve();
  }
}
