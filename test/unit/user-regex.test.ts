import fc from 'fast-check';
import { compileUserRegex, compileWithRe2, literalOf } from '../../src/user-regex';

describe('literal user patterns', () => {
  test('are recognised with their anchors and escapes', () => {
    expect(literalOf('^/api/chatbot/')).toEqual({ text: '/api/chatbot/', start: true, end: false });
    expect(literalOf('nginx')).toEqual({ text: 'nginx', start: false, end: false });
    expect(literalOf('\\.js$')).toEqual({ text: '.js', start: false, end: true });
    expect(literalOf('^\\/api\\/health$')).toEqual({ text: '/api/health', start: true, end: true });
    for (const p of ['^/api/(a|b)', 'a.b', '^x+', '\\d', 'a$b', '^^a', '[ab]', 'a{2}', 'x\\']) expect(literalOf(p)).toBeUndefined();
  });

  test('match exactly what RE2 matches', () => {
    const ch = fc.constantFrom('a', 'b', '/', '-', '_', ':', 'é', '€', '\\.', '\\/', '\\-', '\\$', '\\^', '\\(', '\\?');
    const pattern = fc.tuple(fc.boolean(), fc.array(ch, { maxLength: 6 }), fc.boolean())
      .map(([s, body, e]) => `${s ? '^' : ''}${body.join('')}${e ? '$' : ''}`);
    const text = fc.array(fc.constantFrom('a', 'b', '/', '.', '-', '$', '^', '(', '?', 'é', '€', '\n'), { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(fc.property(pattern, fc.array(text, { minLength: 1, maxLength: 8 }), (p, texts) => {
      expect(literalOf(p)).toBeDefined();
      const fast = compileUserRegex(p);
      const re2 = compileWithRe2(p);
      for (const t of texts) expect([p, t, fast.test(t)]).toEqual([p, t, re2.test(t)]);
      // A text the pattern was built to match.
      const lit = literalOf(p)!;
      expect(fast.test(lit.text)).toBe(re2.test(lit.text));
      expect(fast.test(`x${lit.text}y`)).toBe(re2.test(`x${lit.text}y`));
    }), { numRuns: 500 });
  });

  test('other patterns still run on RE2', () => {
    const re = compileUserRegex('^/api/(chat|bot)/\\d+$');
    expect(re.test('/api/chat/12')).toBe(true);
    expect(re.test('/api/chat/x')).toBe(false);
  });
});
