import type { ChildProcess } from 'node:child_process';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { startProcessExporter, type RunningProcessExporter } from '../harness/process-exporter';
import { ProcessSet } from '../harness/processes';
import { sleep, waitFor } from '../harness/wait';
import { directRead, near, uniq } from './process-helpers';

/**
 * A group's RSS, CPU seconds and open fds as stackwatch reports them agree within 5% with
 * Debian's prometheus-process-exporter reading the same processes at the same time, and with
 * /proc read directly. The processes are real: node workers that hold memory and files and sit
 * idle, so the three readings see the same state; while both exporters watch, they burn CPU on
 * a signal. process-exporter counts CPU from its first scrape on (stackwatch also counts what a
 * group's processes used before it started), so CPU is compared as the increase over that
 * window; RSS and fds as values. Against /proc, stackwatch's CPU totals are compared too.
 */

const WORKER = `
const fs = require('fs');
const files = [];
for (let i = 0; i < Number(process.argv[1]); i++) files.push(fs.openSync('/dev/null', 'r'));
const mem = Buffer.alloc(Number(process.argv[2]) * 1024 * 1024, 1);
let x = 0;
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const burn = (ms) => { const end = cpuMs() + ms; while (cpuMs() < end) for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + i); };
burn(200);
globalThis.keep = [files, mem];
process.on('SIGUSR1', () => { burn(Number(process.argv[3])); process.stdout.write('burned\\n'); });
process.stdout.write('ready\\n');
setInterval(() => {}, 1 << 30);
`;

describe('process group figures agree with prometheus-process-exporter and /proc', () => {
  const procs = new ProcessSet();
  const marker = `sw-compare-${uniq()}`;
  const workers: ChildProcess[] = [];
  let ours: RunningExporter | undefined;
  let peer: RunningProcessExporter | undefined;

  afterAll(async () => {
    await ours?.stop();
    await peer?.stop();
    await procs.killAll();
  });

  it('RSS, CPU seconds by mode and open fds within 5%', async () => {
    const firstSpawn = Date.now() / 1000;
    for (const [fds, mb, burnMs] of [[20, 30, 400], [50, 60, 700], [5, 10, 200]] as const) {
      const w = procs.start(process.execPath, ['-e', WORKER, String(fds), String(mb), String(burnMs), marker]);
      await new Promise<void>((resolve, reject) => {
        w.stdout!.once('data', () => resolve());
        w.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      });
      workers.push(w);
    }
    peer = await startProcessExporter([{ name: 'workers', cmdline: [marker] }]);
    ours = await startExporter({ processes: [{ name: 'workers', cmdline: marker }], process_settings: { interval: '500ms' } });

    const seeAll = async () => {
      const m = await waitFor('stackwatch to see the 3 workers', async () => {
        const s = await ours!.scrape();
        return s.get('stackwatch_process_group_processes', { group: 'workers' }) === 3 ? s : undefined;
      }, 10_000);
      const p = await waitFor('process-exporter to see the 3 workers', async () => {
        const s = await peer!.scrape();
        return s.get('namedprocess_namegroup_num_procs', { groupname: 'workers' }) === 3 ? s : undefined;
      }, 10_000);
      return { m, p, d: directRead(workers.map((w) => w.pid!)) };
    };
    const before = await seeAll();
    await sleep(600); // one more of stackwatch's cycles, with the workers idle
    const b = await seeAll();
    // Burn CPU in all three while both watch; then they are idle again.
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      w.stdout!.once('data', () => resolve());
      w.kill('SIGUSR1');
    })));
    await sleep(1200); // at least two of stackwatch's cycles (500 ms)
    const { m, p, d } = await seeAll();
    expect(d.count).toBe(3);
    expect(before.d.count).toBe(3);

    const g = { group: 'workers' };
    const pg = { groupname: 'workers' };
    const cpuM = (x: typeof m, mode: string) => x.get('stackwatch_process_cpu_seconds_total', { ...g, mode });
    const cpuP = (x: typeof p, mode: string) => x.get('namedprocess_namegroup_cpu_seconds_total', { ...pg, mode });
    const inc = (a: number | undefined, z: number | undefined) => (a === undefined || z === undefined ? undefined : a - z);
    const rows = {
      rss: [m.get('stackwatch_process_resident_memory_bytes', g), p.get('namedprocess_namegroup_memory_bytes', { ...pg, memtype: 'resident' }), d.rss],
      fds: [m.get('stackwatch_process_open_fds', g), p.get('namedprocess_namegroup_open_filedesc', pg), d.fds],
      cpuUserIncrease: [inc(cpuM(m, 'user'), cpuM(b.m, 'user')), inc(cpuP(p, 'user'), cpuP(b.p, 'user')), d.cpuUser - b.d.cpuUser],
      cpuSystemIncrease: [inc(cpuM(m, 'system'), cpuM(b.m, 'system')), inc(cpuP(p, 'system'), cpuP(b.p, 'system')), d.cpuSystem - b.d.cpuSystem],
      cpuUserTotal: [cpuM(m, 'user'), undefined, d.cpuUser],
      cpuSystemTotal: [cpuM(m, 'system'), undefined, d.cpuSystem],
    };
    const disagreements: string[] = [];
    for (const [what, [mine, theirs, direct]] of Object.entries(rows)) {
      if (mine === undefined || (theirs === undefined && !what.endsWith('Total'))) {
        disagreements.push(`${what}: missing (stackwatch ${mine}, process-exporter ${theirs})`);
        continue;
      }
      // CPU is counted in 10 ms ticks: allow one tick per process on top of 5%.
      const abs = what.startsWith('cpu') ? 0.03 : 0;
      if (theirs !== undefined && !near(mine, theirs, 0.05, abs)) disagreements.push(`${what}: stackwatch ${mine} vs process-exporter ${theirs}`);
      if (!near(mine, direct!, 0.05, abs)) disagreements.push(`${what}: stackwatch ${mine} vs /proc ${direct}`);
    }
    expect(disagreements).toEqual([]);
    // The workers hold 100 MB and 75 files between them, and burned 1.3 CPU-seconds on the signal.
    expect(rows.rss[0]).toBeGreaterThan(100 * 1024 * 1024);
    expect(rows.fds[0]).toBeGreaterThanOrEqual(75);
    expect(rows.cpuUserIncrease[0]! + rows.cpuSystemIncrease[0]!).toBeGreaterThan(1.2);

    // Other figures of the group: threads, the fd limit, the oldest start.
    expect(m.get('stackwatch_process_threads', g)).toBe(p.get('namedprocess_namegroup_num_threads', pg));
    expect(m.get('stackwatch_process_max_fds', g)).toBeGreaterThan(0);
    const oldest = m.get('stackwatch_process_oldest_start_time_seconds', g)!;
    // The first worker started right after firstSpawn (stackwatch dates boot from /proc/uptime,
    // 10 ms; process-exporter from btime, whole seconds, so it may be up to ~1 s early).
    expect(oldest).toBeGreaterThanOrEqual(firstSpawn - 0.02);
    expect(oldest).toBeLessThan(firstSpawn + 0.5);
    expect(Math.abs(oldest - p.get('namedprocess_namegroup_oldest_start_time_seconds', pg)!)).toBeLessThan(2);
    expect(m.get('stackwatch_target_up', { kind: 'process', target: 'workers' })).toBe(1);
  });
});
