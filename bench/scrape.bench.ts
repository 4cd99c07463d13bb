/**
 * `npm run bench scrape [-- --before DIR] [-- --quick] [-- --profile]`: what one `/metrics`
 * scrape costs at the reference size (about 8,200 samples, 600 KB), against a bare node:http
 * server sending the same bytes, and optionally against another build (DIR: a checkout with
 * dist/ built and node_modules, e.g. the previous commit's). Writes the `## /metrics scrape`
 * section of docs/benchmarks.md (not with --quick unless BENCH_WRITE=1).
 *
 * Each build runs bench/scrape-server.ts in its own process, started with the node flags of
 * package.json's start script: the real Server and exposition code over a registry filled as the
 * reference daemon's (100 HTTP targets, 50 containers, 10 process groups, a broker; values moving
 * as the collectors move them). After a warm-up, SCRAPES rounds each scrape every server once,
 * back to back, in an order that rotates per round, so machine load hits every variant alike.
 * Reported per variant: wall time p50/p90/p99 and max, CPU per scrape (all threads,
 * utime+stime from /proc/PID/stat over the burst, less the same process's rate while idle just
 * before it), RSS before and peak during the burst, and the 1-min load average around it. With
 * `--profile` a copy of this build runs under --cpu-prof too and the functions with the most self
 * time during the burst are listed (the profiled copy is one more variant, so the profiler's cost
 * stays out of the other figures).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { writeSection } from './doc';

const ROOT = path.join(__dirname, '..');
const SECTION = '## /metrics scrape';
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const PROFILE = args.includes('--profile');
const beforeIdx = args.indexOf('--before');
const BEFORE = beforeIdx >= 0 ? path.resolve(args[beforeIdx + 1] ?? '') : undefined;
const SCRAPES = QUICK ? 150 : 400;
const WARMUP_MS = 5000;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-bench-scrape-'));
const children: ChildProcess[] = [];

function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
setTimeout(() => {
  process.stderr.write('bench scrape: took longer than 10 min\n');
  process.exit(1);
}, 10 * 60_000).unref();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
};
const rssMb = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const load1 = (): number => os.loadavg()[0]!;
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
};
const f1 = (v: number): string => v.toFixed(1);
const f2 = (v: number): string => v.toFixed(2);

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
/** One GET as Prometheus sends it (it asks for gzip; what comes back is what the server chose). */
function get(url: string): Promise<{ body: Buffer; ms: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent, headers: { 'accept-encoding': 'gzip', accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks), ms: performance.now() - t0, encoding: res.headers['content-encoding'] ?? 'identity' }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`GET ${url}: no answer within 20 s`)));
    req.on('error', reject);
  });
}

interface Variant { name: string; proc: ChildProcess; url: string; moved: () => Promise<void> }

function startFlags(dir: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start.trim().split(/\s+/).slice(1).filter((w) => w.startsWith('--'));
}

function start(name: string, argv: string[]): Promise<Variant> {
  const proc = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(proc);
  let err = '';
  proc.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
  return new Promise((resolve, reject) => {
    let out = '';
    let waiting: (() => void) | undefined;
    /** Asks the server to move every series at once and waits until it has. */
    const moved = (): Promise<void> => new Promise((r) => {
      waiting = r;
      proc.stdin.write('move\n');
    });
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ name, proc, url: `http://127.0.0.1:${m[1]}/metrics`, moved });
      if (out.includes('moved\n')) {
        out = out.replace('moved\n', '');
        waiting?.();
      }
    });
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${err}`)));
  });
}

/** Self time per function during [from, to] (ms since the profile's start), and the busy total. */
function profileTop(file: string, fromMs: number, toMs: number, scrapes: number): string[] {
  interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let t = 0;
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (t / 1000 < fromMs || t / 1000 > toMs) continue;
    const f = byId.get(p.samples[i]!)!.callFrame;
    if (f.functionName === '(idle)') continue;
    const short = f.url.includes('/dist/') ? f.url.slice(f.url.indexOf('/dist/') + 6)
      : f.url.includes('node_modules/') ? f.url.slice(f.url.lastIndexOf('node_modules/') + 13) : f.url;
    const k = `${f.functionName || '(anonymous)'} ${short}${f.url !== '' ? `:${f.lineNumber + 1}` : ''}`.trim();
    self.set(k, (self.get(k) ?? 0) + p.timeDeltas[i]!);
    busy += p.timeDeltas[i]!;
  }
  return [
    `With \`--profile\`: the profiled copy of this build (its own row above; the profiler adds to its figures), during the burst: main thread busy ${f2(busy / 1000 / scrapes)} ms per scrape. Functions with the most self time:`,
    '',
    '| function | share | ms per scrape |',
    '|---|---|---|',
    ...[...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)
      .map(([k, us]) => `| ${k.replace(/\|/g, '\\|')} | ${((us / busy) * 100).toFixed(1)}% | ${f2(us / 1000 / scrapes)} |`),
    '',
  ];
}

