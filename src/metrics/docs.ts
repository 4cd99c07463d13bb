import { ALL_METRICS, GROUP_TITLES, type MetricDef, type MetricGroup } from './definitions';

/** Renders docs/metrics.md from the metric definitions (npm run docs; a test checks it is current). */
export function renderMetricsDoc(defs: readonly MetricDef[] = ALL_METRICS): string {
  const lines = [
    '# Metrics',
    '',
    '<!-- Generated from src/metrics/definitions.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'Every metric stackwatch exports, by section. Units are base units (seconds, bytes); counters',
    'end in `_total`; timestamps are Unix seconds in `_timestamp_seconds`. Label values come from',
    'the configuration (target, broker, group, field and topic names) or from container names, so',
    'cardinality stays bounded. Targets are observed on their own schedule, not at scrape time.',
    '',
    'Besides these, prom-client\'s default `process_*` and `nodejs_*` metrics describe the exporter itself.',
    '',
  ];
  const groups = Object.keys(GROUP_TITLES) as MetricGroup[];
  for (const g of groups) {
    const ds = defs.filter((d) => d.group === g);
    if (ds.length === 0) continue;
    lines.push(`## ${GROUP_TITLES[g]}`, '', '| Metric | Type | Labels | Description |', '|---|---|---|---|');
    for (const d of ds) {
      const labels = d.labels.length === 0 ? '' : d.labels.map((l) => `\`${l}\``).join(', ');
      const help = d.help.replace(/\|/g, '\\|') + (d.buckets ? ` Buckets: ${d.buckets.join(', ')}.` : '');
      lines.push(`| \`${d.name}\` | ${d.type} | ${labels} | ${help} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
