import { parseMatchers, parsePromql as readSelectors, withMatchers } from '../../src/bundle/dashboards/promql';
import { parsePromql, substituteVariables } from '../harness/dashboard-lint';

/** The dashboard checks' PromQL reader: Prometheus' own grammar, after Grafana variables are expanded. */

describe('PromQL reader used by the dashboard checks', () => {
  it('finds metric names and skips functions, aggregations, keywords, label names, strings and durations', () => {
    const e = 'sum by (le, target) (increase(a_bucket{job=~"$job", x="b_total{c}"}[$__rate_interval])) '
      + '/ on (job) group_left (kind) count without (instance) (b_total offset 5m) > bool 2 and c:rec:ratio_rate5m unless vector(0)';
    expect(parsePromql(e).selectors.map((s) => s.name).sort()).toEqual(['a_bucket', 'b_total', 'c:rec:ratio_rate5m']);
  });

  it('the bundle command\'s selector reader finds matchers and where to add more, including a bare {__name__=...} selector', () => {
    const p = readSelectors('{__name__="up", job!~"x|y"} * on () group_left q{a=\'1\'}');
    expect(p.selectors.map(({ node: _node, ...s }) => s)).toEqual([
      { name: 'up', matchers: [{ label: 'job', op: '!~', value: 'x|y' }], insertAt: 26, form: 'matchers' },
      { name: 'q', matchers: [{ label: 'a', op: '=', value: '1' }], insertAt: 54, form: 'matchers' },
    ]);
  });

  it('adds matchers to every selector, whatever its form, and skips those it already has', () => {
    const m = parseMatchers('job=~"a|b", instance="i:1"');
    expect(m).toEqual([{ label: 'job', op: '=~', value: 'a|b' }, { label: 'instance', op: '=', value: 'i:1' }]);
    expect(withMatchers('sum by (job) (rate(x[5m])) / y{} unless z{instance="i:1"} offset 1h', m))
      .toBe('sum by (job) (rate(x{job=~"a|b", instance="i:1"}[5m])) / y{job=~"a|b", instance="i:1"} unless z{instance="i:1", job=~"a|b"} offset 1h');
    // Strings, label lists, functions, keywords and Grafana variables are not selectors.
    expect(withMatchers('label_replace(ALERTS{alertstate="firing"}, "t", "$1", "x", "(.*)") and on(job) vector(1) > bool $v', [{ label: 'job', op: '=', value: 'j' }]))
      .toBe('label_replace(ALERTS{alertstate="firing", job="j"}, "t", "$1", "x", "(.*)") and on(job) vector(1) > bool $v');
    expect(withMatchers('{__name__="up"}', [{ label: 'job', op: '=', value: 'j' }])).toBe('{__name__="up", job="j"}');
    expect(() => parseMatchers('job="a"} or {')).toThrow();
  });

  it('reads Grafana variables outside strings as durations of the same length, so offsets and windows stay as written', () => {
    const e = 'topk($n, rate(x{job=~"$job"}[$__rate_interval])) > ${threshold:raw}';
    expect(withMatchers(e, [{ label: 'instance', op: '=~', value: '$instance' }]))
      .toBe('topk($n, rate(x{job=~"$job", instance=~"$instance"}[$__rate_interval])) > ${threshold:raw}');
    expect(readSelectors(e).ranges).toEqual([{ fn: 'rate', window: '$__rate_interval' }]);
    expect(readSelectors(e).functions).toEqual(['topk', 'rate']);
  });

  it('reads quoted label names, escapes and every string quote as Prometheus does', () => {
    const p = readSelectors('x{"a.b"="c", d=~\'e\\\'f\', g!=`h\\i`} + {"metric.name", j="k"}');
    expect(p.selectors.map((s) => [s.name, s.matchers])).toEqual([
      ['x', [{ label: 'a.b', op: '=', value: 'c' }, { label: 'd', op: '=~', value: "e'f" }, { label: 'g', op: '!=', value: 'h\\i' }]],
      ['metric.name', [{ label: 'j', op: '=', value: 'k' }]],
    ]);
    expect(withMatchers('{"metric.name"}', [{ label: 'job', op: '=', value: 'j' }])).toBe('{"metric.name", job="j"}');
  });

  it('attributes each range window to the function it is given to, through parentheses and subqueries', () => {
    const p = parsePromql('max_over_time((rate(x[5m]))[1h:1m]) + histogram_quantile(0.9, sum(increase(y[$__range])) by (le))');
    expect(p.ranges).toEqual([
      { fn: 'rate', window: '5m' },
      { fn: 'max_over_time', window: '1h:1m' },
      { fn: 'increase', window: '$__range' },
    ]);
  });

  it('does not take numbers with exponents or durations for names', () => {
    expect(parsePromql('x * 1e3 + 0x1f - 1.5e-3 + y offset 1h30m').selectors.map((s) => s.name)).toEqual(['x', 'y']);
  });

  it('rejects unbalanced input instead of guessing', () => {
    expect(() => parsePromql('rate(x[5m]')).toThrow(/syntax error/);
    expect(() => parsePromql('x{a="b"')).toThrow(/syntax error/);
    expect(() => parsePromql('x[5m')).toThrow(/syntax error/);
  });

  it('substitutes Grafana variables in both $name and ${name} forms and refuses unknown ones', () => {
    expect(substituteVariables('rate(x{job=~"$job", t=~"${target}"}[$__rate_interval])', { job: '.*', target: '.+', __rate_interval: '1m' }))
      .toBe('rate(x{job=~".*", t=~".+"}[1m])');
    expect(() => substituteVariables('x{a="$nope"}', {})).toThrow(/\$nope/);
  });
});