async function main(): Promise<void> {
  if (process.env.BENCH_NO_BUILD !== '1') {
    const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run build failed');
  }
  const server = path.join(tmp, 'scrape-server.js');
  writeFileSync(server, ts.transpileModule(readFileSync(path.join(__dirname, 'scrape-server.ts'), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText);

  const profileDir = path.join(tmp, 'profile');
  const t0 = performance.now();
  const variants: Variant[] = [await start('this build', [...startFlags(ROOT), server, ROOT])];
  if (BEFORE !== undefined) variants.push(await start('before', [...startFlags(BEFORE), server, BEFORE]));
  // The profiled copy is a variant of its own, so the profiler's cost stays out of the others' figures.
  const profileStart = performance.now(); // about when its profile starts
  const profiled = PROFILE ? variants.push(await start('this build under --cpu-prof', [...startFlags(ROOT), '--cpu-prof', `--cpu-prof-dir=${profileDir}`, server, ROOT])) - 1 : -1;
  await sleep(WARMUP_MS);

  // The bare floor sends what this build sent, as one Buffer.
  const sample = await get(variants[0]!.url);
  const bodyFile = path.join(tmp, 'body.txt');
  writeFileSync(bodyFile, sample.body);
  variants.push(await start('bare node:http, same bytes', ['-e', `
    const body = require('fs').readFileSync(${JSON.stringify(bodyFile)});
    const s = require('http').createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length });
      res.end(body);
    }).listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + s.address().port + '\\n'));`]));
  const text = sample.body.toString();
  const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  for (const v of variants) await get(v.url);

  // Idle rate just before the burst (the servers' movers run throughout).
  const idle0 = variants.map((v) => cpuMs(v.proc.pid!));
  const i0 = performance.now();
  await sleep(3000);
  const idleRate = variants.map((v, i) => (cpuMs(v.proc.pid!) - idle0[i]!) / (performance.now() - i0));

  const times = variants.map(() => [] as number[]);
  const rss0 = variants.map((v) => rssMb(v.proc.pid!));
  const peak = [...rss0];
  const loadStart = load1();
  const cpu0 = variants.map((v) => cpuMs(v.proc.pid!));
  const bare = variants.length - 1;
  const b0 = performance.now();
  const burstFrom = b0 - profileStart;
  for (let round = 0; round < SCRAPES; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length;
      const r = await get(variants[i]!.url);
      if (r.body.length !== sample.body.length && i === variants.length - 1) throw new Error('the bare floor sent other bytes');
      times[i]!.push(r.ms);
    }
    if (round % 5 === 0) variants.forEach((v, i) => { peak[i] = Math.max(peak[i]!, rssMb(v.proc.pid!)); });
  }
  const burstMs = performance.now() - b0;
  const cpu = variants.map((v, i) => (cpuMs(v.proc.pid!) - cpu0[i]! - idleRate[i]! * burstMs) / SCRAPES);

  // As Prometheus scrapes, 15 s apart: every series has moved since the last scrape. The CPU of
  // a scrape is the process's CPU over the scrape alone (the move is done before it starts).
  const MOVED = Math.ceil(SCRAPES / 4);
  variants.forEach((v, i) => { peak[i] = Math.max(peak[i]!, rssMb(v.proc.pid!)); });
  const movedPeak = [...peak];
  const movedTimes = variants.map(() => [] as number[]);
  const movedCpu = variants.map(() => 0);
  for (let round = 0; round < MOVED; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length;
      if (i !== bare) await variants[i]!.moved();
      const c0 = cpuMs(variants[i]!.proc.pid!);
      movedTimes[i]!.push((await get(variants[i]!.url)).ms);
      movedCpu[i]! += cpuMs(variants[i]!.proc.pid!) - c0;
    }
    if (round % 5 === 0) variants.forEach((v, i) => { movedPeak[i] = Math.max(movedPeak[i]!, rssMb(v.proc.pid!)); });
  }
  variants.forEach((v, i) => { movedPeak[i] = Math.max(movedPeak[i]!, rssMb(v.proc.pid!)); });
  const loadEnd = load1();

  let profile: string[] = [];
  if (profiled >= 0) {
    const v = variants[profiled]!;
    v.proc.removeAllListeners('exit'); // its exit is expected now
    const exited = new Promise((r) => v.proc.once('exit', r));
    v.proc.kill('SIGTERM');
    await exited;
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('no CPU profile written');
    profile = profileTop(path.join(profileDir, file), burstFrom, burstFrom + burstMs, SCRAPES);
  }

  const ratio = (i: number, q: number): string => f1(quantile(times[i]!, q) / quantile(times[bare]!, q));
  const lines = [
    SECTION,
    '',
    `Command: \`npm run bench scrape${args.length > 0 ? ` -- ${args.map((a, i) => (beforeIdx >= 0 && i === beforeIdx + 1 ? 'DIR' : a)).join(' ')}` : ''}\` (bench/scrape.bench.ts, bench/scrape-server.ts). ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, ${os.cpus().length} cores shared with other work.`,
    `Each server is its own process started with the start script's node flags (\`${startFlags(ROOT).join(' ')}\`): the real Server and exposition over a registry filled as the`,
    `reference daemon's (100 HTTP targets, 50 containers, 10 process groups, a broker, prom-client's default metrics; every target updated once per 5 s).`,
    `${samples} samples, ${Math.round(sample.body.length / 1024)} KB, sent as ${sample.encoding} to a client asking for gzip. ${SCRAPES} rounds of back-to-back scrapes, each round every server once in a rotating order.`,
    `1-min load average ${f2(loadStart)} at the start of the burst, ${f2(loadEnd)} at its end (wall times include waiting for a core; CPU per scrape does not).`,
    '',
    '| server | p50 | p90 | p99 | max | p50 / p99 ÷ bare | CPU per scrape | RSS before → peak |',
    '|---|---|---|---|---|---|---|---|',
    ...variants.map((v, i) => `| ${v.name} | ${f2(quantile(times[i]!, 0.5))} ms | ${f2(quantile(times[i]!, 0.9))} ms | ${f2(quantile(times[i]!, 0.99))} ms | ${f2(Math.max(...times[i]!))} ms | ${i === bare ? '1' : `${ratio(i, 0.5)} / ${ratio(i, 0.99)}`} | ${f2(cpu[i]!)} ms | ${f1(rss0[i]!)} → ${f1(peak[i]!)} MB |`),
    '',
    `Then ${MOVED} rounds in which every series moved just before each scrape, as between two of Prometheus's scrapes 15 s apart (CPU: the process's over the scrape alone, in ${1000 / CLK_TCK} ms ticks, so a mean):`,
    '',
    '| server | p50 | p99 | CPU per scrape | RSS peak |',
    '|---|---|---|---|---|',
    ...variants.map((v, i) => `| ${v.name} | ${f2(quantile(movedTimes[i]!, 0.5))} ms | ${f2(quantile(movedTimes[i]!, 0.99))} ms | ${f2(movedCpu[i]! / MOVED)} ms | ${f1(movedPeak[i]!)} MB |`),
    '',
  ];
  const section = lines.join('\n');
  console.log(`\n${section}\n${profile.join('\n')}\ntook ${f1((performance.now() - t0) / 1000)} s`);
  if (!QUICK || process.env.BENCH_WRITE === '1') {
    writeSection(`${section}\n${profile.join('\n')}`);
  } else {
    console.log('(--quick: docs/benchmarks.md not written; BENCH_WRITE=1 writes it)');
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench scrape: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
