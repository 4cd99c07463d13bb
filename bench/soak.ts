/**
 * `npm run soak -- --minutes 30`: the built daemon (as `npm start` runs it) under churn at a
 * reference-like load, for as long as asked, then a verdict on what must not drift.
 *
 * Load (flags change it): 100 HTTP JSON health targets at 5 s, one mosquitto broker with a round
 * trip every 10 s, 50 containers of a private dockerd (test/harness/dockerd.ts; 5 with a health
 * check), 10 process groups among 600 processes, one nginx-format access log written at ~20 lines/s;
 * a Prometheus stand-in scrapes /metrics every 15 s.
 *
 * Churn, every minute: an HTTP target fails for 12 s (twice), a process group's only process dies
 * and comes back 12 s later, a container is stopped and started 12 s later, a new container is
 * created and the previous one removed; every 2 minutes a config reload adds an HTTP target and
 * another removes it, and the access log is rotated (renamed, a new file written); every 5 minutes
 * the broker is stopped for 8 s. Warm-up runs every kind of churn once, on every target that churns,
 * so that every series that churn creates exists at the start.
 *
 * Verdict (exit 1 if any fails): the stackwatch_* series count at the end equals the start's
 * (after warm-up); RSS at the end within 10 % of the start's; open fds at the end no more than
 * the start's + 2 (fewer is no leak: the process collector holds /proc files per process);
 * event-loop lag p99 (per scrape) below 50 ms at every scrape; and
 * each target's outage count (stackwatch_target_outages_total) equal to the churn's ground truth,
 * zero for targets that never churned. Writes the "## Soak" section of docs/benchmarks.md.
 *
 * `--cpu-prof` runs the daemon under V8's CPU profiler and, at the end, lists its long tasks (runs of
 * 30 ms or more without an idle sample) with their times and what ran in them: to find what held
 * the event loop when a scrape's lag was high. The profile is kept in the temporary directory.
 * Ctrl-C ends the churn early: the verdict is printed but not written to the docs.
 */
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startBuiltDaemon, type BuiltDaemon } from '../test/harness/built-daemon';
import { Dockerd } from '../test/harness/dockerd';
import { Mosquitto } from '../test/harness/mosquitto';
import type { Metrics } from '../test/harness/prom-text';
import { ProcessSet } from '../test/harness/processes';
import { startCommand } from '../test/harness/start-command';
import { sleep, waitFor } from '../test/harness/wait';
import { longTasks, readProfile } from './cpu-profile';
import { soakConfig, startHealthTargets, stopLoad } from './soak-load';

