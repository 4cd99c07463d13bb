/**
 * README.md's "How many series" table is the measurement, not a copy: the built daemon with one
 * target of each kind (scripts/series-per-kind.ts) must add exactly the series the table says.
 * After a change to the metric catalogue, `npm run series` rewrites the table.
 */
import { measureSeriesPerKind, readmeTable, seriesTable } from '../../scripts/series-per-kind';

jest.setTimeout(240_000);

test('README\'s series-per-kind table matches the built daemon', async () => {
  const rows = await measureSeriesPerKind();
  expect(rows.map((r) => r.kind)).toEqual(['none (the daemon itself)', 'http', 'mqtt', 'docker', 'process', 'logs']);
  for (const r of rows) expect([r.kind, r.series > 10]).toEqual([r.kind, true]);
  expect(readmeTable()).toBe(seriesTable(rows));
});
