/**
 * `npm run bench snapshot [-- --before DIR]`: the periodic snapshot of the availability tracker
 * at the reference load (153 targets: 100 HTTP and 3 MQTT with latency history, 50 containers;
 * 48 h of per-minute history each), and the tracker's own cost per observation, both A/B against
 * DIR, a built checkout of another commit (`npm run build` there; its dist/ is loaded).
 * Both variants get the same observations from the same simulated clock, and run interleaved
 * (alternating which goes first) in this one process, so the machine's load hits both alike.
 * Writes the `## Periodic snapshot` section of docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import type { TargetKind } from '../src/availability';
import * as current from '../src/availability';
import { silentLogger } from '../src/log';
import * as currentStorage from '../src/storage';
import { writeSection } from './doc';

const SECTION = '## Periodic snapshot';
const args = process.argv.slice(2);
const beforeIdx = args.indexOf('--before');
const BEFORE = beforeIdx >= 0 ? path.resolve(args[beforeIdx + 1] ?? '') : undefined;
const START = 1_790_000_000 - (1_790_000_000 % 60);
const SEED_HOURS = 48;
/**
 * Simulated minutes of steady load measured (a snapshot every 5 s of them). The default covers one
 * hour of the clock: the once-an-hour work (the hour ring's new slot, the minute ring's next hour)
 * counts once in the mean, as it does in an hour of the daemon.
 */
const MINUTES = Number(process.env.BENCH_MINUTES ?? 60);
/** The commit of a checkout, else its path. */
const describe = (dir: string): string => spawnSync('git', ['-C', dir, 'log', '-1', '--format=commit %h'], { encoding: 'utf8' }).stdout.trim() || dir;

interface Tracker {
  declare(kind: TargetKind, target: string): void;
  observe(kind: TargetKind, target: string, ok: boolean, opts?: { at?: number; error?: string; latencySeconds?: number }): void;
}
interface StorageLike { load(): void; periodicSave(): Promise<boolean>; readonly file: string }
interface Variant {
  name: string;
  tracker: Tracker;
  storage: StorageLike;
  dir: string;
  /** Per snapshot: event-loop ms at its start, CPU ms of all threads, wall ms. */
  loop: number[];
  cpu: number[];
  wall: number[];
  /** Per steady second of observations: CPU ms. */
  observeCpu: number[];
  /** CPU ms of the first save (everything compressed), before the measured ones. */
  firstCpu: number;
  gcMs: number;
  gcCount: number;
}

const TARGETS: { kind: TargetKind; name: string; every: number; latency: boolean }[] = [
  ...Array.from({ length: 100 }, (_, i) => ({ kind: 'http' as const, name: `http-${i}`, every: 5, latency: true })),
  ...Array.from({ length: 3 }, (_, i) => ({ kind: 'mqtt' as const, name: `broker-${i}`, every: 10, latency: true })),
  ...Array.from({ length: 50 }, (_, i) => ({ kind: 'container' as const, name: `app-${i}`, every: 10, latency: false })),
];

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const quantile = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN; };
const median = (xs: number[]): number => quantile(xs, 0.5);
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const f2 = (v: number): string => v.toFixed(2);

/** One observation, the same for both variants: target i at time t. */
function observe(tr: Tracker, i: number, t: number): void {
  const tg = TARGETS[i]!;
  // Every 17th target fails 3 checks in every 40 (an outage a few times an hour).
  const ok = !(i % 17 === 0 && Math.floor(t / tg.every) % 40 < 3);
  tr.observe(tg.kind, tg.name, ok, {
    at: t,
    ...(ok ? {} : { error: 'connect ECONNREFUSED 127.0.0.1:8080' }),
    ...(tg.latency ? { latencySeconds: 0.002 + 0.001 * ((t + i) % 7) } : {}),
  });
}

function variant(name: string, mod: { AvailabilityTracker: new (r: Registry, c: () => number) => Tracker },
  store: { Storage: new (dir: string, t: never, c: () => number, l: ReturnType<typeof silentLogger>) => StorageLike }, clock: () => number): Variant {
  const tracker = new mod.AvailabilityTracker(new Registry(), clock);
  const dir = mkdtempSync(path.join(os.tmpdir(), `stackwatch-bench-snapshot-${name}-`));
  const storage = new store.Storage(dir, tracker as never, clock, silentLogger());
  storage.load();
  for (const t of TARGETS) tracker.declare(t.kind, t.name);
  return { name, tracker, storage, dir, loop: [], cpu: [], wall: [], observeCpu: [], firstCpu: 0, gcMs: 0, gcCount: 0 };
}

