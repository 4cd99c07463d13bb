import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The built CLI (npm test builds it first: see the pretest script). */
export const MAIN = path.join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * A fresh temporary data directory unless the test names one: the daemon's default (data/ in the
 * working directory) must never land in the repository.
 */
const dataDirs: string[] = [];
process.once('exit', () => {
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

/** `args` with a temporary --storage.path added, for tests that start dist/main.js themselves. */
export function withStorage(args: string[]): string[] {
  // Subcommands (stackwatch processes) keep no state and take no --storage.path.
  if (args.includes('--storage.path') || (args[0] !== undefined && !args[0].startsWith('-'))) return args;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-data-'));
  dataDirs.push(dir);
  return [...args, '--storage.path', dir];
}

export function runCli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...withStorage(args)], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI as a daemon; the caller stops it (ProcessSet, or by signal). */
export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...withStorage(args)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}
