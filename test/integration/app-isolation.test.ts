import { App } from '../../src/app';
import type { Collector, CollectorContext } from '../../src/collectors/collector';
import { validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { silentLogger } from '../../src/log';
import { scrape } from '../harness/prom-text';

/**
 * A collector that cannot start takes neither the others nor its own targets' truth down: its
 * targets already known are reported failed (not frozen at up), the reload is not reported
 * successful, and the other collectors run.
 */

const config = validate({ server: { listen: '127.0.0.1:0' } }, '<test>');

class Fine implements Collector {
  readonly name = 'mqtt';
  constructor(private readonly ctx: CollectorContext) {}
  start(): Promise<void> {
    this.ctx.tracker.observe('mqtt', 'broker', true);
    return Promise.resolve();
  }
  stop(): Promise<void> { return Promise.resolve(); }
  retire(): Promise<void> { return Promise.resolve(); }
}

class Broken implements Collector {
  readonly name = 'http';
  constructor(private readonly ctx: CollectorContext, private readonly fail: boolean) {}
  start(): Promise<void> {
    if (this.fail) return Promise.reject(new TypeError('boom'));
    this.ctx.tracker.observe('http', 'api', true);
    return Promise.resolve();
  }
  stop(): Promise<void> { return Promise.resolve(); }
  retire(): Promise<void> { return Promise.resolve(); }
}

test('a collector failing to start on reload: its targets fail, the reload is unsuccessful, the others run', async () => {
  let generation = 0;
  const app = new App({
    config, configSource: '<test>', log: silentLogger(), loadConfig: (): Config => config,
    collectors: (_c, ctx) => [new Broken(ctx, generation++ > 0), new Fine(ctx)],
  });
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
  } finally {
    await app.stop();
  }
});
