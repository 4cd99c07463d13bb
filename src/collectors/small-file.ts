import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The reader of small kernel files (/proc and cgroup): synchronous, into one reused 64 KiB
 * buffer, which holds any stat, status, limits or cgroup file and long cmdlines. Reading them is
 * CPU-bound kernel work, where synchronous reads cost a fraction of fs.promises and allocate
 * nothing per file.
 */
export class SmallFileReader {
  readonly buf = Buffer.allocUnsafe(64 * 1024);

  /**
   * Reads the whole file (up to the buffer's size) into `buf` and returns its length; throws
   * what open or read throw. `record`: the file is one short seq_file record (stat, limits,
   * uptime), which the kernel hands over in one read: a short read is the end, and the read
   * that would return 0 is saved.
   */
  readInto(path: string, record = false): number {
    const fd = openSync(path, 'r');
    try {
      let len = 0;
      for (;;) {
        const want = this.buf.length - len;
        const n = readSync(fd, this.buf, len, want, null);
        if (n <= 0) break;
        len += n;
        if (len >= this.buf.length || (record && n < want)) break;
      }
      return len;
    } finally {
      closeSync(fd);
    }
  }

  /** The file's text; undefined when it cannot be read. */
  readonly read = (path: string): string | undefined => {
    try {
      return this.buf.toString('utf8', 0, this.readInto(path));
    } catch {
      return undefined;
    }
  };
}
