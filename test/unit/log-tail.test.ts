import fc from 'fast-check';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { globRegExp, LogTail, type Position, type TailOptions } from '../../src/collectors/log-tail';

let dir: string;
let now = 1000;
const tails: LogTail[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sw-tail-'));
  now = 1000;
});
afterEach(() => {
  for (const t of tails.splice(0)) t.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Seen { lines: string[]; tooLong: number; rotated: string[]; errors: Error[] }

function follow(file: string, opts: Partial<TailOptions> = {}, saved?: Map<string, Position>): { tail: LogTail; seen: Seen } {
  const seen: Seen = { lines: [], tooLong: 0, rotated: [], errors: [] };
  const tail = new LogTail(
    { path: file, startAt: 'end', maxLineBytes: 1024 * 1024, pollInterval: 3600, rotateWait: 5, watch: false, ...opts },
    { line: (l) => seen.lines.push(l), tooLong: () => { seen.tooLong += 1; }, rotated: (k) => seen.rotated.push(k), error: (e) => seen.errors.push(e) },
    () => now,
    saved,
  );
  tails.push(tail);
  tail.start();
  return { tail, seen };
}

const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`).join('');
const expectLines = (seen: Seen, from: number, to: number): void => {
  expect(seen.lines).toEqual(Array.from({ length: to - from }, (_, i) => `line ${from + i}`));
};

describe('LogTail', () => {
  it('starts at the end of an existing file by default, at the start when asked', () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, lines(0, 3));
    const a = follow(f);
    const b = follow(f, { startAt: 'beginning' });
    appendFileSync(f, lines(3, 5));
    a.tail.scan();
    b.tail.scan();
    expectLines(a.seen, 3, 5);
    expectLines(b.seen, 0, 5);
  });

  it('waits for the newline of a partial line; CRLF endings and empty lines are handled', () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, '');
    const { tail, seen } = follow(f);
    appendFileSync(f, 'GET /a');
    tail.scan();
    expect(seen.lines).toEqual([]);
    appendFileSync(f, 'bc\r\n\nnext\n');
    tail.scan();
    expect(seen.lines).toEqual(['GET /abc', 'next']);
  });

  it('follows rename-and-reopen: lines the writer adds to the old file before reopening are read, the new file from its start', () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, '');
    const { tail, seen } = follow(f);
    const writer = openSync(f, 'a');
    writeSync(writer, lines(0, 2));
    tail.scan();
    renameSync(f, `${f}.1`);
    writeSync(writer, lines(2, 4)); // still the old inode: nginx before USR1
    tail.scan();
    writeSync(writer, lines(4, 5));
    closeSync(writer);
    writeFileSync(f, lines(5, 7)); // nginx reopened
    tail.scan();
    now += 10;
    tail.scan();
    appendFileSync(f, lines(7, 8));
    tail.scan();
    expectLines(seen, 0, 8);
    expect(seen.rotated).toEqual(['rotated']);
    expect(tail.openFiles).toBe(1);
  });

  it('follows copytruncate: the truncated file is read again from 0', () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, '');
    const { tail, seen } = follow(f);
    appendFileSync(f, lines(0, 3));
    tail.scan();
    truncateSync(f, 0);
    appendFileSync(f, lines(3, 4));
    tail.scan();
    expectLines(seen, 0, 4);
    expect(seen.rotated).toEqual(['truncated']);
  });

  it('follows delete-and-recreate, and a file that is missing for a while', () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, '');
    const { tail, seen } = follow(f);
    appendFileSync(f, lines(0, 2));
    tail.scan();
    unlinkSync(f);
    tail.scan();
    expect(tail.attachedFiles).toBe(0);
    now += 10;
    tail.scan();
    expect(tail.openFiles).toBe(0);
    writeFileSync(f, lines(2, 3));
    tail.scan();
    expectLines(seen, 0, 3);
    expect(tail.attachedFiles).toBe(1);
  });

  it('picks up a file that does not exist yet, from its start, even in a directory that does not exist yet', () => {
    const f = path.join(dir, 'later', 'access.log');
    const { tail, seen } = follow(f);
    tail.scan();
    expect(seen.lines).toEqual([]);
    expect(seen.errors).toEqual([]);
    mkdirSync(path.dirname(f));
    writeFileSync(f, lines(0, 2));
    tail.scan();
    expectLines(seen, 0, 2);
  });

  it('skips a line over the limit whole and reports it once, also when it arrives in pieces', () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, '');
    const { tail, seen } = follow(f, { maxLineBytes: 1000 });
    appendFileSync(f, `${'x'.repeat(5000)}\nline 0\n`);
    tail.scan();
    appendFileSync(f, 'y'.repeat(600));
    tail.scan();
    appendFileSync(f, 'y'.repeat(600));
    tail.scan();
    appendFileSync(f, `${'y'.repeat(100_000)}\nline 1\n`);
    tail.scan();
    expectLines(seen, 0, 2);
    expect(seen.tooLong).toBe(2);
  });

  it('a 1 MB line is skipped and reported once; a line of exactly the limit is read', () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, '');
    const { tail, seen } = follow(f, { maxLineBytes: 64 * 1024 });
    appendFileSync(f, `${'a'.repeat(64 * 1024)}\n${'b'.repeat(1_000_000)}\nline 0\n`);
    // Reads are bounded per turn (1 MiB): a backlog takes more than one scan.
    for (let i = 0; i < 3; i++) tail.scan();
    expect(seen.lines.map((l) => l.length)).toEqual([64 * 1024, 6]);
    expect(seen.tooLong).toBe(1);
  });

  it('globs: every matching file, a file renamed to another matching name is not read again', () => {
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    writeFileSync(a, '');
    const { tail, seen } = follow(path.join(dir, '*.log'));
    appendFileSync(a, 'a1\n');
    writeFileSync(b, 'b1\n');
    writeFileSync(path.join(dir, 'a.log.1'), 'not matched\n');
    tail.scan();
    renameSync(a, path.join(dir, 'old-a.log'));
    appendFileSync(path.join(dir, 'old-a.log'), 'a2\n');
    tail.scan();
    expect(seen.lines.sort()).toEqual(['a1', 'a2', 'b1']);
    expect(tail.attachedFiles).toBe(2);
    expect(globRegExp('access-*.lo[g]').test('access-1.log')).toBe(true);
    expect(globRegExp('*.log').test('x.log.1')).toBe(false);
  });

  it('resumes from saved positions after a restart, including a file rotated while it was down', () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, '');
    const first = follow(f);
    appendFileSync(f, lines(0, 3));
    appendFileSync(f, 'partial');
    first.tail.scan();
    const saved = new Map(first.tail.positions().map((p) => [`${p.dev}:${p.ino}`, p]));
    first.tail.stop();
    // While the exporter is down: the line completes, more lines, then rotation and a new file.
    appendFileSync(f, ' done\n');
    appendFileSync(f, lines(3, 5));
    renameSync(f, `${f}.1`);
    writeFileSync(f, lines(5, 6));
    const second = follow(f, {}, saved);
    expect(second.seen.lines).toEqual(['partial done', ...lines(3, 6).trim().split('\n')]);
    expectLines(first.seen, 0, 3);
  });

  it('notices writes by inotify alone (polling an hour apart), and by polling alone (no watch)', async () => {
    const f = path.join(dir, 'access.log');
    writeFileSync(f, '');
    const inotify = follow(f, { watch: true, pollInterval: 3600 });
    const polling = follow(f, { watch: false, pollInterval: 0.05 });
    expect(inotify.tail.watching).toBe(true);
    expect(polling.tail.watching).toBe(false);
    appendFileSync(f, lines(0, 2));
    const deadline = Date.now() + 3000;
    while ((inotify.seen.lines.length < 2 || polling.seen.lines.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expectLines(inotify.seen, 0, 2);
    expectLines(polling.seen, 0, 2);
  });

  it('reads every line exactly once however the writes are split and whenever it looks (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')), fc.boolean(), fc.boolean()), { maxLength: 40 }),
      fc.array(fc.nat({ max: 10 }), { maxLength: 20 }),
      (items, splits) => {
        const f = path.join(dir, `p-${Math.random()}.log`);
        writeFileSync(f, '');
        const { tail, seen } = follow(f, { maxLineBytes: 20 });
        let written = '';
        let k = 0;
        for (const [text, scanAfter, splitIt] of items) {
          const line = `${text}\n`;
          const at = splitIt ? Math.min(line.length, splits[k++ % Math.max(1, splits.length)] ?? 0) : line.length;
          appendFileSync(f, line.slice(0, at));
          if (scanAfter) tail.scan();
          appendFileSync(f, line.slice(at));
          written += line;
        }
        tail.scan();
        const all = written.split('\n').slice(0, -1);
        const expected = all.filter((l) => l !== '' && Buffer.byteLength(l) <= 20);
        const tooLong = all.filter((l) => Buffer.byteLength(l) > 20).length;
        tail.stop();
        return JSON.stringify(seen.lines) === JSON.stringify(expected) && seen.tooLong === tooLong;
      },
    ), { numRuns: 150 });
  });
});