const ROOT = path.join(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const SECTION = '## Soak';

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} expects a number`);
  return v;
}

/** The event-loop lag p99 every scrape must stay below. */
const LAG_LIMIT_S = 0.05;
const MINUTES = flag('minutes', 30);
const N_HTTP = flag('http', 100);
const N_CONTAINERS = flag('containers', 50);
const N_PROCESSES = flag('processes', 600);
const CPU_PROF = process.argv.includes('--cpu-prof');
/** Long tasks listed from the profile: shorter than the lag limit, to show the near misses too. */
const LONG_TASK_MS = 30;
const N_GROUPS = 10;
const FLAPPY = 5;
const CHURN_GROUPS = 2;
const CHURN_CONTAINERS = 2;
const OUT_S = 12;

const log = (line: string): void => {
  process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

/** Ground truth: outages caused, by `kind/target`. */
const caused = new Map<string, number>();
const cause = (kind: string, target: string): void => {
  caused.set(`${kind}/${target}`, (caused.get(`${kind}/${target}`) ?? 0) + 1);
};

interface Snapshot {
  at: number;
  /** stackwatch_* series by metric name. */
  byName: Map<string, number>;
  series: number;
  allSeries: number;
  rssBytes: number;
  fds: number;
  lagP99: number;
  lagMax: number;
  /** prom-client's GC histogram by kind: collections in all, and those of 10 ms or more. */
  gc: Map<string, { count: number; over10ms: number; seconds: number }>;
}

/** `nodejs_gc_duration_seconds` by kind (its buckets are 1 ms, 10 ms, 100 ms, ...). */
function gcByKind(m: Metrics): Snapshot['gc'] {
  const out: Snapshot['gc'] = new Map();
  const of = (kind: string) => out.get(kind) ?? out.set(kind, { count: 0, over10ms: 0, seconds: 0 }).get(kind)!;
  for (const s of m.samples) {
    const kind = s.labels.kind;
    if (kind === undefined) continue;
    if (s.name === 'nodejs_gc_duration_seconds_count') of(kind).count += s.value;
    else if (s.name === 'nodejs_gc_duration_seconds_sum') of(kind).seconds += s.value;
    else if (s.name === 'nodejs_gc_duration_seconds_bucket' && s.labels.le === '0.01') of(kind).over10ms -= s.value;
  }
  for (const g of out.values()) g.over10ms += g.count;
  return out;
}

/** The collections between two scrapes, for a log line: `major 3 (1 >= 10 ms, 42.0 ms in all)`. */
function gcBetween(before: Snapshot | undefined, after: Snapshot): string {
  const parts: string[] = [];
  for (const [kind, a] of after.gc) {
    const b = before?.gc.get(kind) ?? { count: 0, over10ms: 0, seconds: 0 };
    if (a.count === b.count) continue;
    parts.push(`${kind} ${a.count - b.count} (${a.over10ms - b.over10ms} >= 10 ms, ${((a.seconds - b.seconds) * 1000).toFixed(1)} ms in all)`);
  }
  return parts.join(', ') || 'none';
}

function procStatus(pid: number): { rssBytes: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: rss, fds: readdirSync(`/proc/${pid}/fd`).length };
}

async function main(): Promise<void> {
  const procs = new ProcessSet();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-soak-'));
  let docker: Dockerd | undefined;
  let broker: Mosquitto | undefined;
  let daemon: BuiltDaemon | undefined;
  let server: http.Server | undefined;
  let running = true;
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: ending the churn after this cycle (the docs are not written)');
  });
  const profDir = path.join(dir, 'prof');
  let spawnedAt = 0;
  const background: Promise<void>[] = [];
  try {
    // HTTP targets: one server, one path per target; a failing target answers 503.
    const targets = await startHealthTargets();
    server = targets.server;
    const { failing, port: httpPort } = targets;

    log(`starting dockerd, mosquitto, ${N_PROCESSES} processes`);
    [docker, broker] = await Promise.all([Dockerd.start(), Mosquitto.start(procs, { sysInterval: 10, quiet: true })]);
    const dk = docker;
    const br = broker;
    const groupProc = new Map<number, ReturnType<ProcessSet['start']>>();
    // Named for this run: a process left behind by another run must not keep a group up.
    const groupName = (g: number): string => `swsoak-${process.pid}-g${g}`;
    const startGroup = (g: number): void => {
      groupProc.set(g, procs.start('bash', ['-c', `exec -a ${groupName(g)} sleep 1000000`], { stdio: 'ignore' }));
    };
    for (let g = 0; g < N_GROUPS; g++) startGroup(g);
    for (let i = N_GROUPS; i < N_PROCESSES; i++) procs.start('sleep', ['1000000'], { stdio: 'ignore' });

    log(`starting ${N_CONTAINERS} containers`);
    const names = Array.from({ length: N_CONTAINERS }, (_, i) => `swsoak-c${i}`);
    for (let i = 0; i < names.length; i += 5) {
      await Promise.all(names.slice(i, i + 5).map((n, j) => dk.runContainer(n, i + j < 5 ? ['--health-cmd', 'true', '--health-interval', '5s'] : [], ['sleep', '1000000'])));
    }

    const accessLog = path.join(dir, 'access.log');
    writeFileSync(accessLog, '');
    const config = (extra: boolean): Record<string, unknown> => soakConfig({
      httpPort, nHttp: N_HTTP, extra, brokerUrl: br.url, dockerHost: dk.host, accessLog,
      groupNames: Array.from({ length: N_GROUPS }, (_, g) => groupName(g)),
      routes: { health: '^/api/health', chatbot: '^/api/chatbot/' },
    });
    // As `npm start` runs it (the harness' default: its node flags and allocator settings).
    spawnedAt = Date.now();
    daemon = await startBuiltDaemon(procs, config(false), {
      args: ['--web.enable-lifecycle'],
      ...(CPU_PROF ? { nodeArgs: [...startCommand().nodeArgs, '--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {}),
    });
    const d = daemon;
    const pid = d.child.pid!;
    log(`daemon pid ${pid} on ${d.url}`);

    const reload = async (extra: boolean): Promise<void> => {
      writeFileSync(d.configFile, stringify(config(extra)));
      const r = await fetch(`${d.url}/-/reload`, { method: 'POST' });
      if (!r.ok) throw new Error(`reload answered ${r.status}: ${await r.text()}`);
    };

    // Traffic in the access log, all along (200s, 404s, 502s, 503s on two routes).
    background.push((async () => {
      const codes = [200, 200, 200, 200, 200, 200, 404, 502, 200, 503];
      for (let i = 0; running; i++) {
        const t = new Date().toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1/$2/$3:$4 +0000');
        const code = codes[i % codes.length]!;
        appendFileSync(accessLog, `127.0.0.1 - - [${t}] "GET ${i % 3 === 0 ? '/api/chatbot/m' : '/api/health'} HTTP/1.1" ${code} 42 "-" "soak" 0.012 0.010\n`);
        await sleep(50);
      }
    })());

    // The Prometheus stand-in: a scrape every 15 s, each one recorded.
    const scrapes: Snapshot[] = [];
    const snap = async (): Promise<Snapshot> => {
      const m: Metrics = await d.scrape();
      const { rssBytes, fds } = procStatus(pid);
      const byName = new Map<string, number>();
      for (const s of m.samples) if (s.name.startsWith('stackwatch_')) byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
      return {
        at: Date.now(), rssBytes, fds, byName,
        series: m.samples.filter((s) => s.name.startsWith('stackwatch_')).length,
        allSeries: m.samples.length,
        lagP99: m.get('nodejs_eventloop_lag_p99_seconds') ?? NaN,
        lagMax: m.get('nodejs_eventloop_lag_max_seconds') ?? NaN,
        gc: gcByKind(m),
      };
    };
    background.push((async () => {
      while (running) {
        try {
          const s = await snap();
          const before = scrapes.at(-1);
          scrapes.push(s);
          // When the loop was late, by how much at most, and the garbage collections since the
          // scrape before: to match with the churn's steps, or with a long collection.
          if (s.lagP99 >= LAG_LIMIT_S) log(`scrape: lag p99 ${(s.lagP99 * 1000).toFixed(1)} ms, max ${(s.lagMax * 1000).toFixed(1)} ms; GC since the last scrape: ${gcBetween(before, s)}`);
        } catch (err) {
          log(`scrape failed: ${String(err)}`);
        }
        for (let i = 0; i < 15 && running; i++) await sleep(1000);
      }
    })());

    // The churn steps, each recording its ground truth.
    const flap = async (t: number): Promise<void> => {
      failing.add(t);
      await sleep(OUT_S * 1000);
      failing.delete(t);
      cause('http', `t${t}`);
    };
    const processOutage = async (g: number): Promise<void> => {
      await procs.kill(groupProc.get(g)!, 'SIGKILL');
      await sleep(OUT_S * 1000);
      startGroup(g);
      cause('process', `g${g}`);
    };
    const containerOutage = async (c: number): Promise<void> => {
      await dk.ok(['stop', '-t', '0', names[c]!]);
      await sleep(OUT_S * 1000);
      await dk.ok(['start', names[c]!]);
      cause('container', names[c]!);
    };
    let churnN = 0;
    let churnLive: string | undefined;
    const containerChurn = async (): Promise<void> => {
      const next = `swsoak-churn-${churnN++}`;
      await dk.runContainer(next, [], ['sleep', '1000000']);
      if (churnLive !== undefined) await dk.ok(['rm', '-f', churnLive]);
      churnLive = next;
    };
    const rotate = (): void => {
      renameSync(accessLog, `${accessLog}.1`);
      // The next line written creates the new file (the writer "reopens").
    };
    const brokerRestart = async (): Promise<void> => {
      await br.stop();
      await sleep(8000);
      await br.startAgain();
      cause('mqtt', 'broker');
    };
    const reloadPair = async (): Promise<void> => {
      await reload(true);
      await sleep(20_000);
      await reload(false);
    };

    const started = Date.now();
    const deadline = started + MINUTES * 60_000;
    log('warm-up: every kind of churn once, on every churning target');
    await waitFor('every target to be up', async () => {
      const m = await d.scrape();
      const ups = m.all('stackwatch_target_up');
      return ups.length >= N_HTTP + N_CONTAINERS + N_GROUPS + 1 && ups.every((s) => s.value === 1);
    }, 180_000, 1000);
    await Promise.all([
      ...Array.from({ length: FLAPPY }, (_, t) => flap(t)),
      ...Array.from({ length: CHURN_GROUPS }, (_, g) => processOutage(g)),
      ...Array.from({ length: CHURN_CONTAINERS }, (_, c) => containerOutage(c)),
      brokerRestart(),
      containerChurn().then(() => containerChurn()),
      reloadPair(),
      (async () => {
        rotate();
        await sleep(10_000);
      })(),
    ]);
    // No churn container at either end: the start and the end watch the same containers.
    if (churnLive !== undefined) await dk.ok(['rm', '-f', churnLive]);
    churnLive = undefined;
    await sleep(30_000);
    const start = await snap();
    const loadStart = os.loadavg()[0]!;
    log(`start: ${start.series} stackwatch series, RSS ${(start.rssBytes / 1e6).toFixed(1)} MB, ${start.fds} fds`);

    let cycle = 0;
    while (Date.now() + 60_000 <= deadline && !interrupted) {
      const c = cycle++;
      const at = Date.now();
      const steps: Promise<void>[] = [];
      const after = (s: number, f: () => Promise<void> | void): void => {
        steps.push((async () => {
          await sleep(Math.max(0, at + s * 1000 - Date.now()));
          await f();
        })());
      };
      after(0, () => flap(c % FLAPPY));
      after(5, () => processOutage(c % CHURN_GROUPS));
      after(10, () => containerOutage(c % CHURN_CONTAINERS));
      after(15, containerChurn);
      after(30, () => flap((c + 2) % FLAPPY));
      if (c % 2 === 0) after(20, reloadPair);
      if (c % 2 === 1) after(40, rotate);
      if (c % 5 === 4) after(35, brokerRestart);
      await Promise.all(steps);
      await sleep(Math.max(0, at + 60_000 - Date.now()));
      const last = scrapes[scrapes.length - 1];
      if (last) log(`cycle ${c}: ${last.series} series, RSS ${(last.rssBytes / 1e6).toFixed(1)} MB, ${last.fds} fds, lag p99 ${(last.lagP99 * 1000).toFixed(1)} ms`);
    }
    if (churnLive !== undefined) await dk.ok(['rm', '-f', churnLive]);
    churnLive = undefined;
    log('churn over; settling 45 s');
    await sleep(45_000);
    const end = await snap();
    const loadEnd = os.loadavg()[0]!;
    running = false;
    await Promise.all(background);

    // Outage counts against the ground truth, every target.
    const m = await d.scrape();
    const mismatches: string[] = [];
    for (const s of m.all('stackwatch_target_outages_total')) {
      const key = `${s.labels.kind}/${s.labels.target}`;
      const want = caused.get(key) ?? 0;
      if (s.value !== want) mismatches.push(`${key}: ${s.value} outages, caused ${want}`);
    }
    for (const key of caused.keys()) {
      if (!m.all('stackwatch_target_outages_total').some((s) => `${s.labels.kind}/${s.labels.target}` === key)) mismatches.push(`${key}: no outage series`);
    }
    const measured = scrapes.filter((s) => s.at >= start.at);
    const lagMax = Math.max(...measured.map((s) => s.lagP99));
    const rssDrift = (end.rssBytes - start.rssBytes) / start.rssBytes;
    const churned = [...caused.values()].reduce((a, b) => a + b, 0);
    const changed = [...new Set([...start.byName.keys(), ...end.byName.keys()])]
      .filter((n) => (start.byName.get(n) ?? 0) !== (end.byName.get(n) ?? 0))
      .map((n) => `${n} ${start.byName.get(n) ?? 0} -> ${end.byName.get(n) ?? 0}`);
    const checks: [string, boolean, string][] = [
      ['series count', end.series === start.series, `${start.series} -> ${end.series} (stackwatch_*; all series ${start.allSeries} -> ${end.allSeries})${changed.length > 0 ? `; changed: ${changed.join(', ')}` : ''}`],
      ['RSS within 10 %', Math.abs(rssDrift) <= 0.1, `${(start.rssBytes / 1e6).toFixed(1)} MB -> ${(end.rssBytes / 1e6).toFixed(1)} MB (${(rssDrift * 100).toFixed(1)} %), peak ${(Math.max(...measured.map((s) => s.rssBytes)) / 1e6).toFixed(1)} MB`],
      ['open fds not grown', end.fds - start.fds <= 2, `${start.fds} -> ${end.fds}, peak ${Math.max(...measured.map((s) => s.fds))} (the process collector holds a /proc file or two per process, so the count follows the host's processes)`],
      ['event-loop lag p99 < 50 ms', lagMax < LAG_LIMIT_S, `max over ${measured.length} scrapes ${(lagMax * 1000).toFixed(1)} ms, median ${(median(measured.map((s) => s.lagP99)) * 1000).toFixed(1)} ms`],
      ['outages = ground truth', mismatches.length === 0, mismatches.length === 0 ? `${churned} outages caused across ${caused.size} targets, every count equal; ${m.all('stackwatch_target_outages_total').length - caused.size} other targets 0` : mismatches.join('; ')],
    ];
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    const body = [
      SECTION,
      '',
      `\`npm run build && npm run soak -- --minutes ${MINUTES}${N_HTTP !== 100 ? ` --http ${N_HTTP}` : ''}${N_CONTAINERS !== 50 ? ` --containers ${N_CONTAINERS}` : ''}${N_PROCESSES !== 600 ? ` --processes ${N_PROCESSES}` : ''}\` (bench/soak.ts),`,
      `run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on the shared 2-core machine, Node ${process.version}: ${minutes} minutes, ${cycle} churn cycles after`,
      `warm-up. The built daemon with ${N_HTTP} HTTP JSON targets at 5 s, one mosquitto broker (round trip every 10 s),`,
      `${N_CONTAINERS} containers of a private dockerd, ${N_GROUPS} process groups among ${N_PROCESSES} processes, one access log at ~20 lines/s,`,
      'scraped every 15 s. Churn each minute: two HTTP targets fail for 12 s, a process group\'s process dies',
      'for 12 s, a container stops for 12 s, a container is created and the previous one removed; every 2 minutes',
      'a reload adds an HTTP target and another removes it, and the access log is rotated; every 5 minutes the',
      'broker stops for 8 s. Start = after warm-up (every churn once); end = 45 s after the churn stopped.',
      `1-minute load average ${loadStart.toFixed(1)} at the start, ${loadEnd.toFixed(1)} at the end (other work shared the machine).`,
      '',
      '| check | result | figures |',
      '|---|---|---|',
      ...checks.map(([what, ok, detail]) => `| ${what} | ${ok ? 'pass' : '**FAIL**'} | ${detail} |`),
      '',
    ].join('\n');
    console.log(`\n${body}`);
    if (interrupted) log('interrupted: the docs are left as they were');
    else {
      writeSection(body);
      log('wrote the "## Soak" section of docs/benchmarks.md');
    }
    if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    running = false;
    await Promise.all(background).catch(() => undefined);
    await daemon?.stop().catch(() => undefined);
    if (CPU_PROF) reportLongTasks(profDir, spawnedAt);
    await stopLoad({ server, broker, docker, procs, dir });
  }
}

