/**
 * Incident replay, processes (see incident-replay-helpers.ts): three services, each an HTTP
 * backend process watched both as an HTTP target and as a process group of the same name, play
 * their incidents at the same time:
 *  - blip: killed, restarted by its "supervisor" 8 s later (the seeds' 10 s auto-restart): no page;
 *  - backend: killed and left dead until someone restarts it by hand: one page, naming the dead
 *    process (StackwatchProcessNotRunning; the endpoint's TargetDown muted inside it), then only
 *    the resolve, within a minute of the restart;
 *  - loop: a crash loop (dies every few seconds, restarted at once): one page, as a crash loop
 *    (StackwatchProcessRestarting), by its second restart, and nothing more while it loops.
 */
import type { ChildProcess } from 'node:child_process';
import { durationSeconds } from '../../src/bundle/bundle-config';
import { fixedPort } from '../harness/ports';
import { sleep, waitFor } from '../harness/wait';
import { log, Replay, startBackend } from './incident-replay-helpers';

const uniq = `${process.pid}-${Date.now().toString(36)}`;
const SERVICES = ['blip', 'backend', 'loop'] as const;
type Service = (typeof SERVICES)[number];

describe('incident replay: processes', () => {
  const r = new Replay();
  const ports = {} as Record<Service, number>;
  const marker = (s: Service): string => `sw-replay-${s}-${uniq}`;
  const running = {} as Record<Service, ChildProcess>;
  let looping = true;
  let loopRestarts = 0;

  const start = (s: Service, dieAfterMs = 0): void => {
    running[s] = startBackend(r.procs, ports[s], marker(s), dieAfterMs);
  };
  const kill = async (s: Service): Promise<void> => {
    await r.procs.kill(running[s], 'SIGKILL');
  };

  /** The crash loop's supervisor: restarts `loop` 1 s after each death while `looping`. */
  function superviseLoop(): void {
    running.loop.once('exit', () => {
      if (!looping) return;
      setTimeout(() => {
        if (!looping) return;
        loopRestarts += 1;
        start('loop', 7000);
        superviseLoop();
      }, 1000);
    });
  }

  beforeAll(async () => {
    for (const s of SERVICES) ports[s] = await fixedPort();
    for (const s of SERVICES) start(s);
    await r.start({
      http: SERVICES.map((s) => ({ name: s, url: `http://127.0.0.1:${ports[s]}/health`, interval: '1s', timeout: '800ms' })),
      processes: SERVICES.map((s) => ({ name: s, cmdline: marker(s) })),
      process_settings: { interval: '500ms' },
      docker: { enabled: false },
    });
    for (const s of SERVICES) {
      await r.until(`${s} up as an HTTP target and a process group`, `min(stackwatch_target_up{target="${s}"}) == 1 and count(stackwatch_target_up{target="${s}"}) == 2`, 1);
    }
  }, 120_000);

  afterAll(async () => {
    looping = false;
    await r.stop();
  });

  test('a blip healed in 8 s pages nobody; a dead process pages once, naming it; a crash loop pages once, as a crash loop', async () => {
    const t0 = Date.now();
    // All three incidents start now.
    await Promise.all([kill('blip'), kill('backend')]);
    const loopStart = Date.now();
    await kill('loop');
    start('loop', 7000);
    loopRestarts = 1;
    superviseLoop();
    log(`incidents started (+${Date.now() - t0} ms)`);

    const blip = (async () => {
      await sleep(8000);
      start('blip');
    })();

    // The dead backend: one page naming the process, within the limit.
    const backend = await r.expectPage('backend', t0, 'StackwatchProcessNotRunning', 120);
    log(`backend: page after ${backend.delayS}s: ${JSON.stringify(backend.page.alerts.map((a) => a.labels.alertname))}`);
    // The symptom (the endpoint down) is muted by its cause, not sent on its own.
    expect(backend.page.alerts.map((a) => a.labels.alertname)).not.toContain('StackwatchTargetDown');

    // The crash loop: one page, as a crash loop.
    const loop = await r.expectPage('loop', loopStart, 'StackwatchProcessRestarting', 120);
    log(`loop: page after ${loop.delayS}s, ${loopRestarts} restarts so far`);
    await blip;

    // The backend stays dead a while longer (someone is on the way), then is restarted by hand.
    // Its endpoint has been down longer than TargetDown's for: (every probe in that time, and a
    // few evaluations more), explained by the dead process.
    const downS = durationSeconds(r.cfg.for.StackwatchTargetDown) + 5;
    await r.until(`the backend's endpoint down for ${downS}s`, `max_over_time(stackwatch_target_up{kind="http",target="backend"}[${downS}s]) == 0 and count_over_time(stackwatch_target_up{kind="http",target="backend"}[${downS}s]) >= ${downS - 2}`, 0, 90_000);
    expect((await r.prom.query('stackwatch_target_up{kind="http",target="backend"}'))[0]!.value).toBe(0);
    expect(await r.prom.query('ALERTS{alertname="StackwatchTargetDown",target="backend"}')).toEqual([]);
    start('backend');
    const healed = Date.now();
    const resolvedIn = await r.expectResolvedOnly('backend', healed, 60, 10);
    log(`backend: resolved ${resolvedIn}s after the restart`);

    // While the loop went on: still that one page. The blip: nothing at all, on any receiver.
    expect(loopRestarts).toBeGreaterThanOrEqual(3);
    expect(r.pages('loop').map((n) => n.status)).toEqual(['firing']);
    expect(r.messages('blip')).toEqual([]);
    expect(r.pages('backend').map((n) => n.status)).toEqual(['firing', 'resolved']);
    // The blip was seen all the same: one outage counted.
    const m = await r.scrape();
    expect(m.get('stackwatch_target_outages_total', { kind: 'process', target: 'blip' })).toBe(1);
    // Nothing else paged during the whole replay.
    const others = r.hook.notifications.filter((n) => n.path === '/page' && !['backend', 'loop'].includes(n.groupLabels.target ?? ''));
    expect(others).toEqual([]);
    looping = false;
    await waitFor('the last loop process to exit or settle', () => true, 1000);
  }, 240_000);
});
