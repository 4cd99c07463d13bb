/**
 * Memory A/B at the soak's load: several daemon variants side by side against the same targets
 * and the same churn, sampled together every 30 s (RSS split from /proc/PID/smaps into files, the
 * main malloc arena, other arenas and other anonymous memory; V8 heap and external from the
 * daemon's own metrics; CPU from /proc/PID/stat), then 200 back-to-back scrapes per daemon with
 * the RSS peak. Records go to /tmp/rss-ab.jsonl (--out), a line per sample.
 *
 *   npm run build && npx ts-node --transpile-only bench/rss-ab.ts --minutes 12 --old DIR --variants old:base,arena2mmap
 *
 * Variants (ALL below): `base` is this build with `--max-semi-space-size=1` and no malloc
 * settings; `arena2mmap` is it as `npm start` runs it; `nostore` has no usable storage directory
 * (no snapshots), `nostore2mmap` the same as `npm start` runs it; `nosemi*` drop the node flag. `old:NAME` runs NAME from the build in --old DIR.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startedPort } from '../test/harness/built-daemon';
import { MAIN } from '../test/harness/cli';
import { scrape, type Metrics } from '../test/harness/prom-text';
import { Dockerd } from '../test/harness/dockerd';
import { Mosquitto } from '../test/harness/mosquitto';
import { ProcessSet } from '../test/harness/processes';
import { sleep, waitFor } from '../test/harness/wait';
import { soakConfig, startHealthTargets, stopLoad } from './soak-load';

function opt(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1]!;
}
const MINUTES = Number(opt('minutes', '10'));
const WARM = Number(opt('warm', '120'));
const N_HTTP = Number(opt('http', '100'));
const N_CONTAINERS = Number(opt('containers', '50'));
const N_PROCESSES = Number(opt('processes', '600'));
const SAMPLE_S = Number(opt('sample', '30'));
const OUT = opt('out', '/tmp/rss-ab.jsonl');
/** Back-to-back scrapes per daemon at the end (one daemon at a time), with its RSS sampled every 20 ms. */
const SCRAPES = Number(opt('scrapes', '200'));

interface Variant { name: string; nodeArgs: string[]; env: Record<string, string>; args: string[]; main?: string }
/** `old:` before a variant's name runs it from the build in --old DIR (dist/main.js under it). */
const OLD = opt('old', '');
const ALL: Record<string, Omit<Variant, 'name' | 'main'>> = {
  base: { nodeArgs: ['--max-semi-space-size=1'], env: {}, args: [] },
  arena2: { nodeArgs: ['--max-semi-space-size=1'], env: { MALLOC_ARENA_MAX: '2' }, args: [] },
  arena1: { nodeArgs: ['--max-semi-space-size=1'], env: { MALLOC_ARENA_MAX: '1' }, args: [] },
  nostore: { nodeArgs: ['--max-semi-space-size=1'], env: {}, args: ['--storage.path', '/dev/null/stackwatch-none'] },
  nostore2mmap: { nodeArgs: ['--max-semi-space-size=1'], env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }, args: ['--storage.path', '/dev/null/stackwatch-none'] },
  nosemi: { nodeArgs: [], env: {}, args: [] },
  nosemi2: { nodeArgs: [], env: { MALLOC_ARENA_MAX: '2' }, args: [] },
  arena2mmap: { nodeArgs: ['--max-semi-space-size=1'], env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }, args: [] },
  trim: { nodeArgs: ['--max-semi-space-size=1'], env: { MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_MMAP_THRESHOLD_: '131072' }, args: [] },
};
const variants: Variant[] = opt('variants', 'base,arena2,nostore').split(',').map((n) => {
  const old = n.startsWith('old:');
  const v = ALL[old ? n.slice(4) : n]!;
  return { name: n, ...v, main: old ? path.join(OLD, 'dist', 'main.js') : MAIN };
});

const log = (l: string): void => { process.stdout.write(`[rss-ab ${new Date().toISOString().slice(11, 19)}] ${l}\n`); };

