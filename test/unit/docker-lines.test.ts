import { LineSplitter } from '../../src/collectors/docker-lines';

const b = (s: string): Buffer => Buffer.from(s);

describe('LineSplitter', () => {
  test('splits several lines in one chunk and skips empty ones', () => {
    const s = new LineSplitter(100);
    expect(s.push(b('{"a":1}\n\n{"b":2}\r\n'))).toEqual(['{"a":1}', '{"b":2}']);
    expect(s.pending).toBe(0);
  });

  test('joins a line delivered in pieces, keeping multi-byte characters intact', () => {
    const s = new LineSplitter(100);
    const whole = b('{"name":"café"}\n');
    const cut = whole.indexOf(0xc3) + 1; // in the middle of "é"
    expect(s.push(whole.subarray(0, cut))).toEqual([]);
    expect(s.pending).toBe(cut);
    expect(s.push(whole.subarray(cut))).toEqual(['{"name":"café"}']);
  });

  test('byte by byte gives the same lines', () => {
    const s = new LineSplitter(100);
    const out: string[] = [];
    for (const byte of b('one\ntwo\nthree')) out.push(...s.push(Buffer.from([byte])));
    expect(out).toEqual(['one', 'two']);
    expect(s.push(b('\n'))).toEqual(['three']);
  });

  test('does not keep a reference to the caller\'s buffer', () => {
    const s = new LineSplitter(100);
    const chunk = b('abc');
    s.push(chunk);
    chunk.fill(0x78);
    expect(s.push(b('\n'))).toEqual(['abc']);
  });

  test('drops an over-long line, counts it once, and resumes at the next line', () => {
    const s = new LineSplitter(10);
    expect(s.push(b('0123456789AB'))).toEqual([]); // too long already, no newline yet
    expect(s.overlong).toBe(1);
    expect(s.pending).toBe(0);
    expect(s.push(b('CDEFGHIJKLMNOP'))).toEqual([]); // still the same line: bounded memory
    expect(s.pending).toBe(0);
    expect(s.push(b('QR\nok\n'))).toEqual(['ok']);
    expect(s.overlong).toBe(1);
    // An over-long line complete within one chunk is counted too.
    expect(s.push(b('x'.repeat(11) + '\nfine\n'))).toEqual(['fine']);
    expect(s.overlong).toBe(2);
  });

  test('a line of exactly the limit is kept; reset() forgets a partial line', () => {
    const s = new LineSplitter(5);
    expect(s.push(b('12345\n'))).toEqual(['12345']);
    s.push(b('par'));
    s.reset();
    expect(s.push(b('new\n'))).toEqual(['new']);
  });
});
