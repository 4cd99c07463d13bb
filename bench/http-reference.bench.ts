/**
 * `npm run bench http-reference [-- --before DIR] [-- --quick] [-- --profile] [-- --heap] [-- --windows N]`: HTTP probing at
 * the reference load of `npm run bench daemon` (100 loopback JSON targets, each every 5 s), the
 * HTTP-only daemon (that bench's `http` variant) against blackbox_exporter doing the same probes,
 * in the same windows. Writes the `## HTTP probing at the reference load` section of
 * docs/benchmarks.md.
 *
 * Processes, all running at once, each its own OS process (CPU = utime+stime from /proc/PID/stat):
 *  - targets  bench/http-targets.ts, counted against no one;
 *  - after    this build's daemon as `npm start` runs it, the 100 targets at `interval: 5s`,
 *             `json:` status + 1 field, scraped every 15 s (a Prometheus stand-in in this process);
 *  - before   with --before DIR: the same on another build (DIR holds its dist/ and node_modules/),
 *             e.g. main's, for an A/B in the same seconds;
 *  - floor    a bare Node prober: the same requests on the same schedule with a keep-alive
 *             http.Agent per target, the JSON body parsed, nothing else (Node's HTTP client alone);
 *  - idle     this build's daemon with an empty config (scraped as the others): what the daemon
 *             costs whatever it probes;
 *  - blackbox prometheus-blackbox-exporter, /probe for the 100 targets every 5 s as Prometheus
 *             spreads it (10 groups of 10, 0.5 s apart), body checked by a regexp.
 * CPU per probe = CPU in a window / the probes completed in it (the daemons' from
 * stackwatch_target_checks_total; blackbox's and the floor's counted by their drivers).
 * 3 windows of 60 s (--quick: 20 s) after 20 s of warm-up; medians; the 1-min load average at
 * each window's start and end. --profile runs one more daemon of this build under --cpu-prof (not
 * `after`: the profiler's thread would spoil its figures) and writes where its main thread's time
 * went during the windows. --heap runs one more daemon of each build (this one, and --before's)
 * under V8's sampling heap profiler, objects the garbage collector took included, over the
 * windows, and writes the `## HTTP probing: garbage per probe` section: bytes allocated per probe
 * by the nearest stackwatch file and by allocating function, before and after.
 * Every child is killed at the end, also on errors, signals and the time bound.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { fixedPort } from '../test/harness/ports';
import { startCommand, type StartCommand } from '../test/harness/start-command';
import { BLACKBOX, blackboxJsonArgs } from './blackbox';
import { writeSection } from './doc';
import { heapPreloadFlags, heapRanking, waitForHeapProfiles } from './heap-profile';
import { cpuMs, every, sleep } from './http-common';

const ROOT = path.join(__dirname, '..');
const SECTION = '## HTTP probing at the reference load';
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const PROFILE = args.includes('--profile');
const HEAP = args.includes('--heap');
const HEAP_SECTION = '## HTTP probing: garbage per probe';
const beforeIdx = args.indexOf('--before');
const BEFORE = beforeIdx >= 0 ? path.resolve(args[beforeIdx + 1] ?? '') : undefined;
const TARGETS = 100;
const INTERVAL_MS = 5000;
const windowsIdx = args.indexOf('--windows');
/** --windows N: more windows than 3 where the machine's load makes one window's figures noisy. */
const WINDOWS = windowsIdx >= 0 ? Number(args[windowsIdx + 1]) : 3;
if (!Number.isInteger(WINDOWS) || WINDOWS < 1) throw new Error('--windows takes a whole number of windows, 1 or more');
const WINDOW_S = QUICK ? 20 : 60;
const WARMUP_S = 20;
const DEADLINE_MS = (WARMUP_S + WINDOWS * WINDOW_S + 180) * 1000;

// ---------------------------------------------------------------- children and cleanup

const children = new Set<ChildProcess>();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-bench-http-ref-'));
let stopping = false;

function start(name: string, cmd: string, argv: string[], cwd = ROOT, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, argv, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => { tail = (tail + d.toString()).slice(-2000); });
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) fail(`${name} exited (code ${code}, signal ${signal})${tail ? `:\n${tail}` : ''}`);
  });
  return child;
}

function killAll(): void {
  stopping = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}

function fail(message: string): never {
  process.stderr.write(`\nbench http-reference: FAILED: ${message}\n`);
  killAll();
  process.exit(1);
}

