import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mqtt, { ReasonCodes, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Counter, Gauge } from 'prom-client';
import { fingerprint } from '../config/fingerprint';
import { readTlsFile } from '../config/files';
import type { MqttBrokerConfig } from '../config/mqtt';
import { capText, errorMessage } from '../error-text';
import { M, namesWithLabel, MQTT_CONNECT_FAILURE_REASONS, MQTT_DROP_REASONS } from '../metrics/definitions';
import { counter, dropSeries, gauge, histogram, type CounterOf, type GaugeOf, type HistogramOf } from '../metrics/instruments';
import type { Collector, CollectorContext } from './collector';
import { redactUrl } from './http-probe';
import { backoffSeconds, newBrokerMemory, SYS_TOPICS, SysState, topicMatches, type BrokerMemory, type SysEffect } from './mqtt-sys';

/**
 * The MQTT collector: one connection per configured broker (MQTT v5), kept open and observed
 * continuously (subscriptions, not work at scrape time).
 *
 * - `$SYS` values from an allow-list of topics (./mqtt-sys.ts); served only while connected.
 * - A watchdog rebuilds the client when no `$SYS` message arrived for `sys_stale_intervals` ×
 *   `sys_interval`, even while the client still believes it is connected (half-open TCP).
 * - Reconnects are ours (mqtt.js `reconnectPeriod: 0`): every attempt gets a fresh client, the
 *   previous one is ended and stripped of its listeners, so reconnect storms leave nothing behind.
 *   Waits double from `reconnect.initial` to `reconnect.max`.
 * - A check runs every `roundtrip.interval` (or `sys_interval` without round trips) and feeds
 *   the availability tracker: up when connected, `$SYS` is fresh and the round trip came back.
 *   While the broker cannot be reached every check reports a failure, so the target never
 *   vanishes. Losing the connection and the first `$SYS` after a reconnect are observed at once,
 *   so outage lengths do not depend on the check interval.
 */

export const CONNECT_FAILURE_REASONS = MQTT_CONNECT_FAILURE_REASONS.values;
export type ConnectFailureReason = (typeof CONNECT_FAILURE_REASONS)[number];

/** Every series with a `broker` label, dropped when a broker leaves the configuration. */
const MQTT_SERIES = namesWithLabel('mqtt', 'broker');

/** Why the client discarded a message (`stackwatch_mqtt_messages_dropped_total{reason}`). */
export const DROP_REASONS = MQTT_DROP_REASONS.values;

/** Classifies a connection error for `stackwatch_mqtt_connect_failures_total{reason}`. */
export function connectFailureReason(err: Error & { code?: unknown }): ConnectFailureReason {
  const code = err.code;
  if (typeof code === 'number') {
    // MQTT v5 CONNACK reason codes; 4/5 are the v3.1.1 return codes.
    if (code === 0x86 || code === 0x87 || code === 0x8c || code === 4 || code === 5) return 'auth';
    return 'refused';
  }
  if (/connack timeout/i.test(err.message) || code === 'ETIMEDOUT') return 'timeout';
  if (typeof code === 'string') {
    if (/^(ERR_TLS_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_SSL_)/.test(code)) return 'tls';
    if (/^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|ECONNABORTED)$/.test(code)) return 'network';
  }
  return 'other';
}

interface Instruments {
  connected: GaugeOf<typeof M.mqttConnected>;
  reconnects: CounterOf<typeof M.mqttReconnects>;
  connectFailures: CounterOf<typeof M.mqttConnectFailures>;
  sysLast: GaugeOf<typeof M.mqttSysLast>;
  restarts: CounterOf<typeof M.mqttBrokerRestarts>;
  parseErrors: CounterOf<typeof M.mqttSysParseErrors>;
  roundtrip: HistogramOf<typeof M.mqttRoundtrip>;
  roundtripFailures: CounterOf<typeof M.mqttRoundtripFailures>;
  topicLast: GaugeOf<typeof M.mqttTopicLast>;
  topicSilent: GaugeOf<typeof M.mqttTopicSilent>;
  dropped: CounterOf<typeof M.mqttMessagesDropped>;
  sys: Map<string, Gauge | Counter>;
}

export class MqttCollector implements Collector<readonly MqttBrokerConfig[]> {
  readonly name = 'mqtt';
  private readonly brokers = new Map<string, { monitor: BrokerMonitor; key: string }>();
  /**
   * What each broker's `$SYS` counters reached, kept while the broker stays configured: a broker
   * whose settings change gets a new connection and continues its counters from here.
   */
  private readonly memories = new Map<string, BrokerMemory>();
  private m?: Instruments;

