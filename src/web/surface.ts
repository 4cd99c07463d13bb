import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { NextFunction, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { ConfigErrors } from '../config/errors';
import type { Logger } from '../log';
import { M, WEB_REFUSAL_REASONS } from '../metrics/definitions';
import { counter, gauge, type CounterOf, type GaugeOf } from '../metrics/instruments';
import { isLoopback, type TrustPolicy } from '../trust';
import { Coalescer } from '../coalesce';
import { BasicAuth, makeDummyHash } from './basic-auth';
import { EMPTY_WEB_CONFIG, loadWebConfigFile, type WebConfig } from './config';
import { buildTlsOptions, refuseClient, type ServerTlsOptions } from './tls';

/**
 * The exporter's own web surface as set by --web.config.file: TLS (with certificate rotation
 * without restart), client certificates, basic auth on every endpoint, and extra response
 * headers. The file and the certificate files it names are watched; a change is validated in
 * full before it replaces what is in force, and a bad one leaves the previous setup serving.
 */

export interface WebState {
  config: WebConfig;
  tls?: ServerTlsOptions;
  auth: BasicAuth;
  /** The dummy hash for unknown users, and the highest cost it was made for. */
  dummy: { hash: string; cost: number };
}

/**
 * How often Node checks the server's header and request deadlines (its default is 30 s; the
 * deadlines are 10 and 15 s: a slow client goes at most 5 s after its deadline). Node runs this check even
 * with no connection open: every second it was the largest part of an idle daemon's CPU.
 */
const CONNECTIONS_CHECK_MS = 5000;

export const REFUSAL_REASONS = WEB_REFUSAL_REASONS.values;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Plain HTTP, no authentication, no extra headers: what runs without --web.config.file. */
export function plainWebState(): WebState {
  return { config: EMPTY_WEB_CONFIG, auth: new BasicAuth({}, ''), dummy: { hash: '', cost: 0 } };
}

/** Loads and checks a web config file and everything it names. Throws ConfigErrors. */
export async function loadWebState(file: string | undefined, previous?: WebState): Promise<WebState> {
  if (file === undefined) return plainWebState();
  const config = loadWebConfigFile(file);
  const tls = config.tls ? buildTlsOptions(config.tls, file) : undefined;
  const hashes = Object.values(config.basicAuthUsers);
  const cost = hashes.length === 0 ? 0 : Math.max(...hashes.map((h) => Number(h.split('$')[2])));
  const dummy = previous !== undefined && previous.dummy.cost === cost ? previous.dummy
    : { hash: cost === 0 ? '' : await makeDummyHash(hashes), cost };
  return { config, ...(tls ? { tls } : {}), auth: new BasicAuth(config.basicAuthUsers, dummy.hash), dummy };
}

export interface WebSurfaceOptions {
  /** The --web.config.file path (absent: plain HTTP, no auth). */
  file?: string;
  state: WebState;
  registry: Registry;
  log: Logger;
  /** The host the server binds (for the "basic auth without TLS" warning). */
  host: string;
  /** How often the files are checked for changes. */
  pollMs?: number;
}

type AnyServer = http.Server | https.Server;

export class WebSurface implements TrustPolicy {
  private state: WebState;
  private server?: AnyServer;
  private timer?: NodeJS.Timeout;
  private signature = '';
  /** At most one reload of the web config runs and one waits (SIGHUP floods, file changes). */
  private readonly reloads = new Coalescer(() => this.reloadNow(), (err) => {
    this.reloadOk.set(0);
    this.opts.log.error({ err }, 'web configuration reload failed; keeping the previous one');
    return `web configuration reload failed: ${err instanceof Error ? err.message : String(err)}`;
  });
  private readonly refused: CounterOf<typeof M.webRequestsRefused>;
  private readonly reloadOk: GaugeOf<typeof M.webConfigReloadOk>;

  constructor(private readonly opts: WebSurfaceOptions) {
    this.state = opts.state;
    this.refused = counter(opts.registry, M.webRequestsRefused);
    this.reloadOk = gauge(opts.registry, M.webConfigReloadOk);
  }

  /** True when every request that reaches a handler has passed basic auth or a verified client certificate. */
  authConfigured(): boolean {
    return this.state.auth.enabled || this.state.config.tls?.clientAuthType === 'RequireAndVerifyClientCert';
  }

  get tlsEnabled(): boolean {
    return this.state.tls !== undefined;
  }

  /** Counts a refused request or connection. */
  refuse(reason: RefusalReason): void {
    this.refused.inc({ reason });
  }

  /** The HTTP or HTTPS server for `handler`, with client certificate checks wired in. */
  createServer(handler: http.RequestListener): AnyServer {
    const tls = this.state.tls;
    if (tls === undefined) {
      this.server = http.createServer({ connectionsCheckingInterval: CONNECTIONS_CHECK_MS }, handler);
      return this.server;
    }
    // A client that opens a connection and never finishes the handshake is dropped after 10 s
    // (Node's default is 120 s).
    const server = https.createServer({ ...tls, handshakeTimeout: 10_000, connectionsCheckingInterval: CONNECTIONS_CHECK_MS }, handler);
    server.on('secureConnection', (socket: TLSSocket) => {
      const cfg = this.state.config.tls;
      const why = cfg === undefined ? undefined : refuseClient(socket, cfg);
      if (why !== undefined) {
        this.refuse('client_certificate');
        this.opts.log.debug({ remote: socket.remoteAddress, why }, 'TLS connection refused');
        socket.destroy();
      }
    });
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      this.refuse('tls_handshake');
      this.opts.log.debug({ remote: socket.remoteAddress, err: { message: err.message } }, 'TLS handshake failed');
    });
    this.server = server;
    return server;
  }

  /** Express middleware for every route: configured response headers, then basic auth. */
  middleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const { config, auth } = this.state;
      for (const [name, value] of Object.entries(config.headers)) res.setHeader(name, value);
      if (!auth.enabled) {
        next();
        return;
      }
      auth.check(req.headers.authorization).then((result) => {
        if (result === 'ok') {
          next();
          return;
        }
        if (result === 'busy') {
          this.refuse('auth_busy');
          res.status(429).setHeader('Retry-After', '1').type('text/plain').send('Too many authentication attempts in progress; retry shortly.\n');
          return;
        }
        this.refuse('unauthorized');
        res.status(401).setHeader('WWW-Authenticate', 'Basic').type('text/plain').send('Unauthorized\n');
      }, next);
    };
  }

  async start(): Promise<void> {
    this.reloadOk.set(1);
    // Every reason exists from the start at 0, so the first refusal shows in increase().
    for (const reason of REFUSAL_REASONS) this.refused.inc({ reason }, 0);
    this.warnInsecure();
    if (this.opts.file === undefined) return;
    this.signature = await this.fileSignature(this.state);
    this.timer = setInterval(() => { void this.checkFiles(); }, this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the web config file and its certificates; resolves with the error when refused. */
  reload(): Promise<string | undefined> {
    return this.reloads.run();
  }

  private async reloadNow(): Promise<string | undefined> {
    const { log, file } = this.opts;
    if (file === undefined) return undefined;
    let next: WebState;
    try {
      next = await loadWebState(file, this.state);
      if ((next.tls === undefined) !== (this.state.tls === undefined)) {
        throw new Error(`${file}: switching between TLS and plain HTTP takes a restart; the previous web configuration stays in force`);
      }
    } catch (err) {
      this.reloadOk.set(0);
      const message = err instanceof ConfigErrors || err instanceof Error ? err.message : String(err);
      log.error({ err: { message } }, 'web configuration reload failed; keeping the previous one');
      this.signature = await this.fileSignature(this.state);
      return message;
    }
    if (next.tls !== undefined && this.server instanceof https.Server) {
      this.server.setSecureContext(next.tls);
      // setSecureContext() leaves these server options alone; new connections read them.
      const s = this.server as https.Server & { requestCert: boolean; rejectUnauthorized: boolean };
      s.requestCert = next.tls.requestCert === true;
      s.rejectUnauthorized = next.tls.rejectUnauthorized === true;
    }
    this.state = next;
    this.signature = await this.fileSignature(next);
    this.reloadOk.set(1);
    log.info({ file }, 'web configuration reloaded');
    this.warnInsecure();
    return undefined;
  }

  private async checkFiles(): Promise<void> {
    const sig = await this.fileSignature(this.state);
    if (sig !== this.signature) {
      this.signature = sig;
      await this.reload();
    }
  }

  /** A fingerprint of the web config file and the files it names (inode, size, mtime). */
  private async fileSignature(state: WebState): Promise<string> {
    const files = [this.opts.file, state.config.tls?.certFile, state.config.tls?.keyFile, state.config.tls?.clientCaFile]
      .filter((f): f is string => f !== undefined);
    const parts = await Promise.all(files.map(async (f) => {
      try {
        const s = await stat(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    }));
    return parts.join('|');
  }

  private warnInsecure(): void {
    const host = this.opts.host;
    const loopback = host === 'localhost' || isLoopback(host.replace(/^\[|\]$/g, ''));
    if (this.state.auth.enabled && this.state.tls === undefined && !loopback) {
      this.opts.log.warn({ listen: host }, 'basic auth is configured without TLS on a non-loopback address: passwords cross the network in clear text');
    }
  }
}
