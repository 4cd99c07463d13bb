import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { readTlsFile } from '../config/files';
import { HTTP_FAILURE_REASONS, type HttpFailureReason } from '../metrics/definitions';
import { isResourceExhaustion } from './collector-stats';

/**
 * One HTTP health request with every guard a hostile or broken target calls for: a deadline
 * covering connect, headers and body; a body size cap; a redirect limit; TLS options; and a
 * fixed set of failure reasons. Never throws: every outcome is a ProbeResult.
 */

export type FailureReason = HttpFailureReason;
export const FAILURE_REASONS: readonly FailureReason[] = HTTP_FAILURE_REASONS.values;

/**
 * A probe's request. Not changed once probed: its first hop (URL parsed, headers merged) is
 * worked out on its first probe with an agents object and reused by the probes after it.
 */
export interface ProbeRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutSeconds: number;
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
  /** Whether the body is wanted (JSON parsing); otherwise it is drained and discarded. */
  readonly readBody: boolean;
}

export interface ProbeResult {
  /** Set when the request failed before a usable response: no reason means a response arrived. */
  reason?: FailureReason;
  error?: string;
  status: number;
  body?: Buffer;
  durationSeconds: number;
  certExpiry?: number;
  /**
   * The exporter, not the target, ran out of something (file descriptors, memory): the probe
   * says nothing about the target and must not count as its failure.
   */
  exporterSide?: boolean;
}

export interface TlsOptions {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

type Undici = Pick<typeof import('undici'), 'Client' | 'buildConnector'>;
let undici: Undici | undefined;
/**
 * undici is loaded with the first HTTP target: a config without one never loads it. Its client
 * and connector alone (25 modules, 350 kB of source): its index would add fetch, WebSocket,
 * EventSource, caches, mocks and proxy agents (109 modules, 1.26 MB), which stackwatch never
 * uses and whose source and code would stay in the heap.
 */
const loadUndici = (): Undici => (undici ??= {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, as the collectors are
  Client: require('undici/lib/dispatcher/client') as Undici['Client'],
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, as the collectors are
  buildConnector: require('undici/lib/core/connect') as Undici['buildConnector'],
});

/** At most this many origins' connections per target (a redirect chain may visit several). */
const MAX_ORIGINS = 4;
/**
 * How long an idle connection is kept when the server does not say (Node's agent kept it until
 * the server closed it). A connection the server closed meanwhile is retried once (send()).
 */
const IDLE_KEEP_MS = 600_000;

/**
 * How long past the server's `Keep-Alive: timeout=` hint an idle connection is still used. A
 * probe whose interval equals the hint (Node's default 5 s, the README's interval) arrives at
 * the hint give or take its timer's lateness; Node's server keeps the connection 1 s past its
 * hint for such clients. A server that closes at its hint exactly has sent its FIN by then:
 * the connection is seen closed and the probe makes a new one (or, FIN crossing the request,
 * retries once), as it would have anyway.
 */
const KEEP_PAST_HINT_MS = 1000;

/** One origin's connection (a Client keeps one) and what is known about it. */
interface Origin {
  client: import('undici').Client;
  /** A connection is open: the next request reuses it (a reset before its response is retried once). */
  open: boolean;
  /** The current TLS connection's certificate expiry, read once per connection. */
  certExpiry?: number;
  /** The latest socket made: closing the Client alone leaves one still connecting (no connect timer) open. */
  socket?: { destroy(): void };
}

/**
 * The keep-alive connections of one target: an undici Client (one connection) per origin the
 * probe visits, its own origin and up to MAX_ORIGINS - 1 redirect targets, with the target's TLS
 * options for every https origin. undici's dispatch with a handler, not node:http: it made the
 * HTTP-only daemon 0.88x as costly per probe (docs/benchmarks.md, "HTTP probing at the
 * reference load").
 */
export class ProbeAgents {
  private readonly origins = new Map<string, Origin>();
  private readonly connector: import('undici').buildConnector.connector;
  /** The configured TLS server name: it wins over a configured Host header's, as it did with node:https. */
  readonly serverName?: string;
  /** The first hop of the request last probed with these agents (a target probes one request for its life). */
  private first?: { req: ProbeRequest; hop: Hop };