process.on('exit', killAll);
process.on('SIGINT', () => fail('interrupted (SIGINT)'));
process.on('SIGTERM', () => fail('terminated (SIGTERM)'));
setTimeout(() => fail(`took longer than ${DEADLINE_MS / 1000} s`), DEADLINE_MS).unref();

// ---------------------------------------------------------------- helpers




const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    r.setTimeout(20_000, () => r.destroy(new Error(`GET ${url}: no answer within 20 s`)));
    r.on('error', reject);
  });
}

async function waitUp(url: string, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await get(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  fail(`${what} not answering at ${url} within 60 s`);
}

function sumOf(text: string, name: string, has: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(has)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const load1 = (): number => os.loadavg()[0]!;
const f2 = (v: number): string => v.toFixed(2);
const f3 = (v: number): string => v.toFixed(3);

// ---------------------------------------------------------------- the processes

interface Measured { name: string; pid: number; probes: () => Promise<number>; url?: string; profDir?: string; started?: number; heapOut?: string }

async function startTargets(): Promise<string> {
  const c = start('targets', process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'http-targets.ts')]);
  const port = await new Promise<number>((resolve) => {
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  return `http://127.0.0.1:${port}`;
}

async function startDaemon(name: string, dir: string, targets: object[], profile: boolean, heap = false): Promise<Measured> {
  const port = await fixedPort();
  const file = path.join(tmp, `${name}.yml`);
  writeFileSync(file, stringify({ server: { listen: `127.0.0.1:${port}` }, http: targets, docker: { enabled: false } }));
  // As `npm start` runs it: its allocator settings and node flags.
  let cmd: StartCommand;
  try {
    cmd = startCommand(dir);
  } catch (err) {
    fail(`${dir}: ${(err as Error).message}`);
  }
  const profDir = path.join(tmp, `${name}-profile`);
  const heapOut = path.join(tmp, `${name}.heapprofile`);
  const flags = [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), ...(heap ? heapPreloadFlags(tmp) : [])];
  const argv = [...flags, ...cmd.nodeArgs, cmd.script,
    '--config', file, '--storage.path', path.join(tmp, `${name}-data`), '--log-level', 'warn'];
  const started = Date.now();
  const child = start(name, process.execPath, argv, tmp, heap ? { ...cmd.env, HEAP_OUT: heapOut } : cmd.env);
  const url = `http://127.0.0.1:${port}`;
  await waitUp(`${url}/-/ready`, name);
  const probes = async (): Promise<number> => sumOf((await get(`${url}/metrics`)).body, 'stackwatch_target_checks_total', 'kind="http"');
  return { name, pid: child.pid!, probes, url, profDir, started, ...(heap ? { heapOut } : {}) };
}

/** Node's HTTP client alone: the daemon's requests on its schedule, nothing else. */
const FLOOR = `
const http = require('node:http');
const [base, n, interval] = process.argv.slice(1);
let probes = 0;
const agents = Array.from({ length: +n }, () => new http.Agent({ keepAlive: true, maxSockets: 2, maxFreeSockets: 1 }));
const once = (i) => {
  const r = http.request(base + '/t/' + i, { agent: agents[i], headers: { 'user-agent': 'floor', accept: 'application/json' } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => { if (res.statusCode === 200 && JSON.parse(Buffer.concat(chunks).toString()).status === 'healthy') probes++; });
  });
  r.on('error', () => undefined);
  r.end();
};
// As the collector: first turns on the 100 ms slots of the first second, then every interval.
const t0 = Math.ceil(Date.now() / 100) * 100 + 100;
for (let k = 0; k < 10; k++) {
  const run = (due) => setTimeout(() => { for (let i = k; i < +n; i += 10) once(i); run(due + +interval); }, Math.max(0, due - Date.now()));
  run(t0 + k * 100);
}
process.stdin.on('data', () => process.stdout.write(probes + '\\n'));
process.stdin.on('end', () => process.exit(0));
`;

function startFloor(base: string): Measured {
  const child = start('floor', process.execPath, ['--max-semi-space-size=1', '-e', FLOOR, base, String(TARGETS), String(INTERVAL_MS)]);
  const probes = (): Promise<number> => new Promise((resolve) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim().split('\n').pop())));
    child.stdin!.write('?\n');
  });
  return { name: 'floor', pid: child.pid!, probes };
}

