import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates a directory and its missing parents, one level at a time, and throws an error naming the
 * directory when it cannot. Node's own `mkdirSync(dir, { recursive: true })` (20 and 24) never
 * returns for a path the kernel refuses with ENOENT although its parent exists (anything under
 * /proc): it takes ENOENT for a missing parent, creates the parent (EEXIST), and tries again,
 * forever. Here each level is tried once.
 */
export function makeDirectory(dir: string, mode?: number): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let d = target; ; d = path.dirname(d)) {
    const kind = kindOf(d);
    if (kind === 'directory') break;
    if (kind === 'other') throw new Error(`cannot create directory ${target}: ${d} exists and is not a directory`);
    missing.push(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, mode === undefined ? {} : { mode });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && kindOf(d) === 'directory') continue;
      const why = code === 'ENOENT'
        ? `the filesystem of ${path.dirname(d)} refuses new directories (mkdir ${d}: ENOENT although ${path.dirname(d)} exists)`
        : (err as Error).message;
      throw new Error(`cannot create directory ${target}: ${why}`, { cause: err });
    }
  }
}

function kindOf(p: string): 'directory' | 'other' | 'missing' {
  try {
    return statSync(p).isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a file in the way further up, which the walk up then finds.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new Error(`cannot create directory ${p}: ${(err as Error).message}`, { cause: err });
  }
}
