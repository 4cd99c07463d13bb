import { App } from '../../src/app';
import type { Collector, CollectorContext, CollectorKind } from '../../src/collectors/collector';
import { validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { silentLogger } from '../../src/log';
import { scrape } from '../harness/prom-text';

/**
 * A collector that cannot apply its section takes neither the others nor its own targets' truth down: its
 * targets already known are reported failed (not frozen at up), the reload is not reported
 * successful, and the other collectors run.
 */

const config = validate({ server: { listen: '127.0.0.1:0' } }, '<test>');

const changed = validate({ server: { listen: '127.0.0.1:0' }, http: [{ name: 'api', url: 'http://127.0.0.1:9/' }] }, '<test>');

class Fine implements Collector<unknown> {
  readonly name = 'mqtt';
  constructor(private readonly ctx: CollectorContext) {}
  apply(): Promise<void> {
    this.ctx.tracker.observe('mqtt', 'broker', true);
    return Promise.resolve();
  }
  stop(): Promise<void> { return Promise.resolve(); }
}

/** Applies its first section, fails on every later one. */
class Broken implements Collector<unknown> {
  readonly name = 'http';
  private applied = 0;
  constructor(private readonly ctx: CollectorContext) {}
  apply(): Promise<void> {
    if (this.applied++ > 0) return Promise.reject(new TypeError('boom'));
    this.ctx.tracker.observe('http', 'api', true);
    return Promise.resolve();
  }
  stop(): Promise<void> { return Promise.resolve(); }
}

const table: CollectorKind<unknown>[] = [
  { name: 'http', targetKind: 'http', section: (c: Config) => c.http, configured: () => true, create: (ctx: CollectorContext) => new Broken(ctx) },
  { name: 'mqtt', targetKind: 'mqtt', section: (c: Config) => c.mqtt, configured: () => true, create: (ctx: CollectorContext) => new Fine(ctx) },
];

test('a collector failing to apply a reload: its targets fail, the reload is unsuccessful, the others run', async () => {
  const app = new App({ config, configSource: '<test>', log: silentLogger(), loadConfig: (): Config => changed, collectors: table });
  const addr = await app.start();
  try {
    expect(app.tracker.view('http', 'api')!.state).toBe('up');
    const message = await app.reload();
    expect(message).toContain('collector http failed to start: TypeError: boom');
    const view = app.tracker.view('http', 'api')!;
    expect(view.state).toBe('down');
    expect(view.lastError).toContain('collector http failed to start');
    expect(app.tracker.view('mqtt', 'broker')!.state).toBe('up');
    const m = await scrape(`http://127.0.0.1:${addr.port}`);
    expect(m.get('stackwatch_config_last_reload_successful')).toBe(0);
    expect(m.get('stackwatch_collector_errors_total', { collector: 'http', reason: 'internal' })).toBe(1);
    // The failed section is applied again by the next reload, although the configuration is the same.
    expect(await app.reload()).toContain('collector http failed to start');
    expect((await scrape(`http://127.0.0.1:${addr.port}`)).get('stackwatch_collector_errors_total', { collector: 'http', reason: 'internal' })).toBe(2);
  } finally {
    await app.stop();
  }
});