/** Sums of /proc/PID/smaps by kind of mapping (kB). */
function smaps(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const out: Record<string, number> = { rss: 0, anon: 0, file: 0, brk: 0, anonMaps: 0, anon64: 0, stack: 0 };
  let name = '';
  const lines = text.split('\n');
  // Arena-like: an anonymous rw mapping followed by a ---p one, the two inside one 64 MB-aligned region.
  let prev: { start: number; end: number; perms: string; name: string; rss: number } | undefined;
  const maps: { start: number; end: number; perms: string; name: string; rss: number }[] = [];
  for (const l of lines) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (head) {
      name = head[4]!;
      prev = { start: parseInt(head[1]!, 16), end: parseInt(head[2]!, 16), perms: head[3]!, name, rss: 0 };
      maps.push(prev);
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (m && prev) {
      const kb = Number(m[1]);
      prev.rss = kb;
      out.rss! += kb;
      if (name === '' ) { out.anon! += kb; out.anonMaps! += 1; } else if (name === '[heap]') out.brk! += kb;
      else if (name.startsWith('[stack')) out.stack! += kb;
      else if (name.startsWith('/')) out.file! += kb;
      else out.anon! += kb;
    }
  }
  // glibc arenas: heap_info at a 64 MB-aligned address, rw part then ---p reserve.
  for (let i = 0; i < maps.length; i++) {
    const a = maps[i]!;
    if (a.name !== '' || a.perms !== 'rw-p' || a.start % (64 << 20) !== 0) continue;
    const b = maps[i + 1];
    if (b && b.perms === '---p' && b.start === a.end && b.end - a.start === 64 << 20) out.anon64! += a.rss;
  }
  return out;
}

interface Daemon { child: ReturnType<ProcessSet['start']>; url: string; configFile: string; scrape(): Promise<Metrics>; stop(): Promise<void> }

async function startDaemon(procs: ProcessSet, v: Variant, config: Record<string, unknown>, dir: string): Promise<Daemon> {
  const configFile = path.join(dir, `${v.name.replace(':', '-')}.yml`);
  writeFileSync(configFile, stringify(config));
  const child = procs.start(process.execPath, [...v.nodeArgs, v.main!, '--config', configFile, '--listen', '127.0.0.1:0',
    '--storage.path', path.join(dir, `data-${v.name.replace(':', '-')}`), '--web.enable-lifecycle', ...v.args], { env: { ...process.env, ...v.env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-100_000); });
  const port = await waitFor(`${v.name} to start`, () => startedPort(stderr), 60_000, 100);
  const url = `http://127.0.0.1:${port}`;
  return { child, url, configFile, scrape: () => scrape(url), stop: () => procs.kill(child, 'SIGTERM', 5000) };
}

