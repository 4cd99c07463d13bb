import { M } from '../metrics/definitions';

/**
 * The pure parts of the MQTT collector: the `$SYS` allow-list, payload parsing, topic filter
 * matching, reconnect backoff, and the per-broker state that turns mosquitto's running totals
 * into monotonic counters across reconnects and broker restarts. No I/O; unit-tested.
 */

export type SysKind = 'uptime' | 'gauge' | 'counter';

export interface SysTopic {
  /** Metric name (from ./definitions). */
  readonly metric: string;
  readonly kind: SysKind;
}

/**
 * The `$SYS` topics the collector subscribes to, one by one (never `$SYS/#`: bridges and
 * `log_dest topic` create unbounded topic names under `$SYS`).
 */
export const SYS_TOPICS: ReadonlyMap<string, SysTopic> = new Map<string, SysTopic>([
  ['$SYS/broker/uptime', { metric: M.mqttUptime.name, kind: 'uptime' }],
  ['$SYS/broker/clients/connected', { metric: M.mqttClientsConnected.name, kind: 'gauge' }],
  ['$SYS/broker/clients/maximum', { metric: M.mqttClientsMaximum.name, kind: 'gauge' }],
  ['$SYS/broker/subscriptions/count', { metric: M.mqttSubscriptions.name, kind: 'gauge' }],
  ['$SYS/broker/retained messages/count', { metric: M.mqttRetained.name, kind: 'gauge' }],
  ['$SYS/broker/messages/stored', { metric: M.mqttStored.name, kind: 'gauge' }],
  ['$SYS/broker/heap/current', { metric: M.mqttHeap.name, kind: 'gauge' }],
  ['$SYS/broker/messages/received', { metric: M.mqttMsgsReceived.name, kind: 'counter' }],
  ['$SYS/broker/messages/sent', { metric: M.mqttMsgsSent.name, kind: 'counter' }],
  ['$SYS/broker/publish/messages/dropped', { metric: M.mqttDropped.name, kind: 'counter' }],
  ['$SYS/broker/bytes/received', { metric: M.mqttBytesReceived.name, kind: 'counter' }],
  ['$SYS/broker/bytes/sent', { metric: M.mqttBytesSent.name, kind: 'counter' }],
]);

const NUMBER = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?:\s+seconds?)?\s*$/;

/**
 * Parses a mosquitto `$SYS` payload: an integer (`42`), a float (`0.57`) or a duration in
 * seconds (`"12345 seconds"`). Anything else, and non-finite or negative values, give undefined.
 */
