import { Gauge, Registry } from 'prom-client';
import { renderMetrics } from '../../src/metrics/exposition';
import { parseProm } from '../harness/prom-text';

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
