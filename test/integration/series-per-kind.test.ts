/**
 * README.md's "How many series" table is the measurement, not a copy: the built daemon with one
 * target of each kind (scripts/series-per-kind.ts) must add the series the table says. A
 * broker's `$SYS` topics arrive when mosquitto publishes them (some only when they change), so a
 * count may differ by a series or two from one run to the next; anything more means the table is
 * stale. After a change to the metric catalogue, `npm run series` rewrites the table.
 */
import { measureSeriesPerKind, readmeTable } from '../../scripts/series-per-kind';

jest.setTimeout(240_000);

/** A row of the README's table: kind, what one target is, series. */
function parseTable(text: string): { kind: string; target: string; series: number }[] {
  return text.split('\n').slice(2).map((line) => {
    const [kind, target, series] = line.split('|').slice(1, 4).map((c) => c.trim());
    return { kind: kind!, target: target!, series: Number(series) };
  });
}

test('README\'s series-per-kind table matches the built daemon', async () => {
  const rows = await measureSeriesPerKind();
  expect(rows.map((r) => r.kind)).toEqual(['none (the daemon itself)', 'http', 'mqtt', 'docker', 'process', 'logs']);
  for (const r of rows) expect([r.kind, r.series > 10]).toEqual([r.kind, true]);
  const table = readmeTable();
  expect(table).toBeDefined();
  const documented = parseTable(table!);
  expect(documented.map((r) => [r.kind, r.target])).toEqual(rows.map((r) => [r.kind, r.target]));
  for (const [i, r] of rows.entries()) {
    const slack = r.kind === 'mqtt' ? 2 : 0;
    expect([r.kind, Math.abs(documented[i]!.series - r.series) <= slack, r.series]).toEqual([r.kind, true, r.series]);
  }
});
