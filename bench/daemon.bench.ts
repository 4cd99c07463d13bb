/**
 * `npm run bench daemon [-- --quick] [--before DIR] [--warmup S] [--profile] [--heap]`: the whole daemon at the reference load,
 * started as `npm start` starts it (the node flags of package.json's start script, dist/main.js),
 * side by side with prometheus-process-exporter and prometheus-blackbox-exporter doing the same
 * parts. Writes the `## Whole daemon at the reference load` section of docs/benchmarks.md.
 *
 * The reference load, all on loopback:
 *  - processes topped up with `sleep`s to 612 on the host (other users' processes count too);
 *  - 50 busybox containers on a private dockerd (test/harness/dockerd.ts);
 *  - 100 JSON health targets (bench/http-targets.ts, its own process), probed every 5 s;
 *  - mosquitto (sys_interval 10 s) with a round trip every 10 s;
 *  - a Prometheus stand-in in this process scraping every exporter every 15 s, and driving
 *    blackbox_exporter's /probe for the 100 targets every 5 s as Prometheus would.
 *
 * Processes measured (each its own OS process, utime+stime from /proc/PID/stat):
 *  ref      stackwatch with all of the above;
 *  before   (with --before DIR) the same config on another build, e.g. the previous commit's;
 *  pe       process-exporter, every process grouped by comm (as stackwatch's discovery), scraped every 15 s;
 *  blackbox blackbox_exporter, 100 probes per 5 s;
 *  proc     stackwatch with process discovery alone at 1 s, and pe-1s: a process-exporter scraped every 1 s;
 *  http     stackwatch with the 100 HTTP targets alone (CPU per probe against blackbox's);
 *  idle     stackwatch with an empty config; bare: a bare node:http server (idle, later the floor
 *           for /metrics: it sends the bytes of one stackwatch scrape).
 * All run throughout; after a warm-up (300 s, --quick 15 s, --warmup S), each of 3 windows (60 s,
 * --quick 20 s) measures all of them over the same
 * seconds, so load from other users of the machine hits every one alike; the table gives the
 * median of the windows and the 1-min load average at each window's start and end.
 * Then 200 back-to-back /metrics scrapes, alternating stackwatch and the bare floor: p50/p99 and
 * the peak RSS of stackwatch during them.
 * `--profile` adds a copy of ref under --cpu-prof (where its CPU went), `--heap` one under the
 * sampling heap profiler (who allocated what the garbage collector then had to free).
 * Every child is stopped at the end, also on errors, signals and the time bound.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { Dockerd } from '../test/harness/dockerd';
import { Mosquitto } from '../test/harness/mosquitto';
import { fixedPort } from '../test/harness/ports';
import { ProcessSet } from '../test/harness/processes';
import { startCommand } from '../test/harness/start-command';
import { BLACKBOX, blackboxJsonArgs } from './blackbox';
import { heapPreloadFlags, heapRanking, waitForHeapProfiles } from './heap-profile';
import { every } from './http-common';

const ROOT = path.join(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const SECTION = '## Whole daemon at the reference load';
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const beforeIdx = args.indexOf('--before');
const BEFORE = beforeIdx >= 0 ? path.resolve(args[beforeIdx + 1] ?? '') : undefined;
/** Runs a copy of the reference daemon under --cpu-prof beside the measured one and writes where its CPU went. */
const PROFILE = args.includes('--profile');
/**
 * Runs a copy of the reference daemon under V8's sampling heap profiler beside the measured one,
 * counting every allocation of the windows (also those the next collection frees: what the
 * garbage collector's share is made of), and writes who allocated it.
 */
const HEAP = args.includes('--heap');
const PROCESSES = 612;
const CONTAINERS = 50;
const TARGETS = 100;
const WINDOWS = 3;
const WINDOW_S = QUICK ? 20 : 60;
/**
 * Seconds every process runs before the windows (`--warmup S` changes it). Five minutes: a Node
 * process's first minutes are not its steady state. V8's memory reducer makes full collections
 * of its own about 100 s and again ~220 s after start when little is allocated (1-2 ms/s more of
 * an idle daemon from ~90 to ~250 s), and the JIT is still compiling; windows from 45 s measured
 * those, a one-off of about 0.6 s of CPU in a daemon that then runs for days. The peers get the
 * same warm-up.
 */