  constructor(private readonly ctx: CollectorContext) {}

  async apply(configs: readonly MqttBrokerConfig[]): Promise<void> {
    const m = (this.m ??= this.instruments());
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const closing: Promise<void>[] = [];
    for (const [name, b] of [...this.brokers]) {
      const next = wanted.get(name);
      if (next !== undefined && fingerprint(next) === b.key) continue;
      this.brokers.delete(name);
      closing.push(b.monitor.stop());
      // Another broker behind the name: the values of the old one are not served as its.
      if (next !== undefined && next.url !== b.monitor.config.url) this.memories.get(name)?.gauges.clear();
      // Topics the changed broker no longer watches leave the output.
      const keep = new Set(next?.topics.map((t) => t.topic) ?? []);
      for (const t of b.monitor.config.topics) {
        if (keep.has(t.topic)) continue;
        m.topicLast.remove({ broker: name, topic: t.topic });
        m.topicSilent.remove({ broker: name, topic: t.topic });
      }
    }
    await Promise.allSettled(closing);
    for (const name of this.memories.keys()) {
      if (wanted.has(name)) continue;
      this.memories.delete(name);
      this.ctx.tracker.forget('mqtt', name);
      await dropSeries(this.ctx.registry, MQTT_SERIES, { broker: name });
    }
    for (const config of configs) {
      if (this.brokers.has(config.name)) continue;
      let memory = this.memories.get(config.name);
      if (memory === undefined) this.memories.set(config.name, (memory = newBrokerMemory()));
      const monitor = new BrokerMonitor(config, this.ctx, m, memory);
      this.brokers.set(config.name, { monitor, key: fingerprint(config) });
      monitor.start();
    }
  }

  private instruments(): Instruments {
    const { registry } = this.ctx;
    const m: Instruments = {
      connected: gauge(registry, M.mqttConnected),
      reconnects: counter(registry, M.mqttReconnects),
      connectFailures: counter(registry, M.mqttConnectFailures),
      sysLast: gauge(registry, M.mqttSysLast),
      restarts: counter(registry, M.mqttBrokerRestarts),
      parseErrors: counter(registry, M.mqttSysParseErrors),
      roundtrip: histogram(registry, M.mqttRoundtrip),
      roundtripFailures: counter(registry, M.mqttRoundtripFailures),
      topicLast: gauge(registry, M.mqttTopicLast),
      dropped: counter(registry, M.mqttMessagesDropped),
      topicSilent: gauge(registry, M.mqttTopicSilent),
      sys: new Map(),
    };
    for (const t of SYS_TOPICS.values()) {
      const def = Object.values(M).find((d) => d.name === t.metric)!;
      m.sys.set(t.metric, def.type === 'counter' ? counter(registry, def) : gauge(registry, def as typeof M.mqttUptime));
    }
    return m;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.brokers.values()].map((b) => b.monitor.stop()));
  }

  /** For tests and the benchmark: the monitor of one broker. */
  broker(name: string): BrokerMonitor | undefined {
    return this.brokers.get(name)?.monitor;
  }
}

type Phase = 'idle' | 'connecting' | 'connected' | 'stopped';

interface RoundTripResult {
  ok: boolean;
  seconds?: number;
  error?: string;
}

interface PendingProbe {
  payload: string;
  finish(r: RoundTripResult): void;
}

interface AppTopic {
  filter: string;
  staleAfter: number;
  lastAt?: number;
  silentLogged: boolean;
}

const noop = (): void => undefined;

/** One broker: its connection, watchdog, checks and metrics. */
export class BrokerMonitor {
  readonly clientId: string;
  private phase: Phase = 'idle';
  private client?: MqttClient;
  private readonly sys: SysState;
  private readonly labels: { broker: string };
  private readonly url: string;
  /** Connection failures in a row (backoff exponent); reset by the first $SYS of a connection. */
  private failures = 0;
  private everConnected = false;
  private connectedAt?: number;
  private lastSysAt?: number;
  private sysSeen = false;
  private lastError?: string;
  /** Set when the broker's setup failed (unusable TLS files): every check then fails with it. */
  private setupError?: string;
  private lastLoggedError?: string;
  private reconnectTimer?: NodeJS.Timeout;
  private watchdogTimer?: NodeJS.Timeout;
  private checkTimer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private probe?: PendingProbe;
  private probeSeq = 0;
  private startedAt = 0;
  private readonly topics: AppTopic[];
  /** `$SYS` counters currently served (not removed since the last disconnection). */
  private readonly servedCounters = new Set<string>();
  private tls?: Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized'>;

