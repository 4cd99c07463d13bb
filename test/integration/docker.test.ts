/**
 * The Docker collector against a real dockerd started by the harness: states and
 * health against `docker inspect`, a crash loop's restarts against RestartCount, an OOM kill,
 * removal, filters, memory against `docker stats`, and a reload changing the filters in place.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { IMAGE, type DockerInspect } from '../harness/dockerd';
import { containerHealth as healthOf, containerState as stateOf, DockerRig } from '../harness/docker-rig';
import { startExporter } from '../harness/exporter';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(120_000);

let rig: DockerRig;

const HEALTH_FAST = ['--health-interval', '1s', '--health-timeout', '1s', '--health-retries', '1'];

beforeAll(async () => {
  rig = await DockerRig.start({
    docker: { exclude_names: ['^ignored'] },
    // Found by the initial list + inspect:
    before: async (d) => {
      await d.runContainer('web', ['--label', 'com.docker.compose.project=shop', '--label', 'com.docker.compose.service=web',
        '--health-cmd', 'true', ...HEALTH_FAST], ['sleep', '1000']);
      await d.runContainer('plain', [], ['sleep', '1000']);
      await d.runContainer('ignored-one', [], ['sleep', '1000']);
    },
  });
  // Found from the events stream:
  await rig.d.runContainer('sick', ['--health-cmd', 'false', ...HEALTH_FAST], ['sleep', '1000']);
}, 120_000);

afterAll(() => rig?.stop(), 60_000);

const inspectHealth = (i: DockerInspect): string => i.State.Health?.Status ?? 'none';

/**
 * Compares the exporter's state and health of `name` with `docker inspect` at the same moment:
 * inspect, scrape, inspect; a pair of inspects that disagree (the container changed in between)
 * is retried.
 */
async function expectMatchesInspect(name: string): Promise<void> {
  await waitFor(`${name} to match docker inspect`, async () => {
    const a = await rig.d.inspect(name);
    const m = await rig.exp.scrape();
    const b = await rig.d.inspect(name);
    if (a.State.Status !== b.State.Status || inspectHealth(a) !== inspectHealth(b)) return false;
    if (stateOf(m, name) !== b.State.Status || healthOf(m, name) !== inspectHealth(b)) {
      throw new Error(`${name}: exporter ${stateOf(m, name)}/${healthOf(m, name)}, docker ${b.State.Status}/${inspectHealth(b)}`);
    }
    return true;
  }, 10_000, 200);
}

test('docker_up and events stream up; found containers have state, health, info and availability', async () => {
  const m = await waitFor('web healthy and sick unhealthy', async () => {
    const s = await rig.exp.scrape();
    return healthOf(s, 'web') === 'healthy' && healthOf(s, 'sick') === 'unhealthy' ? s : false;
  }, 20_000, 200);
  expect(m.get('stackwatch_docker_up')).toBe(1);
  expect(m.get('stackwatch_docker_events_stream_up')).toBe(1);
  expect(m.get('stackwatch_docker_event_errors_total')).toBe(0);
  for (const name of ['web', 'plain', 'sick']) await expectMatchesInspect(name);
  expect(healthOf(m, 'plain')).toBe('none');
  // Every state of the sets is present, exactly one is 1.
  expect(m.all('stackwatch_container_state', { container: 'web' })).toHaveLength(7);
  expect(m.all('stackwatch_container_health_status', { container: 'web' })).toHaveLength(4);
  expect(m.get('stackwatch_container_info', { container: 'web', image: IMAGE, compose_project: 'shop', compose_service: 'web' })).toBe(1);
  expect(m.get('stackwatch_container_info', { container: 'plain', image: IMAGE, compose_project: '', compose_service: '' })).toBe(1);
  const web = await rig.d.inspect('web');
  expect(m.get('stackwatch_container_started_at_timestamp_seconds', { container: 'web' })).toBeCloseTo(Date.parse(web.State.StartedAt) / 1000, 0);
  expect(m.get('stackwatch_container_restarts_total', { container: 'web' })).toBe(0);
  expect(m.get('stackwatch_container_oom_kills_total', { container: 'web' })).toBe(0);
  // Availability: running and healthy is up; unhealthy is down.
  expect(m.get('stackwatch_target_up', { kind: 'container', target: 'web' })).toBe(1);
  expect(m.get('stackwatch_target_up', { kind: 'container', target: 'plain' })).toBe(1);
  expect(m.get('stackwatch_target_up', { kind: 'container', target: 'sick' })).toBe(0);
  // Excluded by name: no series at all.
  expect(m.samples.filter((s) => s.labels.container === 'ignored-one' || s.labels.target === 'ignored-one')).toEqual([]);
});