const warmupIdx = args.indexOf('--warmup');
const WARMUP_S = warmupIdx >= 0 ? Number(args[warmupIdx + 1]) : QUICK ? 15 : 300;
const SCRAPES = 200;
const DEADLINE_MS = (QUICK ? 15 : 25) * 60_000;

// ---------------------------------------------------------------- children and cleanup

const procs = new ProcessSet();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-bench-daemon-'));
let dockerd: Dockerd | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await procs.killAll();
    await dockerd?.stop();
    rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

async function fail(message: string): Promise<never> {
  process.stderr.write(`\nbench daemon: FAILED: ${message}\n`);
  await cleanup();
  process.exit(1);
}

/** Process groups of every child (each starts its own): the last resort when this process exits. */
const pgids = new Set<number>();
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}
process.on('exit', () => { for (const g of pgids) killGroup(g); });
process.on('SIGINT', () => void fail('interrupted (SIGINT)'));
process.on('SIGTERM', () => void fail('terminated (SIGTERM)'));
setTimeout(() => void fail(`took longer than ${DEADLINE_MS / 60_000} min`), DEADLINE_MS).unref();

// ---------------------------------------------------------------- helpers

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime+stime of a process (all its threads), in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const load1 = (): number => os.loadavg()[0]!;
const countProcesses = (): number => readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}
const median = (xs: readonly number[]): number => quantile(xs, 0.5);
const f1 = (v: number): string => v.toFixed(1);
const f2 = (v: number): string => v.toFixed(2);
const f3 = (v: number): string => v.toFixed(3);

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function get(url: string): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`GET ${url}: no answer within 20 s`)));
    req.on('error', reject);
  });
}

async function waitUp(url: string, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await get(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) await fail(`${what} not answering at ${url} within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** Sum of a metric's samples whose line contains every `has` string. */
function sumOf(text: string, name: string, ...has: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!has.every((h) => line.includes(h))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

interface Child { name: string; proc: ChildProcess; url?: string }

function startChild(name: string, cmd: string, argv: string[], opts: { cwd?: string; stdin?: 'pipe'; env?: Record<string, string> } = {}): Child {
  const proc = procs.start(cmd, argv, { cwd: opts.cwd ?? ROOT, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], ...(opts.env !== undefined ? { env: { ...process.env, ...opts.env } } : {}) });
  pgids.add(proc.pid!);
  // Started while the cleanup already runs (a failure elsewhere): it goes too.
  if (cleaning !== undefined) killGroup(proc.pid!);
  let tail = '';
  proc.stderr?.on('data', (d: Buffer) => { tail = (tail + d.toString()).slice(-3000); });
  proc.once('exit', (code, signal) => {
    pgids.delete(proc.pid!);
    if (cleaning === undefined) void fail(`${name} exited (code ${code}, signal ${signal}):\n${tail}`);
  });
  return { name, proc };
}

async function startStackwatch(name: string, config: Record<string, unknown>, dir = ROOT, nodeFlags: string[] = [], env: Record<string, string> = {}): Promise<Child> {
  const port = await fixedPort();
  const file = path.join(tmp, `${name}.yml`);
  writeFileSync(file, stringify({ server: { listen: `127.0.0.1:${port}` }, ...config }));
  const data = path.join(tmp, `${name}-data`);
  const start = startCommand(dir);
  const c = startChild(name, process.execPath, [...nodeFlags, ...start.nodeArgs, start.script, '--config', file, '--storage.path', data, '--log-level', 'warn'], { cwd: tmp, env: { ...start.env, ...env } });
  c.url = `http://127.0.0.1:${port}`;
  await waitUp(`${c.url}/-/ready`, name);
  return c;
}

// ---------------------------------------------------------------- the load

function build(): void {
  if (process.env.BENCH_NO_BUILD === '1') {
    if (!existsSync(path.join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run `npm run build`');
    return;
  }
  console.log('npm run build ...');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

async function startTargets(): Promise<string> {
  const c = startChild('targets', process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'http-targets.ts')], { stdin: 'pipe' });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    c.proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    setTimeout(() => reject(new Error('targets did not start within 30 s')), 30_000).unref();
  });
  return `http://127.0.0.1:${port}`;
}

