import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ProcessSet } from './processes';
import { waitFor } from './wait';

const SCRIPT = path.join(__dirname, '..', 'fixtures', 'health-backend.js');

/** Starts test/fixtures/health-backend.js on 127.0.0.1:port and waits until it answers. */
export async function startHealthBackend(procs: ProcessSet, port: number, args: string[] = []): Promise<ChildProcess> {
  const p = procs.start(process.execPath, [SCRIPT, String(port), ...args]);
  await waitFor(`health backend on port ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/api/health`)).ok, 10_000, 50);
  return p;
}