async function startBlackbox(targetUrls: string[]): Promise<{ m: Measured; version: string; drivers: { stop: () => void }[] }> {
  if (!existsSync(BLACKBOX)) fail(`${BLACKBOX} is missing: apt-get install -y prometheus-blackbox-exporter`);
  const v = spawnSync(BLACKBOX, ['--version'], { encoding: 'utf8' });
  const version = /version (\S+)/.exec(`${v.stdout}${v.stderr}`)?.[1] ?? 'unknown';
  const port = await fixedPort();
  const child = start('blackbox', BLACKBOX, blackboxJsonArgs(tmp, port));
  const url = `http://127.0.0.1:${port}`;
  await waitUp(`${url}/metrics`, 'blackbox_exporter');
  let done = 0;
  const drivers = Array.from({ length: 10 }, (_, slot) => every(INTERVAL_MS, async () => {
    // 10 groups of 10, 0.5 s apart: 100 probes per 5 s, as Prometheus spreads its scrapes.
    await sleep(slot * 500);
    await Promise.all(targetUrls.slice(slot * 10, slot * 10 + 10).map(async (t) => {
      const r = await get(`${url}/probe?module=http_json&target=${encodeURIComponent(t)}`);
      if (r.status === 200 && /^probe_success 1$/m.test(r.body)) done += 1;
    }));
  }));
  return { m: { name: 'blackbox', pid: child.pid!, probes: () => Promise.resolve(done) }, version, drivers };
}

// ---------------------------------------------------------------- the profile

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }

/**
 * Where the profiled daemon's main thread went in [fromS, toS] of its life: by what the time was
 * spent for (the nearest stackwatch file on the stack, else the nearest Node module), and the
 * functions with the most self time. Returns markdown lines.
 */
function summariseProfile(file: string, fromS: number, toS: number, probes: number, cpuPerProbe: number): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    const s = (t - p.startTime) / 1e6;
    if (s < fromS || s > toS) continue;
    const n = byId.get(p.samples[i]!)!;
    if (n.callFrame.functionName === '(idle)') continue;
    self.set(n.id, (self.get(n.id) ?? 0) + p.timeDeltas[i]!);
    busy += p.timeDeltas[i]!;
  }
  const short = (url: string): string => {
    const d = url.indexOf('/dist/');
    if (d >= 0) return url.slice(d + 6);
    const nm = url.lastIndexOf('node_modules/');
    if (nm >= 0) return url.slice(nm + 13).split('/')[0]!;
    return url === '' ? '(native)' : url;
  };
  const owner = (id: number): string => {
    const leaf = byId.get(id)!.callFrame;
    if (leaf.url === '' && leaf.functionName.startsWith('(')) return leaf.functionName;
    let node: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const u = byId.get(cur)!.callFrame.url;
      if (u.includes('/dist/')) return short(u);
      if (node === undefined && (u.startsWith('node:') || u.includes('node_modules/'))) node = short(u);
    }
    return node ?? '(native, from the event loop)';
  };
  const byOwner = new Map<string, number>();
  const bySelf = new Map<string, number>();
  for (const [id, us] of self) {
    const o = owner(id);
    byOwner.set(o, (byOwner.get(o) ?? 0) + us);
    const f = byId.get(id)!.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${short(f.url)}${f.url !== '' ? `:${f.lineNumber + 1}` : ''}`;
    bySelf.set(k, (bySelf.get(k) ?? 0) + us);
  }
  // Shares, not times: V8 samples by the wall clock, so on a machine short of cores a sample also
  // holds the time its thread waited for one.
  const rows = (m: Map<string, number>, n: number): string[] => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, us]) => `| ${k} | ${((us / busy) * 100).toFixed(1)}% | ${f3(((us / busy) * cpuPerProbe))} |`);
  return [
    `Profile (\`--profile\`): one more daemon of this build, as \`after\`, under \`--cpu-prof\` over the windows (${f2(toS - fromS)} s, ${probes} probes). Shares of its`,
    `main thread's busy samples; "ms per probe" spreads \`after\`'s CPU per probe (${f3(cpuPerProbe)} ms, the same build unprofiled: the`,
    'profiler\'s own thread makes the profiled one dearer) by those shares. By what the time was spent for (the nearest',
    'stackwatch file on the stack, else the nearest Node module):',
    '',
    '| where | share | ms per probe |',
    '|---|---|---|',
    ...rows(byOwner, 14),
    '',
    'Functions with the most self time:',
    '',
    '| function | share | ms per probe |',
    '|---|---|---|',
    ...rows(bySelf, 14),
    '',
  ];
}

// ---------------------------------------------------------------- the heap profiles