/** Tops the host up to PROCESSES processes with sleeps in one process group; returns how many. */
function startSleepers(): number {
  const n = Math.max(0, PROCESSES - countProcesses());
  if (n > 0) startChild('sleepers', '/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do sleep 100000 & i=$((i+1)); done; wait`]);
  return n;
}

async function startBlackbox(): Promise<Child> {
  if (!existsSync(BLACKBOX)) throw new Error(`${BLACKBOX} is missing: apt-get install -y prometheus-blackbox-exporter`);
  const port = await fixedPort();
  const c = startChild('blackbox', BLACKBOX, blackboxJsonArgs(tmp, port));
  c.url = `http://127.0.0.1:${port}`;
  await waitUp(`${c.url}/metrics`, 'blackbox_exporter');
  return c;
}

async function startProcessExporter(name: string): Promise<Child> {
  const bin = '/usr/bin/prometheus-process-exporter';
  if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install -y prometheus-process-exporter`);
  const port = await fixedPort();
  const file = path.join(tmp, `${name}.yml`);
  writeFileSync(file, stringify({ process_names: [{ name: '{{.Comm}}', cmdline: ['.+'] }] }));
  // As stackwatch reads: no children folded in, no per-thread metrics, no smaps.
  const c = startChild(name, bin, ['-config.path', file, '-web.listen-address', `127.0.0.1:${port}`, '-children=false', '-threads=false', '-gather-smaps=false']);
  c.url = `http://127.0.0.1:${port}`;
  await waitUp(`${c.url}/metrics`, name);
  return c;
}

// ---------------------------------------------------------------- CPU profile

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }

/**
 * Where the reference daemon's CPU went (--profile): samples between `skipSeconds` and
 * `untilSeconds` after its start (the measured windows: startup and the scrape burst left out),
 * by the nearest stackwatch file on the stack (what the time was spent for), and the
 * functions with the most self time. Native fs calls count for the file that made them.
 */
function summariseProfile(file: string, skipSeconds: number, untilSeconds: number): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const skip = Math.max(0, skipSeconds) * 1e6;
  const until = untilSeconds * 1e6;
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (t - p.startTime < skip || t - p.startTime > until) continue;
    const n = byId.get(p.samples[i]!)!;
    if (n.callFrame.functionName === '(idle)') continue;
    selfUs.set(n.id, (selfUs.get(n.id) ?? 0) + p.timeDeltas[i]!);
    busy += p.timeDeltas[i]!;
  }
  const seconds = (Math.min(until, p.endTime - p.startTime) - skip) / 1e6;
  const short = (url: string): string => {
    const dist = url.indexOf('/dist/');
    if (dist >= 0) return url.slice(dist + 6);
    const nm = url.lastIndexOf('node_modules/');
    if (nm >= 0) return url.slice(nm + 13).split('/')[0]!;
    return url.startsWith('node:') ? url : url === '' ? '(native)' : path.basename(url);
  };
  const owner = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const u = byId.get(cur)!.callFrame.url;
      if (u.includes('/dist/')) return short(u);
    }
    const fn = byId.get(id)!.callFrame.functionName;
    return fn.startsWith('(') ? fn : 'node internals / libraries';
  };
  const byOwner = new Map<string, number>();
  const bySelf = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const o = owner(id);
    byOwner.set(o, (byOwner.get(o) ?? 0) + us);
    const f = byId.get(id)!.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${short(f.url)}${f.lineNumber >= 0 && f.url !== '' ? `:${f.lineNumber + 1}` : ''}`;
    bySelf.set(k, (bySelf.get(k) ?? 0) + us);
  }
  const pct = (us: number): string => `${((us / busy) * 100).toFixed(1)}%`;
  const top = (m: Map<string, number>, n: number): string[] => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `| ${k} | ${pct(us)} | ${f2(us / 1000 / seconds)} |`);
  return [
    '### Profile of the reference daemon',
    '',
    `\`npm run bench daemon -- --profile\`: a copy of the reference daemon (same config, scraped alike) under \`--cpu-prof\`, beside the measured one, during the ${f1(seconds)} s of the windows,`,
    `busy ${f1(busy / 1000 / seconds)} ms/s on the main thread. By the nearest stackwatch file on the stack (native calls count for the file that made them):`,
    '',
    '| where | share | ms/s |',
    '|---|---|---|',
    ...top(byOwner, 12),
    '',
    'Functions with the most self time:',
    '',
    '| function | share | ms/s |',
    '|---|---|---|',
    ...top(bySelf, 15),
    '',
  ];
}

