import fc from 'fast-check';
import { Gauge, Registry } from 'prom-client';
import { M } from '../../src/metrics/definitions';
import { gauge } from '../../src/metrics/instruments';

/**
 * The catalogue's gauges set a series without re-sorting its label names on every call and update
 * its entry in place (src/metrics/instruments.ts). Whatever is written, they hold and expose
 * exactly what prom-client's own Gauge holds and exposes, and throw where it throws.
 */

type Op =
  | { kind: 'set'; labels: Record<string, string | number | undefined>; value: unknown }
  | { kind: 'remove'; labels: Record<string, string> }
  | { kind: 'setPlain'; value: number };

const labelValue = fc.constantFrom('a', 'b', 'quote " and \\ and \n', '', 7, undefined);
// Label objects with the declared names in either order, some missing or undefined, and now and then an undeclared one.
const labels = fc.tuple(fc.boolean(), fc.option(labelValue), fc.option(labelValue), fc.option(fc.constantFrom('x', 'y'), { freq: 8 }))
  .map(([reversed, target, field, extra]) => {
    const out: Record<string, string | number | undefined> = {};
    const put = (k: string, v: string | number | undefined | null): void => {
      if (v !== null) out[k] = v;
    };
    if (reversed) { put('field', field); put('target', target); } else { put('target', target); put('field', field); }
    if (extra !== null) out.extra = extra;
    return out;
  });
const value = fc.oneof(fc.double(), fc.constantFrom(0, 1, NaN, Infinity, -Infinity), fc.constantFrom('3' as unknown, null, undefined));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), labels, value }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), labels: fc.record({ target: fc.constantFrom('a', 'b'), field: fc.constantFrom('a', 'b') }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setPlain' as const), value: fc.double() }) },
);

function outcome(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
}

describe('gauge set() of the catalogue gauges', () => {
  it('holds, exposes and throws exactly as prom-client does', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const ours = new Registry();
      const theirs = new Registry();
      const g = gauge(ours, M.healthField);
      const plain = new Gauge({ name: M.healthField.name, help: M.healthField.help, labelNames: [...M.healthField.labels], registers: [theirs] });
      for (const o of ops) {
        // One labels object for both: prom-client keeps the object it was given.
        const run = (x: Gauge<string>): string => outcome(() => {
          if (o.kind === 'set') x.set(o.labels, o.value as number);
          else if (o.kind === 'remove') x.remove(o.labels);
          else x.set(o.value);
        });
        expect(run(g)).toBe(run(plain));
        const table = (x: Gauge<string>): unknown => (x as unknown as { hashMap: object }).hashMap;
        expect(table(g)).toEqual(table(plain));
      }
      expect(await ours.metrics()).toBe(await theirs.metrics());
    }), { numRuns: 300 });
  });

  it('keeps the labels object it was given last, as prom-client does', () => {
    const g = gauge(new Registry(), M.healthField);
    const first = { target: 't', field: 'f' };
    const second = { field: 'f', target: 't' };
    g.set(first, 1);
    g.set(second, 2);
    const entries = Object.values((g as unknown as { hashMap: Record<string, { value: number; labels: object }> }).hashMap);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.labels).toBe(second);
    expect(entries[0]!.value).toBe(2);
  });
});