  constructor(tls: TlsOptions) {
    if (tls.serverName !== undefined) this.serverName = tls.serverName;
    this.connector = loadUndici().buildConnector({
      // HTTP/1.1 only, as the probe always spoke; no connect timer: the probe's deadline covers it.
      allowH2: false,
      timeout: 0,
      lookup,
      rejectUnauthorized: !tls.insecureSkipVerify,
      // Read and checked as the config loader does: a file that became unusable throws here.
      ...(tls.caFile !== undefined ? { ca: readTlsFile(tls.caFile, 'ca') } : {}),
      ...(tls.certFile !== undefined ? { cert: readTlsFile(tls.certFile, 'cert') } : {}),
      ...(tls.keyFile !== undefined ? { key: readTlsFile(tls.keyFile, 'key') } : {}),
      ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
    });
  }

  /** `req`'s first hop, worked out on its first probe with these agents. */
  firstHop(req: ProbeRequest): Hop {
    if (this.first?.req === req) return this.first.hop;
    const hop = makeHop(new URL(req.url), req.method, req.headers, req.body, this);
    this.first = { req, hop };
    return hop;
  }

  /** The connection of an origin (`url.origin`), made on first use. */
  origin(key: string): Origin {
    let o = this.origins.get(key);
    if (o !== undefined && !o.client.destroyed) return o;
    if (this.origins.size >= MAX_ORIGINS) {
      const [oldest] = this.origins.keys();
      this.drop(oldest!);
    }
    const connect = this.connector;
    const made: Origin = {
      client: new (loadUndici().Client)(key, {
        connect: (opts, callback) => {
          // buildConnector's connector returns the socket it is connecting.
          made.socket = connect(opts, (err, socket) => {
            if (err !== null || socket === null) {
              callback(err ?? new Error('no socket'), null);
              return;
            }
            made.open = true;
            const expiry = certExpiryOf(socket);
            if (expiry === undefined) delete made.certExpiry;
            else made.certExpiry = expiry;
            callback(null, socket);
          }) as unknown as Origin['socket'];
        },
        // The probe's own deadline covers connect, headers and body.
        headersTimeout: 0,
        bodyTimeout: 0,
        // Keep an idle connection up to KEEP_PAST_HINT_MS past the server's Keep-Alive hint, not
        // 2 s short of it (undici's default): against a Node backend (hint 5 s) probed every 5 s
        // that reconnected on every probe.
        keepAliveTimeoutThreshold: -KEEP_PAST_HINT_MS,
        keepAliveTimeout: IDLE_KEEP_MS,
        keepAliveMaxTimeout: IDLE_KEEP_MS,
      }),
      open: false,
    };
    made.client.on('disconnect', () => {
      made.open = false;
    });
    o = made;
    this.origins.set(key, o);
    return o;
  }

  /** Closes an origin's connection at once (a request stuck in its queue or connecting goes with it). */
  drop(key: string): void {
    const o = this.origins.get(key);
    if (o === undefined) return;
    this.origins.delete(key);
    o.socket?.destroy();
    o.client.destroy().catch(() => undefined);
  }

  destroy(): void {
    for (const key of [...this.origins.keys()]) this.drop(key);
  }
}

/**
 * Names under `.invalid` never resolve (RFC 6761 §6.4): answer at once rather than asking the
 * system resolver, which would send the query off this machine.
 */
const lookup: LookupFunction = (hostname, options, callback) => {
  if (/(^|\.)invalid\.?$/i.test(hostname)) {
    const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
    err.code = 'ENOTFOUND';
    process.nextTick(() => callback(err, '', 0));
    return;
  }
  dns.lookup(hostname, options, callback);
};

class ProbeFailure extends Error {
  constructor(readonly reason: FailureReason, message: string, readonly status = 0) {
    super(message);
  }
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'EPROTO', 'HOSTNAME_MISMATCH',
]);

/** Maps a Node network error to a failure reason. */
export function classifyError(err: NodeJS.ErrnoException): FailureReason {
  const code = err.code ?? '';
  if (DNS_CODES.has(code)) return 'dns';
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')) return 'tls';
  return 'connect';
}