  constructor(
    readonly config: MqttBrokerConfig,
    private readonly ctx: CollectorContext,
    private readonly m: Instruments,
    memory: BrokerMemory,
  ) {
    this.clientId = `${config.client_id_prefix}-${randomBytes(4).toString('hex')}`;
    this.labels = { broker: config.name };
    this.url = redactUrl(config.url);
    this.sys = new SysState(memory, config.sys_interval);
    this.topics = config.topics.map((t) => ({ filter: t.topic, staleAfter: t.stale_after, silentLogged: false }));
  }

  start(): void {
    const { tracker } = this.ctx;
    const c = this.config;
    const m = this.m;
    tracker.declare('mqtt', c.name, { failureThreshold: c.failure_threshold, successThreshold: c.success_threshold });
    for (const ctr of [m.reconnects, m.restarts, m.parseErrors, m.roundtripFailures]) ctr.inc(this.labels, 0);
    for (const reason of CONNECT_FAILURE_REASONS) m.connectFailures.inc({ ...this.labels, reason }, 0);
    for (const reason of DROP_REASONS) m.dropped.inc({ ...this.labels, reason }, 0);
    this.startedAt = this.ctx.clock();
    this.markDisconnected();
    try {
      this.tls = {
        rejectUnauthorized: !c.tls.insecure_skip_verify,
        ...(c.tls.ca_file !== undefined ? { ca: readTlsFile(c.tls.ca_file, 'ca') } : {}),
        ...(c.tls.cert_file !== undefined ? { cert: readTlsFile(c.tls.cert_file, 'cert') } : {}),
        ...(c.tls.key_file !== undefined ? { key: readTlsFile(c.tls.key_file, 'key') } : {}),
        ...(c.tls.server_name !== undefined ? { servername: c.tls.server_name } : {}),
      };
    } catch (err) {
      // The files were usable when the config loaded. Connecting without them would use another
      // identity or trust: the broker's checks fail (reason internal) until a reload fixes them.
      this.setupError = `cannot use the TLS files: ${errorMessage(err)}`;
      this.ctx.log.error({ err, broker: c.name }, 'mqtt tls files unusable');
    }
    const watchEveryMs = Math.max(100, Math.min(1000, (c.sys_interval * 1000) / 4));
    this.watchdogTimer = setInterval(() => this.watchdog(), watchEveryMs);
    if (this.setupError === undefined) this.connect();
    this.scheduleCheck(this.checkIntervalMs());
  }

  async stop(): Promise<void> {
    this.phase = 'stopped';
    clearTimeout(this.reconnectTimer);
    clearInterval(this.watchdogTimer);
    clearTimeout(this.checkTimer);
    this.probe?.finish({ ok: false, error: 'stopped' });
    await Promise.all([this.dispose(), this.checking]);
  }

  /** For tests and the benchmark: the client in use (undefined between attempts). */
  get currentClient(): MqttClient | undefined {
    return this.client;
  }

  private stopped(): boolean {
    return this.phase === 'stopped';
  }

  private checkIntervalMs(): number {
    return (this.config.roundtrip?.interval ?? this.config.sys_interval) * 1000;
  }

