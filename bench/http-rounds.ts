/**
 * Child process of bench/http.bench.ts: times complete rounds of the 100 targets the way the
 * HTTP collector probes them (built dist/: probe() with one keep-alive ProbeAgents per target,
 * a Semaphore capping probes in flight, judge() on each result), so the wall time of a round is
 * measured without the daemon's per-target schedule spreading the probes over the interval.
 *
 * Usage: node -r ts-node/register/transpile-only bench/http-rounds.ts CONFIG_JSON
 * where CONFIG_JSON is a stackwatch configuration (as JSON). Driven by lines on stdin, so the
 * bench can alternate its rounds with blackbox_exporter's; answers one JSON line on stdout each:
 * - `round`: one round of all targets; { wallMs, cpuMs, failures }.
 * - `paced S`: the same probes scheduled the way the collector schedules them (each target once
 *   per interval), CPU per probe over S seconds after 2 s of warm-up, twice: start phases spread
 *   evenly over the first second (the collector's way), and rounded to 10 slots per second.
 *   This separates the cost of probing at a steady rate from the daemon's own bookkeeping.
 * - `quit`: ends.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as ProbeModule from '../src/collectors/http-probe';
import type * as HttpModule from '../src/collectors/http';
import type * as LoadModule from '../src/config/load';
import type * as SemaphoreModule from '../src/semaphore';

const dist = path.join(__dirname, '..', 'dist');
const load = createRequire(__filename);
const { probe, ProbeAgents } = load(path.join(dist, 'collectors', 'http-probe.js')) as typeof ProbeModule;
const { judge } = load(path.join(dist, 'collectors', 'http.js')) as typeof HttpModule;
const { validate } = load(path.join(dist, 'config', 'load.js')) as typeof LoadModule;
const { Semaphore } = load(path.join(dist, 'semaphore.js')) as typeof SemaphoreModule;

type Target = { c: ReturnType<typeof validate>['http'][number]; agents: InstanceType<typeof ProbeAgents> };

function probeTarget({ c, agents }: Target): Promise<boolean> {
  return probe({
    url: c.url, method: c.method, headers: c.headers, timeoutSeconds: c.timeout,
    maxBodyBytes: c.max_body_bytes, maxRedirects: c.max_redirects, readBody: c.json !== undefined || c.conditions.length > 0,
  }, agents).then((r) => judge(c, r).ok);
}

async function round(targets: Target[], semaphore: InstanceType<typeof Semaphore>): Promise<{ wallMs: number; cpuMs: number; failures: number }> {
  let failures = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(targets.map(async (t) => {
    const release = await semaphore.acquire();
    try {
      if (!(await probeTarget(t))) failures += 1;
    } finally {
      release();
    }
  }));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, failures };
}

function main(): void {
  const [configFile] = process.argv.slice(2);
  if (configFile === undefined) throw new Error('usage: http-rounds.ts CONFIG_JSON');
  const config = validate(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
  const targets: Target[] = config.http.map((c) => ({ c, agents: new ProbeAgents({ insecureSkipVerify: c.tls.insecure_skip_verify }) }));
  const semaphore = new Semaphore(config.limits.http_in_flight);
  const answer = (v: unknown): void => {
    process.stdout.write(`${JSON.stringify(v)}\n`);
  };
  let buf = '';
  let busy = Promise.resolve();
  process.stdin.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const [cmd, arg] = buf.slice(0, nl).trim().split(/\s+/);
      buf = buf.slice(nl + 1);
      busy = busy.then(async () => {
        if (cmd === 'round') answer(await round(targets, semaphore));
        else if (cmd === 'paced') {
          answer({
            spread: await runPaced(targets, semaphore, Number(arg), 0),
            slots: await runPaced(targets, semaphore, Number(arg), PACED_SLOTS),
          });
        } else if (cmd === 'quit') {
          for (const t of targets) t.agents.destroy();
          process.exit(0);
        } else answer({ error: `unknown command ${cmd}` });
      });
    }
  });
  process.stdin.on('end', () => process.exit(0));
}

/** The alternative schedule measured next to the collector's: start phases rounded to 1/10 s. */
const PACED_SLOTS = 10;

/**
 * The collector's schedule without its bookkeeping: CPU per probe at a steady rate. slots = 0:
 * first probes spread evenly over the first second, as the collector does; slots = k: the start
 * phases rounded down to k slots per second, so the probes of one slot share the wake-ups.
 */
async function runPaced(targets: Target[], semaphore: InstanceType<typeof Semaphore>, seconds: number, slots: number): Promise<{ cpuPerProbeMs: number; probes: number; failures: number }> {
  let stopped = false;
  let counting = false;
  let probes = 0;
  let failures = 0;
  const timers = new Set<NodeJS.Timeout>();
  const schedule = (t: Target, delayMs: number): void => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void runOnce(t);
    }, delayMs);
    timers.add(timer);
  };
  const runOnce = async (t: Target): Promise<void> => {
    const startedMs = Date.now();
    const release = await semaphore.acquire();
    try {
      const ok = await probeTarget(t);
      if (counting) {
        probes += 1;
        if (!ok) failures += 1;
      }
    } finally {
      release();
      schedule(t, Math.max(0, startedMs + t.c.interval * 1000 - Date.now()));
    }
  };
  targets.forEach((t, i) => {
    const phase = slots > 0 ? Math.floor((i * slots) / targets.length) / slots : i / targets.length;
    schedule(t, Math.min(1000, t.c.interval * 1000) * phase);
  });
  await new Promise((r) => setTimeout(r, 2000));
  counting = true;
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  counting = false;
  stopped = true;
  for (const timer of timers) clearTimeout(timer);
  await new Promise((r) => setTimeout(r, 600));
  return { cpuPerProbeMs: (cpu.user + cpu.system) / 1000 / Math.max(1, probes), probes, failures };
}

const crash = (err: unknown): void => {
  process.stderr.write(`http-rounds: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
};
process.on('unhandledRejection', crash);
try {
  main();
} catch (err) {
  crash(err);
}
