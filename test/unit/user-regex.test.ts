import path from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { compileLinear, compileUserRegex, literalOf, userRegexProblem } from '../../src/user-regex';

describe('literal user patterns', () => {
  test('are recognised with their anchors and escapes', () => {
    expect(literalOf('^/api/chatbot/')).toEqual({ text: '/api/chatbot/', start: true, end: false });
    expect(literalOf('nginx')).toEqual({ text: 'nginx', start: false, end: false });
    expect(literalOf('\\.js$')).toEqual({ text: '.js', start: false, end: true });
    expect(literalOf('^\\/api\\/health$')).toEqual({ text: '/api/health', start: true, end: true });
    for (const p of ['^/api/(a|b)', 'a.b', '^x+', '\\d', 'a$b', '^^a', '[ab]', 'a{2}', 'x\\']) expect(literalOf(p)).toBeUndefined();
  });

  test('match exactly what the regular expression matches', () => {
    const ch = fc.constantFrom('a', 'b', '/', '-', '_', ':', 'é', '€', '\\.', '\\/', '\\-', '\\$', '\\^', '\\(', '\\?');
    const pattern = fc.tuple(fc.boolean(), fc.array(ch, { maxLength: 6 }), fc.boolean())
      .map(([s, body, e]) => `${s ? '^' : ''}${body.join('')}${e ? '$' : ''}`);
    const text = fc.array(fc.constantFrom('a', 'b', '/', '.', '-', '$', '^', '(', '?', 'é', '€', '\n'), { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(fc.property(pattern, fc.array(text, { minLength: 1, maxLength: 8 }), (p, texts) => {
      expect(literalOf(p)).toBeDefined();
      const fast = compileUserRegex(p);
      const linear = compileLinear(p);
      for (const t of texts) expect([p, t, fast.test(t)]).toEqual([p, t, linear.test(t)]);
      // A text the pattern was built to match.
      const lit = literalOf(p)!;
      expect(fast.test(lit.text)).toBe(linear.test(lit.text));
      expect(fast.test(`x${lit.text}y`)).toBe(linear.test(`x${lit.text}y`));
    }), { numRuns: 500 });
  });
});

describe('patterns on the linear-time engine', () => {
  test('match what JavaScript matches', () => {
    // Patterns from a small grammar, compared with V8's ordinary (backtracking) engine on short
    // texts, where backtracking is harmless.
    const atom: fc.Arbitrary<string> = fc.constantFrom('a', 'b', '.', '[ab]', '[^a]', '\\d', '\\w', '\\s', '/', '\\.', '\\-', '(?:a|b/)', '(a|bb)', '[a-c0-9]');
    const quant = fc.constantFrom('', '', '*', '+', '?', '{2}', '{1,3}', '*?');
    const piece = fc.tuple(atom, quant).map(([a, q]) => a + q);
    const body = fc.array(piece, { minLength: 1, maxLength: 5 }).map((ps) => ps.join(''));
    const pattern = fc.tuple(fc.boolean(), fc.array(body, { minLength: 1, maxLength: 2 }), fc.boolean())
      .map(([s, alts, e]) => `${s ? '^' : ''}${alts.length > 1 ? `(?:${alts.join('|')})` : alts[0]!}${e ? '$' : ''}`);
    const text = fc.array(fc.constantFrom('a', 'b', 'c', '0', '7', '/', '.', '-', ' ', '\n', 'é'), { maxLength: 12 }).map((a) => a.join(''));
    fc.assert(fc.property(pattern, fc.array(text, { minLength: 1, maxLength: 8 }), (p, texts) => {
      const re = compileUserRegex(p);
      const js = new RegExp(p);
      for (const t of texts) expect([p, t, re.test(t)]).toEqual([p, t, js.test(t)]);
    }), { numRuns: 500 });
  });

  test('a route pattern with groups and classes', () => {
    const re = compileUserRegex('^/api/(chat|bot)/\\d+$');
    expect(re.test('/api/chat/12')).toBe(true);
    expect(re.test('/api/chat/x')).toBe(false);
    expect(compileUserRegex('foo\\-(a|b)').test('foo-b')).toBe(true);
    expect(compileUserRegex('^[\\w\\-]+\\:\\d+$').test('web-1:80')).toBe(true);
  });

  test('patterns that cannot run in linear time, or would mean something else, are refused with the reason', () => {
    const cases: [string, RegExp][] = [
      ['(a)\\1', /linear time: backreferences/],
      ['a(?=b)', /lookahead and lookbehind/],
      ['(?<!a)b', /lookahead and lookbehind/],
      ['x(?:a(?<=b))', /lookahead and lookbehind/],
      ['[0-9a-f]{64}', /at most 16 times/],
      ['(?i)nginx', /inline flags such as \(\?i\)/],
      ['\\p{L}+', /Unicode property classes/],
      ['\\pL', /Unicode property classes/],
      ['[[:alpha:]]+', /POSIX classes/],
      ['[]a]', /cannot start with `]`/],
      ['\\Qa.b\\E', /Invalid escape/],
      ['x\\z', /Invalid escape/],
      ['a{,3}', /Incomplete quantifier/],
      ['😀+', /Basic Multilingual Plane/],
      ['(', /Unterminated group/],
    ];
    for (const [p, why] of cases) expect([p, userRegexProblem(p)]).toEqual([p, expect.stringMatching(why)]);
    expect(userRegexProblem('[0-9a-f]{12}')).toBeUndefined();
    expect(userRegexProblem('^(a+)+$')).toBeUndefined();
  });

  test('a pattern that makes a backtracking engine take exponential time is matched at once (ReDoS)', async () => {
    // Run where it can be stopped: on a backtracking engine each of these texts takes 2^40 steps
    // or more (years), so the worker would never answer and is terminated after 20 s.
    const worker = new Worker(`
      require('ts-node').register({ transpileOnly: true });
      const { compileUserRegex } = require(${JSON.stringify(path.join(__dirname, '../../src/user-regex.ts'))});
      const { parentPort } = require('node:worker_threads');
      const results = [
        compileUserRegex('^(a+)+$').test('a'.repeat(40) + '!'),
        compileUserRegex('^(a|a)*$').test('a'.repeat(40) + '!'),
        compileUserRegex('^(\\\\w+\\\\s?)*$').test('word '.repeat(2000) + '!'),
        compileUserRegex('(x+x+)+y').test('x'.repeat(100_000)),
      ];
      parentPort.postMessage(results);
    `, { eval: true });
    try {
      const results = await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the patterns did not finish in 20 s: they are not matched in linear time')), 20_000);
        worker.once('message', (m) => { clearTimeout(timer); resolve(m); });
        worker.once('error', (err) => { clearTimeout(timer); reject(err); });
      });
      expect(results).toEqual([false, false, false, false]);
    } finally {
      await worker.terminate();
    }
  }, 30_000);
});
