/**
 * `npm run bench http`: HTTP probing, stackwatch vs prometheus-blackbox-exporter, in one run
 * (CPU per probe against blackbox_exporter, as a ratio). Writes the `## HTTP probing` section of docs/benchmarks.md.
 *
 * Method:
 *  0. `npm run build`; the 100 targets run in their own child process (bench/http-targets.ts:
 *     one server on 127.0.0.1, paths /t/0../t/99 answering a health JSON, /hang never answers).
 *  1. One window, both exporters at once against the same targets (so load from anything else on
 *     the shared machine hits both alike), each probing every target once a second, 10 in flight:
 *     - stackwatch daemon (dist/main.js), interval 1s, timeout 500ms, json status + 2 fields;
 *       probes from stackwatch_target_checks_total deltas;
 *     - blackbox_exporter with an equivalent http module (2xx, 500ms timeout, body regexp on the
 *       status), driven with /probe at 100/s, 10 in flight; probes = answers in the window.
 *     CPU per probe = utime+stime (/proc/PID/stat) over the window / probes in it.
 *  2. stackwatch /metrics p50/p90: a second daemon with one more target that hangs; sequential
 *     scrapes alternating between the two.
 *  3. Wall time of a round of all 100 targets, alternating, each alone at its turn: blackbox via
 *     /probe; stackwatch via bench/http-rounds.ts (probe() + Semaphore(10) + judge() from dist/,
 *     keep-alive agents), which then also measures CPU per probe for paced schedules.
 * Every child is killed at the end, also on errors, on signals and when the time bound hits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

import { fixedPort } from '../test/harness/ports';
import { startCommand } from '../test/harness/start-command';
import { writeSection } from './doc';
import { CLK_TCK, cpuMs, sleep } from './http-common';
const ROOT = path.join(__dirname, '..');
const SECTION = '## HTTP probing';
const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';
const TARGETS = 100;
const IN_FLIGHT = 10;
const RATE = 100; // probes per second, both exporters (100 targets, interval 1 s)
const WARMUP_MS = 3000;
const WINDOW_MS = 20_000;
const SCRAPES = 200;
const ROUNDS = 11; // of each exporter, alternating; the first of each is a warm-up
const PACED_S = 10; // each of the two paced diagnostics in bench/http-rounds.ts
const DEADLINE_MS = 180_000;

// ---------------------------------------------------------------- children and cleanup

const children = new Map<ChildProcess, string>();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-bench-http-'));

function start(name: string, cmd: string, args: string[], env?: Record<string, string>): ChildProcess {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], ...(env !== undefined ? { env: { ...process.env, ...env } } : {}) });
  children.set(child, name);
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-2000);
  });
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping && !expectedExit.has(child)) {
      fail(`${name} exited unexpectedly (code ${code}, signal ${signal})${tail ? `:\n${tail}` : ''}`);
    }
  });
  return child;
}

let stopping = false;
const expectedExit = new Set<ChildProcess>();

/** Ends one child: SIGTERM, then SIGKILL after a grace period. */
async function stop(child: ChildProcess, graceMs = 2000): Promise<void> {
  expectedExit.add(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function killAllNow(): void {
  for (const child of children.keys()) {
    expectedExit.add(child);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
}

function fail(message: string): never {
  stopping = true;
  process.stderr.write(`\nbench http: FAILED: ${message}\n`);
  killAllNow();
  process.exit(1);
}

process.on('exit', killAllNow);
process.on('SIGINT', () => fail('interrupted (SIGINT)'));
process.on('SIGTERM', () => fail('terminated (SIGTERM)'));
setTimeout(() => fail(`took longer than ${DEADLINE_MS / 1000} s`), DEADLINE_MS).unref();

// ---------------------------------------------------------------- small helpers





/** Busy CPU time of the whole machine (all cores), in ms, from /proc/stat. */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq (steal is the host's, guest is already in user)
  const busy = f.slice(0, 7).reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
  return (busy * 1000) / CLK_TCK;
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Got { status: number; body: string; ms: number }

function request(url: string, agent: http.Agent, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(url, { method, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function waitReady(url: string, agent: http.Agent, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await request(url, agent)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) fail(`${what} not ready at ${url} within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}

/** Sum of a metric's samples over all label sets. */
function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** One target's sample of a metric (0 when absent). */
function targetValue(text: string, name: string, target: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`target="${target}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const f1 = (v: number): string => v.toFixed(1);
const f2 = (v: number): string => v.toFixed(2);
const f3 = (v: number): string => v.toFixed(3);

// ---------------------------------------------------------------- phases

function build(): void {
  if (process.env.BENCH_NO_BUILD === '1') {
    if (!existsSync(path.join(ROOT, 'dist', 'main.js'))) fail('dist/main.js is missing: run `npm run build` (BENCH_NO_BUILD=1 skips the build)');
    console.log('using the existing dist/ (BENCH_NO_BUILD=1)');
    return;
  }
  console.log('npm run build ...');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) fail(`npm run build failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  if (!existsSync(path.join(ROOT, 'dist', 'main.js'))) fail('dist/main.js is missing after npm run build');
}

async function startTargets(): Promise<{ child: ChildProcess; port: number }> {
  const child = start('targets server', process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'http-targets.ts')]);
  const port = await new Promise<number>((resolve) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
  });
  return { child, port };
}

const targetUrl = (port: number, i: number): string => `http://127.0.0.1:${port}/t/${i}`;

function stackwatchConfig(port: number, hang: boolean): object {
  const http = Array.from({ length: TARGETS }, (_, i) => ({
    name: `t${String(i).padStart(3, '0')}`,
    url: targetUrl(port, i),
    interval: '1s',
    timeout: '500ms',
    json: { status: 'status', fields: { mqtt_connected: 'mqtt.connected', pending_requests: 'mqtt.pending_requests' } },
  }));
  if (hang) http.push({ ...http[0]!, name: 'hang', url: `http://127.0.0.1:${port}/hang` });
  return { limits: { http_in_flight: IN_FLIGHT }, docker: { enabled: false }, http };
}

interface Exporter { child: ChildProcess; pid: number; base: string; agent: http.Agent }

async function startStackwatch(configFile: string): Promise<Exporter> {
  const port = await fixedPort();
  const base = `http://127.0.0.1:${port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const s = startCommand();
  const child = start('stackwatch', process.execPath, [...s.nodeArgs, s.script, '--config', configFile, '--listen', `127.0.0.1:${port}`, '--storage.path', mkdtempSync(path.join(tmp, 'data-'))], s.env);
  await waitReady(`${base}/-/ready`, agent, 'stackwatch');
  return { child, pid: child.pid!, base, agent };
}

async function startBlackbox(): Promise<Exporter & { version: string }> {
  const v = spawnSync(BLACKBOX, ['--version'], { encoding: 'utf8' });
  const version = /version (\S+)/.exec(`${v.stdout}${v.stderr}`)?.[1] ?? 'unknown';
  const configFile = path.join(tmp, 'blackbox.yml');
  writeFileSync(configFile, stringify({
    modules: {
      http_health: {
        prober: 'http',
        timeout: '500ms',
        http: {
          method: 'GET',
          valid_status_codes: [], // empty = any 2xx
          preferred_ip_protocol: 'ip4',
          // Reads the body and checks the status, as stackwatch's json.status does.
          fail_if_body_not_matches_regexp: ['"status":\\s*"healthy"'],
        },
      },
    },
  }));
  const port = await fixedPort();
  const base = `http://127.0.0.1:${port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const child = start('blackbox_exporter', BLACKBOX, [`--web.listen-address=127.0.0.1:${port}`, `--config.file=${configFile}`, '--log.level=warn']);
  await waitReady(`${base}/-/healthy`, agent, 'blackbox_exporter');
  return { child, pid: child.pid!, base, agent, version };
}

/** Calls /probe for the targets in turn at RATE per second, at most IN_FLIGHT at once. */
function drive(url: (i: number) => string, agent: http.Agent, durationMs: number, onDone: (ok: boolean, at: number) => void): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    let issued = 0;
    let active = 0;
    const pump = (): void => {
      const now = performance.now();
      if (now - started >= durationMs) {
        clearInterval(tick);
        if (active === 0) resolve();
        return;
      }
      const due = Math.floor(((now - started) * RATE) / 1000);
      while (issued < due && active < IN_FLIGHT) {
        const i = issued % TARGETS;
        issued += 1;
        active += 1;
        request(url(i), agent).then(
          (r) => onDone(r.status === 200 && /^probe_success 1$/m.test(r.body), performance.now()),
          () => onDone(false, performance.now()),
        ).finally(() => {
          active -= 1;
          pump();
        });
      }
    };
    const tick = setInterval(pump, 2);
  });
}

interface Side { cpuMs: number; probes: number; failures: number; rssMb: number; cpuPerProbeMs: number }

interface Paced { cpuPerProbeMs: number; probes: number; failures: number }

/** bench/http-rounds.ts as a child, driven one command (a line) at a time. */
function roundTimer(targetsPort: number): { ask: <T>(command: string) => Promise<T>; child: ChildProcess } {
  const configFile = path.join(tmp, 'rounds.json');
  writeFileSync(configFile, JSON.stringify(stackwatchConfig(targetsPort, false)));
  const child = start('round timer', process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'http-rounds.ts'), configFile]);
  const waiting: ((line: string) => void)[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const ask = <T>(command: string): Promise<T> => new Promise<T>((resolve) => {
    waiting.push((line) => {
      const v = JSON.parse(line) as T & { error?: string };
      if (v.error !== undefined) fail(`bench/http-rounds.ts: ${v.error}`);
      resolve(v);
    });
    child.stdin?.write(`${command}\n`);
  });
  return { ask, child };
}

// ---------------------------------------------------------------- report

const load1 = (): string => os.loadavg()[0]!.toFixed(1);

async function main(): Promise<void> {
  if (!existsSync(BLACKBOX)) fail(`${BLACKBOX} is missing; install with: apt-get install -y prometheus-blackbox-exporter`);
  build();
  const began = Date.now();
  const loadBefore = load1();
  const targets = await startTargets();
  console.log(`targets: ${TARGETS} paths on 127.0.0.1:${targets.port} (one server, own process)`);

  // 1. Both exporters probe the same targets at the same rate over the same window.
  const configFile = path.join(tmp, 'stackwatch.yml');
  writeFileSync(configFile, stringify(stackwatchConfig(targets.port, false)));
  const sw = await startStackwatch(configFile);
  const bb = await startBlackbox();
  const probeUrl = (i: number): string => `${bb.base}/probe?module=http_health&target=${encodeURIComponent(targetUrl(targets.port, i))}`;
  const check = await request(probeUrl(0), bb.agent);
  if (!/^probe_success 1$/m.test(check.body)) fail(`blackbox_exporter probe of ${targetUrl(targets.port, 0)} failed:\n${check.body}`);

  console.log(`window: both exporters, ${WARMUP_MS / 1000} s warm-up, ${WINDOW_MS / 1000} s measured ...`);
  const win = { t0: Infinity, t1: Infinity };
  const bbSide = { probes: 0, failures: 0 };
  const driving = drive(probeUrl, bb.agent, WARMUP_MS + WINDOW_MS + 300, (ok, at) => {
    if (at < win.t0 || at > win.t1) return;
    bbSide.probes += 1;
    if (!ok) bbSide.failures += 1;
  });
  await sleep(WARMUP_MS);
  // stackwatch: scrape, then CPU at the start; CPU, then scrape at the end: the two scrapes' own
  // CPU stays outside the window and the probe count covers it (plus a few ms).
  const m0 = (await request(`${sw.base}/metrics`, sw.agent)).body;
  const sw0 = cpuMs(sw.pid);
  const bb0 = cpuMs(bb.pid);
  const ours0 = cpuMs(targets.child.pid!) + cpuMs(process.pid);
  const machine0 = machineBusyMs();
  win.t0 = performance.now();
  await sleep(WINDOW_MS);
  const sw1 = cpuMs(sw.pid);
  const bb1 = cpuMs(bb.pid);
  const ours1 = cpuMs(targets.child.pid!) + cpuMs(process.pid);
  const machine1 = machineBusyMs();
  win.t1 = performance.now();
  const m1 = (await request(`${sw.base}/metrics`, sw.agent)).body;
  const loadWindow = load1();
  await driving;
  const windowS = (win.t1 - win.t0) / 1000;
  // Everything else running on the machine in the window, in cores (the run's own processes out).
  const otherCores = (machine1 - machine0 - (sw1 - sw0) - (bb1 - bb0) - (ours1 - ours0)) / (win.t1 - win.t0);
  const benchCores = (ours1 - ours0) / (win.t1 - win.t0);
  const swProbes = sumMetric(m1, 'stackwatch_target_checks_total') - sumMetric(m0, 'stackwatch_target_checks_total');
  if (swProbes <= 0) fail('stackwatch did no probes in the window (stackwatch_target_checks_total did not move)');
  if (bbSide.probes <= 0) fail('blackbox_exporter did no probes in the window');
  const swr: Side = {
    cpuMs: sw1 - sw0, probes: swProbes, rssMb: rssMb(sw.pid), cpuPerProbeMs: (sw1 - sw0) / swProbes,
    failures: sumMetric(m1, 'stackwatch_target_check_failures_total') - sumMetric(m0, 'stackwatch_target_check_failures_total'),
  };
  const bbr: Side = { cpuMs: bb1 - bb0, probes: bbSide.probes, failures: bbSide.failures, rssMb: rssMb(bb.pid), cpuPerProbeMs: (bb1 - bb0) / bbSide.probes };

  // 2. stackwatch /metrics: this daemon (100 targets) and a second one with the hanging target
  //    too, scraped alternately so that both see the same machine.
  console.log(`stackwatch /metrics: ${SCRAPES} scrapes each of two daemons, without and with a hanging target ...`);
  const hangFile = path.join(tmp, 'stackwatch-hang.yml');
  writeFileSync(hangFile, stringify(stackwatchConfig(targets.port, true)));
  const swHang = await startStackwatch(hangFile);
  await sleep(WARMUP_MS); // the hanging target is now timing out every interval
  const h0 = (await request(`${swHang.base}/metrics`, swHang.agent)).body;
  const plain: number[] = [];
  const hung: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    for (const [d, into] of [[sw, plain], [swHang, hung]] as const) {
      const r = await request(`${d.base}/metrics`, d.agent);
      if (r.status !== 200) fail(`GET ${d.base}/metrics: status ${r.status}`);
      into.push(r.ms);
    }
  }
  const h1 = (await request(`${swHang.base}/metrics`, swHang.agent)).body;
  const hangChecks = targetValue(h1, 'stackwatch_target_checks_total', 'hang') - targetValue(h0, 'stackwatch_target_checks_total', 'hang');
  const hangFailures = targetValue(h1, 'stackwatch_target_check_failures_total', 'hang') - targetValue(h0, 'stackwatch_target_check_failures_total', 'hang');
  const series = m1.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  for (const d of [sw, swHang]) {
    d.agent.destroy();
    await stop(d.child);
  }

  // 3. Wall time of a round of the 100 targets: blackbox_exporter's and stackwatch's probe()
  //    rounds alternate (each alone at its turn), the first of each being a warm-up.
  console.log(`rounds: ${ROUNDS} alternating of blackbox_exporter and stackwatch probe(), then paced probe() 2 x ${PACED_S} s ...`);
  const timer = roundTimer(targets.port);
  const bbWalls: number[] = [];
  const swWalls: number[] = [];
  const swRoundCpu: number[] = [];
  let roundFailures = 0;
  let bbRoundCpu = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const c0 = cpuMs(bb.pid);
    const r0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < TARGETS) {
        const r = await request(probeUrl(next++), bb.agent);
        if (!/^probe_success 1$/m.test(r.body)) roundFailures += 1;
      }
    }));
    bbWalls.push(performance.now() - r0);
    if (round > 0) bbRoundCpu += cpuMs(bb.pid) - c0;
    await sleep(100);
    const s = await timer.ask<{ wallMs: number; cpuMs: number; failures: number }>('round');
    swWalls.push(s.wallMs);
    swRoundCpu.push(s.cpuMs);
    roundFailures += s.failures;
    await sleep(100);
  }
  const bbWallMs = quantile(bbWalls.slice(1), 0.5);
  const swWallMs = quantile(swWalls.slice(1), 0.5);
  const bbRoundCpuPerProbe = bbRoundCpu / ((ROUNDS - 1) * TARGETS);
  const swRoundCpuPerProbe = swRoundCpu.slice(1).reduce((a, b) => a + b, 0) / ((ROUNDS - 1) * TARGETS);
  bb.agent.destroy();
  await stop(bb.child);
  const paced = await timer.ask<{ spread: Paced; slots: Paced }>(`paced ${PACED_S}`);
  await stop(timer.child);
  await stop(targets.child);

  // ---- report
  const cpuRatio = swr.cpuPerProbeMs / bbr.cpuPerProbeMs;
  const wallRatio = swWallMs / bbWallMs;
  const p50 = quantile(plain, 0.5);
  const p90 = quantile(plain, 0.9);
  const hp50 = quantile(hung, 0.5);
  const hp90 = quantile(hung, 0.9);
  const met = cpuRatio <= 0.5;
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout.trim();
  const busy = otherCores > 0.25;
  const busyNote = busy
    ? `\n**The machine was busy with other work during this run** (${f2(otherCores)} cores): an idle CPU makes each\nwake-up dearer, and stackwatch's schedule costs about one wake-up per probe (diagnostics below), so its\nCPU per probe is likely higher on a quiet machine; rerun when quiet.`
    : '';
  const machine = `nproc ${nproc} (${os.cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}, blackbox_exporter ${bb.version} (Debian)`;

  const rows: string[][] = [
    ['**CPU per probe**, steady 100 probes/s (utime+stime / probes in the window)', `${f3(swr.cpuPerProbeMs)} ms`, `${f3(bbr.cpuPerProbeMs)} ms`, `**${f2(cpuRatio)}** (target ≤ 0.5: ${met ? 'met' : '**missed**'})`],
    ['**wall**, one round of 100 targets, 10 in flight (median)', `${f1(swWallMs)} ms`, `${f1(bbWallMs)} ms`, `**${f2(wallRatio)}**`],
    ['CPU per probe in those rounds (bursts of 100)', `${f3(swRoundCpuPerProbe)} ms`, `${f3(bbRoundCpuPerProbe)} ms`, f2(swRoundCpuPerProbe / bbRoundCpuPerProbe)],
    ['probes in the window / failed', `${swr.probes} / ${swr.failures}`, `${bbr.probes} / ${bbr.failures}`, ''],
    ['CPU in the window', `${f1(swr.cpuMs)} ms`, `${f1(bbr.cpuMs)} ms`, f2(swr.cpuMs / bbr.cpuMs)],
    ['RSS at the end of the window', `${f1(swr.rssMb)} MB`, `${f1(bbr.rssMb)} MB`, ''],
  ];
  const table = [
    '| 100 loopback targets | stackwatch | blackbox_exporter | stackwatch / blackbox |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const metricsTable = [
    `| stackwatch \`/metrics\` (${series} samples), ${SCRAPES} sequential scrapes | p50 | p90 |`,
    '|---|---|---|',
    `| 100 targets | ${f2(p50)} ms | ${f2(p90)} ms |`,
    `| 100 targets + 1 hanging (timeout 500ms) | ${f2(hp50)} ms | ${f2(hp90)} ms |`,
    `| ratio with / without | **${f2(hp50 / p50)}** | ${f2(hp90 / p90)} |`,
  ].join('\n');
  const diagTable = [
    '| stackwatch probe() + judge(), no daemon bookkeeping (bench/http-rounds.ts) | CPU per probe |',
    '|---|---|',
    `| bursts: rounds of 100, 10 in flight | ${f3(swRoundCpuPerProbe)} ms |`,
    `| steady 100/s, the collector's schedule (start phases spread evenly over 1 s) | ${f3(paced.spread.cpuPerProbeMs)} ms (${paced.spread.probes} probes) |`,
    `| steady 100/s, start phases rounded to 10 slots per second (10 probes per wake-up) | ${f3(paced.slots.cpuPerProbeMs)} ms (${paced.slots.probes} probes) |`,
  ].join('\n');

  const section = `${SECTION}

Command: \`npm run bench http\` (bench/http.bench.ts). Date: ${date}. Machine: ${machine}.
Other load on the machine during the window: ${f2(otherCores)} of ${nproc} cores busy with work outside this
run (targets server + bench driver: ${f2(benchCores)}); 1-min load average ${loadBefore} before, ${loadWindow} at the
end of the window. Whole run: ${f1((Date.now() - began) / 1000)} s after the build.${busyNote}

${table}

${metricsTable}

Diagnostics, the same probes without the daemon (${PACED_S} s windows, after 2 s of warm-up):

${diagTable}

Method:
- Targets: one Node server in its own process (bench/http-targets.ts), so its CPU counts against
  neither exporter: ${TARGETS} paths \`/t/0\`…\`/t/${TARGETS - 1}\` on 127.0.0.1 answering
  \`{"status":"healthy","mqtt":{"connected":true,"pending_requests":3}}\`, and \`/hang\`, which never answers.
- Window: both exporters run at once against the same targets, each probing every target once a
  second (${RATE} probes/s each), at most ${IN_FLIGHT} in flight, timeout 500ms; after ${WARMUP_MS / 1000} s of warm-up,
  utime+stime of each process (/proc/PID/stat, CLK_TCK ${CLK_TCK}, all threads) over the same ${f1(windowS)} s,
  divided by the probes each did in it.
- stackwatch: the built daemon as \`npm start\` runs it (\`node --max-semi-space-size=1 dist/main.js --config … --listen 127.0.0.1:PORT\`), each target
  \`interval: 1s\`, \`timeout: 500ms\`, \`json:\` status + 2 fields, \`limits.http_in_flight: ${IN_FLIGHT}\`, keep-alive
  (ProbeAgents). Probes counted from \`stackwatch_target_checks_total\` deltas; nothing else scrapes it
  during the window (Prometheus would add one scrape per interval).
- blackbox_exporter: module \`prober: http\`, \`timeout: 500ms\`, any 2xx,
  \`fail_if_body_not_matches_regexp\` on the status (so it reads the body too), driven by the bench
  with \`/probe?module=…&target=…\` paced at ${RATE}/s, ${IN_FLIGHT} in flight, keep-alive to the exporter
  (as Prometheus would); probes counted as the \`/probe\` answers completed in the window.
- Wall for a round (after the window, each exporter alone at its turn): ${ROUNDS} rounds of each,
  alternating, the first of each a warm-up, median of the rest. blackbox: 100 \`/probe\` calls,
  ${IN_FLIGHT} in flight. stackwatch: its probe() + Semaphore(${IN_FLIGHT}) + judge() from dist/ with one keep-alive
  ProbeAgents per target (bench/http-rounds.ts; the daemon spreads its probes over the interval,
  so a round cannot be timed from it). CPU of those rounds from /proc (blackbox) and
  process.cpuUsage() (stackwatch's round timer).
- \`/metrics\`: after the window, a second daemon with the same 100 targets plus a 101st on \`/hang\`
  (interval 1s, timeout 500ms; it timed out ${hangFailures} of ${hangChecks} times during the scrapes),
  ${SCRAPES} sequential scrapes of each, alternating between the two daemons.
- One run on a shared 2-core VM. The CPU-per-probe figures move with the machine's other load
  (above): each probe of a spread-out schedule is a wake-up of its own, dearer on an idle CPU (see
  the diagnostics), so compare runs made on a quiet machine.
`;

  console.log(`\n${table}\n\n${metricsTable}\n\n${diagTable}\n`);
  if (roundFailures + paced.slots.failures + paced.spread.failures > 0) {
    console.log(`note: failed probes outside the window: rounds ${roundFailures}, paced ${paced.spread.failures}+${paced.slots.failures}`);
  }
  if (busy) console.log(`warning: other work used ${f2(otherCores)} cores during the window; the figures are not those of a quiet machine`);
  if (!met) console.log(`stackwatch CPU per probe is ${f2(cpuRatio)} of blackbox_exporter's: the ≤ 0.5 target is MISSED`);
  writeSection(section);
  console.log(`wrote the "${SECTION}" section of docs/benchmarks.md`);
  stopping = true;
}

main().then(
  () => {
    killAllNow();
    process.exit(0);
  },
  (err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)),
);