test('crash loop under --restart on-failure:3: restarts_total equals RestartCount, recoveries counted', async () => {
  await rig.d.runContainer('loop', ['--restart', 'on-failure:3'], ['sh', '-c', 'sleep 0.4; exit 3']);
  const final = await waitFor('loop to give up', async () => {
    const i = await rig.d.inspect('loop');
    return i.State.Status === 'exited' && i.RestartCount === 3 ? i : false;
  }, 30_000, 200);
  // (The last exit, not followed by a restart, is an outage once the collector's grace for a
  // removal is over, up to 5 s after the die.)
  const m = await waitFor('exporter to see the loop end', async () => {
    const s = await rig.exp.scrape();
    return stateOf(s, 'loop') === 'exited' && s.get('stackwatch_container_restarts_total', { container: 'loop' }) === final.RestartCount
      && s.get('stackwatch_target_up', { kind: 'container', target: 'loop' }) === 0 ? s : false;
  }, 15_000, 200);
  expect(m.get('stackwatch_container_restarts_total', { container: 'loop' })).toBe(3);
  expect(m.get('stackwatch_container_last_exit_code', { container: 'loop' })).toBe(3);
  expect(m.get('stackwatch_target_up', { kind: 'container', target: 'loop' })).toBe(0);
  // Four runs: up, down, up (recovery), ... ; three recoveries, four outages (the last in progress).
  expect(m.get('stackwatch_target_outages_total', { kind: 'container', target: 'loop' })).toBe(4);
  expect(m.get('stackwatch_target_recovery_seconds_count', { kind: 'container', target: 'loop' })).toBe(3);
  const sum = m.get('stackwatch_target_recovery_seconds_sum', { kind: 'container', target: 'loop' })!;
  // Each recovery lasted from a die to the next start: more than 0, less than a few seconds.
  expect(sum).toBeGreaterThan(0);
  expect(sum).toBeLessThan(15);
  await expectMatchesInspect('loop');
});

test('recovery of a container with a health check lasts from the die to healthy, not to the start', async () => {
  // Healthy ~1 s after each start, exits after 2.5 s, restarted once.
  await rig.d.runContainer('svc', ['--restart', 'on-failure:1', '--health-cmd', 'true', '--health-interval', '1s', '--health-retries', '1'],
    ['sh', '-c', 'sleep 2.5; exit 1']);
  const m = await waitFor('svc to recover once', async () => {
    const s = await rig.exp.scrape();
    return s.get('stackwatch_target_recovery_seconds_count', { kind: 'container', target: 'svc' }) === 1 ? s : false;
  }, 20_000, 100);
  const length = m.get('stackwatch_target_recovery_seconds_sum', { kind: 'container', target: 'svc' })!;
  // Docker restarts it within ~0.1-0.5 s; the health check needs another ~1 s to pass.
  expect(length).toBeGreaterThan(0.8);
  expect(length).toBeLessThan(5);
  expect(m.get('stackwatch_container_restarts_total', { container: 'svc' })).toBe(1);
  expect(healthOf(m, 'svc')).toBe('healthy');
});

test('OOM kill: oom_kills_total 1 and exit code 137, matching State.OOMKilled', async () => {
  await rig.d.runContainer('hog', ['--memory', '16m', '--memory-swap', '16m'], ['sh', '-c', 'x=$(cat /dev/zero | tr "\\0" a)']);
  const i = await waitFor('hog to be OOM-killed', async () => {
    const r = await rig.d.inspect('hog');
    return r.State.Status === 'exited' ? r : false;
  }, 30_000, 200);
  expect(i.State.OOMKilled).toBe(true);
  expect(i.State.ExitCode).toBe(137);
  const m = await waitFor('exporter to count the OOM kill', async () => {
    const s = await rig.exp.scrape();
    return s.get('stackwatch_container_oom_kills_total', { container: 'hog' }) === 1 && stateOf(s, 'hog') === 'exited' ? s : false;
  }, 10_000, 200);
  expect(m.get('stackwatch_container_last_exit_code', { container: 'hog' })).toBe(137);
  expect(m.get('stackwatch_container_restarts_total', { container: 'hog' })).toBe(0);
});