export function statusMatches(status: number, expect: readonly (number | string)[]): boolean {
  for (const e of expect) {
    if (typeof e === 'number' ? e === status : Math.floor(status / 100) === Number(e[0])) return true;
  }
  return false;
}

const now = (): number => performance.now() / 1000;

/** The deadline is checked this many times over the timeout (a probe that answers in time arms one timer). */
const DEADLINE_STEPS = 4;
/** Timer lateness below this is ordinary jitter, not the exporter being blocked. */
const LATE_SLACK_MS = 5;

/**
 * A probe's timeout that does not count the time the exporter's own event loop was blocked (GC,
 * a large scrape, a starved CPU): a timer that fires late after such a stall would otherwise
 * abort a response already waiting in the socket, unread, and report the exporter's stall as the
 * target's failure. The deadline is checked in steps; each step's lateness (the stall around it)
 * moves the deadline by as much, in total at most one more timeout. Moving it arms another
 * step, so pending I/O is read before the deadline is judged again. A target that does not
 * answer is therefore down after its timeout plus the exporter's stalls, never later than twice
 * the timeout plus the last stall.
 */
export class Deadline {
  private timer?: NodeJS.Timeout;
  private due = 0;
  private end = 0;
  private lostMs = 0;

  constructor(private readonly timeoutMs: number, private readonly expire: () => void) {}

  /** Milliseconds the deadline moved for stalls of the exporter. */
  get movedMs(): number {
    return this.lostMs;
  }

  start(): void {
    const t = performance.now();
    this.end = t + this.timeoutMs;
    this.arm(t);
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private arm(t: number): void {
    const step = Math.max(1, Math.min(this.end - t, this.timeoutMs / DEADLINE_STEPS));
    this.due = t + step;
    this.timer = setTimeout(() => this.tick(), step);
  }

  private tick(): void {
    const t = performance.now();
    const late = t - this.due;
    const moved = late > LATE_SLACK_MS ? Math.min(late, this.timeoutMs - this.lostMs) : 0;
    this.lostMs += moved;
    this.end += moved;
    // Past the deadline: expired, unless a stall just moved it (then pending I/O gets one more
    // turn of the event loop: the next step is at least 1 ms away).
    if (t >= this.end && (moved === 0 || t - this.end > 1)) {
      this.expire();
      return;
    }
    this.arm(t);
  }
}

/**
 * Ends a probe early (its deadline, or the caller's signal): the request in flight is failed and
 * aborted at once, and no later hop starts. Cheaper per probe than an AbortController and its
 * listeners for every request.
 */
class Cancel {
  failure?: ProbeFailure;
  /** The request in flight, if any (set by sendOnce for the request's lifetime). */
  inFlight?: Exchange;

