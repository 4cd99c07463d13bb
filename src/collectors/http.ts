import { fingerprint } from '../config/fingerprint';
import type { HttpTargetConfig } from '../config/http';
import { M, namesWithLabel } from '../metrics/definitions';
import { counter, dropSeries, gauge, histogram, setStateSet, type CounterOf, type GaugeOf, type HistogramOf } from '../metrics/instruments';
import { capText, describeJsonValue, errorMessage } from '../error-text';
import { Semaphore } from '../semaphore';
import type { Collector, CollectorContext } from './collector';
import { evaluate, fieldNumber, lookup, mapStatus, type HealthStatus } from './http-json';
import { FAILURE_REASONS, probe, ProbeAgents, redactUrl, statusMatches, type FailureReason, type ProbeRequest, type ProbeResult } from './http-probe';

/**
 * The HTTP health collector: each target is probed on its own interval (not at scrape time), with
 * a timeout shorter than the interval and a cap on probes in flight across targets. Each probe
 * feeds the availability tracker and the HTTP metrics; the JSON body is read for the tri-state
 * status, numeric fields and conditions.
 */

/** Every HTTP series of a target, dropped when the target leaves the configuration. */
const HTTP_SERIES = namesWithLabel('http', 'target');
/** Series a changed target may no longer have: its gauges (its counters and histogram carry on). */
const HTTP_STATE_SERIES = namesWithLabel('http', 'target', 'gauge');

/** The HTTP collector's section: the targets and the cap on probes in flight across them. */
export interface HttpSection {
  targets: readonly HttpTargetConfig[];
  inFlight: number;
}

export interface Outcome {
  ok: boolean;
  reason?: FailureReason;
  error?: string;
  health?: HealthStatus;
  fields: Map<string, number>;
}

/** Judges a probe's result against the target's expectations. Pure; unit-tested. */
export function judge(t: HttpTargetConfig, r: ProbeResult): Outcome {
  const fields = new Map<string, number>();
  if (r.reason !== undefined) return { ok: false, reason: r.reason, error: r.error ?? r.reason, fields, ...(t.json?.status ? { health: 'unknown' as const } : {}) };

  let failure: { reason: FailureReason; error: string } | undefined;
  if (!statusMatches(r.status, t.expect_status)) {
    failure = { reason: 'status', error: `status ${r.status}, expected ${t.expect_status.join(' or ')}` };
  }
  let health: HealthStatus | undefined;
  if (needsBody(t)) {
    let doc: unknown;
    let parsed = false;
    try {
      doc = JSON.parse((r.body ?? Buffer.alloc(0)).toString('utf8'));
      parsed = true;
    } catch (err) {
      failure ??= { reason: 'invalid_json', error: `body is not JSON: ${capText((err as Error).message, 120)}` };
    }
    if (t.json?.status) health = parsed ? mapStatus(lookup(doc, t.json.status.segs), t.json.status_map) : 'unknown';
    if (parsed) {
      const wanted = t.json?.fields;
      // for-in with own keys only is Object.keys() without its array (one per probe).
      for (const name in wanted) {
        if (!Object.hasOwn(wanted, name)) continue;
        const f = wanted[name]!;
        const v = fieldNumber(lookup(doc, f.path.segs), f.map);
        if (v !== undefined) fields.set(name, v);
      }
      if (health !== undefined && t.json!.fail_on.includes(health as 'degraded' | 'unhealthy' | 'unknown')) {
        failure ??= { reason: 'condition', error: `health status is ${health}` };
      }
      for (const c of t.conditions) {
        // The value is described, never serialised: it may be a huge or 100,000-deep structure.
        if (!evaluate(c, doc)) failure ??= { reason: 'condition', error: `condition failed: ${c.text} (got ${describeJsonValue(lookup(doc, c.path))})` };
      }
    }
  }
  const out: Outcome = { ok: failure === undefined, fields };
  if (failure !== undefined) {
    out.reason = failure.reason;
    out.error = failure.error;
  }
  if (health !== undefined) out.health = health;
  return out;
}

function needsBody(t: HttpTargetConfig): boolean {
  return t.json !== undefined || t.conditions.length > 0;
}

interface Target {
  config: HttpTargetConfig;
  /** The configuration's fingerprint: a reload that leaves it alone leaves the target alone. */
  key: string;
  /** Stops this target's timer and probe (a reload replacing or removing it, or stop()). */
  abort: AbortController;
  /** Undefined when the target's setup failed (`setupError` says why): it is then probed as failed. */
  agents?: ProbeAgents;
  setupError?: string;
  timer?: NodeJS.Timeout;
  /** Starts the probe when its timer fires (made once: no closure per turn). */
  fire: () => void;
  running?: Promise<void>;
  /** The request every probe sends (headers with the bearer token folded in). */
  request: ProbeRequest;
  /** The target's label set, one object for its life (prom-client and the exposition key on it). */
  labels: { target: string };
  /**
   * What the last probe set, so a probe that finds the same skips the writes: the status code,
   * the health state, the cert expiry, and each field's value with its label set (a field missing
   * from a probe is removed).
   */
  last: { status?: number; health?: HealthStatus; cert?: number };
  fields: Map<string, { labels: { target: string; field: string }; value: number }>;
  /** When the next probe is due (ms since the epoch, on the SLOT_MS grid). */
  due: number;
}

