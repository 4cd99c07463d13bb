/**
 * Which rule groups a promtool test file loads (groupsNeeded): the checked alerts' groups, the
 * recording rules their expressions and annotation templates use (transitively), and the alert
 * groups an `ALERTS` selector could select; nothing else. And which rules of them a case can see
 * (rulesSeen), what the suite compares to decide which generated cases to run again.
 */
import { parse } from 'yaml';
import { bundleConfig } from '../../src/bundle/bundle-config';
import { groupsNeeded, ruleTestFiles, rulesSeen, type LoadableGroup, type PromtoolTest } from '../../src/bundle/rules-tests';

const rec = (file: string, rules: [string, string][]): LoadableGroup => ({ file, name: file, rules: rules.map(([record, expr]) => ({ record, expr })) });
const alerting = (file: string, rules: { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[]): LoadableGroup => ({ file, name: file, rules });

const base = rec('base', [['job:a:rate5m', 'rate(a_total[5m])']]);
const derived = rec('derived', [['job:a:ratio', 'job:a:rate5m / 2']]);
const unused = rec('unused', [['job:a:rate5m_extra', 'rate(a_total[1h])']]);
const mttr = rec('mttr', [['job:mttr:mean7d', 'sum(x)']]);
const causes = alerting('causes', [{ alert: 'Down', expr: 'up == 0', labels: { notify: 'page', role: 'cause' } }]);
const tickets = alerting('tickets', [{ alert: 'Slow', expr: 'x > 1', labels: { notify: 'ticket', role: 'cause' } }]);
const symptoms = alerting('symptoms', [{
  alert: 'Errors',
  expr: 'job:a:ratio > 0.1 unless on(job) max_over_time(ALERTS{alertstate="firing", notify="page", role=~"cause|x"}[2m])',
  labels: { notify: 'page', role: 'symptom' },
  annotations: { description: '{{ with query "job:mttr:mean7d" }}{{ . }}{{ end }}' },
}]);
const all = [base, derived, unused, mttr, causes, tickets, symptoms];
const checking = (alertname: string): PromtoolTest => ({ name: 't', interval: '1m', input_series: [], alert_rule_test: [{ eval_time: '1m', alertname, exp_alerts: [] }] });
const names = (gs: LoadableGroup[]): string[] => gs.map((g) => g.name);

describe('groupsNeeded', () => {
  test('an alert loads its recording rules transitively, the ones its annotations query, and the alerts its ALERTS selector can select', () => {
    expect(names(groupsNeeded(all, [checking('Errors')]))).toEqual(['base', 'derived', 'mttr', 'causes', 'symptoms']);
  });

  test('an alert that references nothing loads its own group alone', () => {
    expect(names(groupsNeeded(all, [checking('Down')]))).toEqual(['causes']);
  });

  test('an expression test loads the rules it reads, not a longer name that starts the same', () => {
    const t: PromtoolTest = { name: 't', interval: '1m', input_series: [], promql_expr_test: [{ expr: 'job:a:rate5m', eval_time: '1m', exp_samples: [] }] };
    expect(names(groupsNeeded(all, [t]))).toEqual(['base']);
  });

  test('a negative or unknown-label matcher does not rule an alert out; alertname does', () => {
    const byName = alerting('n', [{ alert: 'X', expr: 'ALERTS{alertname="Slow"}' }]);
    expect(names(groupsNeeded([...all, byName], [checking('X')]))).toEqual(['tickets', 'n']);
    const notPage = alerting('np', [{ alert: 'Y', expr: 'ALERTS{notify!="page", severity="critical"}' }]);
    expect(names(groupsNeeded([...all, notPage], [checking('Y')]))).toEqual(['tickets', 'np']);
    // Every alert, and through the symptoms what they read.
    const bare = alerting('b', [{ alert: 'Z', expr: 'count(ALERTS)' }]);
    expect(names(groupsNeeded([...all, bare], [checking('Z')]))).toEqual(['base', 'derived', 'mttr', 'causes', 'tickets', 'symptoms', 'b']);
  });

  test('the committed test files each load fewer groups than the bundle has, in the bundle\'s order', () => {
    const cfg = bundleConfig;
    for (const [file, text] of Object.entries(ruleTestFiles(cfg))) {
      const doc = parse(text) as { rule_files: string[]; group_eval_order: string[] };
      expect(doc.rule_files.length).toBe(doc.group_eval_order.length);
      expect(doc.rule_files.length).toBeGreaterThan(0);
      if (!['availability.yml', 'health.yml'].includes(file)) expect(doc.rule_files.length).toBeLessThan(10);
    }
  });
});

describe('rulesSeen', () => {
  const seen = (groups: LoadableGroup[], t: PromtoolTest): [string, string[]][] =>
    rulesSeen(groups, [t]).map(({ group, rules }) => [group.name, rules.map((r) => r.record ?? r.alert ?? '')]);

  test('an alert sees its recording rules transitively, the ones its annotations query, and the alerts its ALERTS selector can select, not their neighbours', () => {
    const crowded = [
      rec('base', [['job:a:rate5m', 'rate(a_total[5m])'], ['job:b:rate5m', 'rate(b_total[5m])']]),
      derived, unused, mttr,
      alerting('causes', [{ alert: 'Down', expr: 'up == 0', labels: { notify: 'page', role: 'cause' } }, { alert: 'Quiet', expr: 'x == 0', labels: { notify: 'ticket', role: 'cause' } }]),
      tickets, symptoms,
    ];
    expect(seen(crowded, checking('Errors'))).toEqual([['base', ['job:a:rate5m']], ['derived', ['job:a:ratio']], ['mttr', ['job:mttr:mean7d']], ['causes', ['Down']], ['symptoms', ['Errors']]]);
    expect(seen(crowded, checking('Down'))).toEqual([['causes', ['Down']]]);
  });

  test('an expression test sees the rules it reads and nothing else; an alert sees rules in exactly the groups groupsNeeded loads', () => {
    const t: PromtoolTest = { name: 't', interval: '1m', input_series: [], promql_expr_test: [{ expr: 'job:a:ratio', eval_time: '1m', exp_samples: [] }] };
    expect(seen([...all, rec('more', [['job:c:rate5m', 'rate(c_total[5m])']])], t)).toEqual([['base', ['job:a:rate5m']], ['derived', ['job:a:ratio']]]);
    expect(seen(all, checking('Errors')).map(([g]) => g)).toEqual(names(groupsNeeded(all, [checking('Errors')])));
  });
});