  private connect(): void {
    if (this.phase === 'stopped') return;
    const c = this.config;
    this.phase = 'connecting';
    const opts: IClientOptions = {
      protocolVersion: 5,
      clientId: this.clientId,
      clean: true,
      keepalive: Math.max(1, Math.round(c.keepalive)),
      connectTimeout: Math.max(100, c.connect_timeout * 1000),
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      // No table of 65,536 pre-made two-byte Buffers (6 MB of heap) for packet ids and lengths:
      // a few packets every few seconds are written just as well without it.
      writeCache: false,
      // The broker must not send us packets above this size (MQTT 5): a 200 MB retained message
      // on a watched topic would otherwise be buffered whole.
      properties: { sessionExpiryInterval: 0, maximumPacketSize: c.maximum_packet_size },
      ...(c.username !== undefined ? { username: c.username } : {}),
      ...(c.password !== undefined ? { password: c.password } : {}),
      ...this.tls,
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(c.url, opts);
    } catch (err) {
      this.onFailure(err as Error);
      return;
    }
    this.client = client;
    client.on('connect', () => {
      if (client !== this.client) return;
      try {
        this.onConnect(client);
      } catch (err) {
        // A bug of ours must not leave a half-set-up connection counted as fine: rebuild it.
        this.ctx.stats.error('mqtt', 'internal');
        this.ctx.log.error({ err, broker: c.name }, 'mqtt connection setup failed');
        this.onLost(`internal error: ${errorMessage(err)}`);
      }
    });
    client.on('message', (topic, payload, packet) => {
      if (client !== this.client) return;
      if (payload.length > c.maximum_packet_size) {
        // A broker that ignores maximumPacketSize (MQTT 3 bridges, other brokers): drop it here.
        this.m.dropped.inc({ ...this.labels, reason: 'too_large' });
        return;
      }
      try {
        this.onMessage(topic, payload, packet);
      } catch (err) {
        // A message we could not handle: counted, and a failed observation of the broker.
        this.m.dropped.inc({ ...this.labels, reason: 'error' });
        this.ctx.stats.error('mqtt', 'internal');
        this.ctx.log.error({ err, broker: c.name, topic: capText(topic, 120) }, 'mqtt message handling failed');
        this.ctx.tracker.observe('mqtt', c.name, false, { error: `internal error handling a message: ${errorMessage(err)}` });
      }
    });
    client.on('error', (err) => {
      if (client !== this.client) return;
      this.lastError = describeError(err);
      if (this.phase === 'connecting') this.onFailure(err);
    });
    client.on('disconnect', (packet) => {
      // MQTT v5: the broker says why it drops us (e.g. 0x8E session taken over, 0x8B shutting down).
      if (client !== this.client) return;
      const code = packet.reasonCode ?? 0;
      this.lastError = `broker sent DISCONNECT: ${ReasonCodes[code as keyof typeof ReasonCodes] ?? 'reason'} (${code})`;
    });
    client.on('close', () => {
      if (client !== this.client) return;
      if (this.phase === 'connecting') this.onFailure(new Error(this.lastError ?? 'connection closed'));
      else this.onLost(`connection lost${this.lastError !== undefined ? `: ${this.lastError}` : ''}`);
    });
  }

  private onConnect(client: MqttClient): void {
    const c = this.config;
    const now = this.ctx.clock();
    const reconnect = this.everConnected;
    this.phase = 'connected';
    this.connectedAt = now;
    this.lastError = undefined;
    this.lastLoggedError = undefined;
    this.sysSeen = false;
    this.sys.newConnection(now);
    if (reconnect) this.m.reconnects.inc(this.labels);
    this.everConnected = true;
    this.ctx.log.info({ broker: c.name, url: this.url, clientId: this.clientId, reconnect }, 'mqtt connected');
    const subs: { topic: string; qos: 0 | 1 }[] = [...SYS_TOPICS.keys()].map((topic) => ({ topic, qos: 0 }));
    for (const t of this.topics) subs.push({ topic: t.filter, qos: 0 });
    if (c.roundtrip) subs.push({ topic: c.roundtrip.topic, qos: 1 });
    for (const s of subs) {
      client.subscribe(s.topic, { qos: s.qos }, (err) => {
        if (err && client === this.client && this.phase === 'connected') {
          this.ctx.log.warn({ broker: c.name, topic: s.topic, err }, 'mqtt subscription refused');
        }
      });
    }
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const now = this.ctx.clock();
    if (topic.startsWith('$SYS/')) {
      this.lastSysAt = now;
      this.m.sysLast.set(this.labels, now);
      this.apply(this.sys.onMessage(topic, payload, now), topic, payload);
      if (!this.sysSeen) {
        this.sysSeen = true;
        this.failures = 0;
        this.m.connected.set(this.labels, 1);
        this.checkNow();
      }
      return;
    }
    const probe = this.probe;
    if (probe !== undefined && topic === this.config.roundtrip?.topic && payload.length === probe.payload.length && payload.toString('utf8') === probe.payload) {
      probe.finish({ ok: true });
    }
    // Retained messages delivered on subscribing are old news: they say nothing about now.
    if (packet.retain) return;
    for (const t of this.topics) {
      if (!topicMatches(t.filter, topic)) continue;
      t.lastAt = now;
      t.silentLogged = false;
      this.m.topicLast.set({ ...this.labels, topic: t.filter }, now);
      this.m.topicSilent.set({ ...this.labels, topic: t.filter }, 0);
    }
  }