test('memory working set and limit agree with docker stats --no-stream within 10%; CPU seconds grow', async () => {
  // Holds a ~24 MB string in the shell, then sleeps (not as its last command, which the shell would exec).
  await rig.d.runContainer('mem', ['--memory', '256m'], ['sh', '-c', 'x=$(head -c 24000000 /dev/zero | tr "\\0" a); echo ready; sleep 1000; echo $x']);
  await waitFor('mem to fill', async () => (await rig.d.docker(['logs', 'mem'])).stdout.includes('ready'), 30_000, 200);
  await sleep(1500);
  const statsLine = await rig.d.ok(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'mem'], 30_000);
  const [usageText, limitText] = statsLine.split('/').map((s) => s.trim());
  const dockerUsage = parseSize(usageText!);
  const m = await rig.exp.scrape();
  const ours = m.get('stackwatch_container_memory_usage_bytes', { container: 'mem' })!;
  expect(dockerUsage).toBeGreaterThan(20e6);
  expect(Math.abs(ours - dockerUsage) / dockerUsage).toBeLessThan(0.1);
  expect(m.get('stackwatch_container_memory_limit_bytes', { container: 'mem' })).toBe(256 * 1024 * 1024);
  expect(parseSize(limitText!)).toBe(256 * 1024 * 1024);
  // Without a limit the series is absent (docker stats shows the host's memory instead).
  expect(m.get('stackwatch_container_memory_limit_bytes', { container: 'plain' })).toBeUndefined();
  expect(m.get('stackwatch_container_memory_usage_bytes', { container: 'plain' })).toBeGreaterThan(0);
  // Building the string took CPU time.
  expect(m.get('stackwatch_container_cpu_seconds_total', { container: 'mem' })).toBeGreaterThan(0.01);

  // Where the cgroup files cannot be found (no host /proc, no cgroup tree), one-shot stats at a
  // bounded rate give the same figures.
  const viaStats = await startExporter({
    docker: { enabled: true, host: rig.d.host, include_names: ['^mem$', '^plain$'], resources_interval: '1s', proc_root: '/nonexistent', cgroup_root: '/nonexistent', stats_per_interval: 1 },
  });
  try {
    // One request per interval: the two containers take turns.
    const s = await waitFor('memory from one-shot stats for both', async () => {
      const x = await viaStats.scrape();
      return x.get('stackwatch_container_memory_usage_bytes', { container: 'mem' }) !== undefined
        && x.get('stackwatch_container_memory_usage_bytes', { container: 'plain' }) !== undefined ? x : false;
    }, 15_000, 200);
    const fromStats = s.get('stackwatch_container_memory_usage_bytes', { container: 'mem' })!;
    expect(Math.abs(fromStats - dockerUsage) / dockerUsage).toBeLessThan(0.1);
    expect(s.get('stackwatch_container_memory_limit_bytes', { container: 'mem' })).toBe(256 * 1024 * 1024);
    expect(s.get('stackwatch_container_memory_limit_bytes', { container: 'plain' })).toBeUndefined();
    expect(s.get('stackwatch_container_cpu_seconds_total', { container: 'mem' })).toBeGreaterThan(0.01);
  } finally {
    await viaStats.stop();
  }
});