/** The daemon's long tasks, from the profile it wrote at exit, at their wall-clock times. */
function reportLongTasks(profDir: string, spawnedAt: number): void {
  const file = existsSync(profDir) ? readdirSync(profDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
  if (file === undefined) {
    log('--cpu-prof: the daemon wrote no profile');
    return;
  }
  const kept = path.join(os.tmpdir(), `stackwatch-soak-${new Date(spawnedAt).toISOString().replace(/[:.]/g, '')}.cpuprofile`);
  copyFileSync(path.join(profDir, file), kept);
  const tasks = longTasks(readProfile(kept), LONG_TASK_MS);
  log(`--cpu-prof: ${tasks.length} long tasks of ${LONG_TASK_MS} ms or more (profile kept in ${kept}; times from the daemon's start)`);
  for (const t of tasks) {
    log(`  ${new Date(spawnedAt + t.atMs).toISOString().slice(11, 23)}: ${t.ms.toFixed(1)} ms`);
    for (const w of t.where) log(`      ${w.ms.toFixed(1).padStart(6)} ms  ${w.stack}`);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

function writeSection(body: string): void {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trimEnd() === SECTION);
  if (first < 0) {
    writeFileSync(DOC, `${text.trimEnd()}\n\n${body.trimEnd()}\n`);
    return;
  }
  let end = lines.findIndex((l, i) => i > first && /^## /.test(l));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, first).join('\n').trimEnd();
  const after = lines.slice(end).join('\n').trim();
  writeFileSync(DOC, `${before}\n\n${body.trimEnd()}\n${after === '' ? '' : `\n${after}\n`}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