  private apply(effects: SysEffect[], topic: string, payload: Buffer): void {
    for (const e of effects) {
      switch (e.type) {
        case 'gauge':
          (this.m.sys.get(e.metric) as Gauge).set(this.labels, e.value);
          break;
        case 'counter': {
          // Served series grow by the delta; a series removed while disconnected comes back at
          // the exporter's monotonic total (kept in the broker memory).
          const ctr = this.m.sys.get(e.metric) as Counter;
          if (this.servedCounters.has(e.metric)) {
            ctr.inc(this.labels, e.delta);
          } else {
            ctr.remove(this.labels);
            ctr.inc(this.labels, e.total);
            this.servedCounters.add(e.metric);
          }
          break;
        }
        case 'restart':
          this.m.restarts.inc(this.labels);
          this.ctx.log.warn({ broker: this.config.name, signal: e.reason, metric: e.metric, previous: e.previous, value: e.value }, 'mqtt broker restarted');
          break;
        case 'parse_error':
          this.m.parseErrors.inc(this.labels);
          this.ctx.log.debug({ broker: this.config.name, topic, payload: payload.subarray(0, 64).toString('utf8') }, 'mqtt $SYS payload not a number; skipped');
          break;
      }
    }
  }

  /** A connection attempt failed: count it, log it (once per distinct error), back off. */
  private onFailure(err: Error): void {
    if (this.phase === 'stopped') return;
    const reason = connectFailureReason(err);
    const message = describeError(err);
    this.lastError = message;
    void this.dispose();
    this.phase = 'idle';
    this.m.connectFailures.inc({ ...this.labels, reason });
    const delay = backoffSeconds(this.failures, this.config.reconnect.initial, this.config.reconnect.max);
    this.failures += 1;
    const fields = { broker: this.config.name, url: this.url, reason, err, attempt: this.failures, retryInSeconds: Math.round(delay * 1000) / 1000 };
    if (message !== this.lastLoggedError) this.ctx.log.warn(fields, 'mqtt connection failed');
    else this.ctx.log.debug(fields, 'mqtt connection failed');
    this.lastLoggedError = message;
    this.markDisconnected();
    this.ctx.tracker.observe('mqtt', this.config.name, false, { error: `cannot connect: ${message}` });
    this.scheduleReconnect(delay);
  }

  /** An established connection went away (closed, or found stale by the watchdog). */
  private onLost(error: string): void {
    if (this.phase === 'stopped') return;
    void this.dispose();
    this.phase = 'idle';
    this.lastError = error;
    this.ctx.log.warn({ broker: this.config.name, url: this.url, error }, 'mqtt connection lost');
    this.markDisconnected();
    this.ctx.tracker.observe('mqtt', this.config.name, false, { error });
    // Reconnect at once after a connection that worked; the backoff applies from the next failure.
    this.scheduleReconnect(this.failures === 0 ? 0 : backoffSeconds(this.failures, this.config.reconnect.initial, this.config.reconnect.max));
  }

