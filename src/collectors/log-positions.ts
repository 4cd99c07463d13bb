import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Position } from './log-tail';
import { makeDirectory } from '../make-dir';

/**
 * Where each log source has read up to, by file (device + inode + offset).
 *
 * Kept in memory for the life of the process, so a configuration reload resumes exactly where
 * the previous collector stopped; with a data directory, also in `log-positions.json` there, so
 * a restart resumes too. The file is written whole to a temporary name and renamed, so a crash
 * leaves the previous version, never a torn one; it is written every second while lines are
 * read and at stop, so after a crash at most the last second of lines is read again.
 */
export class PositionStore {
  private readonly bySource = new Map<string, Position[]>();
  private loaded = false;
  private dirty = false;

  constructor(private readonly dataDir: string | undefined) {}

  get file(): string | undefined {
    return this.dataDir === undefined ? undefined : path.join(this.dataDir, 'log-positions.json');
  }

  /** Reads the file once (a missing or unreadable one means no positions); returns an error to report. */
  load(): Error | undefined {
    if (this.loaded) return undefined;
    this.loaded = true;
    const file = this.file;
    if (file === undefined) return undefined;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : (err as Error);
    }
    try {
      const doc = JSON.parse(text) as { version?: number; sources?: Record<string, unknown> };
      if (doc.version !== 1 || doc.sources === null || typeof doc.sources !== 'object') throw new Error('not a version 1 positions file');
      for (const [source, list] of Object.entries(doc.sources)) {
        if (!Array.isArray(list)) continue;
        const ok = (list as Partial<Position>[]).filter((p): p is Position => p !== null && typeof p === 'object'
          && Number.isSafeInteger(p.dev) && Number.isSafeInteger(p.ino) && Number.isSafeInteger(p.offset) && p.offset! >= 0
          && typeof p.path === 'string');
        this.bySource.set(source, ok);
      }
    } catch (err) {
      return new Error(`${file}: ${(err as Error).message}`);
    }
    return undefined;
  }

  get(source: string): ReadonlyMap<string, Position> {
    return new Map((this.bySource.get(source) ?? []).map((p) => [`${p.dev}:${p.ino}`, p]));
  }

  set(source: string, positions: Position[]): void {
    const before = JSON.stringify(this.bySource.get(source) ?? []);
    if (before === JSON.stringify(positions)) return;
    this.bySource.set(source, positions);
    this.dirty = true;
  }

  delete(source: string): void {
    if (this.bySource.delete(source)) this.dirty = true;
  }

  /**
   * Writes the file if anything changed since the last write. Nothing to keep and no file yet:
   * no file (and no data directory) is created.
   */
  save(): void {
    const file = this.file;
    if (file === undefined || !this.dirty) return;
    if (this.bySource.size === 0 && !existsSync(file)) {
      this.dirty = false;
      return;
    }
    makeDirectory(path.dirname(file));
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, sources: Object.fromEntries(this.bySource) })}\n`);
    renameSync(tmp, file);
    this.dirty = false;
  }
}