/** Files this process (the exporter runs in it) holds open under a cgroup of the container `id`. */
function cgroupFilesOf(id: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('/sys/fs/cgroup') && target.includes(id)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

test('a removed container leaves the output: all its series, availability included, and its cgroup files are closed', async () => {
  await rig.d.runContainer('gone', [], ['sleep', '1000']);
  await waitFor('gone to be seen', async () => stateOf(await rig.exp.scrape(), 'gone') === 'running', 10_000, 100);
  const id = (await rig.d.inspect('gone')).Id;
  // Its resource files are kept open between cycles (1 s here)...
  await waitFor('gone\'s cgroup files kept open', () => cgroupFilesOf(id).length > 0, 5000, 100);
  await rig.d.ok(['rm', '-f', 'gone']);
  // The destroy event arrives asynchronously: allow it one event round trip.
  const m = await waitFor('gone to leave', async () => {
    const s = await rig.exp.scrape();
    return stateOf(s, 'gone') === undefined ? s : false;
  }, 3000, 50);
  expect(m.samples.filter((s) => s.labels.container === 'gone' || s.labels.target === 'gone')).toEqual([]);
  // ...and closed by the first cycle that no longer reads them.
  await waitFor('gone\'s cgroup files closed', () => cgroupFilesOf(id).length === 0, 5000, 100);
});

test('a paused container is paused and down; unpaused it is running and up again', async () => {
  await rig.d.ok(['pause', 'plain']);
  await waitFor('plain paused', async () => stateOf(await rig.exp.scrape(), 'plain') === 'paused', 10_000, 100);
  expect((await rig.exp.scrape()).get('stackwatch_target_up', { kind: 'container', target: 'plain' })).toBe(0);
  await rig.d.ok(['unpause', 'plain']);
  await waitFor('plain running', async () => stateOf(await rig.exp.scrape(), 'plain') === 'running', 10_000, 100);
  const m = await rig.exp.scrape();
  expect(m.get('stackwatch_target_up', { kind: 'container', target: 'plain' })).toBe(1);
  expect(m.get('stackwatch_target_recovery_seconds_count', { kind: 'container', target: 'plain' })).toBe(1);
});

test('compose project and label filters select containers', async () => {
  const byProject = await startExporter({ docker: { enabled: true, host: rig.d.host, compose_project: 'shop' } });
  const byLabel = await startExporter({ docker: { enabled: true, host: rig.d.host, labels: { 'com.docker.compose.service': '' }, include_names: ['^w'] } });
  try {
    for (const e of [byProject, byLabel]) {
      const m = await e.scrape();
      const names = new Set(m.all('stackwatch_container_state').map((s) => s.labels.container));
      expect([...names]).toEqual(['web']);
    }
  } finally {
    await byProject.stop();
    await byLabel.stop();
  }
});

test('a reload changing the filters keeps the engine connection and the counters, and drops what no longer matches', async () => {
  const before = await rig.exp.scrape();
  expect(before.get('stackwatch_container_restarts_total', { container: 'plain' })).toBeDefined();
  const t0 = Date.now();
  // Same engine, other filters: resynced in place from one list.
  rig.docker = { ...rig.docker, exclude_names: ['^ignored', '^plain$'], resources_interval: '2s' };
  expect(await rig.exp.app.reload()).toBeUndefined();
  const m = await rig.exp.scrape();
  expect(m.all('stackwatch_container_state', { container: 'plain' })).toEqual([]);
  expect(m.all('stackwatch_target_up', { kind: 'container', target: 'plain' })).toEqual([]);
  expect(m.get('stackwatch_docker_events_stream_up')).toBe(1);
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(m.get('stackwatch_container_restarts_total', { container: 'loop' })).toBe(3);
  expect(m.get('stackwatch_container_oom_kills_total', { container: 'hog' })).toBe(1);
  expect(m.get('stackwatch_container_cpu_seconds_total', { container: 'mem' })).toBeGreaterThanOrEqual(
    before.get('stackwatch_container_cpu_seconds_total', { container: 'mem' })!);
  expect(m.get('stackwatch_docker_up')).toBe(1);
  await waitFor('events stream up after reload', async () => (await rig.exp.scrape()).get('stackwatch_docker_events_stream_up') === 1, 5000, 100);
  // Events still flow into the new instance.
  await rig.d.ok(['stop', '-t', '0', 'web']);
  await waitFor('web exited', async () => stateOf(await rig.exp.scrape(), 'web') === 'exited', 10_000, 100);
  await expectMatchesInspect('web');
});

/** Parses docker's human sizes: "19.53MiB", "256MiB", "1.5GiB", "512KiB", "0B". */
function parseSize(text: string): number {
  const m = /^([\d.]+)\s*([KMGT]?i?B)$/.exec(text.trim());
  if (m === null) throw new Error(`cannot parse size ${text}`);
  const units: Record<string, number> = {
    B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
  };
  const u = units[m[2]!];
  if (u === undefined) throw new Error(`unknown unit in ${text}`);
  return Number(m[1]) * u;
}
