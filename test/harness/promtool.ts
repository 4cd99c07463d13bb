/**
 * Debian's promtool over the committed prometheus/ directory. At most two promtool processes run
 * at once per test file (the machine has two cores), so test files can declare their promtool
 * tests with `test.concurrent` and let them queue here.
 *
 *   const r = await promtool(['test', 'rules', 'tests/docker.yml']);
 *   const u = await withEditedCopy('alerts/docker.yml', (t) => t.replace(guard, ''), (dir) =>
 *     promtool(['test', 'rules', onlyTests(dir, 'tests/docker.yml', failingCase)], dir));
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { PROMETHEUS_INSTALL_HINT } from './prometheus';
import { requireBinary } from './require-binary';

export const PROMETHEUS_DIR = path.join(__dirname, '..', '..', 'prometheus');

const PARALLEL = 2;
let running = 0;
const queue: (() => void)[] = [];

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  // A finishing run hands its slot to the next in the queue, so a new caller cannot slip in between.
  if (running >= PARALLEL) await new Promise<void>((r) => queue.push(r));
  else running++;
  try {
    return await fn();
  } finally {
    const next = queue.shift();
    if (next !== undefined) next();
    else running--;
  }
}

let bin: string | undefined;

/**
 * Runs promtool in `cwd` (default prometheus/); its exit code and output (stdout then stderr).
 * The bound is generous: the longest file (tests/availability-5m.yml, a day of five-minute steps
 * over 1d-30d windows) is ~15 s of CPU, and a machine loaded to 15 stretches that several times.
 */
export function promtool(args: string[], cwd = PROMETHEUS_DIR, timeoutMs = 850_000): Promise<{ code: number; out: string }> {
  bin ??= requireBinary('promtool', PROMETHEUS_INSTALL_HINT);
  const exe = bin;
  return slot(() => new Promise((resolve) => {
    execFile(exe, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  }));
}

/**
 * Runs `fn` on a temporary copy of prometheus/ in which `file` (relative to it) was rewritten by
 * `edit`; fails if the edit changed nothing. The copy is removed afterwards.
 */
export async function withEditedCopy<T>(file: string, edit: (text: string) => string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-promtool-'));
  try {
    cpSync(PROMETHEUS_DIR, dir, { recursive: true });
    const target = path.join(dir, file);
    const text = readFileSync(target, 'utf8');
    const edited = edit(text);
    if (edited === text) throw new Error(`the edit of ${file} changed nothing`);
    writeFileSync(target, edited);
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes, next to the test file `testFile` in `dir`, a copy holding only its tests whose name
 * contains `name` (same rule files, same evaluation order); returns its path relative to `dir`.
 * A guard's case is then run alone instead of with every other case of the file.
 */
export function onlyTests(dir: string, testFile: string, name: string): string {
  const doc = parse(readFileSync(path.join(dir, testFile), 'utf8')) as { tests: { name: string }[] };
  const kept = doc.tests.filter((t) => t.name.includes(name));
  if (kept.length === 0) throw new Error(`${testFile} has no test named like ${JSON.stringify(name)}`);
  const out = testFile.replace(/\.yml$/, '.only.yml');
  writeFileSync(path.join(dir, out), stringify({ ...doc, tests: kept }));
  return out;
}
