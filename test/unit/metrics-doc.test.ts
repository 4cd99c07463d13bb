import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ALL_METRICS } from '../../src/metrics/definitions';
import { renderMetricsDoc } from '../../src/metrics/docs';

describe('docs/metrics.md', () => {
  it('is current with src/metrics/definitions.ts (run `npm run docs` when this fails)', () => {
    const onDisk = readFileSync(path.join(__dirname, '..', '..', 'docs', 'metrics.md'), 'utf8');
    expect(onDisk).toBe(renderMetricsDoc());
  });

  it('names follow Prometheus conventions', () => {
    const names = new Set<string>();
    for (const d of ALL_METRICS) {
      expect(d.name).toMatch(/^stackwatch_[a-z0-9_]+$/);
      expect(names.has(d.name)).toBe(false);
      names.add(d.name);
      if (d.type === 'counter') expect(d.name).toMatch(/_total$/);
      else expect(d.name).not.toMatch(/_total$/);
      if (/timestamp/.test(d.name)) expect(d.name).toMatch(/_timestamp_seconds$/);
      expect(d.name).not.toMatch(/_(ms|milliseconds|kb|mb|minutes)(_|$)/);
      expect(d.help.length).toBeGreaterThan(10);
      if (d.type === 'histogram') expect(d.buckets?.length).toBeGreaterThan(3);
    }
  });
});