  fire(failure: ProbeFailure): void {
    if (this.failure !== undefined) return;
    this.failure = failure;
    this.inFlight?.fail(failure);
  }
}

/**
 * The probes running under each caller's signal. A signal gets one listener for its life, which
 * cancels whichever of its probes are running: adding and removing a listener on every probe
 * allocated several objects per probe (a collector passes the same signal to every probe of a target).
 */
const underSignal = new WeakMap<AbortSignal, Set<Cancel>>();

function watch(signal: AbortSignal, cancel: Cancel): Set<Cancel> {
  let running = underSignal.get(signal);
  if (running === undefined) {
    const probes = (running = new Set<Cancel>());
    underSignal.set(signal, probes);
    signal.addEventListener('abort', () => {
      for (const c of probes) c.fire(new ProbeFailure('timeout', 'probe cancelled'));
    }, { once: true });
  }
  running.add(cancel);
  return running;
}

export async function probe(req: ProbeRequest, agents: ProbeAgents, signal?: AbortSignal): Promise<ProbeResult> {
  const started = now();
  const cancel = new Cancel();
  let running: Set<Cancel> | undefined;
  if (signal?.aborted === true) cancel.fire(new ProbeFailure('timeout', 'probe cancelled'));
  else if (signal !== undefined) running = watch(signal, cancel);
  const deadline = new Deadline(req.timeoutSeconds * 1000, () => {
    const stalled = deadline.movedMs >= 1 ? ` (plus ${Math.round(deadline.movedMs)}ms the exporter was stalled)` : '';
    cancel.fire(new ProbeFailure('timeout', `no complete response within ${req.timeoutSeconds}s${stalled}`));
  });
  deadline.start();
  const finish = (r: Omit<ProbeResult, 'durationSeconds'>): ProbeResult => ({ ...r, durationSeconds: now() - started });
  try {
    let hop = agents.firstHop(req);
    const origin = hop.origin;
    let method = req.method;
    let body = req.body;
    for (let redirects = 0; ; redirects++) {
      let res: Sent;
      try {
        res = await sendOnce(hop, req, agents, cancel);
      } catch (err) {
        // A kept-alive connection the server closed in the meantime (its FIN crossed our request):
        // retried once on a new connection, as Node's documentation advises for its own client.
        if (!(err instanceof ReusedSocketReset)) throw err;
        if (cancel.failure !== undefined) throw err.cause;
        res = await sendOnce(hop, req, agents, cancel);
      }
      const location = res.status >= 300 && res.status < 400 ? res.location : undefined;
      if (location === undefined || req.maxRedirects === 0) {
        res.durationSeconds = now() - started;
        return res;
      }
      if (redirects >= req.maxRedirects) {
        return finish({ ...res, body: undefined, reason: 'status', error: `more than ${req.maxRedirects} redirects (last to ${redactUrl(location)})` });
      }
      const url = new URL(location, hop.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return finish({ ...res, reason: 'status', error: `redirect to unsupported protocol ${url.protocol}` });
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      // As curl does: credentials go only to the origin they were configured for. A redirect to
      // another scheme, host or port drops the configured headers (Authorization, Cookie, API
      // keys, ...) for the rest of the chain, even if a later hop leads back.
      hop = makeHop(url, method, url.origin !== origin || hop.configured !== req.headers ? {} : req.headers, body, agents);
    }
  } catch (err) {
    const e = cancel.failure ?? err;
    if (e instanceof ProbeFailure) return finish({ reason: e.reason, error: e.message, status: e.status });
    const ne = e as NodeJS.ErrnoException;
    if (isResourceExhaustion(ne)) {
      return finish({ reason: 'internal', error: `the exporter is out of resources (${ne.code ?? ''})`, status: 0, exporterSide: true });
    }
    return finish({ reason: classifyError(ne), error: ne.code !== undefined ? `${ne.code}: ${ne.message}` : ne.message, status: 0 });
  } finally {
    deadline.clear();
    running?.delete(cancel);
  }
}

/** A response, as probe() returns it when it is the last hop's (durationSeconds set then). */
interface Sent {
  status: number;
  location?: string;
  body?: Buffer;
  certExpiry?: number;
  durationSeconds: number;
}

type Headers = Readonly<Record<string, string>>;

/** One hop's request: its URL, the headers configured for it, and what undici is given. */
interface Hop {
  url: URL;
  /** `url.origin`, read once (the getter makes a new string on every read). */
  origin: string;
  https: boolean;
  /** The configured headers this hop carries (none past a redirect to another origin). */
  configured: Headers;
  options: Dispatcher.DispatchOptions;
}

function makeHop(url: URL, method: string, configured: Headers, body: string | undefined, agents: ProbeAgents): Hop {
  const headers: Record<string, string> = { 'user-agent': 'stackwatch', accept: 'application/json, */*;q=0.5', ...configured };
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  if (url.username !== '' || url.password !== '') basicAuth(url, headers);
  const origin = url.origin;
  const https = url.protocol === 'https:';
  return {
    url, origin, https, configured,
    options: {
      origin, path: url.pathname + url.search, method, headers,
      ...(body !== undefined ? { body } : {}),
      ...(agents.serverName !== undefined && https ? { servername: agents.serverName } : {}),
    },
  };
}

class ReusedSocketReset extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

/** The errors of a connection that closed (or was reset) under a request. */
const CLOSED_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

function sendOnce(hop: Hop, req: ProbeRequest, agents: ProbeAgents, cancel: Cancel): Promise<Sent> {
  return new Promise<Sent>((resolve, reject) => {
    if (cancel.failure !== undefined) {
      reject(cancel.failure);
      return;
    }
    const exchange = new Exchange(hop, req, agents, cancel, resolve, reject);
    cancel.inFlight = exchange;
    try {
      exchange.origin.client.dispatch(hop.options, exchange);
    } catch (err) {
      exchange.fail(err as Error);
    }
  });
}

/** One request and its response: undici's handler, one object per request (no closures). */
class Exchange implements Dispatcher.DispatchHandler {
  readonly origin: Origin;
  /** The connection was open before this request (a reset before its response is retried once). */
  private readonly reused: boolean;
  private settled = false;
  private controller?: Dispatcher.DispatchController;
  private status = 0;
  private location?: string;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly hop: Hop,
    private readonly req: ProbeRequest,
    private readonly agents: ProbeAgents,
    private readonly cancel: Cancel,
    private readonly resolve: (sent: Sent) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.origin = agents.origin(hop.origin);
    this.reused = this.origin.open;
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.cancel.inFlight = undefined;
    if (this.controller !== undefined) this.controller.abort(err);
    // Not started yet (queued, or its connection still being made): closing the origin's
    // connection is the only way to end it; the next probe makes a new one.
    else this.agents.drop(this.hop.origin);
    this.reject(err);
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.settled) c.abort(this.cancel.failure ?? new Error('probe ended'));
  }

