import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Registry } from 'prom-client';
import type { AvailabilityTracker } from './availability';
import type { Clock } from './clock';
import type { GroupMatches } from './collectors/process';
import { serverConnectionCap } from './fd-limit';
import { M } from './metrics/definitions';
import { counter } from './metrics/instruments';
import { renderExposition, type Exposition } from './metrics/exposition';
import type { Logger } from './log';
import { statusRoutes } from './status/routes';
import { isTrusted } from './trust';
import { crossOriginRefusal } from './web/cross-origin';
import type { BundleConfig } from './bundle/bundle-config';
import type { WebSurface } from './web/surface';

export interface ServerDeps {
  registry: Registry;
  tracker: AvailabilityTracker;
  clock: Clock;
  log: Logger;
  version: string;
  configSource: () => string;
  ready: () => boolean;
  /** Reloads the configuration; resolves with an error message when the new one was refused. */
  reload: () => Promise<string | undefined>;
  /** What each declared process group matched, for the status page. */
  processMatches?: () => ReadonlyMap<string, GroupMatches>;
  /** TLS, basic auth and response headers (--web.config.file); also the trust policy. */
  web: WebSurface;
  /** Whether POST /-/reload is allowed (--web.enable-lifecycle). */
  enableLifecycle: boolean;
  /**
   * Who may see the config path and raw error texts on the status page. Defaults to
   * isTrusted() with the web surface's policy; tests replace it to play a remote viewer.
   */
  trusted?: (req: IncomingMessage) => boolean;
  /** The bundle settings /runbook shows the thresholds of; default: the built-in ones. */
  bundleConfig?: BundleConfig;
}

/**
 * The HTTP server: /metrics (current state only; never waits on a target), /-/healthy,
 * /-/ready, POST /-/reload, and the status page, API and badges of src/status/routes.ts. TLS,
 * basic auth and extra headers come from the web surface (src/web/) and apply to every endpoint.
 */
export class Server {
  private server?: HttpServer;

  constructor(private readonly host: string, private readonly port: number, private readonly deps: ServerDeps) {}

  start(): Promise<AddressInfo> {
    const { registry, tracker, clock, log, version, web } = this.deps;
    const trusted = this.deps.trusted ?? ((req: IncomingMessage) => isTrusted(req, web));
    const app = express();
    app.disable('x-powered-by');
    // An ETag would hash the whole exposition on every scrape; nothing caches /metrics.
    app.set('etag', false);
    app.use(web.middleware());
    app.use((req, res, next) => {
      const why = crossOriginRefusal(req);
      if (why === undefined) {
        next();
        return;
      }
      web.refuse('cross_origin');
      log.debug({ method: req.method, path: req.path, why }, 'cross-site request refused');
      res.status(403).type('text/plain').send(`cross-site request refused (${why}).\n`);
    });
    // The exposition is written as the list of its per-metric blocks (kept encoded between
    // scrapes): one writev, no joined copy. Not compressed although Prometheus asks for gzip:
    // 600 KB at the reference load would cost more CPU to deflate than it saves on loopback or a LAN.
    app.get('/metrics', async (_req, res) => {
      let body: Exposition;
      try {
        body = await renderExposition(registry);
      } catch (err) {
        log.error({ err }, 'rendering metrics failed');
        res.status(500).type('text/plain').send('rendering metrics failed\n');
        return;
      }
      res.status(200);
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Content-Length', body.length);
      res.cork();
      for (const chunk of body.chunks) res.write(chunk);
      res.end();
    });
    app.get('/-/healthy', (_req, res) => {
      res.type('text/plain').send('stackwatch is healthy.\n');
    });
    app.get('/-/ready', (_req, res) => {
      if (this.deps.ready()) res.type('text/plain').send('stackwatch is ready.\n');
      else res.status(503).type('text/plain').send('stackwatch is starting.\n');
    });
    const reload = async (req: express.Request, res: express.Response): Promise<void> => {
      if (!this.deps.enableLifecycle) {
        web.refuse('lifecycle_disabled');
        res.status(403).type('text/plain').send('Lifecycle API is not enabled: start stackwatch with --web.enable-lifecycle to reload over HTTP. SIGHUP reloads regardless.\n');
        return;
      }
      const error = await this.deps.reload();
      if (error === undefined) res.type('text/plain').send('configuration reloaded.\n');
      // The errors name files and keys of the configuration: for trusted viewers only.
      else if (trusted(req)) res.status(500).type('text/plain').send(`configuration not reloaded; the previous one stays in force:\n${error}\n`);
      else res.status(500).type('text/plain').send('configuration not reloaded; the previous one stays in force (the reasons are in the log).\n');
    };
    app.post('/-/reload', reload);
    app.put('/-/reload', reload);
    app.use(statusRoutes({ tracker, registry, clock, log, version, configSource: this.deps.configSource, trust: web, trusted,
      ...(this.deps.processMatches !== undefined ? { processMatches: this.deps.processMatches } : {}),
      ...(this.deps.bundleConfig !== undefined ? { bundleConfig: this.deps.bundleConfig } : {}),
    }));
    app.use((_req, res) => {
      res.status(404).type('text/plain').send('not found; see / for the pages stackwatch serves.\n');
    });

    return new Promise((resolve, reject) => {
      const server = web.createServer(app);
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
      // Bounded clients: a cap on connections (the rest of the fds stay for probes), and short
      // header/request deadlines so slowloris clients are cut. Idle keep-alive connections of
      // Prometheus stay open between scrapes.
      server.maxConnections = serverConnectionCap();
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 10_000;
      server.requestTimeout = 15_000;
      const dropped = counter(registry, M.serverConnectionsDropped);
      dropped.inc(0);
      server.on('drop', () => dropped.inc());
      this.server = server;
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
