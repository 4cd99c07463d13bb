import { definitionOf, isEnumerated, M, type LabelSpec, type MetricDef } from '../../src/metrics/definitions';
import type { Sample } from './prom-text';

/**
 * Labels whose every catalogue value is always exported for each series of the other labels:
 * state sets (1 for the current state, 0 for the others) and counters declared at 0 for every
 * reason, so that rate() and increase() see the first failure.
 */
export const COMPLETE_LABELS: readonly (readonly [MetricDef, string])[] = [
  [M.healthStatus, 'status'], [M.containerState, 'state'], [M.containerHealth, 'status'],
  [M.httpFailures, 'reason'], [M.mqttConnectFailures, 'reason'], [M.mqttMessagesDropped, 'reason'],
  [M.processReadErrors, 'reason'], [M.processCpu, 'mode'], [M.logParseFailures, 'reason'],
  [M.logRotations, 'kind'], [M.collectorErrors, 'reason'], [M.webRequestsRefused, 'reason'],
];

/**
 * What in an exposition disagrees with the metric catalogue: a stackwatch_ series the catalogue
 * does not define, a series whose label names are not its metric's, a value of an enumerated label
 * the catalogue does not list, and (for COMPLETE_LABELS) a series group whose values are not
 * exactly the catalogue's. Returns one line per problem; empty when all agree.
 */
export function catalogueProblems(samples: readonly Sample[]): string[] {
  const problems: string[] = [];
  const groups = new Map<string, { def: MetricDef; label: string; values: string[] }>();
  for (const s of samples) {
    if (!s.name.startsWith('stackwatch_')) continue;
    const def = definitionOf(s.name);
    if (def === undefined) {
      problems.push(`${s.name} is not in the catalogue`);
      continue;
    }
    const names = Object.keys(s.labels).filter((l) => !(l === 'le' && s.name.endsWith('_bucket'))).sort();
    const want = [...def.labels].sort();
    if (names.join(',') !== want.join(',')) problems.push(`${s.name}{${names.join(',')}}: the catalogue's labels are ${want.join(',') || 'none'}`);
    for (const [label, value] of Object.entries(s.labels)) {
      const spec = (def.spec as Readonly<Record<string, LabelSpec>>)[label];
      if (spec !== undefined && isEnumerated(spec) && !spec.values.includes(value)) problems.push(`${s.name}{${label}="${value}"}: not a catalogue value`);
    }
    if (s.name !== def.name) continue;
    for (const [d, label] of COMPLETE_LABELS) {
      if (d !== def) continue;
      const rest = Object.entries(s.labels).filter(([k]) => k !== label).sort(([a], [b]) => a.localeCompare(b));
      const key = `${def.name}${JSON.stringify(rest)}`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { def, label, values: [] }));
      g.values.push(s.labels[label] ?? '');
    }
  }
  for (const [key, g] of groups) {
    const spec = (g.def.spec as Readonly<Record<string, LabelSpec>>)[g.label]!;
    const want = isEnumerated(spec) ? [...spec.values].sort() : [];
    const got = [...g.values].sort();
    if (got.join(',') !== want.join(',')) problems.push(`${key}: ${g.label} values ${got.join(',')}, the catalogue's are ${want.join(',')}`);
  }
  return problems;
}
