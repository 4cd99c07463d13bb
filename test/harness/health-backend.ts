import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { onFreePort } from './ports';
import type { ProcessSet } from './processes';
import { waitFor } from './wait';

const SCRIPT = path.join(__dirname, '..', 'fixtures', 'health-backend.js');

/**
 * Starts test/fixtures/health-backend.js on 127.0.0.1:port and waits until it says it listens
 * (its own line, so an answer from another process that took the port does not count). Fails
 * with its output when it exits first (EADDRINUSE when the port was taken).
 */
export async function startHealthBackend(procs: ProcessSet, port: number, args: string[] = []): Promise<ChildProcess> {
  const p = procs.start(process.execPath, [SCRIPT, String(port), ...args]);
  let out = '';
  p.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  p.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  await waitFor(`health backend on port ${port}`, () => {
    if (out.includes('listening\n')) return true;
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`the health backend exited (${p.exitCode ?? p.signalCode}): ${out.slice(-2000)}`);
    return false;
  }, 10_000, 20);
  return p;
}

/** startHealthBackend on a free port, started again on another when the port was taken meanwhile. */
export function startHealthBackendOnFreePort(procs: ProcessSet, args: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  return onFreePort(async (port) => ({ child: await startHealthBackend(procs, port, args), port }));
}