async function main(): Promise<void> {
  const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const load0 = os.loadavg()[0]!;
  let now = START - SEED_HOURS * 3600;
  const clock = (): number => now;
  const variants: Variant[] = [variant('this build', current, currentStorage, clock)];
  if (BEFORE !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    variants.push(variant('before', require(path.join(BEFORE, 'dist', 'availability.js')) as never, require(path.join(BEFORE, 'dist', 'storage.js')) as never, clock));
  }

  // 48 h of history, one check a minute per target (fills every minute slot), then steady load.
  const t0 = performance.now();
  for (; now < START; now += 60) for (const v of variants) TARGETS.forEach((_, i) => observe(v.tracker, i, now));
  console.log(`seeded ${TARGETS.length} targets x ${SEED_HOURS} h in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The first save after a start compresses everything; it is measured on its own.
  for (const v of variants) {
    const c0 = cpuMs();
    if (!(await v.storage.periodicSave())) throw new Error(`${v.name}: snapshot failed`);
    v.firstCpu = cpuMs() - c0;
  }

  // Garbage collections, attributed to the variant whose turn it was when they started.
  let turn: Variant | undefined;
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (turn === undefined) continue;
      turn.gcMs += e.duration;
      turn.gcCount += 1;
    }
  });
  gcs.observe({ entryTypes: ['gc'] });
  const steps = MINUTES * 12;
  for (let step = 0; step < steps; step++) {
    const order = step % 2 === 0 ? variants : [...variants].reverse();
    // Five seconds of observations, each variant's measured on its own.
    for (const v of order) {
      const at = now;
      turn = v;
      const c0 = cpuMs();
      for (let s = 0; s < 5; s++) {
        TARGETS.forEach((tg, i) => { if ((at + s) % tg.every === i % tg.every) observe(v.tracker, i, at + s); });
      }
      v.observeCpu.push((cpuMs() - c0) / 5);
      await new Promise((r) => setImmediate(r)); // let the GC entries of this turn arrive
      turn = undefined;
    }
    now += 5;
    for (const v of order) {
      turn = v;
      const c0 = cpuMs();
      const w0 = performance.now();
      const p = v.storage.periodicSave();
      v.loop.push(performance.now() - w0);
      if (!(await p)) throw new Error(`${v.name}: snapshot failed`);
      v.wall.push(performance.now() - w0);
      v.cpu.push(cpuMs() - c0);
      await new Promise((r) => setImmediate(r));
      turn = undefined;
    }
  }
  gcs.disconnect();
  const load1 = os.loadavg()[0]!;

  const [cur, before] = variants as [Variant, Variant | undefined];
  const ratio = (f: (v: Variant) => number): string => (before === undefined ? '' : ` (**${f2(f(cur) / f(before))}×**)`);
  const size = (v: Variant): number => statSync(v.storage.file).size;
  const rows: [string, (v: Variant) => number, string][] = [
    ['event-loop time at the start of a save (state + encoding up to the first await), median', (v) => median(v.loop), 'ms'],
    ['CPU per save, all threads (encoding, compression, write, fsync), median', (v) => median(v.cpu), 'ms'],
    ['CPU per save, mean (includes what happens once a minute and once an hour)', (v) => sum(v.cpu) / v.cpu.length, 'ms'],
    ['CPU per save, 95th percentile', (v) => quantile(v.cpu, 0.95), 'ms'],
    ['CPU per save, the dearest (once an hour)', (v) => Math.max(...v.cpu), 'ms'],
    ['wall time per save, median', (v) => median(v.wall), 'ms'],
    ['snapshot CPU per second of daemon time (mean / 5 s)', (v) => sum(v.cpu) / v.cpu.length / 5, 'ms/s'],
    ['tracker CPU per second of observations (25.3 observations/s), median', (v) => median(v.observeCpu), 'ms/s'],
    ['garbage collection during saves and observations, per simulated second', (v) => v.gcMs / (steps * 5), 'ms/s'],
    ['garbage collections per simulated second', (v) => v.gcCount / (steps * 5), ''],
    ['snapshot file size', (v) => size(v) / 2 ** 20, 'MB'],
    ['CPU of the first save after a start (everything compressed), not in the figures above', (v) => v.firstCpu, 'ms'],
  ];
  const lines = [
    SECTION,
    '',
    `Command: \`npm run bench snapshot -- --before DIR\` (bench/snapshot.bench.ts), DIR a build (\`npm run build\`) of another commit: ${BEFORE === undefined ? 'none in this run' : `${describe(BEFORE)}, before the change below; this build is ${describe(path.join(__dirname, '..'))} plus any uncommitted change`}.`,
    `Date: ${started}. Machine: nproc ${os.cpus().length}, Node ${process.version}. 1-min load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end (other work shares the machine).`,
    '',
    `${TARGETS.length} targets (100 HTTP at 5 s and 3 MQTT at 10 s with latency history, 50 containers at 10 s), ${SEED_HOURS} h of per-minute history each,`,
    `then ${MINUTES} simulated minutes of steady load with a periodic save (\`Storage.periodicSave\`, to a temporary directory) every 5 s:`,
    `${steps} saves per variant, interleaved in one process, the order alternating. CPU from process.cpuUsage() (all threads), GC from perf_hooks.`,
    '',
    `| figure | this build | ${before === undefined ? '' : 'before | '}`,
    `|---|---|${before === undefined ? '' : '---|'}`,
    ...rows.map(([what, f, unit]) => `| ${what} | ${f2(f(cur))} ${unit}${ratio(f)} | ${before === undefined ? '' : `${f2(f(before))} ${unit} |`}`),
    '',
    'How (this build): the file is the same single gzip stream of the same JSON (any version reads it; this one',
    'reads older files). Each target\'s closed history (its closed minutes, incidents and closed hours, with the',
    'fixed text between them) is one run of compressed bytes with its CRC-32, kept and copied whole while none',
    'of its parts changed; a save makes one small text of the counters and open slots (stored uncompressed) and',
    'joins each run\'s CRC by one multiplication. The minute ring\'s text is cut around the hour of the ring the',
    'open minute is in: that hour of each slot array (80-160 bytes) is stored and redone every minute; the rest',
    'is compressed again only when the open minute moves into the next hour of the ring (all targets at once,',
    'the dearest save above), or when an outage\'s down time lands in an older slot. Before, every target\'s',
    'minute ring was compressed again every minute (~150 texts of 27 kB, each through the thread pool), and every',
    'save combined ~300 CRCs by zlib\'s crc32_combine loop. Stale texts are compressed on the main thread, one at',
    'a time, with the event loop let go every 4 ms: the thread pool cost ~0.5 ms of main thread per text, more',
    'than compressing a 4 kB text. Every save is still a whole, self-contained file written atomically, so a',
    'crash loses at most one interval (5 s), as before. The file is larger (the hot hour of each ring is stored).',
    '',
    'Why the daemon profile\'s storage.js share rose from 5.9 to 11% (1.4 to 2.7 ms/s) between two rounds: not',
    'by a change of the snapshot. Between those profiles the encoder changed only for a tracker without targets',
    '(the reference daemon has 153), and runs of this benchmark put the old encoder at 2.3-3.5 ms/s (all',
    'threads) at this size: the 11% is what it cost. Half of it came once a minute, in a burst of ~150',
    'compressions costing ~0.5 ms of main thread each, so the share a 180 s profile gives depends on how those',
    'bursts are sampled on a loaded machine (the same profile at load 32 gave 14.5%).',
    '',
    'What remains per steady save: the state\'s small text (~100 kB at 153 targets: counters, recovery buckets,',
    'both open slots; ~0.7 kB a target) made with JSON.stringify, and the write, fsync and rename. Writing only',
    'when a state changes, with the counters every 30 s, would save most of the rest but lose up to 30 s of',
    'counts in a crash instead of 5 s; not done.',
    '',
  ];
  const section = lines.join('\n');
  console.log(section);
  if (BEFORE !== undefined) writeSection(section);
  for (const v of variants) rmSync(v.dir, { recursive: true, force: true });
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
