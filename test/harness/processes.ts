import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { within } from './wait';

/**
 * Child processes started by a test, all killed by killAll() (call it in afterAll/afterEach).
 * Each is started in its own process group so that its children go too.
 */
export class ProcessSet {
  private readonly procs = new Set<ChildProcess>();

  start(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    refuseSharedDataDir(cmd, args);
    const p = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...opts });
    this.procs.add(p);
    p.once('exit', () => this.procs.delete(p));
    p.stdout?.resume();
    p.stderr?.resume();
    return p;
  }

  /** Sends `signal` to the process group and waits (bounded) for the exit. */
  async kill(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5000): Promise<void> {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    try {
      process.kill(-p.pid!, signal);
    } catch {
      p.kill(signal);
    }
    if (!(await exitsWithin(exited, timeoutMs))) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exitsWithin(exited, 2000);
    }
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.procs].map((p) => this.kill(p, 'SIGTERM', 3000)));
  }
}

/**
 * The daemon keeps its history, incidents and counters in --storage.path, by default data/ in its
 * working directory: two runs (or two test files) sharing that directory share their targets'
 * outage counts and incidents. A test that starts the built daemon (dist/main.js, given in the
 * arguments or inside a `bash -c` line) without a --storage.path of its own is stopped here;
 * subcommands (`dist/main.js processes …`) keep nothing and are let through.
 */
export function refuseSharedDataDir(cmd: string, args: readonly string[]): void {
  const words = [cmd, ...args].flatMap((a) => a.split(/\s+/)).map((w) => w.replace(/^["']|["']$/g, ''));
  const main = words.findIndex((w) => w.endsWith('dist/main.js'));
  if (main < 0) return;
  const next = words[main + 1];
  if (next !== undefined && next !== '' && !next.startsWith('-')) return;
  if (words.some((w) => w === '--storage.path' || w.startsWith('--storage.path='))) return;
  throw new Error(`the built daemon started without --storage.path would share data/ with every other run (${words.slice(main).join(' ')}): `
    + 'give it a directory of its own (withStorage() in test/harness/cli.ts)');
}

/** Whether `exited` settles within `ms` (no timer left behind). */
const exitsWithin = (exited: Promise<void>, ms: number): Promise<boolean> => within(exited.then(() => true), ms, false);

/**
 * Stops a child a test spawned itself (not through a ProcessSet) and waits, bounded, for its
 * exit, so that no child outlives the test file and keeps the jest worker from exiting.
 */
export async function stopChild(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill(signal);
  if (!(await exitsWithin(exited, timeoutMs))) {
    p.kill('SIGKILL');
    await exitsWithin(exited, 2000);
  }
}