  onResponseStart(_c: unknown, statusCode: number, resHeaders: Record<string, string | string[] | undefined>): void {
    if (this.settled) return;
    this.status = statusCode;
    const loc = resHeaders.location;
    if (typeof loc === 'string') this.location = loc;
    const declared = Number(resHeaders['content-length']);
    const max = this.req.maxBodyBytes;
    if (Number.isFinite(declared) && declared > max) {
      this.fail(new ProbeFailure('body_too_large', `Content-Length ${declared} is over the ${max}-byte limit`, statusCode));
    }
  }

  onResponseData(_c: unknown, chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > this.req.maxBodyBytes) {
      this.fail(new ProbeFailure('body_too_large', `body is over the ${this.req.maxBodyBytes}-byte limit`, this.status));
      return;
    }
    if (this.req.readBody) this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.cancel.inFlight = undefined;
    const out: Sent = { status: this.status, durationSeconds: 0 };
    if (this.location !== undefined) out.location = this.location;
    if (this.req.readBody) out.body = Buffer.concat(this.chunks, this.size);
    if (this.origin.certExpiry !== undefined) out.certExpiry = this.origin.certExpiry;
    this.resolve(out);
  }

  onResponseError(_c: unknown, err: NodeJS.ErrnoException): void {
    if (this.settled) return;
    this.settled = true;
    this.cancel.inFlight = undefined;
    this.reject(this.reused && this.status === 0 && CLOSED_CODES.has(err.code ?? '') ? new ReusedSocketReset(err) : err);
  }
}

/**
 * Credentials in the URL (`http://user:pass@host/`) become Basic authentication, unless an
 * Authorization header is configured, as node:http did: undici leaves the URL's user info unused.
 */
function basicAuth(url: URL, headers: Record<string, string>): void {
  if (Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) return;
  const user = `${decoded(url.username)}:${decoded(url.password)}`;
  headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
}

/** Percent-decoded user info; a malformed escape (`%zz`, kept as typed by the URL parser) is sent as typed. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function certExpiryOf(socket: unknown): number | undefined {
  const tls = socket as TLSSocket;
  if (typeof tls?.getPeerCertificate !== 'function') return undefined;
  const cert = tls.getPeerCertificate();
  if (cert === null || typeof cert.valid_to !== 'string') return undefined;
  const t = Date.parse(cert.valid_to);
  return Number.isFinite(t) ? t / 1000 : undefined;
}

/** Removes `user:pass@` and query secrets' values from a URL before it is logged or shown. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.username !== '' || u.password !== '') {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return raw.replace(/\/\/[^/@]*@/, '//');
  }
}