/**
 * Probes start on a 100 ms grid: targets whose turns fall in the same slot share one timer
 * wake-up instead of each waking the process on its own (at 100 targets a second this halves the
 * CPU per probe; see docs/benchmarks.md). Timing stays exact to the slot.
 */
const SLOT_MS = 100;
const alignUp = (ms: number): number => Math.ceil(ms / SLOT_MS) * SLOT_MS;

export class HttpCollector implements Collector<HttpSection> {
  readonly name = 'http';
  private readonly targets = new Map<string, Target>();
  private semaphore?: Semaphore;
  private inFlight = 0;
  private m?: {
    duration: HistogramOf<typeof M.httpDuration>;
    statusCode: GaugeOf<typeof M.httpStatusCode>;
    failures: CounterOf<typeof M.httpFailures>;
    health: GaugeOf<typeof M.healthStatus>;
    field: GaugeOf<typeof M.healthField>;
    cert: GaugeOf<typeof M.httpCertExpiry>;
  };

  constructor(private readonly ctx: CollectorContext) {}

  async apply(section: HttpSection): Promise<void> {
    const { registry } = this.ctx;
    this.m ??= {
      duration: histogram(registry, M.httpDuration),
      statusCode: gauge(registry, M.httpStatusCode),
      failures: counter(registry, M.httpFailures),
      health: gauge(registry, M.healthStatus),
      field: gauge(registry, M.healthField),
      cert: gauge(registry, M.httpCertExpiry),
    };
    // Probes in flight keep the slot they hold; new probes queue on the new cap.
    if (section.inFlight !== this.inFlight) {
      this.semaphore = new Semaphore(section.inFlight);
      this.inFlight = section.inFlight;
    }
    const wanted = new Map(section.targets.map((c) => [c.name, c]));
    for (const [name, t] of [...this.targets]) {
      const next = wanted.get(name);
      if (next !== undefined && fingerprint(next) === t.key) continue;
      this.targets.delete(name);
      await this.close(t);
      if (next === undefined) {
        this.ctx.tracker.forget('http', name);
        await dropSeries(registry, HTTP_SERIES, { target: name });
      } else {
        await dropSeries(registry, HTTP_STATE_SERIES, { target: name });
      }
    }
    section.targets.forEach((config, i) => {
      if (!this.targets.has(config.name)) this.add(config, i);
    });
  }

  /** Declares a target and schedules its first probe. */
  private add(config: HttpTargetConfig, i: number): void {
    this.ctx.tracker.declare('http', config.name, { failureThreshold: config.failure_threshold, successThreshold: config.success_threshold });
    for (const reason of FAILURE_REASONS) this.m!.failures.inc({ target: config.name, reason }, 0);
    const headers = config.bearer_token === undefined ? config.headers : { ...config.headers, Authorization: `Bearer ${config.bearer_token}` };
    // Spread first probes over the slots of the first second so they do not start in one burst.
    const slots = Math.max(1, Math.floor(Math.min(1000, config.interval * 1000) / SLOT_MS));
    const due = alignUp(Date.now()) + (i % slots) * SLOT_MS;
    const request: ProbeRequest = {
      url: config.url, method: config.method, headers, timeoutSeconds: config.timeout,
      maxBodyBytes: config.max_body_bytes, maxRedirects: config.max_redirects, readBody: needsBody(config),
      ...(config.body !== undefined ? { body: config.body } : {}),
    };
    const target: Target = {
      config, key: fingerprint(config), abort: new AbortController(), request, labels: { target: config.name }, last: {}, fields: new Map(), due,
      fire: () => {
        target.running = this.runOnce(target);
      },
    };
    // One target's bad setup (an unusable TLS file) fails that target alone, on every turn.
    try {
      target.agents = new ProbeAgents(tlsOf(config));
    } catch (err) {
      target.setupError = `cannot set up the probe: ${errorMessage(err)}`;
      this.ctx.log.error({ err, target: config.name }, 'http target setup failed');
    }
    this.targets.set(config.name, target);
    this.schedule(target);
  }

