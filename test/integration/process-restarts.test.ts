import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { ProcessSet } from '../harness/processes';
import { sleep, waitFor } from '../harness/wait';

/**
 * Restarts and recovery of a declared process group, with real processes and the real clock.
 * stackwatch polls every 500 ms here.
 */

const INTERVAL = 0.5;
const rand = () => String(1000 + Math.floor(Math.random() * 8999));

// The two cases wait on the clock and share nothing (each its own exporter, group and command
// line), so they run side by side. Made here, not in beforeAll: jest starts concurrent tests
// before beforeAll hooks run.
describe('process restarts', () => {
  const procs = new ProcessSet();
  const exporters: RunningExporter[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'stackwatch-restarts-'));
  afterAll(async () => {
    for (const e of exporters) await e.stop();
    await procs.killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it.concurrent('kill, then start again 5 s later: restarts +1, one outage, recovery ~5 s within one interval', async () => {
    const arg = `1000.${rand()}`;
    const target = { kind: 'process', target: 'svc' };
    const start = () => procs.start('sleep', [arg], { stdio: 'ignore' });
    const p = start();
    const ex = await startExporter({ processes: [{ name: 'svc', cmdline: `^sleep ${arg.replace('.', '\\.')}$` }], process_settings: { interval: `${INTERVAL * 1000}ms` } });
    exporters.push(ex);
    await waitFor('the group up', async () => (await ex.scrape()).get('stackwatch_target_up', target) === 1);
    await sleep(1000);
    let m = await ex.scrape();
    expect(m.get('stackwatch_process_restarts_total', { group: 'svc' })).toBe(0);
    expect(m.get('stackwatch_target_outages_total', target)).toBe(0);

    const killedAt = Date.now();
    await procs.kill(p, 'SIGKILL');
    await waitFor('the group down', async () => (await ex.scrape()).get('stackwatch_target_up', target) === 0, 3000, 50);
    m = await ex.scrape();
    expect(m.get('stackwatch_process_group_processes', { group: 'svc' })).toBe(0);
    await sleep(killedAt + 5000 - Date.now());
    start();
    await waitFor('the group up again', async () => (await ex.scrape()).get('stackwatch_target_up', target) === 1, 3000, 50);
    await sleep(1000);
    m = await ex.scrape();
    expect(m.get('stackwatch_process_restarts_total', { group: 'svc' })).toBe(1);
    expect(m.get('stackwatch_target_outages_total', target)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_count', target)).toBe(1);
    // From the last sighting of the old process (up to one interval before the kill) to the
    // start of the new one (5 s after the kill, plus the fork): 5 s, within one interval
    // (+0.1 s for timer and fork jitter on a loaded machine).
    const recovery = m.get('stackwatch_target_recovery_seconds_sum', target)!;
    expect(recovery).toBeGreaterThanOrEqual(5 - 0.05);
    expect(recovery).toBeLessThanOrEqual(5 + INTERVAL + 0.1);
    expect(m.get('stackwatch_process_group_processes', { group: 'svc' })).toBe(1);
  });

  it.concurrent('counts a crash loop every ~2.3 s exactly', async () => {
    const arg = `2.3${rand()}`;
    const target = { kind: 'process', target: 'loop' };
    const ex = await startExporter({ processes: [{ name: 'loop', cmdline: `^sleep ${arg.replace('.', '\\.')}$` }], process_settings: { interval: `${INTERVAL * 1000}ms` } });
    exporters.push(ex);
    await waitFor('the group down (nothing runs yet)', async () => (await ex.scrape()).get('stackwatch_target_up', target) === 0);
    // A supervisor that restarts its child as soon as it dies, logging each child's pid.
    const pids = path.join(dir, 'pids');
    const stop = path.join(dir, 'stop');
    writeFileSync(pids, '');
    const loop = procs.start('sh', ['-c', `while [ ! -e ${stop} ]; do sleep ${arg} & echo $! >> ${pids}; wait $!; done`]);
    await sleep(12_000);
    writeFileSync(stop, '');
    await new Promise<void>((resolve) => (loop.exitCode !== null ? resolve() : loop.once('exit', () => resolve())));
    expect(existsSync(stop)).toBe(true);
    await sleep(3 * INTERVAL * 1000);
    const started = readFileSync(pids, 'utf8').trim().split('\n').length;
    expect(started).toBeGreaterThanOrEqual(5);
    const m = await ex.scrape();
    // The first child is a start, every later one a restart.
    expect(m.get('stackwatch_process_restarts_total', { group: 'loop' })).toBe(started - 1);
    // Each restart is a short outage (the old one's last sighting to the new one's start);
    // plus the first start, which ended the outage the group began with.
    expect(m.get('stackwatch_target_recovery_seconds_count', target)).toBe(started);
    expect(m.get('stackwatch_target_recovery_seconds_bucket', { ...target, le: '1' })).toBeGreaterThanOrEqual(started - 1);
    expect(m.get('stackwatch_target_up', target)).toBe(0);
  });
});
