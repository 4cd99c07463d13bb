/**
 * Incident replay, containers on a private dockerd (see incident-replay-helpers.ts), at the same
 * time:
 *  - sick: a container whose health check calls curl, which its image does not have (the seeds'
 *    "unhealthy because the check itself is broken"): one page naming the unhealthy container
 *    (StackwatchContainerUnhealthy; the container target down is explained by it), then the
 *    resolve when it is replaced;
 *  - hog: a container OOM-killed at once (a counter born at 1 within its first second) that
 *    stays down: one page naming the OOM kill (StackwatchContainerOomKilled), held for as long as
 *    it stays down, then the resolve when it is removed;
 *  - gone: a healthy container removed (docker rm -f): no page at all.
 */
import { durationSeconds } from '../../src/bundle/bundle-config';
import { Dockerd } from '../harness/dockerd';
import { sleep } from '../harness/wait';
import { log, Replay } from './incident-replay-helpers';

describe('incident replay: containers', () => {
  const r = new Replay();
  let d: Dockerd;

  beforeAll(async () => {
    // dockerd and its first container start while Alertmanager does.
    await r.start((async () => {
      d = await Dockerd.start();
      await d.runContainer('gone', [], ['sleep', '1000']);
      return { docker: { enabled: true, host: d.host, resources_interval: '1s', reconnect_max_backoff: '1s' } };
    })());
    await r.until('the container gone up', 'stackwatch_target_up{kind="container",target="gone"}', 1);
  }, 180_000);

  afterAll(async () => {
    await r.stop();
    await d?.stop();
  }, 60_000);

  test('an unhealthy and an OOM-killed container page once each, naming the cause; a removed container pages nobody', async () => {
    const t0 = Date.now();
    await Promise.all([
      d.runContainer('sick', ['--health-cmd', 'curl -fsS http://127.0.0.1:8000/health', '--health-interval', '1s', '--health-timeout', '1s', '--health-retries', '2'], ['sleep', '1000']),
      d.runContainer('hog', ['--memory', '16m', '--memory-swap', '16m'], ['sh', '-c', 'x=$(cat /dev/zero | tr "\\0" a)']),
      d.ok(['rm', '-f', 'gone']),
    ]);
    log(`incidents started (+${Date.now() - t0} ms)`);

    const sick = await r.expectPage('sick', t0, 'StackwatchContainerUnhealthy', 120);
    log(`sick: page after ${sick.delayS}s: ${JSON.stringify(sick.page.alerts.map((a) => a.labels.alertname))}`);
    const hog = await r.expectPage('hog', t0, 'StackwatchContainerOomKilled', 120);
    log(`hog: page after ${hog.delayS}s: ${JSON.stringify(hog.page.alerts.map((a) => a.labels.alertname))}`);
    expect((await d.inspect('hog')).State.OOMKilled).toBe(true);

    // Both stay broken past their symptoms' for: (the container targets down at every scrape of
    // TargetDown's for: and a few evaluations more) and past the OOM window (the kill came within
    // seconds of t0) by two group intervals: no second page.
    const { cfg } = r;
    const downS = durationSeconds(cfg.for.StackwatchTargetDown) + 5;
    const down = `stackwatch_target_up{kind="container",target=~"sick|hog"}[${downS}s]`;
    await r.until(`sick and hog down for ${downS}s`, `count(max_over_time(${down}) == 0 and count_over_time(${down}) >= ${downS - 2}) == 2`, 2, 90_000);
    await sleep(Math.max(0, t0 + (durationSeconds(cfg.oomWindow) + 2 * durationSeconds(cfg.alertmanager.page.groupInterval) + 5) * 1000 - Date.now()));
    expect(r.pages('sick').map((n) => n.status)).toEqual(['firing']);
    expect(r.pages('hog').map((n) => n.status)).toEqual(['firing']);

    // Replaced / removed: the resolve, and nothing more.
    const fixed = Date.now();
    await Promise.all([d.ok(['rm', '-f', 'sick']), d.ok(['rm', '-f', 'hog'])]);
    const [a, b] = await Promise.all([r.expectResolvedOnly('sick', fixed, 60, 10), r.expectResolvedOnly('hog', fixed, 60, 10)]);
    log(`resolved after ${a}s (sick) and ${b}s (hog)`);
    expect(r.pages('sick').map((n) => n.status)).toEqual(['firing', 'resolved']);
    expect(r.pages('hog').map((n) => n.status)).toEqual(['firing', 'resolved']);
    // The removed container: nothing on any receiver.
    expect(r.messages('gone')).toEqual([]);
    expect(r.hook.notifications.filter((n) => n.path === '/page' && !['sick', 'hog'].includes(n.groupLabels.target ?? ''))).toEqual([]);
  }, 240_000);
});
