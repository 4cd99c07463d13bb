import { spawnSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { startFaultServer, type FaultServer } from '../harness/fault-server';
import { closedPort } from '../harness/ports';
import { requireBinary } from '../harness/require-binary';
import { waitFor } from '../harness/wait';

jest.setTimeout(60_000);

let fault: FaultServer;
let exporter: RunningExporter;
beforeAll(async () => {
  fault = await startFaultServer();
  const closed = await closedPort();
  exporter = await startExporter({
    http: [
      { name: 'api', url: `${fault.url}/`, interval: '1s', timeout: '500ms', json: { status: 'status', fields: { n: 'n' } } },
      { name: 'worker-health', url: `http://127.0.0.1:${closed}/health`, interval: '1s', timeout: '500ms' },
      { name: 'flaky', url: `${fault.url}/`, interval: '1s', timeout: '500ms', conditions: ['status == "<b id=injected>x</b>"'] },
    ],
  });
  await waitFor('targets observed', async () => {
    const m = await exporter.scrape();
    return m.get('stackwatch_target_up', { kind: 'http', target: 'worker-health' }) === 0 && m.get('stackwatch_target_up', { kind: 'http', target: 'api' }) === 1;
  });
});
afterAll(async () => {
  await exporter?.stop();
  await fault?.close();
});

describe('exposition', () => {
  it('passes promtool check metrics', async () => {
    const promtool = requireBinary('promtool', 'apt-get install -y prometheus');
    const text = await (await fetch(`${exporter.url}/metrics`)).text();
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('serves health and readiness endpoints', async () => {
    expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);
    expect((await fetch(`${exporter.url}/-/ready`)).status).toBe(200);
    expect((await fetch(`${exporter.url}/nope`)).status).toBe(404);
  });
});

describe('status page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    const exe = requireBinary('chromium', 'apt-get install -y chromium');
    browser = await chromium.launch({
      executablePath: exe,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows a down target as down with its outage length, and escapes names', async () => {
    await new Promise((r) => setTimeout(r, 2100)); // let the outage last a couple of seconds
    const page = await browser.newPage();
    await page.goto(`${exporter.url}/`);
    const row = page.locator('article[data-target="worker-health"]');
    expect(await row.locator('.state').innerText()).toBe('DOWN'); // upper-cased by CSS
    const outage = await row.locator('.outage').innerText();
    expect(outage).toMatch(/^down for \d+s$/);
    expect(Number(/(\d+)s$/.exec(outage)![1])).toBeGreaterThanOrEqual(2);
    expect(await row.locator('.error').innerText()).toContain('ECONNREFUSED');
    expect(await page.locator('article[data-target="api"] .state').innerText()).toBe('UP');
    expect(await page.locator('article[data-target="api"] .outage').count()).toBe(0);
    // markup in an error (it quotes the condition) is shown as text, not rendered
    expect(await page.locator('article[data-target="flaky"] .error').innerText()).toContain('<b id=injected>x</b>');
    expect(await page.locator('#injected').count()).toBe(0);
    // down targets first
    const first = await page.locator('article.target').first().getAttribute('data-target');
    expect(['worker-health', 'flaky']).toContain(first);
    expect(await page.title()).toBe('stackwatch (2 down)');
    await page.close();
  });
});
