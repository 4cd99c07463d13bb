/**
 * `process_settings.full_interval` as a user meets it: the built daemon reads a procfs-shaped tree
 * (`proc_path`) that the test changes as a host would. A declared group's CPU follows every
 * snapshot (`interval`) and its restart is counted at once; a discovered group's CPU moves only
 * at full snapshots, yet a process that starts or ends shows in its count at once.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBuiltDaemon, type BuiltDaemon } from '../harness/built-daemon';
import { ProcessSet } from '../harness/processes';
import { waitFor } from '../harness/wait';

jest.setTimeout(60_000);

const procs = new ProcessSet();
const proc = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-fake-proc-'));
afterAll(async () => {
  await procs.killAll();
  rmSync(proc, { recursive: true, force: true });
});

/** Seconds since the fake host booted; its processes started long before the test. */
const UPTIME = 100_000;
const started = Date.now();
const uptime = (): number => UPTIME + (Date.now() - started) / 1000;

function setProc(pid: number, comm: string, utimeTicks: number, startSecondsAfterBoot = 10): void {
  const dir = path.join(proc, String(pid));
  mkdirSync(path.join(dir, 'fd'), { recursive: true });
  writeFileSync(path.join(dir, 'limits'), 'Max open files            1024                 1024                 files\n');
  const f: number[] = Array.from({ length: 53 }, () => 0);
  Object.assign(f, { 4: 1, 14: utimeTicks, 15: 0, 20: 1, 22: Math.round(startSecondsAfterBoot * 100), 23: 4096 * 1000, 24: 1000 });
  writeFileSync(path.join(dir, 'stat'), `${pid} (${comm}) S ${f.slice(4, 18).join(' ')} 20 0 ${f.slice(20).join(' ')}\n`);
}

const endProc = (pid: number): void => rmSync(path.join(proc, String(pid)), { recursive: true, force: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('declared groups follow every snapshot, discovered ones the full snapshots; starts and ends show at once', async () => {
  writeFileSync(path.join(proc, 'stat'), 'cpu  0 0 0 0 0 0 0 0 0 0\nbtime 1\n');
  mkdirSync(path.join(proc, 'self'), { recursive: true });
  writeFileSync(path.join(proc, 'self', 'limits'), 'Max open files            65536                65536                files\n');
  writeFileSync(path.join(proc, 'uptime'), `${uptime().toFixed(2)} 0.00\n`);
  let ticks = 100;
  setProc(100, 'backend', ticks);
  setProc(200, 'cron', ticks);

  const d: BuiltDaemon = await startBuiltDaemon(procs, {
    docker: { enabled: false },
    processes: [{ name: 'backend', comm: '^backend$' }],
    process_discovery: { enabled: true, top: 5 },
    process_settings: { interval: '500ms', full_interval: '3s', proc_path: proc },
  });
  try {
    const cpu = async (): Promise<{ backend: number; cron: number }> => {
      const m = await d.scrape();
      return {
        backend: m.get('stackwatch_process_cpu_seconds_total', { group: 'backend', mode: 'user' }) ?? NaN,
        cron: m.get('stackwatch_process_cpu_seconds_total', { group: 'cron', mode: 'user' }) ?? NaN,
      };
    };
    await waitFor('both groups', async () => {
      const c = await cpu();
      return Number.isFinite(c.backend) && Number.isFinite(c.cron);
    }, 15_000, 100);

    // Both processes use a CPU-second per second for 7.5 s; scraped every 250 ms.
    const seen = { backend: new Set<number>(), cron: new Set<number>() };
    for (let i = 0; i < 30; i++) {
      ticks += 25;
      setProc(100, 'backend', ticks);
      setProc(200, 'cron', ticks);
      writeFileSync(path.join(proc, 'uptime'), `${uptime().toFixed(2)} 0.00\n`);
      await sleep(250);
      const c = await cpu();
      seen.backend.add(c.backend);
      seen.cron.add(c.cron);
    }
    // 15 snapshots, 2 or 3 of them full (a loaded machine may run fewer of each).
    expect({ backend: seen.backend.size >= 7, cron: seen.cron.size <= 4 && seen.cron.size >= 2 })
      .toEqual({ backend: true, cron: true });
    // Neither lost CPU: the discovered group catches up at the next full snapshot.
    await waitFor('both groups at the same CPU', async () => {
      const c = await cpu();
      return c.backend === ticks / 100 && c.cron === ticks / 100;
    }, 10_000, 100);

    // A process of a discovered name starts and ends; the backend restarts (new pid): each shows
    // within a snapshot or two, not at the next full one (3 s).
    const count = async (group: string): Promise<number | undefined> => (await d.scrape()).get('stackwatch_process_group_processes', { group });
    const within = async (what: string, check: () => Promise<boolean>): Promise<number> => {
      const t0 = Date.now();
      await waitFor(what, check, 10_000, 50);
      return Date.now() - t0;
    };
    const fast: Record<string, number> = {};
    setProc(201, 'cron', 0, uptime() - 1);
    fast.start = await within('the second cron process counted', async () => (await count('cron')) === 2);
    await sleep(3500); // past the next full snapshot: the end must not wait for one
    endProc(200);
    fast.end = await within('the first cron process gone', async () => (await count('cron')) === 1);
    endProc(100);
    setProc(101, 'backend', 0, uptime() - 0.2);
    fast.restart = await within('the backend restart counted', async () =>
      (await d.scrape()).get('stackwatch_process_restarts_total', { group: 'backend' }) === 1);
    // One snapshot is 500 ms; allow a second one and a loaded machine's delay, well under 3 s.
    expect(Object.values(fast).every((ms) => ms < 2000)).toEqual(true);
  } finally {
    await d.stop();
  }
});
