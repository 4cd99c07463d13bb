/**
 * Reading V8 CPU profiles (`node --cpu-prof`) for the benchmarks: the samples' timeline, and the
 * long tasks in it — runs of busy samples with no idle one between them, i.e. the times the
 * daemon's event loop could not turn — with what ran during each.
 */
import { readFileSync } from 'node:fs';

export interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** A file's name as a reader knows it: `collectors/http.js` in our build, a package's name, `node:fs`. */
export function shortUrl(url: string): string {
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 6);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 13).split('/')[0]!;
  return url === '' ? '(native)' : url;
}

export interface LongTask {
  /** Milliseconds from the profile's start to the task's first sample. */
  atMs: number;
  ms: number;
  /** Where its time went: the stack's outermost frames of our own code (or the leaf when none), busiest first. */
  where: { stack: string; ms: number }[];
}

/**
 * Every run of busy samples lasting at least `minMs`. Garbage collection and "(program)" count as
 * busy: the loop waits for them too. A run is an upper bound on how long the loop was held: work
 * queued back to back (slices of one job continued by setImmediate, callbacks of I/O that was
 * already done) leaves no idle sample between its turns although timers ran between them; the
 * lag gauges tell whether they ran late.
 */
export function longTasks(p: CpuProfile, minMs: number): LongTask[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const describe = (id: number): string => {
    const ours: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.url.includes('/dist/')) ours.push(`${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`);
    }
    const leaf = byId.get(id)!.callFrame;
    const leafText = `${leaf.functionName || '(anonymous)'} ${shortUrl(leaf.url)}`;
    // Outermost first: what the loop was running; then the leaf: what the time was spent in.
    return ours.length === 0 ? leafText : `${ours.slice(-2).reverse().join(' > ')} … ${leafText}`;
  };
  const tasks: LongTask[] = [];
  let t = 0;
  let run: { at: number; us: number; ids: Map<number, number> } | undefined;
  const close = (): void => {
    if (run !== undefined && run.us >= minMs * 1000) {
      const where = new Map<string, number>();
      for (const [id, us] of run.ids) {
        const k = describe(id);
        where.set(k, (where.get(k) ?? 0) + us);
      }
      tasks.push({
        atMs: run.at / 1000, ms: run.us / 1000,
        where: [...where].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([stack, us]) => ({ stack, ms: us / 1000 })),
      });
    }
    run = undefined;
  };
  for (let i = 0; i < p.samples.length; i++) {
    // A sample's delta is the time since the previous one: the time the previous sample stood for.
    const dt = p.timeDeltas[i + 1] ?? 0;
    t += p.timeDeltas[i]!;
    const id = p.samples[i]!;
    if (byId.get(id)!.callFrame.functionName === '(idle)') {
      close();
      continue;
    }
    run ??= { at: t, us: 0, ids: new Map() };
    run.us += dt;
    run.ids.set(id, (run.ids.get(id) ?? 0) + dt);
  }
  close();
  return tasks;
}
