/**
 * Splits the Docker events stream into lines. The daemon writes one JSON object per line, but
 * the socket delivers arbitrary chunks: a line may arrive in pieces, several lines may share a
 * chunk. Lines longer than `maxLineBytes` are dropped (up to their newline) and counted, so a
 * misbehaving peer cannot make the buffer grow without bound. Pure; unit-tested.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** True while skipping the rest of an over-long line. */
  private skipping = false;
  /** Lines dropped because they were too long. */
  overlong = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds one chunk; returns the complete lines it finished (without the newline, empty lines skipped). */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        this.keep(chunk.subarray(start));
        return out;
      }
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (this.size + piece.length > this.maxLineBytes) {
        this.overlong += 1;
        this.clear();
        continue;
      }
      const line = this.size === 0 ? piece.toString('utf8') : Buffer.concat([...this.parts, piece]).toString('utf8');
      this.clear();
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (trimmed.trim() !== '') out.push(trimmed);
    }
  }

  /** Bytes held for an unfinished line. */
  get pending(): number {
    return this.size;
  }

  /** Forgets any unfinished line (the stream was cut; a new one starts clean). */
  reset(): void {
    this.clear();
    this.skipping = false;
  }

  private clear(): void {
    this.parts = [];
    this.size = 0;
  }

  private keep(rest: Buffer): void {
    if (rest.length === 0 || this.skipping) return;
    if (this.size + rest.length > this.maxLineBytes) {
      this.overlong += 1;
      this.clear();
      this.skipping = true;
      return;
    }
    // Copy: the caller may reuse the chunk's memory.
    this.parts.push(Buffer.from(rest));
    this.size += rest.length;
  }
}