/** The `## HTTP probing: garbage per probe` section from the --heap daemons' profiles. */
function heapSection(runs: { label: string; file: string; probes: number }[], seconds: number, load: string, command: string): string[] {
  const ranked = runs.map((r) => ({ ...r, ...heapRanking(r.file) }));
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const table = (pick: (r: (typeof ranked)[number]) => Map<string, number>, n: number): string[] => {
    const keys = new Map<string, number>();
    for (const r of ranked) for (const [k, v] of pick(r)) keys.set(k, Math.max(keys.get(k) ?? 0, v / r.probes));
    return [...keys.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
      .map(([k]) => `| ${k} | ${ranked.map((r) => ((pick(r).get(k) ?? 0) / r.probes).toFixed(0)).join(' | ')} |`);
  };
  const head = `| ${ranked.map((r) => `${r.label}, bytes per probe`).join(' | ')} |`;
  const rule = `|---|${ranked.map(() => '---').join('|')}|`;
  const ranking = (title: string, column: string, pick: (r: (typeof ranked)[number]) => Map<string, number>, n: number): string[] =>
    [title, '', `| ${column} ${head}`, rule, ...table(pick, n), ''];
  return [
    HEAP_SECTION,
    '',
    `Command: \`${command}\` (bench/http-reference.bench.ts), in the same run as the`,
    `section above: one more daemon of each build under V8's sampling heap profiler (\`HeapProfiler.startSampling\`, every 4 KiB on`,
    `average, objects the garbage collector took included) over its ${f2(seconds)} s of windows; 1-min load average ${load}.`,
    'Bytes allocated per probe (all the daemon allocated in the windows / the probes it made in them):',
    '',
    `| | ${ranked.map((r) => r.label).join(' | ')} |`,
    rule,
    `| total, bytes per probe | ${ranked.map((r) => (total(r.byFile) / r.probes).toFixed(0)).join(' | ')} |`,
    `| total, KB/s | ${ranked.map((r) => (total(r.byFile) / seconds / 1024).toFixed(1)).join(' | ')} |`,
    `| probes | ${ranked.map((r) => String(r.probes)).join(' | ')} |`,
    '',
    ...ranking('By the nearest stackwatch file on the allocating stack (else the nearest module):', 'where', (r) => r.byFile, 14),
    ...ranking('By allocating function:', 'function', (r) => r.byFunction, 16),
  ];
}

// ---------------------------------------------------------------- main

interface Window { load: [number, number]; seconds: number; perProbe: Record<string, number>; cpu: Record<string, number>; probes: Record<string, number> }

async function main(): Promise<void> {
  if (process.env.BENCH_NO_BUILD !== '1') {
    console.log('npm run build ...');
    const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) fail(`npm run build failed:\n${r.stdout}${r.stderr}`);
  }
  if (BEFORE !== undefined && !existsSync(path.join(BEFORE, 'dist', 'main.js'))) fail(`--before ${BEFORE}: no dist/main.js there`);
  console.log(`load average at start: ${os.loadavg().map(f2).join(' ')}`);
  const base = await startTargets();
  const urls = Array.from({ length: TARGETS }, (_, i) => `${base}/t/${i}`);
  const targets = urls.map((url, i) => ({
    name: `t${String(i).padStart(3, '0')}`, url, interval: '5s', timeout: '3s',
    json: { status: 'status', fields: { pending_requests: 'mqtt.pending_requests' } },
  }));
  const after = await startDaemon('after', ROOT, targets, false);
  // Profiled apart: the profiler's own thread would spoil `after`'s figures.
  const profiled = PROFILE ? await startDaemon('profiled', ROOT, targets, true) : undefined;
  const before = BEFORE === undefined ? undefined : await startDaemon('before', BEFORE, targets, false);
  // Sampled apart, as `profiled`: the sampler's allocations and its thread would spoil `after`'s and `before`'s figures.
  const heaps = HEAP ? [await startDaemon('heap-after', ROOT, targets, false, true), ...(BEFORE !== undefined ? [await startDaemon('heap-before', BEFORE, targets, false, true)] : [])] : [];
  const idle = await startDaemon('idle', ROOT, [], false);
  const floor = startFloor(base);
  const bb = await startBlackbox(urls);
  const daemons = [after, ...(before ? [before] : []), ...(profiled ? [profiled] : []), ...heaps];
  const scraper = every(15_000, () => Promise.all([...daemons, idle].map((d) => get(`${d.url!}/metrics`))));
  const measured: Measured[] = [after, ...(before ? [before] : []), floor, bb.m, idle, ...(profiled ? [profiled] : []), ...heaps];
  const shown = (m: Measured): boolean => m !== idle && m !== profiled && !heaps.includes(m);

  console.log(`warm-up ${WARMUP_S} s ...`);
  await sleep(WARMUP_S * 1000);
  const windowsStarted = Date.now();
  const heapLoad0 = load1();
  for (const h of heaps) process.kill(h.pid, 'SIGUSR2');
  const windows: Window[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const l0 = load1();
    const c0 = measured.map((m) => cpuMs(m.pid));
    const n0 = await Promise.all(measured.map((m) => m.probes()));
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const c1 = measured.map((m) => cpuMs(m.pid));
    const n1 = await Promise.all(measured.map((m) => m.probes()));
    const win: Window = { load: [l0, load1()], seconds, perProbe: {}, cpu: {}, probes: {} };
    measured.forEach((m, i) => {
      const probes = n1[i]! - n0[i]!;
      if (probes <= 0 && m !== idle) fail(`${m.name} did no probes in window ${w + 1}`);
      win.probes[m.name] = probes;
      win.cpu[m.name] = (c1[i]! - c0[i]!) / seconds;
      win.perProbe[m.name] = (c1[i]! - c0[i]!) / probes;
    });
    windows.push(win);
    console.log(`window ${w + 1}/${WINDOWS}: load ${f2(win.load[0])} → ${f2(win.load[1])}; ms per probe ${measured.filter(shown).map((m) => `${m.name} ${f3(win.perProbe[m.name]!)}`).join(', ')}; idle ${f2(win.cpu.idle!)} ms/s`);
  }
  const windowsEnded = Date.now();
  for (const h of heaps) process.kill(h.pid, 'SIGUSR2');
  const heapLoad = `${f2(heapLoad0)} → ${f2(load1())}`;
  scraper.stop();
  for (const d of bb.drivers) d.stop();

  let profile: string[] = [];
  if (profiled !== undefined) {
    // The profile is written when the daemon exits.
    const child = [...children].find((c) => c.pid === profiled.pid)!;
    children.delete(child);
    child.removeAllListeners('exit');
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    const file = readdirSync(profiled.profDir!).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) fail('the profiled daemon wrote no CPU profile');
    const probes = windows.reduce((a, w) => a + w.probes.profiled!, 0);
    profile = summariseProfile(path.join(profiled.profDir!, file), (windowsStarted - profiled.started!) / 1000, (windowsEnded - profiled.started!) / 1000, probes, median(windows.map((w) => w.perProbe.after!)));
  }

  // ------------------------------------------------------------ the section
  const med = (f: (w: Window) => number): number => median(windows.map(f));
  const ratio = (name: string): number => med((w) => w.perProbe[name]! / w.perProbe.blackbox!);
  const row = (name: string, what: string): string =>
    `| ${what} | ${windows.map((w) => f3(w.perProbe[name]!)).join(' / ')} ms | **${f3(med((w) => w.perProbe[name]!))} ms** | ${name === 'blackbox' ? '1' : `**${f2(ratio(name))}**`} | ${f2(med((w) => w.cpu[name]!))} ms/s |`;
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const options = [...(BEFORE !== undefined ? ['--before DIR'] : []), ...(PROFILE ? ['--profile'] : []), ...(HEAP ? ['--heap'] : []), ...(QUICK ? ['--quick'] : []),
    ...(windowsIdx >= 0 ? [`--windows ${WINDOWS}`] : [])];
  const command = `npm run bench http-reference${options.length > 0 ? ` -- ${options.join(' ')}` : ''}`;
  const idleShare = med((w) => (w.cpu.idle! * w.seconds) / w.probes.after!);
  const lines = [
    SECTION,
    '',
    `Command: \`${command}\` (bench/http-reference.bench.ts). Date: ${date}.`,
    `Machine: nproc ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()}, Node ${process.version}, blackbox_exporter ${bb.version} (Debian); shared with other work (the load averages).`,
    `${TARGETS} loopback JSON targets, each probed every 5 s (20 probes/s) by every prober at once; ${WINDOWS} windows of ${WINDOW_S} s after ${WARMUP_S} s of warm-up;`,
    'CPU = utime+stime (/proc/PID/stat, all threads) over the window / the probes completed in it.',
    '',
    `| prober | CPU per probe, windows ${windows.map((_, i) => i + 1).join(' / ')} | median | / blackbox | CPU |`,
    '|---|---|---|---|---|',
    row('after', 'stackwatch, this build (the daemon bench\'s `http` variant)'),
    ...(before ? [row('before', `stackwatch, the build in --before (${path.basename(BEFORE!)})`)] : []),
    ...(before ? [`| this build / --before, CPU per probe in the same window | ${windows.map((w) => f2(w.perProbe.after! / w.perProbe.before!)).join(' / ')} | **${f2(med((w) => w.perProbe.after! / w.perProbe.before!))}** | | |`] : []),
    row('floor', 'bare Node http.request + JSON.parse, same schedule (the client\'s floor)'),
    row('blackbox', 'blackbox_exporter via /probe'),
    '',
    `The daemon's own running costs, whatever it probes: an idle daemon (empty config) in the same windows took ${f2(med((w) => w.cpu.idle!))} ms/s,`,
    `${f3(idleShare)} ms per probe of the \`after\` daemon's rate; \`after\` less that is ${f3(med((w) => w.perProbe.after! - (w.cpu.idle! * w.seconds) / w.probes.after!))} ms per probe, against the floor's ${f3(med((w) => w.perProbe.floor!))} ms.`,
    '',
    `1-min load average at each window's start → end: ${windows.map((w, i) => `window ${i + 1}: ${f2(w.load[0])} → ${f2(w.load[1])}`).join('; ')}.`,
    `Probes per window: ${windows.map((w) => measured.filter(shown).map((m) => `${m.name} ${w.probes[m.name]}`).join(', ')).join(' | ')}.`,
    '',
    'What was changed (the A/B above, `before` being the previous build): the garbage of the probe path, found with V8\'s',
    'sampling heap profiler (see "HTTP probing: garbage per probe" for the before/after ranking):',
    '',
    '- The probe works out its first hop (URL parsed, headers merged, undici\'s request options) once per target, not on',
    '  every probe; its undici handler is one object per request instead of seven closures; the caller\'s abort signal',
    '  gets one listener for its life instead of one added and removed per probe.',
    '- The catalogue\'s gauges key a series with their label names sorted once and update its entry in place (prom-client\'s',
    '  `Gauge.set` sorted the label names and made a new entry on every write; test/unit/gauge-set.test.ts holds them to',
    '  prom-client\'s own Gauge); the collector stats make their label set once per collector and zero their error',
    '  counters once, not six counter writes per probe; metric writes are counted without a rest-arguments array.',
    '- The availability tracker finds a target through a per-kind index (no key string per observation); the HTTP',
    '  collector makes no closure per turn, no entries arrays per judged body, and looks status words up in a map made',
    '  once per status map.',
    '- Before that round: the probe\'s client became undici\'s `Client.dispatch` with a handler instead of node:http (0.88× as',
    '  costly per probe then), an idle connection is kept up to 1 s past the server\'s `Keep-Alive: timeout=` (see "HTTP',
    '  keep-alive at a 5 s interval"), and the certificate expiry is read once per TLS connection.',
    '',
    `What remains: \`after\` is ${f2(med((w) => w.perProbe.after!) / med((w) => w.perProbe.floor!))}× the bare node:http prober (${f3(med((w) => w.perProbe.floor!))} ms per probe, ${f2(ratio('floor'))}× blackbox_exporter's),`,
    'so the client is no longer most of the cost: above it the daemon adds its running costs (the idle daemon) and, per',
    'probe, the deadline timer, the availability tracker and its history, the metrics, the periodic snapshot of the',
    'history (storage.js, zlib), the 15 s scrapes, and the garbage of all of them (the profile).',
    '',
    ...profile,
  ];
  writeSection(lines.join('\n'));
  console.log(lines.join('\n'));
  if (heaps.length > 0) {
    await waitForHeapProfiles(heaps.map((h) => h.heapOut!)).catch((err: Error) => fail(err.message));
    const heapLines = heapSection(heaps.map((h) => ({
      label: h.name === 'heap-after' ? 'this build' : `--before (${path.basename(BEFORE!)})`,
      file: h.heapOut!, probes: windows.reduce((a, w) => a + w.probes[h.name]!, 0),
    })), (windowsEnded - windowsStarted) / 1000, heapLoad, command);
    writeSection(heapLines.join('\n'));
    console.log(heapLines.join('\n'));
  }
  killAll();
  process.exit(0);
}

void main().catch((err: unknown) => fail(err instanceof Error ? err.stack ?? err.message : String(err)));
