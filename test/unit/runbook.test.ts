/**
 * The runbook: generated from the bundle config (its thresholds follow the settings), served by
 * the exporter at /runbook with an anchor for every alert the rules link to, and rendered from
 * Markdown with everything escaped.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { allAlerts } from '../../src/bundle/alerts';
import { ALERT_NAMES, bundleConfig } from '../../src/bundle/bundle-config';
import { parseBundleYaml } from '../../src/bundle/bundle-yaml';
import { TRAFFIC_ALERTS, trafficAlertGroups } from '../../src/bundle/logs-rules';
import { runbookMarkdown } from '../../src/bundle/runbook';
import { AvailabilityTracker } from '../../src/availability';
import { silentLogger } from '../../src/log';
import { headingId, renderMarkdown } from '../../src/status/markdown';
import { renderRunbookPage } from '../../src/status/runbook-page';
import { statusRoutes } from '../../src/status/routes';

const ALL = [...ALERT_NAMES, ...TRAFFIC_ALERTS];

describe('GET /runbook', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const registry = new Registry();
    const app = express();
    app.use(statusRoutes({ tracker: new AvailabilityTracker(registry, () => 0), registry, clock: () => 0, log: silentLogger(), version: '9.9.9', configSource: () => 'x' }));
    await new Promise<void>((r) => { server = app.listen(0, '127.0.0.1', () => r()); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => { await new Promise((r) => server.close(r)); });

  test('serves HTML with a section for every alert, at the anchor its runbook_url names', async () => {
    const res = await fetch(`${base}/runbook`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const ids = new Set([...html.matchAll(/<h2 id="([^"]+)">/g)].map((m) => m[1]));
    const rules = [...allAlerts(bundleConfig), ...trafficAlertGroups(bundleConfig).flatMap((g) => g.rules)];
    expect(rules.map((r) => r.alert).sort()).toEqual([...ALL].sort());
    for (const r of rules) {
      const url = new URL(r.annotations.runbook_url!);
      // The default runbook_url is the exporter's own /runbook.
      expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:9967/runbook');
      expect(ids).toContain(url.hash.slice(1));
      expect(html).toContain(`<h2 id="${url.hash.slice(1)}">${r.alert}</h2>`);
    }
  });

  test("its thresholds are the bundle config's", async () => {
    const html = await (await fetch(`${base}/runbook`)).text();
    const c = bundleConfig;
    expect(html).toContain(`less than ${c.tlsCert.warningDays} days`);
    expect(html).toContain(`went down at least ${c.flapping.outages} times in 2 hours`);
    expect(html).toContain(`the 30-day error budget of the
99.9 % objective`.replace('\n', ' '));
    expect(html).toContain('<code>up{job=&quot;stackwatch&quot;}</code> is 0');
  });
});

describe('runbook generated from the settings', () => {
  const custom = parseBundleYaml(`
exporter: { job: edge-watch }
slo: { objective: 0.995, fast: [{ long: 1h, short: 5m, factor: 10 }] }
flapping: { outages: 4, window: 3h }
tls_cert: { warning_days: 21, critical_days: 3 }
restarts: { count: 3, window: 30m }
recovery_objective_seconds: 300
mqtt: { roundtrip_slow_seconds: 2 }
`, 'bundle.yml');
  const md = runbookMarkdown(custom);

  test.each([
    ['the objective and burn factors', '99.5 % objective would be gone in about 3 days (10× over 1h and 5m:'],
    ['the flapping count and window', 'The target went down at least 4 times in 3 hours.'],
    ['the certificate limits', 'less than 21 days'],
    ['the critical certificate limit', 'expires within 3 days'],
    ['the restart count and window', 'replaced at least 3 times in 30 minutes'],
    ['the recovery objective', 'than the recovery objective (5 minutes)'],
    ['the round-trip limit', 'is above 2 s over 5 minutes'],
    ['the selector', '`up{job="edge-watch"}` is 0'],
    ['the budget', 'against `0.005` (1 − objective)'],
  ])('%s', (_what, text) => {
    expect(md.replace(/\n/g, ' ')).toContain(text.replace(/\n/g, ' '));
  });

  test('no default number is left where the settings changed it', () => {
    expect(md).not.toContain('99.9 %');
    expect(md).not.toContain('less than 14 days');
    expect(md).not.toMatch(/at least 3 times in 2 hours/);
    expect(renderRunbookPage(custom)).toContain('less than 21 days');
  });
});

describe('Markdown renderer', () => {
  test('headings get GitHub anchors', () => {
    expect(headingId('StackwatchTargetDown')).toBe('stackwatchtargetdown');
    expect(headingId("The seeds' incidents: which single page you get")).toBe('the-seeds-incidents-which-single-page-you-get');
    expect(renderMarkdown('## Real traffic (access logs)')).toBe('<h2 id="real-traffic-access-logs">Real traffic (access logs)</h2>');
  });

  test('paragraphs, lists with continuation lines, tables, code, bold, italic; comments dropped', () => {
    const html = renderMarkdown(`<!-- generated -->
# Title

Some **bold** and *italic* text
over two lines with \`a*b*c\`.

- one
  continued
- two

| a | b |
|---|---|
| \`x<y\` | **z** |
`);
    expect(html).toBe([
      '<h1 id="title">Title</h1>',
      '<p>Some <strong>bold</strong> and <em>italic</em> text over two lines with <code>a*b*c</code>.</p>',
      '<ul><li>one continued</li><li>two</li></ul>',
      '<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td><code>x&lt;y</code></td><td><strong>z</strong></td></tr></tbody></table>',
    ].join('\n'));
  });

  test.each([
    ['text', 'a <script>alert(1)</script> & "q"', '<p>a &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;</p>'],
    ['code', '`<img src=x onerror=alert(1)>`', '<p><code>&lt;img src=x onerror=alert(1)&gt;</code></p>'],
    ['a heading', '## <b onclick="x">T</b>', '<h2 id="b-onclickxtb">&lt;b onclick=&quot;x&quot;&gt;T&lt;/b&gt;</h2>'],
    ['a list item', "- it's <i>", '<ul><li>it&#39;s &lt;i&gt;</li></ul>'],
    ['a table cell', '| h |\n|---|\n| <svg onload=x> |', '<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>&lt;svg onload=x&gt;</td></tr></tbody></table>'],
    ['emphasis around markup', '**<u>**', '<p><strong>&lt;u&gt;</strong></p>'],
  ])('escapes markup in %s', (_where, md, html) => {
    expect(renderMarkdown(md)).toBe(html);
  });

  test('the whole runbook renders without raw markup from its text', () => {
    const html = renderMarkdown(runbookMarkdown(bundleConfig));
    // Every tag is one the renderer makes.
    const tags = new Set([...html.matchAll(/<\/?([a-z0-9]+)[\s>]/g)].map((m) => m[1]));
    for (const t of tags) expect(['h1', 'h2', 'h3', 'p', 'ul', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'code', 'strong', 'em']).toContain(t);
    expect(html).toContain('<code>{{target}}</code>');
  });
});