  private scheduleReconnect(delaySeconds: number): void {
    if (this.phase === 'stopped') return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delaySeconds * 1000);
  }

  /** Not connected: `connected` 0 and no `$SYS` values from before (they would be stale). */
  private markDisconnected(): void {
    this.sys.disconnected(this.ctx.clock());
    this.sysSeen = false;
    this.connectedAt = undefined;
    this.m.connected.set(this.labels, 0);
    for (const metric of this.m.sys.values()) metric.remove(this.labels);
    this.servedCounters.clear();
    this.probe?.finish({ ok: false, error: this.lastError ?? 'not connected' });
  }

  /** Ends the current client at once and leaves nothing attached to it. */
  private dispose(): Promise<void> {
    const client = this.client;
    if (client === undefined) return Promise.resolve();
    this.client = undefined;
    client.removeAllListeners();
    client.on('error', noop);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 300);
      client.end(true, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private sysFresh(now: number): boolean {
    return this.lastSysAt !== undefined && this.sysSeen && now - this.lastSysAt <= this.config.sys_stale_intervals * this.config.sys_interval;
  }

  private watchdog(): void {
    if (this.phase !== 'connected') return;
    const now = this.ctx.clock();
    const since = this.sysSeen ? this.lastSysAt! : this.connectedAt ?? now;
    const silent = now - since;
    if (silent > this.config.sys_stale_intervals * this.config.sys_interval) {
      this.ctx.log.warn({ broker: this.config.name, silentSeconds: Math.round(silent * 10) / 10 }, 'mqtt $SYS stale; rebuilding the connection');
      this.onLost(`no $SYS message for ${Math.round(silent)}s`);
    }
  }

  private scheduleCheck(delayMs: number): void {
    if (this.phase === 'stopped') return;
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => {
      this.checkTimer = undefined;
      this.checking = this.check().finally(() => {
        this.checking = undefined;
      });
    }, delayMs);
  }

  /** Runs a check now (after a reconnect), unless one is running. */
  private checkNow(): void {
    if (this.checking === undefined) this.scheduleCheck(0);
  }

  private async check(): Promise<void> {
    const startedMs = performance.now();
    const c = this.config;
    try {
      let error: string | undefined;
      if (this.setupError !== undefined) {
        error = this.setupError;
        this.ctx.stats.error('mqtt', 'internal');
      } else if (this.phase !== 'connected' || !this.sysSeen) {
        error = this.phase === 'connected' ? 'connected, but no $SYS message yet' : `not connected${this.lastError !== undefined ? `: ${this.lastError}` : ''}`;
        if (c.roundtrip) this.m.roundtripFailures.inc(this.labels);
      } else {
        if (c.roundtrip) {
          const r = await this.roundTrip();
          if (this.stopped()) return;
          if (r.ok) this.m.roundtrip.observe(this.labels, r.seconds!);
          else {
            this.m.roundtripFailures.inc(this.labels);
            error = `round trip failed: ${r.error}`;
          }
        }
        if (error === undefined && !this.sysFresh(this.ctx.clock())) error = 'no recent $SYS message';
      }
      const ok = error === undefined;
      this.ctx.tracker.observe('mqtt', c.name, ok, error !== undefined ? { error } : {});
      this.checkTopics();
      this.ctx.stats.record('mqtt', (performance.now() - startedMs) / 1000, true);
    } catch (err) {
      // A check that cannot run is a failed check: the broker must not stay up on our bug.
      this.ctx.log.error({ err, broker: c.name }, 'mqtt check crashed');
      this.ctx.stats.record('mqtt', (performance.now() - startedMs) / 1000, false);
      this.ctx.stats.error('mqtt', 'internal');
      this.ctx.tracker.observe('mqtt', c.name, false, { error: `internal error: ${errorMessage(err)}` });
    } finally {
      this.scheduleCheck(Math.max(0, startedMs + this.checkIntervalMs() - performance.now()));
    }
  }

  private roundTrip(): Promise<RoundTripResult> {
    const rt = this.config.roundtrip!;
    const client = this.client;
    if (client === undefined) return Promise.resolve({ ok: false, error: 'not connected' });
    this.probeSeq += 1;
    const payload = `${this.clientId} ${this.probeSeq} ${randomBytes(6).toString('hex')}`;
    const t0 = performance.now();
    return new Promise<RoundTripResult>((resolve) => {
      let done = false;
      const finish = (r: RoundTripResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (this.probe === probe) this.probe = undefined;
        resolve(r.ok ? { ok: true, seconds: (performance.now() - t0) / 1000 } : r);
      };
      const probe: PendingProbe = { payload, finish };
      const timer = setTimeout(() => finish({ ok: false, error: `no echo within ${rt.timeout}s` }), rt.timeout * 1000);
      this.probe = probe;
      client.publish(rt.topic, payload, { qos: 1 }, (err) => {
        if (err) finish({ ok: false, error: `publish failed: ${err.message}` });
      });
    });
  }

  /** Sets `topic_silent` of app topics (silent for longer than their `stale_after`), logging it once. */
  private checkTopics(): void {
    const now = this.ctx.clock();
    for (const t of this.topics) {
      const since = t.lastAt ?? this.startedAt;
      const silent = now - since > t.staleAfter;
      this.m.topicSilent.set({ ...this.labels, topic: t.filter }, silent ? 1 : 0);
      if (!t.silentLogged && silent) {
        t.silentLogged = true;
        this.ctx.log.warn({ broker: this.config.name, topic: t.filter, silentSeconds: Math.round(now - since), everSeen: t.lastAt !== undefined }, 'mqtt topic silent');
      }
    }
  }
}

function describeError(err: Error & { code?: unknown }): string {
  return typeof err.code === 'number' || typeof err.code === 'string' ? `${err.message} (${err.code})` : err.message;
}