// ---------------------------------------------------------------- allocation profile

/**
 * Who allocated during the windows (--heap): the bytes per second by the nearest stackwatch file
 * on the stack (what the allocation was made for), and the functions that allocated most themselves.
 */
function summariseAllocations(file: string, seconds: number): string[] {
  const r = heapRanking(file, true);
  const kbs = (b: number): string => f1(b / 1024 / seconds);
  const pct = (b: number): string => `${((b / r.total) * 100).toFixed(1)}%`;
  const top = (m: Map<string, number>, n: number): string[] => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, b]) => `| ${k} | ${pct(b)} | ${kbs(b)} |`);
  return [
    '### Allocations of the reference daemon',
    '',
    `\`npm run bench daemon -- --heap\`: a copy of the reference daemon (same config, scraped alike) under V8's sampling heap profiler`,
    `(objects collected since included), beside the measured one, during the ${f1(seconds)} s of the windows: ${kbs(r.total)} KiB/s allocated.`,
    'By the nearest stackwatch file on the stack (what the allocation was made for; else the module):',
    '',
    '| where | share | KiB/s |',
    '|---|---|---|',
    ...top(r.byFile, 12),
    '',
    'Functions that allocated most themselves (a builtin with its caller):',
    '',
    '| function | share | KiB/s |',
    '|---|---|---|',
    ...top(r.byFunction, 15),
    '',
  ];
}

// ---------------------------------------------------------------- main

interface WindowFigures {
  load: [number, number];
  seconds: number;
  cpu: Record<string, number>; // ms/s
  rss: Record<string, number>; // MB at the end
  probes: { http: number; blackbox: number };
}