export function parseSysPayload(payload: string | Buffer): number | undefined {
  const text = typeof payload === 'string' ? payload : payload.length > 64 ? '' : payload.toString('utf8');
  if (text.length === 0 || text.length > 64) return undefined;
  const m = NUMBER.exec(text);
  if (m === null) return undefined;
  const v = Number(m[1]);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Whether a concrete topic matches an MQTT topic filter (`+`, `#`, `$`-topics, `$share/`). */
export function topicMatches(filter: string, topic: string): boolean {
  let f = filter;
  if (f.startsWith('$share/')) f = f.split('/').slice(2).join('/');
  const fl = f.split('/');
  const tl = topic.split('/');
  // Wildcards at the first level do not match topics starting with `$` (MQTT 4.7.2).
  if (topic.startsWith('$') && (fl[0] === '#' || fl[0] === '+')) return false;
  for (let i = 0; i < fl.length; i += 1) {
    const part = fl[i]!;
    if (part === '#') return true;
    if (i >= tl.length) return false;
    if (part !== '+' && part !== tl[i]) return false;
  }
  return fl.length === tl.length;
}

/**
 * The wait before connection attempt number `attempt` (0-based count of failures in a row):
 * doubling from `initial`, capped at `max`, with up to 20% jitter taken off so that many
 * exporters do not reconnect in lock step. `rand` is in [0, 1).
 */
export function backoffSeconds(attempt: number, initial: number, max: number, rand: number = Math.random()): number {
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return base * (1 - 0.2 * rand);
}

/** What a `$SYS` message means for the metrics. */
export type SysEffect =
  | { type: 'gauge'; metric: string; value: number }
  | { type: 'counter'; metric: string; delta: number; total: number }
  | { type: 'restart'; reason: 'uptime' | 'totals'; metric: string; previous: number; value: number }
  | { type: 'parse_error'; topic: string };

/**
 * What the collector remembers about a broker across connections (and across config reloads:
 * the collector keeps it per registry, like the instruments). Counter totals are the exporter's
 * own monotonic sums; `last` holds the broker's running totals as last seen.
 */
export interface BrokerMemory {
  lastUptime?: number;
  /** When lastUptime was received (unix seconds). */
  lastUptimeAt?: number;
  readonly last: Map<string, number>;
  readonly totals: Map<string, number>;
  /** The last value of each `$SYS` gauge (of the broker instance last connected to). */
  readonly gauges: Map<string, number>;
  /** When the last connection ended (unix seconds); undefined while connected or never connected. */
  disconnectedAt?: number;
}

export function newBrokerMemory(): BrokerMemory {
  return { last: new Map(), totals: new Map(), gauges: new Map() };
}

/**
 * mosquitto (2.x) publishes most `$SYS` values only when they change, retained with a 60 s
 * message expiry: a client that subscribes later than that after a value's last change is sent
 * nothing for it until it changes again.
 */
export const SYS_RETAINED_SECONDS = 60;

/**
 * Per-connection interpretation of `$SYS` messages for one broker.
 *
 * A broker restart shows as its uptime going backwards (below the last uptime seen) or, for a
 * restart quicker than the uptime's 1 s resolution, as one of its running totals going backwards
 * on a new connection. Counted once per connection. The new broker's totals start from zero, so
 * they are added to the exporter's counters whole: counters stay monotonic.
 * Because the counters of a new connection may arrive before its uptime, they are held back
 * until the uptime has decided whether the broker restarted (or, for a broker that publishes
 * no uptime, until 1.5 sys intervals after the connection started).
 * Not counted: a restart during a disconnection longer than the broker's previous uptime whose
 * new totals already exceed the old ones ("less uptime than the time that passed" is no proof:
 * the uptime retained by a frozen broker lags by the freeze).
 *
 * Values published only on change: after a reconnection to the same broker instance (its first
 * uptime did not go back) within SYS_RETAINED_SECONDS of losing the connection, a value that
 * changed meanwhile is still retained and arrives on subscribing; one that did not change is
 * not sent at all. So at that first uptime every remembered value not received yet in this
 * connection is served again as it was. After a restart, or a longer absence, only the values
 * the broker sends are served.
 */
export class SysState {
  private uptimeSeen = false;
  private connectedAt = 0;
  private restartCounted = false;
  /** Seconds since the previous connection ended, when there was one. */
  private awayFor?: number;
  private readonly pending = new Map<string, number>();
  /** Counters already taken in this connection. */
  private readonly seen = new Set<string>();
  /** Gauges received in this connection. */
  private readonly gaugesSeen = new Set<string>();

  constructor(private readonly memory: BrokerMemory, private readonly sysInterval: number) {}

  /** A new connection: totals are held back until its first uptime. */
  newConnection(at: number): void {
    this.uptimeSeen = false;
    this.restartCounted = false;
    this.connectedAt = at;
    const away = this.memory.disconnectedAt;
    this.awayFor = away === undefined ? undefined : at - away;
    this.memory.disconnectedAt = undefined;
    this.pending.clear();
    this.seen.clear();
    this.gaugesSeen.clear();
  }

  /** The connection ended (or never started) at `at`. */
  disconnected(at: number): void {
    this.memory.disconnectedAt ??= at;
  }

  onMessage(topic: string, payload: string | Buffer, at: number): SysEffect[] {
    const def = SYS_TOPICS.get(topic);
    if (def === undefined) return [];
    const value = parseSysPayload(payload);
    if (value === undefined) return [{ type: 'parse_error', topic }];
    const out: SysEffect[] = [];
    if (def.kind === 'gauge') {
      this.gaugesSeen.add(def.metric);
      this.memory.gauges.set(def.metric, value);
      out.push({ type: 'gauge', metric: def.metric, value });
    } else if (def.kind === 'uptime') {
      const { lastUptime } = this.memory;
      const restart = lastUptime !== undefined && value < lastUptime;
      if (restart) this.restarted(out, { type: 'restart', reason: 'uptime', metric: def.metric, previous: lastUptime, value });
      this.memory.lastUptime = value;
      this.memory.lastUptimeAt = at;
      out.push({ type: 'gauge', metric: def.metric, value });
      if (!this.uptimeSeen || restart) {
        const first = !this.uptimeSeen;
        this.uptimeSeen = true;
        this.flush(out, restart);
        if (first && !restart) this.restoreUnchanged(out);
      }
    } else {
      this.pending.set(def.metric, value);
      if (this.uptimeSeen) {
        this.flush(out, false);
      } else if (at - this.connectedAt > 1.5 * this.sysInterval) {
        // A broker that publishes no uptime: stop waiting for it.
        this.uptimeSeen = true;
        this.flush(out, false);
      }
    }
    return out;
  }

  /**
   * The same broker instance, reconnected within the retention of its `$SYS` values: every
   * value it did not send again has not changed since it was last received.
   */
  private restoreUnchanged(out: SysEffect[]): void {
    if (this.awayFor === undefined || this.awayFor >= SYS_RETAINED_SECONDS) return;
    for (const [metric, value] of this.memory.gauges) {
      if (!this.gaugesSeen.has(metric)) out.push({ type: 'gauge', metric, value });
    }
    for (const [metric, total] of this.memory.totals) {
      if (this.seen.has(metric) || this.pending.has(metric)) continue;
      out.push({ type: 'counter', metric, delta: 0, total });
    }
  }

  /** Counts the restart (once per connection); totals not taken yet will be taken whole. */
  private restarted(out: SysEffect[], effect: Extract<SysEffect, { type: 'restart' }>): void {
    if (this.restartCounted) return;
    this.restartCounted = true;
    out.push(effect);
    for (const metric of [...this.memory.last.keys()]) if (!this.seen.has(metric)) this.memory.last.delete(metric);
    // The old instance's values say nothing about the new one.
    for (const metric of [...this.memory.gauges.keys()]) if (!this.gaugesSeen.has(metric)) this.memory.gauges.delete(metric);
  }

  private flush(out: SysEffect[], reset: boolean): void {
    for (const [metric, value] of this.pending) {
      const last = this.memory.last.get(metric);
      let delta: number;
      if (last === undefined || reset) {
        // First sight (the counter starts at the broker's total) or a restarted broker.
        delta = value;
      } else if (value < last) {
        // A running total went backwards: the broker restarted (faster than its uptime shows).
        this.restarted(out, { type: 'restart', reason: 'totals', metric, previous: last, value });
        delta = value;
      } else {
        delta = value - last;
      }
      this.seen.add(metric);
      this.memory.last.set(metric, value);
      const total = (this.memory.totals.get(metric) ?? 0) + delta;
      this.memory.totals.set(metric, total);
      out.push({ type: 'counter', metric, delta, total });
    }
    this.pending.clear();
  }
}
