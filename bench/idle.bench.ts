/**
 * `npm run bench idle -- --before DIR [--minutes=N] [--copies=N] [--warm=S] [--profile]`: the idle daemon
 * (empty config, docker off) of this build against another build (DIR: a checkout with dist/ built
 * and node_modules, e.g. main's), COPIES of each running side by side for the same minutes, each
 * started as `npm start` starts it (test/harness/start-command.ts) with its own storage directory
 * and scraped every 15 s as Prometheus would. Reported per build: CPU in ms per second over the
 * window (utime+stime from /proc/PID/stat, all threads), RSS at its end, each copy and the mean,
 * and the 1-minute load average at the window's start and end; the CPU is also split by thread
 * (the main thread, V8's worker threads — GC marking and sweeping, JIT compiles — and the rest,
 * from /proc/PID/task/TID/schedstat). --warm=SECONDS (default 30) sets the warm-up: V8's memory
 * reducer makes one to three full GCs 1.5-4 minutes after start (about 0.6 s of CPU in one run), which a
 * window that early counts. Without --before, only this build
 * runs. With --profile one more copy of this build runs under --cpu-prof and its functions with the
 * most self time are listed. Prints its table; the figures are recorded by hand in
 * docs/benchmarks.md (the machine's load decides whether a run is worth keeping).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startedPort } from '../test/harness/built-daemon';
import { ProcessSet } from '../test/harness/processes';
import { startCommand } from '../test/harness/start-command';
import { sleep, waitFor } from '../test/harness/wait';

const ROOT = path.join(__dirname, '..');
const args = process.argv.slice(2);
/** `--name=value` (as `npm run bench` passes options on) or `--name value`. */
const opt = (name: string, def: string): string => {
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  if (eq !== undefined) return eq.slice(name.length + 3);
  const i = args.indexOf(`--${name}`);
  return i < 0 ? def : args[i + 1] ?? def;
};
const BEFORE = args.includes('--before') ? path.resolve(opt('before', '')) : undefined;
const MINUTES = Number(opt('minutes', args.includes('--quick') ? '2' : '5'));
const COPIES = Number(opt('copies', '2'));
const PROFILE = args.includes('--profile');
/** Seconds of warm-up before the window: V8's memory reducer runs its full GCs 1.5-4 min after start. */
const WARM_S = Number(opt('warm', '30'));