async function main(): Promise<void> {
  const procs = new ProcessSet();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-rssab-'));
  let docker: Dockerd | undefined;
  let broker: Mosquitto | undefined;
  let server: http.Server | undefined;
  const daemons: { v: Variant; d: Daemon }[] = [];
  let running = true;
  const bg: Promise<void>[] = [];
  try {
    const targets = await startHealthTargets();
    server = targets.server;
    const { failing, port: httpPort } = targets;
    log('starting dockerd, mosquitto, processes');
    [docker, broker] = await Promise.all([N_CONTAINERS > 0 ? Dockerd.start() : Promise.resolve(undefined), Mosquitto.start(procs, { sysInterval: 10, quiet: true })]);
    const dk = docker;
    const br = broker;
    const groupName = (g: number): string => `swrssab-${process.pid}-g${g}`;
    const groupProc = new Map<number, ReturnType<ProcessSet['start']>>();
    const startGroup = (g: number): void => { groupProc.set(g, procs.start('bash', ['-c', `exec -a ${groupName(g)} sleep 1000000`], { stdio: 'ignore' })); };
    for (let g = 0; g < 10; g++) startGroup(g);
    for (let i = 10; i < N_PROCESSES; i++) procs.start('sleep', ['1000000'], { stdio: 'ignore' });
    const names = Array.from({ length: N_CONTAINERS }, (_, i) => `swrssab-c${i}`);
    if (dk) {
      for (let i = 0; i < names.length; i += 5) {
        await Promise.all(names.slice(i, i + 5).map((n, j) => dk.runContainer(n, i + j < 5 ? ['--health-cmd', 'true', '--health-interval', '5s'] : [], ['sleep', '1000000'])));
      }
    }
    const accessLog = path.join(dir, 'access.log');
    writeFileSync(accessLog, '');
    // A route that is not a literal, so the linear-time engine runs on every line.
    const config = (extra: boolean): Record<string, unknown> => soakConfig({
      httpPort, nHttp: N_HTTP, extra, brokerUrl: br.url, dockerHost: dk?.host, accessLog,
      groupNames: Array.from({ length: 10 }, (_, g) => groupName(g)),
      routes: { health: '^/api/health', chatbot: '^/api/chatbot/(a|m)' },
    });
    for (const v of variants) {
      const d = await startDaemon(procs, v, config(false), dir);
      daemons.push({ v, d });
      log(`${v.name}: pid ${d.child.pid} ${d.url}`);
    }
    bg.push((async () => {
      const codes = [200, 200, 200, 200, 200, 200, 404, 502, 200, 503];
      for (let i = 0; running; i++) {
        const t = new Date().toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1/$2/$3:$4 +0000');
        appendFileSync(accessLog, `127.0.0.1 - - [${t}] "GET ${i % 3 === 0 ? '/api/chatbot/m' : '/api/health'} HTTP/1.1" ${codes[i % codes.length]} 42 "-" "soak" 0.012 0.010\n`);
        await sleep(50);
      }
    })());
    // Scrapes every 15 s, each daemon.
    bg.push((async () => {
      while (running) {
        for (const { d } of daemons) await d.scrape().catch(() => undefined);
        for (let i = 0; i < 15 && running; i++) await sleep(1000);
      }
    })());
    const t0 = Date.now();
    /** utime+stime in ms from /proc/PID/stat, and when it was read, per variant. */
    const lastCpu = new Map<string, { ms: number; at: number }>();
    const cpuMs = (pid: number): number => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) * 10;
    };
    const sample = async (): Promise<void> => {
      for (const { v, d } of daemons) {
        const pid = d.child.pid!;
        const s = smaps(pid);
        const m = await d.scrape().catch(() => undefined);
        const threads = readdirSync(`/proc/${pid}/task`).length;
        const cpu = { ms: cpuMs(pid), at: Date.now() };
        const before = lastCpu.get(v.name);
        lastCpu.set(v.name, cpu);
        const cpuMsPerS = before ? (cpu.ms - before.ms) / ((cpu.at - before.at) / 1000) : NaN;
        const rec = {
          t: Math.round((Date.now() - t0) / 1000), v: v.name, rssMB: s.rss! / 1024, anonMB: s.anon! / 1024, brkMB: s.brk! / 1024, arenaMB: s.anon64! / 1024, fileMB: s.file! / 1024,
          anonMaps: s.anonMaps, threads, cpuMsPerS, cpuTotalMs: cpu.ms,
          heapTotalMB: (m?.get('nodejs_heap_size_total_bytes') ?? NaN) / 1e6 * 1e6 / 1048576,
          heapUsedMB: (m?.get('nodejs_heap_size_used_bytes') ?? NaN) / 1048576,
          externalMB: (m?.get('nodejs_external_memory_bytes') ?? NaN) / 1048576,
          load1: os.loadavg()[0],
        };
        appendFileSync(OUT, `${JSON.stringify(rec)}\n`);
        log(`${v.name.padEnd(8)} rss ${rec.rssMB.toFixed(1)} anon ${rec.anonMB.toFixed(1)} brk ${rec.brkMB.toFixed(1)} arenas ${rec.arenaMB.toFixed(1)} file ${rec.fileMB.toFixed(1)} heapT ${rec.heapTotalMB.toFixed(1)} ext ${rec.externalMB.toFixed(1)} thr ${threads} cpu ${cpuMsPerS.toFixed(1)} ms/s load ${rec.load1!.toFixed(1)}`);
      }
    };
    bg.push((async () => {
      while (running) {
        await sample();
        for (let i = 0; i < SAMPLE_S && running; i++) await sleep(1000);
      }
    })());
    const flap = async (t: number): Promise<void> => { failing.add(t); await sleep(12_000); failing.delete(t); };
    const procOut = async (g: number): Promise<void> => { await procs.kill(groupProc.get(g)!, 'SIGKILL'); await sleep(12_000); startGroup(g); };
    let churnN = 0;
    let churnLive: string | undefined;
    const reload = async (extra: boolean): Promise<void> => {
      for (const { d } of daemons) {
        writeFileSync(d.configFile, stringify(config(extra)));
        await fetch(`${d.url}/-/reload`, { method: 'POST' }).catch(() => undefined);
      }
    };
    const deadline = t0 + (WARM + MINUTES * 60) * 1000;
    await waitFor('daemons up', async () => (await daemons[0]!.d.scrape()).all('stackwatch_target_up').length > N_HTTP, 180_000, 1000);
    for (let c = 0; Date.now() + 60_000 <= deadline; c++) {
      const at = Date.now();
      const steps: Promise<unknown>[] = [flap(c % 5), procOut(c % 2), (async () => { await sleep(30_000); await flap((c + 2) % 5); })()];
      if (dk) {
        steps.push((async () => {
          await sleep(10_000);
          await dk.ok(['stop', '-t', '0', names[c % 2]!]);
          await sleep(12_000);
          await dk.ok(['start', names[c % 2]!]);
        })(), (async () => {
          await sleep(15_000);
          const next = `swrssab-churn-${churnN++}`;
          await dk.runContainer(next, [], ['sleep', '1000000']);
          if (churnLive) await dk.ok(['rm', '-f', churnLive]);
          churnLive = next;
        })());
      }
      if (c % 2 === 0) steps.push((async () => { await sleep(20_000); await reload(true); await sleep(20_000); await reload(false); })());
      if (c % 2 === 1) steps.push((async () => { await sleep(40_000); renameSync(accessLog, `${accessLog}.1`); })());
      if (c % 5 === 4) steps.push((async () => { await sleep(35_000); await br.stop(); await sleep(8000); await br.startAgain(); })());
      await Promise.all(steps);
      await sleep(Math.max(0, at + 60_000 - Date.now()));
    }
    running = false;
    await Promise.all(bg);
    await sample();
    for (const { v, d } of daemons) {
      const pid = d.child.pid!;
      const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
      const before = rss();
      let peak = before;
      const timer = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
      const cpu0 = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const t = Date.now();
      for (let i = 0; i < SCRAPES; i++) await d.scrape();
      clearInterval(timer);
      peak = Math.max(peak, rss());
      const ms = (stat: string): number => { const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
      const cpu = ms(readFileSync(`/proc/${pid}/stat`, 'utf8')) - ms(cpu0);
      const sm = smaps(pid);
      const m = await d.scrape();
      const rec = {
        phase: 'scrapes', v: v.name, scrapes: SCRAPES, beforeMB: before, peakMB: peak, afterMB: rss(), wallMs: Date.now() - t, cpuMsPerScrape: cpu / SCRAPES, load1: os.loadavg()[0],
        after: { brkMB: sm.brk! / 1024, arenaMB: sm.anon64! / 1024, anonMB: sm.anon! / 1024, fileMB: sm.file! / 1024, heapTotalMB: (m.get('nodejs_heap_size_total_bytes') ?? NaN) / 1048576, externalMB: (m.get('nodejs_external_memory_bytes') ?? NaN) / 1048576 },
      };
      appendFileSync(OUT, `${JSON.stringify(rec)}\n`);
      log(`${v.name.padEnd(8)} ${SCRAPES} back-to-back scrapes: RSS ${before.toFixed(1)} -> peak ${peak.toFixed(1)} MB, after ${rec.afterMB.toFixed(1)}; ${(rec.wallMs / SCRAPES).toFixed(1)} ms wall, ${rec.cpuMsPerScrape.toFixed(1)} ms CPU per scrape`);
    }
  } finally {
    running = false;
    await Promise.all(bg).catch(() => undefined);
    for (const { d } of daemons) await d.stop().catch(() => undefined);
    await stopLoad({ server, broker, docker, procs, dir });
  }
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
