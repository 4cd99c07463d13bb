import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Registry } from 'prom-client';
import type { AvailabilityTracker } from './availability';
import type { Clock } from './clock';
import { renderMetrics } from './metrics/exposition';
import type { Logger } from './log';
import { statusRoutes } from './status/routes';
import type { TrustPolicy } from './trust';

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
  /** Who sees configuration details on the status page, API and badges (default: loopback only). */
  trust?: TrustPolicy;
}

/**
 * The HTTP server: /metrics (current state only; never waits on a target), /-/healthy,
 * /-/ready, POST /-/reload, and the status page, API and badges of src/status/routes.ts.
 */
export class Server {
  private server?: HttpServer;

  constructor(private readonly host: string, private readonly port: number, private readonly deps: ServerDeps) {}

  start(): Promise<AddressInfo> {
    const { registry, tracker, clock, log, version } = this.deps;
    const app = express();
    app.disable('x-powered-by');
    // An ETag would hash the whole exposition on every scrape; nothing caches /metrics.
    app.set('etag', false);
    app.get('/metrics', async (_req, res) => {
      try {
        const body = await renderMetrics(registry);
        res.type(registry.contentType).send(body);
      } catch (err) {
        log.error({ err }, 'rendering metrics failed');
        res.status(500).type('text/plain').send('rendering metrics failed\n');
      }
    });
    app.get('/-/healthy', (_req, res) => {
      res.type('text/plain').send('stackwatch is healthy.\n');
    });
    app.get('/-/ready', (_req, res) => {
      if (this.deps.ready()) res.type('text/plain').send('stackwatch is ready.\n');
      else res.status(503).type('text/plain').send('stackwatch is starting.\n');
    });
    app.post('/-/reload', async (_req, res) => {
      const error = await this.deps.reload();
      if (error === undefined) res.type('text/plain').send('configuration reloaded.\n');
      else res.status(500).type('text/plain').send(`configuration not reloaded; the previous one stays in force:\n${error}\n`);
    });
    app.use(statusRoutes({ tracker, registry, clock, log, version, configSource: this.deps.configSource, ...(this.deps.trust ? { trust: this.deps.trust } : {}) }));
    app.use((_req, res) => {
      res.status(404).type('text/plain').send('not found; see / for the pages stackwatch serves.\n');
    });

    return new Promise((resolve, reject) => {
      const server = app.listen(this.port, this.host, (err?: Error) => {
        if (err) {
          reject(err);
          return;
        }
        resolve(server.address() as AddressInfo);
      });
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      server.requestTimeout = 30_000;
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