const CLK_TCK = 100;
const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
};
/** CPU in ms by thread kind: the main thread, V8's worker threads, the others (schedstat, ns). */
const threadCpuMs = (pid: number): { main: number; v8: number; other: number } => {
  const out = { main: 0, v8: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ms = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      if (tid === String(pid)) out.main += ms;
      else if (comm === 'V8Worker') out.v8 += ms;
      else out.other += ms;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
};
const rssMb = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

interface Copy { build: string; child: ChildProcess; pid: number; url: string; profileDir?: string; startedAt: number }

async function main(): Promise<void> {
  const procs = new ProcessSet();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-bench-idle-'));
  const copies: Copy[] = [];
  try {
    const builds: [string, string][] = [['this build', ROOT], ...(BEFORE !== undefined ? [['before', BEFORE] as [string, string]] : [])];
    const start = async (build: string, dir: string, n: number, profileDir?: string): Promise<void> => {
      const cmd = startCommand(dir);
      const name = `${build.replace(/\W/g, '')}-${n}`;
      const config = path.join(tmp, `${name}.yml`);
      writeFileSync(config, stringify({ docker: { enabled: false } }));
      const flags = profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
      const startedAt = performance.now();
      const child = procs.start(process.execPath, [...flags, ...cmd.nodeArgs, cmd.script, '--config', config, '--listen', '127.0.0.1:0',
        '--storage.path', path.join(tmp, `${name}-data`), '--web.enable-lifecycle'], { env: { ...process.env, ...cmd.env }, cwd: tmp });
      let log = '';
      child.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-20_000); });
      const port = await waitFor(`${name} to start`, () => startedPort(log), 60_000, 100);
      copies.push({ build: profileDir !== undefined ? 'this build under --cpu-prof' : build, child, pid: child.pid!, startedAt, url: `http://127.0.0.1:${port}`, ...(profileDir !== undefined ? { profileDir } : {}) });
    };
    // Interleaved: this, before, this, before, so neither build always starts first.
    for (let n = 0; n < COPIES; n++) for (const [build, dir] of builds) await start(build, dir, n);
    if (PROFILE) await start('this build', ROOT, 0, path.join(tmp, 'profile'));
    let running = true;
    const scraper = (async () => {
      while (running) {
        await Promise.all(copies.map((c) => fetch(`${c.url}/metrics`).then((r) => r.arrayBuffer()).catch(() => undefined)));
        for (let i = 0; i < 15 && running; i++) await sleep(1000);
      }
    })();
    await sleep(WARM_S * 1000);
    const load0 = os.loadavg()[0]!;
    const t0 = performance.now();
    const cpu0 = copies.map((c) => cpuMs(c.pid));
    const threads0 = copies.map((c) => threadCpuMs(c.pid));
    await sleep(MINUTES * 60_000);
    const secs = (performance.now() - t0) / 1000;
    const rows = copies.map((c, i) => {
      const t = threadCpuMs(c.pid);
      const was = threads0[i]!;
      return { build: c.build, cpu: (cpuMs(c.pid) - cpu0[i]!) / secs, rss: rssMb(c.pid),
        main: (t.main - was.main) / secs, v8: (t.v8 - was.v8) / secs, other: (t.other - was.other) / secs };
    });
    const load1 = os.loadavg()[0]!;
    running = false;
    await scraper;
    const out: string[] = [
      `Command: \`npm run bench idle -- --before DIR --minutes=${MINUTES} --warm=${WARM_S}${PROFILE ? ' --profile' : ''}\` (bench/idle.bench.ts). ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, 2 cores shared with other work.`,
      `${COPIES} copies of each build side by side, empty config (docker off), scraped every 15 s; ${WARM_S} s warm-up, then ${MINUTES} min measured. 1-min load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end.`,
      '',
      '| build | CPU per copy (ms/s) | mean CPU | main thread / V8 workers / other (mean, ms/s) | RSS per copy (MB) | mean RSS |',
      '|---|---|---|---|---|---|',
    ];
    for (const build of [...new Set(rows.map((r) => r.build))]) {
      const rs = rows.filter((r) => r.build === build);
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      const split = [mean(rs.map((r) => r.main)), mean(rs.map((r) => r.v8)), mean(rs.map((r) => r.other))].map((x) => x.toFixed(2)).join(' / ');
      out.push(`| ${build} | ${rs.map((r) => r.cpu.toFixed(2)).join(', ')} | ${mean(rs.map((r) => r.cpu)).toFixed(2)} ms/s | ${split} | ${rs.map((r) => r.rss.toFixed(1)).join(', ')} | ${mean(rs.map((r) => r.rss)).toFixed(1)} MB |`);
    }
    const prof = copies.find((c) => c.profileDir !== undefined);
    if (prof !== undefined) {
      await procs.kill(prof.child, 'SIGTERM', 10_000);
      out.push('', ...topFunctions(prof.profileDir!, t0 - prof.startedAt, secs * 1000));
    }
    console.log(out.join('\n'));
  } finally {
    await procs.killAll();
    rmSync(tmp, { recursive: true, force: true });
  }

}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/**
 * The functions with the most self time in the profile written to `dir`, over the measured window
 * only (`fromMs` after the process started, `ms` long): not the start-up's module loading.
 */
function topFunctions(dir: string, fromMs: number, ms: number): string[] {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) return ['(no profile written)'];
  const p = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  let at = 0;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    at += us;
    if (at < fromMs * 1000 || at > (fromMs + ms) * 1000) return;
    const n = byId.get(id)!;
    const name = n.callFrame.functionName;
    if (name === '(idle)') return;
    busy += us;
    const key = `${name || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '')}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
  });
  const secs = ms / 1000;
  return [
    `Profiled copy, over the measured window: main thread busy ${(busy / 1000 / secs).toFixed(3)} ms/s. Functions with the most self time:`,
    '',
    '| function | share | ms/s |',
    '|---|---|---|',
    ...[...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, us]) => `| ${k} | ${((100 * us) / busy).toFixed(1)}% | ${(us / 1000 / secs).toFixed(3)} |`),
  ];
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
