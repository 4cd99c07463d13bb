import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { selector } from '../../src/bundle/rules-tests';
import { COLLECTOR_TABLE } from '../../src/collectors/index';
import { codeLabel, methodLabel } from '../../src/collectors/log-formats';
import {
  ALL_METRICS, checkSeriesLabels, COLLECTOR_NAMES, GROUP_TITLES, isEnumerated, M, matcher, namesWithLabel, TARGET_KINDS,
  type Enumerated, type LabelSpec, type MetricDef,
} from '../../src/metrics/definitions';
import { counter, gauge, setStateSet } from '../../src/metrics/instruments';
import { renderMetrics } from '../../src/metrics/exposition';
import { catalogueProblems, COMPLETE_LABELS } from '../harness/catalogue-conformance';
import { parsePromText } from '../harness/prom-text';

const ROOT = path.join(__dirname, '..', '..');
const specOf = (d: MetricDef, label: string): LabelSpec => (d.spec as Readonly<Record<string, LabelSpec>>)[label]!;

/** The values a docs cell or HELP list names: `a`, `b` (note), `500`-`599` -> a, b, 500...599. */
function listedValues(text: string, quoted: boolean): string[] {
  const out: string[] = [];
  // Notes in parentheses may hold commas: drop them first (they never nest).
  const bare = text.replace(/ \([^()]*\)/g, '');
  for (const raw of bare.split(', ')) {
    const item = quoted ? raw.replace(/`/g, '') : raw;
    const range = /^(\d+)-(\d+)$/.exec(item);
    if (range !== null) {
      for (let n = Number(range[1]); n <= Number(range[2]); n++) out.push(String(n));
    } else {
      out.push(item);
    }
  }
  return out;
}

describe('metric catalogue', () => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'metrics.md'), 'utf8');

  it('every entry appears in docs/metrics.md, in its section, with its type, every label and every enumerated value', () => {
    const sections = doc.split(/^## /m).slice(1);
    for (const d of ALL_METRICS) {
      const section = sections.find((s) => s.startsWith(`${GROUP_TITLES[d.group]}\n`));
      expect(section).toBeDefined();
      const row = section!.split('\n').find((l) => l.startsWith(`| \`${d.name}\` |`));
      if (row === undefined) throw new Error(`${d.name} has no row in its section of docs/metrics.md`);
      const cells = row.split(/(?<!\\)\|/).map((c) => c.trim());
      expect(cells[2]).toBe(d.type);
      const labelCell = cells[3]!;
      const parts = labelCell === '' ? [] : labelCell.split('<br>');
      expect(parts.length).toBe(d.labels.length);
      d.labels.forEach((label, i) => {
        const part = parts[i]!;
        const spec = specOf(d, label);
        if (isEnumerated(spec)) {
          const prefix = `\`${label}\`: `;
          expect(part.startsWith(prefix)).toBe(true);
          expect(listedValues(part.slice(prefix.length), true)).toEqual([...spec.values]);
        } else {
          // Where its values come from, said for every label without a fixed list.
          expect(part).toBe(`\`${label}\` (from ${spec.from})`);
          expect(spec.from.length).toBeGreaterThan(5);
        }
      });
      expect(cells[4]!.startsWith(d.description.replace(/\|/g, '\\|'))).toBe(true);
    }
  });

  it('the HELP text lists the values of every enumerated label, and the description is not left to repeat them', () => {
    for (const d of ALL_METRICS) {
      for (const label of d.labels) {
        const spec = specOf(d, label);
        if (!isEnumerated(spec)) continue;
        const m = new RegExp(` ${label}: (.*?)\\.(?: [a-z_]+: |$)`).exec(d.help.slice(d.description.length));
        if (m === null) throw new Error(`the HELP of ${d.name} does not list ${label}`);
        expect(listedValues(m[1]!, false)).toEqual([...spec.values]);
      }
    }
    expect(M.httpFailures.help).toBe('Failed health checks, by reason. reason: timeout, connect, dns, tls, status, body_too_large, invalid_json, condition, internal (the check itself could not run, e.g. an unusable TLS file).');
    // 499 and 500-599 are one run of consecutive codes.
    expect(M.logRequests.help).toMatch(/ code: 1xx, 2xx, 3xx, 4xx, 429, 499-599\.$/);
  });

  it('every label has its values listed or its origin said, and values are unique', () => {
    for (const d of ALL_METRICS) {
      expect(Object.keys(d.spec)).toEqual([...d.labels]);
      for (const label of d.labels) {
        expect(label).toMatch(/^[a-z_][a-z0-9_]*$/);
        const spec = specOf(d, label);
        if (isEnumerated(spec)) {
          expect(spec.values.length).toBeGreaterThan(0);
          expect(new Set(spec.values).size).toBe(spec.values.length);
          for (const v of Object.keys(spec.notes)) expect(spec.values).toContain(v);
        }
      }
    }
  });

  it('the access-log labels the parser answers are catalogue values', () => {
    const codes = (specOf(M.logRequests, 'code') as Enumerated).values;
    for (let status = 100; status <= 599; status++) expect(codes).toContain(codeLabel(status));
    const methods = (specOf(M.logRequests, 'method') as Enumerated).values;
    for (const m of [...methods, 'get', 'PROPFIND', undefined, '']) expect(methods).toContain(methodLabel(m));
  });

  it('the collector table names only catalogue collectors and target kinds', () => {
    expect(COLLECTOR_TABLE.map((k) => k.name).sort()).toEqual([...COLLECTOR_NAMES.values].sort());
    for (const k of COLLECTOR_TABLE) expect(TARGET_KINDS.values).toContain(k.targetKind);
  });

  it('series dropped with a container, broker, group, source or HTTP target are every metric carrying that label', () => {
    const carriers = (label: string): string[] => ALL_METRICS.filter((d) => d.labels.includes(label)).map((d) => d.name).sort();
    expect(namesWithLabel('docker', 'container').sort()).toEqual(carriers('container'));
    expect(namesWithLabel('mqtt', 'broker').sort()).toEqual(carriers('broker'));
    expect(namesWithLabel('process', 'group').sort()).toEqual(carriers('group'));
    expect(namesWithLabel('logs', 'source').sort()).toEqual(carriers('source'));
    // `target` is also the availability metrics' label; those are the tracker's to forget.
    expect(namesWithLabel('http', 'target').sort()).toEqual(ALL_METRICS.filter((d) => d.group === 'http').map((d) => d.name).sort());
    expect(namesWithLabel('http', 'target', 'gauge')).toEqual([M.httpStatusCode.name, M.healthStatus.name, M.healthField.name, M.httpCertExpiry.name]);
    expect(namesWithLabel('docker', 'container')).toContain(M.containerInfo.name);
    expect(namesWithLabel('docker', 'container')).not.toContain(M.dockerUp.name);
  });

  it('a state set is exported with exactly the catalogue\'s states', async () => {
    const registry = new Registry();
    const g = gauge(registry, M.containerState);
    setStateSet(g, M.containerState, { container: 'web' }, 'state', 'exited');
    const h = gauge(registry, M.healthStatus);
    setStateSet(h, M.healthStatus, { target: 'api' }, 'status', 'degraded');
    const text = parsePromText(await renderMetrics(registry));
    expect(catalogueProblems(text.samples)).toEqual([]);
    const states = text.samples.filter((s) => s.name === M.containerState.name);
    expect(states.map((s) => s.labels.state)).toEqual([...(specOf(M.containerState, 'state') as Enumerated).values]);
    expect(states.filter((s) => s.value === 1).map((s) => s.labels.state)).toEqual(['exited']);
    expect(text.help.get(M.containerState.name)).toBe(M.containerState.help);
    expect(M.containerState.help).toContain('state: created, running, paused, restarting, removing, exited, dead.');
  });

  it('the golden exposition, made by the real collectors, agrees with the catalogue', () => {
    // What the golden test normalises (wall-clock durations, the host's facts) stands as placeholders there.
    const text = readFileSync(path.join(ROOT, 'test', 'golden', 'exposition.prom'), 'utf8').replace(/ <wall-clock>$/gm, ' 0')
      .replace('{<host facts>}', '{hostname="h",os="linux",kernel="k",arch="x64"}');
    const golden = parsePromText(text);
    expect(catalogueProblems(golden.samples)).toEqual([]);
    // Not vacuous: the golden file holds these complete sets.
    const present = new Set(golden.samples.map((s) => s.name));
    const held = COMPLETE_LABELS.filter(([d]) => present.has(d.name)).map(([d]) => d.name);
    expect(held).toEqual(expect.arrayContaining([
      M.healthStatus.name, M.httpFailures.name, M.processReadErrors.name, M.processCpu.name, M.collectorErrors.name, M.webRequestsRefused.name,
    ]));
    for (const d of ALL_METRICS) {
      if (present.has(d.name)) expect(golden.help.get(d.name)).toBe(d.help);
    }
  });

  it('the conformance check finds what disagrees with the catalogue', () => {
    const base = { name: M.containerState.name, value: 0 };
    expect(catalogueProblems([
      { ...base, labels: { container: 'a', state: 'running' } },
      { ...base, labels: { container: 'a', state: 'sleeping' } },
      { name: M.dockerUp.name, labels: { host: 'x' }, value: 1 },
      { name: 'stackwatch_made_up', labels: {}, value: 1 },
    ])).toEqual([
      `${M.containerState.name}{state="sleeping"}: not a catalogue value`,
      `${M.dockerUp.name}{host}: the catalogue's labels are none`,
      'stackwatch_made_up is not in the catalogue',
      `${M.containerState.name}[["container","a"]]: state values running,sleeping, the catalogue's are created,dead,exited,paused,removing,restarting,running`,
    ]);
  });

  it('matchers name catalogue values only', () => {
    expect(matcher(M.mqttConnectFailures, 'reason', 'auth')).toBe('reason="auth"');
    expect(matcher(M.healthStatus, 'status', 'degraded', 'unhealthy')).toBe('status=~"degraded|unhealthy"');
    expect(matcher(M.logRequests, 'code', '502', '504')).toBe('code=~"502|504"');
    // code is typed string (a hundred values): checked when the bundle is generated.
    expect(() => matcher(M.logRequests, 'code', '5xx')).toThrow('has no value 5xx');
    // @ts-expect-error: not a reason of the catalogue
    expect(() => matcher(M.mqttConnectFailures, 'reason', 'autth')).toThrow('has no value autth');
    // @ts-expect-error: target is not an enumerated label
    expect(() => matcher(M.targetUp, 'target', 'x')).toThrow('no enumerated label target');
  });

  it('instruments are typed by their label names', () => {
    const registry = new Registry();
    const up = gauge(registry, M.targetUp);
    up.set({ kind: 'http', target: 'api' }, 1);
    // @ts-expect-error: stackwatch_target_up has no label reason
    expect(() => up.set({ kind: 'http', reason: 'timeout' }, 1)).toThrow(/reason/);
    const failures = counter(registry, M.httpFailures);
    // @ts-expect-error: stackwatch_http_failures_total has no label status
    expect(() => failures.inc({ target: 'api', status: 'x' })).toThrow(/status/);
    // @ts-expect-error: a gauge definition does not make a counter
    expect(() => counter(registry, M.targetUp)).toThrow();
    // @ts-expect-error: unknown is not a container state
    setStateSet(gauge(registry, M.containerState), M.containerState, { container: 'web' }, 'state', 'unknown');
  });

  it('hand-written rule test series are held to the catalogue', () => {
    const sel = selector({ job: 'stackwatch', instance: 'x:9967' });
    expect(sel(M.mqttConnectFailures.name, { broker: 'main', reason: 'auth' })).toBe('stackwatch_mqtt_connect_failures_total{job="stackwatch",instance="x:9967",broker="main",reason="auth"}');
    expect(() => sel(M.mqttConnectFailures.name, { broker: 'main', reason: 'authentication' })).toThrow('has no value "authentication"');
    expect(() => sel(M.containerState.name, { name: 'web' })).toThrow('has no label name');
    expect(() => checkSeriesLabels(`${M.targetRecovery.name}_bucket`, { kind: 'http', target: 'a', le: '5' })).not.toThrow();
    expect(() => checkSeriesLabels(`${M.targetRecovery.name}_bucket`, { kind: 'web', target: 'a', le: '5' })).toThrow('has no value "web"');
    expect(() => checkSeriesLabels('ALERTS', { anything: 'goes' })).not.toThrow();
  });
});
