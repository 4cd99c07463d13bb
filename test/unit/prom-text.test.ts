import fc from 'fast-check';
import { Gauge, Registry } from 'prom-client';
import { renderMetrics } from '../../src/metrics/exposition';
import { parseProm, parsePromText } from '../harness/prom-text';

/** The tests' own exposition parser reads back every label value the exporter can write. */
describe('parseProm', () => {
  const awkward = ['plain', 'tab\there', 'cr\rlf\n', 'ctl\x01\x7f', 'brace}{', 'comma,="x"', 'back\\slash\\n', 'quote"', '', 'ünïcode ✓', ' lead and trail '];

  it('round-trips label values through the exporter\'s own rendering', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'x_value', help: 'h', labelNames: ['group', 'other'], registers: [registry] });
    awkward.forEach((v, i) => g.set({ group: v, other: String(i) }, i + 0.5));
    const samples = parseProm(await renderMetrics(registry)).filter((s) => s.name === 'x_value');
    expect(samples.map((s) => s.labels.group).sort()).toEqual([...awkward].sort());
    for (const s of samples) expect(s.value).toBe(Number(s.labels.other) + 0.5);
  });

  it('reads special values and timestamps, and refuses broken lines', () => {
    expect(parseProm('a 1 1700000000000\nb +Inf\nc -Inf\nd NaN\ne Nan\nf +inf\n').map((s) => s.value)).toEqual([1, Infinity, -Infinity, NaN, NaN, Infinity]);
    expect(() => parseProm('a{x="1} 2\n')).toThrow(/unterminated/);
    expect(() => parseProm('a{x="\\t"} 2\n')).toThrow(/bad escape/);
    expect(() => parseProm('a{x="1" y="2"} 2\n')).toThrow(/expected/);
    expect(() => parseProm('a{x="1"} two\n')).toThrow(/bad value/);
  });
});

/**
 * Property-based: any label values and HELP text, written as the text format says (by hand, to
 * the letter of the format, and by prom-client through the exporter's rendering), are read back
 * exactly. Hosts name processes and containers; a name may hold anything.
 */
describe('parseProm, property-based', () => {
  /** Every escape the text format defines: label values `\\`, `\"`, `\n`; HELP `\\`, `\n`. */
  const escLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  const escHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  // Any characters, control characters, quotes, backslashes, newlines and braces made likely.
  const anyText = fc.string({ unit: fc.oneof(
    fc.constantFrom('\\', '"', '\n', '\r', '\t', '\x01', '\x7f', '{', '}', ',', '=', ' ', '#', 'n'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ), maxLength: 40 });
  const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/);
  const value = fc.oneof(fc.double({ noNaN: true }), fc.constant(NaN));
  const sameValue = (a: number, b: number): boolean => (Number.isNaN(a) && Number.isNaN(b)) || a === b || (a === 0 && b === 0);

  it('reads back any label values and HELP text written to the letter of the format', () => {
    fc.assert(fc.property(fc.dictionary(labelName, anyText, { maxKeys: 4 }), anyText, value, (labels, help, v) => {
      const body = Object.entries(labels).map(([k, x]) => `${k}="${escLabel(x)}"`).join(',');
      const text = `# HELP m_x ${escHelp(help)}\n# TYPE m_x gauge\nm_x${body === '' ? '' : `{${body}}`} ${String(v)}\n`;
      const parsed = parsePromText(text);
      expect(parsed.samples).toHaveLength(1);
      expect(parsed.samples[0]!.labels).toEqual(labels);
      expect(sameValue(parsed.samples[0]!.value, v)).toBe(true);
      // Blanks right after the name are not part of the text, as Prometheus reads it.
      expect(parsed.help.get('m_x')).toBe(help.replace(/^[ \t]+/, ''));
      expect(parsed.type.get('m_x')).toBe('gauge');
    }), { numRuns: 500 });
  });

  it('reads back what the exporter\'s rendering writes, for any label values and HELP text', async () => {
    await fc.assert(fc.asyncProperty(fc.uniqueArray(anyText, { minLength: 1, maxLength: 5 }), anyText, async (values, help) => {
      const registry = new Registry();
      const g = new Gauge({ name: 'p_value', help: help === '' ? 'h' : help, labelNames: ['group'], registers: [registry] });
      values.forEach((x, i) => g.set({ group: x }, i));
      const parsed = parsePromText(await renderMetrics(registry));
      const got = parsed.samples.filter((s) => s.name === 'p_value');
      expect(new Map(got.map((s) => [s.labels.group, s.value]))).toEqual(new Map(values.map((x, i) => [x, i])));
      expect(parsed.help.get('p_value')).toBe((help === '' ? 'h' : help).replace(/^[ \t]+/, ''));
    }), { numRuns: 200 });
  });

  it('refuses escapes the format does not define', () => {
    fc.assert(fc.property(fc.constantFrom(...'abcdefghijklmopqrstuvwxyz0123456789\'t{}'.split('')), (c) => {
      expect(() => parseProm(`m{x="\\${c}"} 1\n`)).toThrow(/bad escape/);
      expect(() => parsePromText(`# HELP m a\\${c}\nm 1\n`)).toThrow(/bad escape/);
    }));
  });
});
