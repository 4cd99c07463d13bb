import { ALL_METRICS, GROUP_TITLES, isEnumerated, valueList, type LabelSpec, type MetricDef, type MetricGroup } from './definitions';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** One label in the Labels column: its values, or where they come from. */
function labelText(name: string, spec: LabelSpec): string {
  if (isEnumerated(spec)) return `\`${name}\`: ${valueList(spec, (v) => `\`${v}\``)}`;
  return `\`${name}\` (from ${spec.from})`;
}

/** Renders docs/metrics.md from the metric definitions (npm run docs; a test checks it is current). */
export function renderMetricsDoc(defs: readonly MetricDef[] = ALL_METRICS): string {
  const lines = [
    '# Metrics',
    '',
    '<!-- Generated from src/metrics/definitions.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'Every metric stackwatch exports, by section. Units are base units (seconds, bytes); counters',
    'end in `_total`; timestamps are Unix seconds in `_timestamp_seconds`. Targets are observed on',
    'their own schedule, not at scrape time.',
    '',
    'The Labels column lists every label: a label with a fixed set of values lists them all (a run',
    'of numbers as `first`-`last`; the HELP text lists them too); any other label says where its',
    'values come from: the configuration (target, broker, group, source, route, field and topic',
    'names), Docker (container names and facts) or the host, so cardinality stays bounded.',
    '',
    'Besides these, prom-client\'s default `process_*` and `nodejs_*` metrics describe the exporter itself.',
    'The `nodejs_eventloop_lag_*` gauges keep prom-client\'s names but say how late the event loop',
    'was: each sample is how late a timer ran, so an idle loop reads about 0 (prom-client\'s own reads',
    'its 10 ms period). They sample every 100 ms after a second in which the loop worked and every',
    'second after a quiet one, so an idle exporter does not wake ten times a second.',
    '',
  ];
  const groups = Object.keys(GROUP_TITLES) as MetricGroup[];
  for (const g of groups) {
    const ds = defs.filter((d) => d.group === g);
    if (ds.length === 0) continue;
    lines.push(`## ${GROUP_TITLES[g]}`, '', '| Metric | Type | Labels | Description |', '|---|---|---|---|');
    for (const d of ds) {
      const labels = d.labels.map((l) => labelText(l, d.spec[l]!)).join('<br>');
      const help = d.description + (d.buckets ? ` Buckets: ${d.buckets.join(', ')}.` : '');
      lines.push(`| \`${d.name}\` | ${d.type} | ${cell(labels)} | ${cell(help)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