  /** Stops a target's timer and probe and closes its connections. */
  private async close(t: Target): Promise<void> {
    t.abort.abort();
    clearTimeout(t.timer);
    await t.running?.catch(() => undefined);
    t.agents?.destroy();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.targets.values()].map((t) => this.close(t)));
  }

  private schedule(t: Target): void {
    if (t.abort.signal.aborted) return;
    t.timer = setTimeout(t.fire, Math.max(0, t.due - Date.now()));
  }

  private async runOnce(t: Target): Promise<void> {
    const startedMs = Date.now();
    const release = await this.semaphore!.acquire();
    try {
      if (t.abort.signal.aborted) return;
      if (t.agents === undefined) {
        // The target fails (reason internal) and the error is counted; the collector's success
        // gauge stays about its machinery, which runs the other targets fine.
        this.recordInternal(t, t.setupError ?? 'probe not set up');
        return;
      }
      const c = t.config;
      const result = await probe(t.request, t.agents, t.abort.signal);
      if (t.abort.signal.aborted) return;
      if (result.exporterSide === true) {
        // Out of file descriptors or memory: a fault of the exporter, not an observation of the target.
        this.ctx.stats.error(this.name, 'resources');
        this.ctx.stats.record(this.name, result.durationSeconds, false);
        this.ctx.log.warn({ target: c.name, error: result.error }, 'http probe not run: the exporter is out of resources; not counted against the target');
        return;
      }
      this.record(t, result);
      this.ctx.stats.record(this.name, result.durationSeconds, true);
    } catch (err) {
      // probe() reports every target failure as a result; reaching here is a bug of ours, and
      // the check still counts: a target whose check cannot run is not up.
      this.ctx.log.error({ err, target: t.config.name }, 'http check crashed');
      this.ctx.stats.record(this.name, (Date.now() - startedMs) / 1000, false);
      this.recordInternal(t, `internal error: ${errorMessage(err)}`);
    } finally {
      release();
      // The next turn is one interval after the planned one; a probe that overran skips to the next slot.
      t.due = Math.max(t.due + t.config.interval * 1000, alignUp(Date.now()));
      this.schedule(t);
    }
  }

  /** A check that could not run (bad setup, or a bug of ours): a failed observation, reason internal. */
  private recordInternal(t: Target, error: string): void {
    const name = t.config.name;
    try {
      this.ctx.stats.error(this.name, 'internal');
      this.m!.failures.inc({ target: name, reason: 'internal' });
      this.m!.statusCode.set(t.labels, 0);
      t.last.status = 0;
      this.ctx.tracker.observe('http', name, false, { error: capText(error) });
    } catch (err) {
      this.ctx.log.error({ err, target: name }, 'recording an internal failure failed');
    }
  }

  private record(t: Target, r: ProbeResult): void {
    const m = this.m!;
    const name = t.config.name;
    const { labels, last } = t;
    const o = judge(t.config, r);
    m.duration.observe(labels, r.durationSeconds);
    // Gauges are written only when their value changed: most probes find what the last one did.
    if (last.status !== r.status) m.statusCode.set(labels, (last.status = r.status));
    if (r.certExpiry !== undefined && last.cert !== r.certExpiry) m.cert.set(labels, (last.cert = r.certExpiry));
    if (o.health !== undefined && last.health !== o.health) setStateSet(m.health, M.healthStatus, labels, 'status', (last.health = o.health));
    // Keys, not [key, value] pairs: destructuring a Map's entries made an array per field per probe.
    for (const f of t.fields.keys()) {
      if (o.fields.has(f)) continue;
      m.field.remove(t.fields.get(f)!.labels);
      t.fields.delete(f);
    }
    for (const f of o.fields.keys()) {
      const v = o.fields.get(f)!;
      let kept = t.fields.get(f);
      if (kept === undefined) t.fields.set(f, (kept = { labels: { target: name, field: f }, value: NaN }));
      else if (Object.is(kept.value, v)) continue;
      kept.value = v;
      m.field.set(kept.labels, v);
    }
    if (o.reason !== undefined) m.failures.inc({ target: name, reason: o.reason });
    const error = o.error === undefined ? undefined : capText(o.error.replaceAll(t.config.url, redactUrl(t.config.url)));
    this.ctx.tracker.observe('http', name, o.ok, error !== undefined ? { error } : undefined);
    if (!o.ok) this.ctx.log.debug({ target: name, reason: o.reason, error }, 'http check failed');
  }
}

function tlsOf(c: HttpTargetConfig): ConstructorParameters<typeof ProbeAgents>[0] {
  return {
    insecureSkipVerify: c.tls.insecure_skip_verify,
    ...(c.tls.ca_file !== undefined ? { caFile: c.tls.ca_file } : {}),
    ...(c.tls.cert_file !== undefined ? { certFile: c.tls.cert_file } : {}),
    ...(c.tls.key_file !== undefined ? { keyFile: c.tls.key_file } : {}),
    ...(c.tls.server_name !== undefined ? { serverName: c.tls.server_name } : {}),
  };
}
