/**
 * V8's sampling heap profiler in a daemon under benchmark, and the reading of what it wrote: who
 * allocated the garbage the collector then had to free.
 *
 * The daemon is started with `heapPreloadFlags(dir)` among its node flags and HEAP_OUT (a file
 * path) in its environment. The first SIGUSR2 starts the profiler, keeping the samples of objects
 * collected since (by default it reports only what is still alive); the next SIGUSR2 stops it and
 * writes the profile to HEAP_OUT (written aside and renamed: once the file exists it is whole).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { shortUrl } from './cpu-profile';

/** Bytes between two samples, on average. */
const SAMPLING_INTERVAL = 4096;

const PRELOAD = `
const inspector = require('node:inspector');
const fs = require('node:fs');
const session = new inspector.Session();
session.connect();
let on = false;
process.on('SIGUSR2', () => {
  if (!on) {
    on = true;
    session.post('HeapProfiler.startSampling', { samplingInterval: ${SAMPLING_INTERVAL}, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    return;
  }
  session.post('HeapProfiler.stopSampling', (err, r) => {
    const out = process.env.HEAP_OUT;
    fs.writeFileSync(out + '.part', JSON.stringify(err ? { error: err.message } : r.profile));
    fs.renameSync(out + '.part', out);
  });
});
`;

/** Writes the preload into `dir`; returns the node flags that load it. */
export function heapPreloadFlags(dir: string): string[] {
  const file = path.join(dir, 'heap-preload.js');
  writeFileSync(file, PRELOAD);
  return ['--require', file];
}

/** Waits until every profile in `files` is written (after the second SIGUSR2); throws naming one missing after `timeoutMs`. */
export async function waitForHeapProfiles(files: readonly string[], timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (files.some((f) => !existsSync(f)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  const missing = files.find((f) => !existsSync(f));
  if (missing !== undefined) throw new Error(`no heap profile written to ${missing} within ${timeoutMs / 1000} s`);
}

interface HeapNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: HeapNode[] }

export interface HeapRanking {
  /** Bytes allocated in all (estimated from the samples). */
  total: number;
  /** By the nearest stackwatch file on the stack (what the allocation was made for), else the nearest module. */
  byFile: Map<string, number>;
  /** By allocating function; a builtin (an iterator's next, Map.set, Array.push) named with its caller. */
  byFunction: Map<string, number>;
}

/** Reads a profile written through the preload. `lines`: functions with their line numbers (not when two builds are compared). */
export function heapRanking(file: string, lines = false): HeapRanking {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { head?: HeapNode; error?: string };
  if (p.head === undefined) throw new Error(`the heap profiler failed: ${p.error ?? 'no profile'}`);
  const out: HeapRanking = { total: 0, byFile: new Map(), byFunction: new Map() };
  const add = (m: Map<string, number>, k: string, n: number): void => { m.set(k, (m.get(k) ?? 0) + n); };
  const name = (f: HeapNode['callFrame']): string =>
    `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${lines && f.url !== '' && f.lineNumber >= 0 ? `:${f.lineNumber + 1}` : ''}`;
  const walk = (node: HeapNode, ours: string | undefined, theirs: string | undefined, caller: string): void => {
    const url = node.callFrame.url;
    const file = url.includes('/dist/') ? shortUrl(url) : ours;
    const module = url !== '' ? shortUrl(url) : theirs;
    const me = name(node.callFrame);
    if (node.selfSize > 0) {
      out.total += node.selfSize;
      add(out.byFile, file ?? module ?? '(native)', node.selfSize);
      add(out.byFunction, url === '' ? `${me} in ${caller}` : me, node.selfSize);
    }
    for (const c of node.children) walk(c, file, module, me);
  };
  walk(p.head, undefined, undefined, '(root)');
  return out;
}
