import { App } from '../../src/app';
import type { Clock } from '../../src/clock';
import { validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { createLogger, silentLogger, type Logger } from '../../src/log';
import { scrape, type Metrics } from './prom-text';

export interface RunningExporter {
  app: App;
  url: string;
  scrape(): Promise<Metrics>;
  stop(): Promise<void>;
}

/**
 * Starts the exporter in-process on a free loopback port with a config given as a plain object
 * (validated exactly as a file would be). Set STACKWATCH_TEST_LOG=debug to see its logs.
 */
export async function startExporter(raw: Record<string, unknown>, opts: { clock?: Clock; loadConfig?: () => Config; log?: Logger; storagePath?: string; snapshotInterval?: number } = {}): Promise<RunningExporter> {
  const config = validate({ ...raw, server: { listen: '127.0.0.1:0' } }, '<test config>');
  const level = process.env.STACKWATCH_TEST_LOG;
  const app = new App({
    config,
    configSource: '<test config>',
    log: opts.log ?? (level ? createLogger(level as 'debug') : silentLogger()),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.loadConfig ? { loadConfig: opts.loadConfig } : {}),
    ...(opts.storagePath !== undefined ? { storagePath: opts.storagePath, snapshotInterval: opts.snapshotInterval ?? 1 } : {}),
    // Tests reload through POST /-/reload, as a user with --web.enable-lifecycle would.
    enableLifecycle: true,
  });
  const addr = await app.start();
  const url = `http://127.0.0.1:${addr.port}`;
  return { app, url, scrape: () => scrape(url), stop: () => app.stop() };
}