async function main(): Promise<void> {
  build();
  const started = Date.now();
  console.log(`load average at start: ${os.loadavg().map(f2).join(' ')}`);

  console.log(`private dockerd and ${CONTAINERS} containers ...`);
  dockerd = await Dockerd.start();
  for (let i = 0; i < CONTAINERS; i += 5) {
    await Promise.all(Array.from({ length: Math.min(5, CONTAINERS - i) }, (_, k) =>
      dockerd!.runContainer(`ref-${String(i + k).padStart(2, '0')}`, ['--memory', '64m'], ['sleep', '100000'])));
  }
  const broker = await Mosquitto.start(procs, { quiet: true, sysInterval: 10 });
  const targetsUrl = await startTargets();
  const sleepers = startSleepers();
  for (let i = 0; i < 120 && countProcesses() < PROCESSES; i++) await sleep(500);
  const processCount = countProcesses();
  console.log(`${processCount} processes on the host (${sleepers} sleeps added)`);

  const httpTargets = Array.from({ length: TARGETS }, (_, i) => ({
    name: `t${String(i).padStart(3, '0')}`, url: `${targetsUrl}/t/${i}`, interval: '5s', timeout: '3s',
    json: { status: 'status', fields: { pending_requests: 'mqtt.pending_requests' } },
  }));
  const refConfig = {
    http: httpTargets,
    mqtt: [{ name: 'main', url: `mqtt://127.0.0.1:${broker.port}`, sys_interval: '10s', roundtrip: { topic: 'stackwatch/bench', interval: '10s' } }],
    docker: { enabled: true, host: dockerd.host, resources_interval: '5s' },
    process_discovery: { enabled: true },
    processes: [{ name: 'broker', comm: '^mosquitto$' }, { name: 'dockerd', comm: '^dockerd$' }],
  };
  console.log('exporters ...');
  const profDir = path.join(tmp, 'profile');
  const ref = await startStackwatch('ref', refConfig, ROOT);
  // The profiled copy: same config, scraped alike, outside the measured figures (the profiler's
  // own thread would add to them).
  const refProf = PROFILE ? await startStackwatch('ref-prof', refConfig, ROOT, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]) : undefined;
  const profStarted = Date.now();
  const heapFile = path.join(tmp, 'ref.heapprofile');
  const refHeap = HEAP ? await startStackwatch('ref-heap', refConfig, ROOT, heapPreloadFlags(tmp), { HEAP_OUT: heapFile }) : undefined;
  const before = BEFORE === undefined ? undefined : await startStackwatch('before', refConfig, BEFORE);
  // Every process read every second, as process-exporter scraped every second reads them.
  const procOnly = await startStackwatch('proc', { process_discovery: { enabled: true }, process_settings: { interval: '1s', full_interval: '1s' }, docker: { enabled: false } });
  const httpOnly = await startStackwatch('http', { http: httpTargets, docker: { enabled: false } });
  const idle = await startStackwatch('idle', { docker: { enabled: false } });
  const pe = await startProcessExporter('pe');
  const pe1 = await startProcessExporter('pe-1s');
  const blackbox = await startBlackbox();

  // The bare floor: a node:http server sending a fixed body (one stackwatch scrape, set later).
  const barePort = await fixedPort();
  const bareFile = path.join(tmp, 'bare-body.txt');
  writeFileSync(bareFile, '');
  const bare = startChild('bare', process.execPath, ['-e', `
    const fs = require('fs'); let body = fs.readFileSync(${JSON.stringify(bareFile)});
    require('http').createServer((req, res) => {
      if (req.url === '/reload') body = fs.readFileSync(${JSON.stringify(bareFile)});
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length });
      res.end(body);
    }).listen(${barePort}, '127.0.0.1');`]);
  bare.url = `http://127.0.0.1:${barePort}`;
  await waitUp(`${bare.url}/`, 'bare node:http');

  // The Prometheus stand-in.
  let blackboxProbes = 0;
  const refScrapes: number[] = [];
  const drivers = [
    every(15_000, async () => {
      const r = await get(`${ref.url}/metrics`);
      refScrapes.push(r.ms);
      await Promise.all([refProf, refHeap, before, httpOnly, idle, pe].flatMap((c) => (c === undefined ? [] : [get(`${c.url}/metrics`)])));
    }, 'stand-in'),
    every(1000, () => Promise.all([get(`${procOnly.url}/metrics`), get(`${pe1.url}/metrics`)]), 'stand-in'),
    ...Array.from({ length: 10 }, (_, slot) => every(5000, async () => {
      // 10 slots of 10 targets, 0.5 s apart: 100 probes per 5 s, as Prometheus spreads its scrapes.
      await sleep(slot * 500);
      await Promise.all(httpTargets.slice(slot * 10, slot * 10 + 10).map(async (t) => {
        const r = await get(`${blackbox.url}/probe?module=http_json&target=${encodeURIComponent(t.url)}`);
        if (r.status === 200) blackboxProbes += 1;
      }));
    }, 'stand-in')),
  ];

  const measured: Child[] = [ref, ...(before ? [before] : []), pe, blackbox, procOnly, pe1, httpOnly, idle, bare];
  console.log(`warm-up ${WARMUP_S} s ...`);
  await sleep(WARMUP_S * 1000);
  const windowsStarted = Date.now();
  refHeap?.proc.kill('SIGUSR2'); // the heap profiler starts

  const windows: WindowFigures[] = [];
  const httpChecks = async (): Promise<number> => sumOf((await get(`${httpOnly.url}/metrics`)).body, 'stackwatch_target_checks_total', 'kind="http"');
  for (let w = 0; w < WINDOWS; w++) {
    const l0 = load1();
    const cpu0 = new Map(measured.map((c) => [c.name, cpuMs(c.proc.pid!)]));
    const checks0 = await httpChecks();
    const bb0 = blackboxProbes;
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const cpu: Record<string, number> = {};
    const rss: Record<string, number> = {};
    for (const c of measured) {
      cpu[c.name] = (cpuMs(c.proc.pid!) - cpu0.get(c.name)!) / seconds;
      rss[c.name] = rssMb(c.proc.pid!);
    }
    const fig: WindowFigures = { load: [l0, load1()], seconds, cpu, rss, probes: { http: (await httpChecks()) - checks0, blackbox: blackboxProbes - bb0 } };
    windows.push(fig);
    console.log(`window ${w + 1}/${WINDOWS}: load ${f2(fig.load[0])} → ${f2(fig.load[1])}; CPU ms/s ${measured.map((c) => `${c.name} ${f1(cpu[c.name]!)}`).join(', ')}; RSS MB ${measured.map((c) => `${c.name} ${f1(rss[c.name]!)}`).join(', ')}; probes ${fig.probes.http} / ${fig.probes.blackbox}`);
  }
  const windowsEnded = Date.now();
  let allocs: string[] = [];
  if (refHeap !== undefined) {
    refHeap.proc.kill('SIGUSR2'); // the heap profiler stops and writes its profile
    await waitForHeapProfiles([heapFile]);
    allocs = summariseAllocations(heapFile, (windowsEnded - windowsStarted) / 1000);
  }
  for (const d of drivers) d.stop();

  // /metrics: back-to-back scrapes alternating stackwatch and the bare floor (same bytes).
  const sample = await get(`${ref.url}/metrics`);
  writeFileSync(bareFile, sample.body);
  await get(`${bare.url}/reload`);
  const samples = sample.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  const mb = (name: string, ...has: string[]): string => f1(sumOf(sample.body, name, ...has) / 1024 / 1024);
  const spaces = ['new', 'old', 'code', 'large_object'].map((sp) => `${sp} ${mb('nodejs_heap_space_size_used_bytes', `space="${sp}"`)}`).join(', ');
  const memorySplit = `heap used ${mb('nodejs_heap_size_used_bytes')} MB of ${mb('nodejs_heap_size_total_bytes')} MB (${spaces}), external ${mb('nodejs_external_memory_bytes')} MB, RSS ${f1(rssMb(ref.proc.pid!))} MB`;
  const bytes = Buffer.byteLength(sample.body);
  const times: Record<string, number[]> = { ref: [], bare: [], before: [] };
  let peak = rssMb(ref.proc.pid!);
  let peakBefore = before === undefined ? NaN : rssMb(before.proc.pid!);
  const loadScrape0 = load1();
  for (let i = 0; i < SCRAPES; i++) {
    times.ref!.push((await get(`${ref.url}/metrics`)).ms);
    times.bare!.push((await get(`${bare.url}/metrics`)).ms);
    if (before !== undefined) times.before!.push((await get(`${before.url}/metrics`)).ms);
    if (i % 5 === 0) {
      peak = Math.max(peak, rssMb(ref.proc.pid!));
      if (before !== undefined) peakBefore = Math.max(peakBefore, rssMb(before.proc.pid!));
    }
  }
  peak = Math.max(peak, rssMb(ref.proc.pid!));
  const loadScrape1 = load1();

  let profile: string[] = [];
  if (PROFILE) {
    // The profile is written when the daemon exits: stop it (SIGTERM) and read it.
    const prof = refProf!.proc;
    pgids.delete(prof.pid!);
    prof.removeAllListeners('exit'); // its exit is expected now
    const exited = new Promise<void>((r) => prof.once('exit', () => r()));
    prof.kill('SIGTERM');
    await exited;
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('the reference daemon wrote no CPU profile');
    profile = summariseProfile(path.join(profDir, file), (windowsStarted - profStarted) / 1000, (windowsEnded - profStarted) / 1000);
  }

  // ------------------------------------------------------------ the table
  const med = (name: string, k: 'cpu' | 'rss'): number => median(windows.map((w) => w[k][name]!));
  const ratioMed = (f: (w: WindowFigures) => number): number => median(windows.map(f));
  const peers = (w: WindowFigures): number => w.cpu.pe! + w.cpu.blackbox!;
  const steadyRatio = ratioMed((w) => w.cpu.ref! / peers(w));
  const procRatio = ratioMed((w) => w.cpu.proc! / w.cpu['pe-1s']!);
  const perProbe = (w: WindowFigures): number => (w.cpu.http! * w.seconds) / Math.max(1, w.probes.http);
  const bbPerProbe = (w: WindowFigures): number => (w.cpu.blackbox! * w.seconds) / Math.max(1, w.probes.blackbox);
  const probeRatio = ratioMed((w) => perProbe(w) / bbPerProbe(w));
  const p = (xs: number[], q: number): number => quantile(xs, q);
  const goal = (ok: boolean): string => (ok ? 'met' : '**not met**');
  const peersRss = med('pe', 'rss') + med('blackbox', 'rss');
  const col = (s: string): string => (before === undefined ? '' : ` ${s} |`);

  const rows = [
    `| steady CPU | ${f1(med('ref', 'cpu'))} ms/s |${col(`${f1(med('before', 'cpu'))} ms/s (${f2(ratioMed((w) => w.cpu.before! / peers(w)))}×)`)} process-exporter + blackbox ${f1(median(windows.map(peers)))} ms/s → **${f2(steadyRatio)}×** | ≤ 0.20× | ${goal(steadyRatio <= 0.2)} |`,
    `| RSS | ${f1(med('ref', 'rss'))} MB steady, peak ${f1(peak)} MB during ${SCRAPES} back-to-back scrapes |${col(`${f1(med('before', 'rss'))} MB, peak ${f1(peakBefore)} MB`)} peers ${f1(peersRss)} MB together; bare node ${f1(med('bare', 'rss'))} MB | ≤ 75 MB steady, peak ≤ 110 MB | ${goal(med('ref', 'rss') <= 75 && peak <= 110)} |`,
    `| \`/metrics\` p50 / p99 (${samples} samples, ${Math.round(bytes / 1024)} KB) | ${f1(p(times.ref!, 0.5))} / ${f1(p(times.ref!, 0.99))} ms |${col(`${f1(p(times.before!, 0.5))} / ${f1(p(times.before!, 0.99))} ms`)} bare node:http sending the same bytes ${f2(p(times.bare!, 0.5))} / ${f2(p(times.bare!, 0.99))} ms | ≤ 5 / 15 ms | ${goal(p(times.ref!, 0.5) <= 5 && p(times.ref!, 0.99) <= 15)} |`,
    `| process groups alone, ${processCount} procs, both at 1 s | ${f1(med('proc', 'cpu'))} ms/s |${col('')} process-exporter ${f1(med('pe-1s', 'cpu'))} ms/s → **${f2(procRatio)}×** | ≤ 0.05× | ${goal(procRatio <= 0.05)} |`,
    `| idle daemon, empty config | ${f2(med('idle', 'cpu'))} ms/s, ${f1(med('idle', 'rss'))} MB |${col('')} bare node ${f2(med('bare', 'cpu'))} ms/s, ${f1(med('bare', 'rss'))} MB | ≤ 0.5 ms/s, ≤ 50 MB | ${goal(med('idle', 'cpu') <= 0.5 && med('idle', 'rss') <= 50)} |`,
    `| HTTP probe CPU | ${f3(median(windows.map(perProbe)))} ms/probe → **${f2(probeRatio)}×** blackbox |${col('')} blackbox ${f3(median(windows.map(bbPerProbe)))} ms/probe | ≤ 0.25× | ${goal(probeRatio <= 0.25)} |`,
  ];
  const lines = [
    SECTION,
    '',
    `Command: \`npm run bench daemon${args.length > 0 ? ` -- ${args.map((a, i) => (beforeIdx >= 0 && i === beforeIdx + 1 ? 'DIR' : a)).join(' ')}` : ''}\` (bench/daemon.bench.ts)${before ? '; "before" is the build in DIR, started as its package.json\'s start script says' : ''}. ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version},`,
    `${os.cpus().length} cores shared with other work; ${processCount} processes on the host, ${CONTAINERS} containers on a private dockerd,`,
    `${TARGETS} loopback JSON health targets at 5 s, mosquitto with a round trip every 10 s, a scraper every 15 s. stackwatch started as`,
    `\`npm start\` does (\`${readFileSync(path.join(ROOT, 'package.json'), 'utf8').match(/"start": "([^"]*)"/)?.[1] ?? '?'}\`). ${WINDOWS} windows of ${WINDOW_S} s after ${WARMUP_S} s of warm-up; every process measured`,
    'in the same windows (CPU = utime+stime from /proc/PID/stat, RSS at the window\'s end); figures are medians of the windows.',
    '',
    `| figure | stackwatch |${col(before ? 'before (--before build)' : '')} peers / floor | goal | |`,
    `|---|---|${col('---')}---|---|---|`,
    ...rows,
    '',
    '1-min load average at each window\'s start → end: ' + windows.map((w, i) => `window ${i + 1}: ${f2(w.load[0])} → ${f2(w.load[1])}`).join('; ') +
      `; during the scrapes: ${f2(loadScrape0)} → ${f2(loadScrape1)}.`,
    '',
    'Per window (CPU ms/s; RSS MB):',
    '',
    `| window | ${measured.map((c) => c.name).join(' | ')} | probes stackwatch / blackbox |`,
    `|---|${measured.map(() => '---').join('|')}|---|`,
    ...windows.map((w, i) => `| ${i + 1} | ${measured.map((c) => `${f1(w.cpu[c.name]!)}; ${f1(w.rss[c.name]!)}`).join(' | ')} | ${w.probes.http} / ${w.probes.blackbox} |`),
    '',
    `Where stackwatch's RSS is, from its own metrics after the windows: ${memorySplit}.`,
    '',
    `stackwatch's own 15 s scrapes during the windows: p50 ${f1(median(refScrapes))} ms, max ${f1(Math.max(...refScrapes))} ms (${refScrapes.length} scrapes).`,
    '',
  ];
  const section = lines.join('\n');
  console.log(`\n${section}\n${profile.join('\n')}\n${allocs.join('\n')}`);
  const keep = readFileSync(DOC, 'utf8');
  // The measured table is replaced and the notes under it (### headings) kept; a --profile or
  // --heap run replaces its own subsection too.
  const block = (heading: string): RegExp => new RegExp(`^${heading}\\n[\\s\\S]*?(?=^### |^## |(?![\\s\\S]))`, 'm');
  const table = block(SECTION);
  let next = table.test(keep) ? keep.replace(table, `${section}\n`) : `${keep.trimEnd()}\n\n${section}\n`;
  for (const sub of [profile, allocs]) {
    if (sub.length === 0) continue;
    const text = `${sub.join('\n')}\n`;
    const prof = block(sub[0]!);
    next = prof.test(next) ? next.replace(prof, text) : next.replace(table, (m) => `${m}${text}`);
  }
  if (!QUICK || process.env.BENCH_WRITE === '1') writeFileSync(DOC, next);
  else console.log('(--quick: docs/benchmarks.md not written; BENCH_WRITE=1 writes it)');
  console.log(`took ${f1((Date.now() - started) / 60_000)} min`);
}

main().then(async () => {
  await cleanup();
  process.exit(0);
}, async (err: unknown) => {
  await fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
});
