import { execFileSync } from 'node:child_process';
import { hostname, release } from 'node:os';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { systemClock } from '../../src/clock';
import { ProcessCollector } from '../../src/collectors/process';
import { CollectorStats } from '../../src/collectors/collector-stats';
import { validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { silentLogger } from '../../src/log';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { boundPort } from '../harness/built-daemon';
import { requireBinary } from '../harness/require-binary';
import { scrape } from '../harness/prom-text';
import { Metrics } from '../harness/prom-text';
import { ProcessSet } from '../harness/processes';
import { sleep, waitFor } from '../harness/wait';
import { directRead, near, statusRss, uniq } from './process-helpers';

describe('process collector', () => {
  const procs = new ProcessSet();
  const exporters: RunningExporter[] = [];
  afterAll(async () => {
    for (const e of exporters) await e.stop();
    await procs.killAll();
  });

  it('shows a steadily rising RSS for a process that allocates memory at a steady rate', async () => {
    const marker = `sw-grow-${uniq()}`;
    // 4 MiB every 100 ms (touched, so resident), up to 240 MiB.
    const grower = procs.start(process.execPath, ['-e', `
      const keep = [];
      const t = setInterval(() => { keep.push(Buffer.alloc(4 << 20, 1)); if (keep.length >= 60) clearInterval(t); }, 100);
      setInterval(() => {}, 1 << 30);`, marker]);
    const ex = await startExporter({ processes: [{ name: 'grower', cmdline: marker }], process_settings: { interval: '250ms' } });
    exporters.push(ex);
    await waitFor('the grower seen', async () => (await ex.scrape()).get('stackwatch_process_group_processes', { group: 'grower' }) === 1);
    const series: number[] = [];
    for (let i = 0; i < 6; i++) {
      series.push((await ex.scrape()).get('stackwatch_process_resident_memory_bytes', { group: 'grower' })!);
      await sleep(700);
    }
    // ~28 MiB per 700 ms: every step up by at least 8 MiB, and matching /proc at the end.
    for (let i = 1; i < series.length; i++) expect(series[i]! - series[i - 1]!).toBeGreaterThan(8 << 20);
    const last = (await ex.scrape()).get('stackwatch_process_resident_memory_bytes', { group: 'grower' })!;
    expect(near(last, directRead([grower.pid!]).rss, 0.1)).toBe(true);
  });

  it('reports a group with no match as count 0 and up 0, and keeps it in the output', async () => {
    const ex = await startExporter({
      processes: [{ name: 'ghost', cmdline: `no-such-process-${uniq()}` }, { name: 'ghost-pid', pidfile: `/nonexistent/${uniq()}.pid` }],
      process_settings: { interval: '200ms' },
    });
    exporters.push(ex);
    for (const group of ['ghost', 'ghost-pid']) {
      const target = { kind: 'process', target: group };
      await waitFor('a few cycles', async () => ((await ex.scrape()).get('stackwatch_target_checks_total', target) ?? 0) >= 3);
      const m = await ex.scrape();
      expect(m.get('stackwatch_process_group_processes', { group })).toBe(0);
      expect(m.get('stackwatch_target_up', target)).toBe(0);
      expect(m.get('stackwatch_target_outages_total', target)).toBe(1);
      expect(m.get('stackwatch_process_restarts_total', { group })).toBe(0);
      expect(m.get('stackwatch_process_resident_memory_bytes', { group })).toBe(0);
      expect(m.get('stackwatch_process_cpu_seconds_total', { group, mode: 'user' })).toBe(0);
      // Nothing to take the lowest fd limit or the oldest start of: those series are absent.
      expect(m.get('stackwatch_process_max_fds', { group })).toBeUndefined();
      expect(m.get('stackwatch_process_oldest_start_time_seconds', { group })).toBeUndefined();
    }
  });

  it('matches a pidfile, and children when asked', async () => {
    const dir = mkdtempSync('/tmp/stackwatch-pidfile-');
    try {
      const parent = procs.start('sh', ['-c', `sleep 1000 & sleep 1000 & wait`]);
      writeFileSync(`${dir}/app.pid`, `${parent.pid}\n`);
      const ex = await startExporter({
        processes: [
          { name: 'by-pidfile', pidfile: `${dir}/app.pid` },
          { name: 'with-children', pidfile: `${dir}/app.pid`, include_children: true },
        ],
        process_settings: { interval: '200ms' },
      });
      exporters.push(ex);
      const m = await waitFor('three processes with the children', async () => {
        const s = await ex.scrape();
        return s.get('stackwatch_process_group_processes', { group: 'with-children' }) === 3 ? s : undefined;
      });
      expect(m.get('stackwatch_process_group_processes', { group: 'by-pidfile' })).toBe(1);
      expect(m.get('stackwatch_process_threads', { group: 'with-children' })).toBe(3);
      expect(m.get('stackwatch_target_up', { kind: 'process', target: 'by-pidfile' })).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('discovery groups the host\'s processes by name with bounded cardinality, and host_info comes once', async () => {
    const ex = await startExporter({ process_discovery: { enabled: true, top: 3 }, process_settings: { interval: '200ms' } });
    exporters.push(ex);
    const m = await waitFor('host info and the groups', async () => {
      const s = await ex.scrape();
      return s.all('stackwatch_host_info').length === 1 && s.get('stackwatch_process_group_processes', { group: 'other' }) !== undefined ? s : undefined;
    });
    const groups = m.all('stackwatch_process_group_processes');
    expect(groups.length).toBeLessThanOrEqual(4);
    expect(groups.map((g) => g.labels.group)).toContain('other');
    // Every process on the host is in one group (give or take the ones coming and going).
    const total = groups.reduce((a, g) => a + g.value, 0);
    const onHost = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    expect(near(total, onHost, 0.15, 3)).toBe(true);
    // No availability targets from discovery: nothing can report a false outage.
    expect(m.all('stackwatch_target_up', { kind: 'process' })).toEqual([]);
    const info = m.all('stackwatch_host_info')[0]!;
    expect(info.labels).toMatchObject({ hostname: hostname(), kernel: release() });
    expect(info.labels.os).not.toBe('');
    expect(m.all('stackwatch_process_read_errors_total').map((s) => s.labels.reason).sort()).toEqual(['other', 'parse', 'permission']);
    expect(m.get('stackwatch_collector_success', { collector: 'process' })).toBe(1);
  });

  it('falls back to systeminformation without /proc, and a reload removes groups no longer configured', async () => {
    const arg = `1000.${uniq().slice(-6)}`;
    const p = procs.start('sleep', [arg], { stdio: 'ignore' });
    await sleep(300); // let it finish loading before the one snapshot
    const registry = new Registry();
    const ctx = {
      registry, tracker: new AvailabilityTracker(registry, systemClock), clock: systemClock, log: silentLogger(),
      stats: new CollectorStats(registry, systemClock),
    };
    const config = validate({
      processes: [{ name: 'fb', cmdline: `^sleep ${arg.replace('.', '\\.')}$` }, { name: 'stays', comm: '^init$' }],
    }, '<test>');
    const c = new ProcessCollector(ctx, { forceFallback: true });
    await c.apply(config);
    let m: Metrics;
    try {
      m = await waitFor('the fallback cycle', async () => {
        const s = Metrics.parse(await registry.metrics());
        return s.get('stackwatch_process_group_processes', { group: 'fb' }) === 1 ? s : undefined;
      }, 20_000, 200);
    } finally {
      await c.stop();
    }
    // systeminformation's RSS comes from ps, which reads the exact VmRSS of /proc/PID/status.
    const rss = m.get('stackwatch_process_resident_memory_bytes', { group: 'fb' })!;
    const exact = statusRss(p.pid!);
    expect(`stackwatch ${rss} vs /proc ${exact}: ${near(rss, exact, 0.05)}`).toMatch(/true$/);
    expect(m.get('stackwatch_target_up', { kind: 'process', target: 'fb' })).toBe(1);
    // systeminformation has no fd counts: absent rather than a false 0.
    expect(m.get('stackwatch_process_open_fds', { group: 'fb' })).toBeUndefined();

    await c.apply(validate({ processes: [{ name: 'stays', comm: '^init$' }] }, '<test>'));
    m = Metrics.parse(await registry.metrics());
    expect(m.all('stackwatch_process_group_processes', { group: 'fb' })).toEqual([]);
    expect(m.all('stackwatch_process_cpu_seconds_total', { group: 'fb' })).toEqual([]);
    expect(m.all('stackwatch_target_up', { target: 'fb' })).toEqual([]);
    expect(ctx.tracker.has('process', 'fb')).toBe(false);
    expect(m.get('stackwatch_process_group_processes', { group: 'stays' })).toBeDefined();
  });

  it('counts permission errors when it runs unprivileged, and still reports what it can read', async () => {
    const setpriv = requireBinary('setpriv', 'apt-get install -y util-linux');
    const arg = `1000.${uniq().slice(-6)}`;
    const sleeper = procs.start('sleep', [arg], { stdio: 'ignore' }); // owned by root
    const dir = mkdtempSync('/tmp/stackwatch-unpriv-');
    chmodSync(dir, 0o755);
    const config = path.join(dir, 'config.yml');
    // An exe matcher must readlink /proc/PID/exe of every process: denied for other users' ones.
    writeFileSync(config, [
      'processes:',
      '  - name: rootsleeper',
      `    cmdline: '^sleep ${arg.replace('.', '\\.')}$'`,
      '  - name: by-exe',
      '    exe: /sleep$',
      'process_settings:',
      '  interval: 500ms',
      '',
    ].join('\n'));
    chmodSync(config, 0o644);
    // The checkout may sit in a directory `nobody` cannot enter (mktemp -d is 0700): run the built
    // exporter from a world-readable copy (hard links where the filesystem allows, else a copy).
    const root = path.join(__dirname, '..', '..');
    const app = path.join(dir, 'app');
    const parts = ['dist', 'node_modules', 'package.json'].map((p) => path.join(root, p));
    execFileSync('mkdir', ['-m', '755', app]);
    try {
      execFileSync('cp', ['-al', ...parts, app]);
    } catch {
      execFileSync('cp', ['-r', ...parts, app]);
    }
    const exporter = procs.start(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath,
      path.join(app, 'dist', 'main.js'), '--config', config, '--listen', '127.0.0.1:0', '--storage.path', path.join(app, 'data')],
    { cwd: app, env: { ...process.env, HOME: dir } });
    try {
      const port = await boundPort(exporter, 40_000);
      const m = await waitFor('the unprivileged exporter', async () => {
        const s = await scrape(`http://127.0.0.1:${port}`);
        return s.get('stackwatch_process_group_processes', { group: 'rootsleeper' }) === 1 ? s : undefined;
      }, 40_000, 250);
      expect(m.get('stackwatch_process_read_errors_total', { reason: 'permission' })).toBeGreaterThan(0);
      expect(m.get('stackwatch_process_read_errors_total', { reason: 'other' })).toBe(0);
      expect(m.get('stackwatch_process_resident_memory_bytes', { group: 'rootsleeper' })).toBeGreaterThan(0);
      // The fd count comes from stat() of /proc/PID/fd (Linux >= 6.2), which needs no privilege.
      expect(m.get('stackwatch_process_open_fds', { group: 'rootsleeper' })).toBe(readdirSync(`/proc/${sleeper.pid}/fd`).length);
      expect(m.get('stackwatch_process_group_processes', { group: 'by-exe' })).toBe(0);
      expect(m.get('stackwatch_target_up', { kind: 'process', target: 'rootsleeper' })).toBe(1);
      expect(m.get('stackwatch_collector_success', { collector: 'process' })).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reload keeps the counters of groups that stay and removes groups and discovered names that go', async () => {
    const marker = `sw-reload-${uniq()}`;
    // Burns 300 ms of CPU, then idles: a lump of its past CPU after the reload would show.
    const worker = procs.start(process.execPath, ['-e', `
      const t = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
      let x = 0; const end = t() + 300; while (t() < end) for (let i = 0; i < 1e5; i++) x += i;
      process.stdout.write('idle' + x + '\\n'); setInterval(() => {}, 1 << 30);`, marker]);
    await new Promise((resolve) => worker.stdout!.once('data', resolve));
    const stay = { name: 'stay', cmdline: marker };
    let raw: Record<string, unknown> = {
      processes: [stay, { name: 'leave', comm: '^no-such-comm$' }],
      process_discovery: { enabled: true, top: 3 },
      process_settings: { interval: '200ms' },
    };
    const ex = await startExporter(raw, { loadConfig: () => validate({ ...raw, server: { listen: '127.0.0.1:0' } }, '<test reload>') });
    exporters.push(ex);
    const before = await waitFor('the first groups', async () => {
      const s = await ex.scrape();
      return s.get('stackwatch_process_group_processes', { group: 'stay' }) === 1 && s.get('stackwatch_process_group_processes', { group: 'other' }) !== undefined ? s : undefined;
    });
    const cpu = (m: Metrics) => m.get('stackwatch_process_cpu_seconds_total', { group: 'stay', mode: 'user' })! + m.get('stackwatch_process_cpu_seconds_total', { group: 'stay', mode: 'system' })!;

    raw = { processes: [stay], process_settings: { interval: '200ms' } };
    expect(await ex.app.reload()).toBeUndefined();
    await sleep(800);
    const m = await ex.scrape();
    expect(m.all('stackwatch_process_group_processes').map((x) => x.labels.group)).toEqual(['stay']);
    expect(m.all('stackwatch_process_cpu_seconds_total').map((x) => x.labels.group)).toEqual(['stay', 'stay']);
    expect(m.all('stackwatch_target_up', { target: 'leave' })).toEqual([]);
    expect(m.get('stackwatch_process_group_processes', { group: 'stay' })).toBe(1);
    // The idle worker: its counter carries on from where it was, with no second lump of its past.
    expect(cpu(before)).toBeGreaterThan(0.25);
    expect(cpu(m)).toBeGreaterThanOrEqual(cpu(before));
    expect(cpu(m) - cpu(before)).toBeLessThan(0.05);
    expect(m.get('stackwatch_process_restarts_total', { group: 'stay' })).toBe(0);
    expect(m.get('stackwatch_target_outages_total', { kind: 'process', target: 'stay' })).toBe(0);
  });

  it('a reload that changes the groups closes the /proc files the old reader held', async () => {
    const registry = new Registry();
    const ctx = {
      registry, tracker: new AvailabilityTracker(registry, systemClock), clock: systemClock, log: silentLogger(),
      stats: new CollectorStats(registry, systemClock),
    };
    const ownFds = (): number => readdirSync('/proc/self/fd').length;
    const c = new ProcessCollector(ctx);
    const config = (n: number): Config => validate({ processes: [{ name: `g${n}`, comm: '.' }], process_settings: { interval: '200ms' } }, '<test>');
    try {
      await c.apply(config(0));
      const counted = async (group: string): Promise<boolean> => (Metrics.parse(await registry.metrics()).get('stackwatch_process_group_processes', { group }) ?? 0) > 0;
      await waitFor('the first cycle', () => counted('g0'), 10_000, 50);
      const before = ownFds();
      for (let i = 1; i <= 5; i++) {
        await c.apply(config(i));
        await waitFor(`the cycle after reload ${i}`, () => counted(`g${i}`), 10_000, 50);
      }
      // Every process on the host matches '.', so each reader held a file per process: five
      // leaked readers would leave five times the host's processes open.
      const onHost = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
      expect(ownFds() - before).toBeLessThan(Math.max(20, onHost / 2));
    } finally {
      await c.stop();
    }
  });

  it('matches a young process again after it execs a program with the same comm (sh -> sh)', async () => {
    const id = uniq();
    // The outer sh's own cmdline holds the text M$((1+1))ARKER; only the exec'd sh has M2ARKER.
    const p = procs.start('sh', ['-c', `sleep 0.6; exec sh -c "sleep 1000; : M$((1+1))ARKER-${id}"`], { stdio: 'ignore' });
    const ex = await startExporter({ processes: [{ name: 'execd', cmdline: `M2ARKER-${id}` }], process_settings: { interval: '200ms' } });
    exporters.push(ex);
    await waitFor('the exec\'d shell matched', async () => (await ex.scrape()).get('stackwatch_process_group_processes', { group: 'execd' }) === 1, 5000);
    const m = await ex.scrape();
    expect(m.get('stackwatch_process_oldest_start_time_seconds', { group: 'execd' })).toBeGreaterThan(0);
    expect(m.get('stackwatch_target_up', { kind: 'process', target: 'execd' })).toBe(1);
    expect(p.pid).toBeGreaterThan(0);
  });
});
