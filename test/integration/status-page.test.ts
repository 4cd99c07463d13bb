import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { DAY, HOUR, MINUTE } from '../../src/history';
import { MAIN } from '../harness/cli';
import { boundPort } from '../harness/built-daemon';
import { ProcessSet } from '../harness/processes';
import { scrape } from '../harness/prom-text';
import { requireBinary } from '../harness/require-binary';
import { seedHistory } from '../harness/seed-history';
import { startSwitchBackend, type SwitchBackend } from '../harness/switch-backend';
import { waitFor } from '../harness/wait';

/*
 * The status page of the built daemon in headless Chromium, with 90 days of history restored
 * from a data directory and live targets that are up, degraded and down, plus the process groups
 * discovered on this host. Set UPDATE_SCREENSHOTS=1 to refresh docs/status-*.png from this run
 * (otherwise the screenshots go to a temp dir).
 */
jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const procs = new ProcessSet();
const backends: Record<string, SwitchBackend> = {};
let dir: string;
let base: string;
let daemon: ChildProcess;
let browser: Browser;

beforeAll(async () => {
  const exe = requireBinary('chromium', 'apt-get install -y chromium');
  for (const [name, mode] of [['api', 'healthy'], ['payments', 'degraded'], ['worker', 'healthy']] as const) {
    backends[name] = await startSwitchBackend(mode);
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-page-'));
  const now = Date.now() / 1000;
  // 90 days at one check a minute: api had a 42-minute outage ten days ago and a 10-minute one
  // three hours ago; payments flapped twice last week; worker was always up (it goes down below).
  seedHistory(path.join(dir, 'data'), now, [
    { kind: 'http', name: 'api', latency: (t) => 0.018 + 0.008 * Math.sin(t / 4000), outages: [
      { ago: 10 * DAY, seconds: 42 * MINUTE, reason: 'HTTP 502 from upstream' },
      { ago: 3 * HOUR, seconds: 10 * MINUTE, reason: 'timeout after 500ms' },
    ] },
    { kind: 'http', name: 'payments', latency: (t) => 0.09 + 0.03 * Math.sin(t / 9000), outages: [
      { ago: 5 * DAY, seconds: 3 * MINUTE, reason: 'HTTP 503' },
      { ago: 4 * DAY, seconds: 7 * MINUTE, reason: 'HTTP 503' },
    ] },
    { kind: 'http', name: 'worker', latency: () => 0.004 },
  ], 90, 60);
  const cfg = path.join(dir, 'stackwatch.yml');
  writeFileSync(cfg, [
    'http:',
    ...Object.entries(backends).map(([name, b]) => `  - { name: ${name}, url: "${b.url}", interval: 1s, timeout: 500ms, json: { status: status } }`),
    'process_discovery: { enabled: true, top: 6 }',
    'docker: { enabled: false }',
    '',
  ].join('\n'));
  daemon = procs.start(process.execPath, [MAIN, '--config', cfg, '--listen', '127.0.0.1:0', '--storage.path', path.join(dir, 'data')]);
  base = `http://127.0.0.1:${await boundPort(daemon)}`;
  await backends.worker!.set('failing');
  await waitFor('targets observed', async () => {
    const m = await scrape(base);
    return m.get('stackwatch_target_up', { kind: 'http', target: 'worker' }) === 0
      && m.get('stackwatch_target_up', { kind: 'http', target: 'api' }) === 1
      && m.get('stackwatch_health_status', { target: 'payments', status: 'degraded' }) === 1
      && m.all('stackwatch_process_group_processes').length > 0;
  }, 20_000);
  browser = await chromium.launch({
    executablePath: exe,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  if (daemon) await procs.kill(daemon, 'SIGTERM');
  await procs.killAll();
  for (const b of Object.values(backends)) await b.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('status page in Chromium', () => {
  it('shows the banner, states, history bars, uptime, incident lengths, latency and discovered groups', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${base}/`);
    expect(await page.title()).toBe('stackwatch (1 down, 1 degraded)');
    expect(await page.locator('.banner').innerText()).toBe('1 down · 1 degraded');

    const worker = page.locator('article[data-target="worker"]');
    expect(await worker.locator('.state').innerText()).toBe('DOWN');
    expect(await worker.locator('.outage').innerText()).toMatch(/^down for (\d+ms|\d+s|\d+m( \d+s)?)$/);
    expect(await page.locator('article[data-target="payments"] .state').innerText()).toBe('DEGRADED');
    expect(await page.locator('article.target').first().getAttribute('data-target')).toBe('worker');

    const api = page.locator('article[data-target="api"]');
    expect(await api.locator('.state').innerText()).toBe('UP');
    const bars = api.locator('.bar i');
    expect(await bars.count()).toBe(48);
    expect(await api.locator('.bar i.g').count()).toBeGreaterThan(40);
    // the hour with the 10-minute outage three hours ago (or the two it straddles) is coloured
    // as bad or poor, and says why
    const badBars = api.locator('.bar i.b, .bar i.p');
    expect(await badBars.count()).toBeGreaterThanOrEqual(1);
    expect(await badBars.first().getAttribute('title')).toMatch(/^\w{3} \d+ \d\d:00 UTC · \d+\.\d\d% · down \d+m( \d+s)? · \d+ checks, \d+ failed · [\d.]+ms\/[\d.]+ms\/[\d.]+ms$/);
    // 42 + 10 minutes down in 30 days (the seed checks once a minute)
    const u30 = await api.locator('.uptime-30d').innerText();
    expect(Number(u30.replace('%', ''))).toBeCloseTo(100 * (1 - 52 * 60 / (30 * DAY)), 1);
    expect(await api.locator('.uptime-24h').innerText()).toMatch(/^99\.\d\d%$/);
    expect(await api.locator('.mttr').innerText()).toBe('26m');
    expect(await api.locator('.outages').innerText()).toBe('2');
    expect(await api.locator('.spark polyline').count()).toBeGreaterThan(0);
    expect(await api.locator('.spark figcaption').innerText()).toMatch(/latency 48 h: min \d+(\.\d+)?ms · avg \d+(\.\d+)?ms · max \d+(\.\d+)?ms/);

    await api.locator('details summary').click();
    const lengths = await api.locator('.incidents .length').allInnerTexts();
    expect(lengths).toEqual(['10m', '42m']);
    expect(await api.locator('.incidents .reason').first().innerText()).toBe('timeout after 500ms'); // loopback is trusted

    const discovered = page.locator('.discovered tbody tr');
    expect(await discovered.count()).toBeGreaterThan(0);
    expect(await discovered.first().locator('td.mem').innerText()).toMatch(/\d+(\.\d)? (KiB|MiB|GiB)/);

    // a working badge, as a README would embed it
    // (browser-side code as strings: the tests are compiled without the DOM library)
    const width = await page.evaluate<number>(`(async () => {
      const img = new Image();
      img.src = '/badge/http/api/uptime/30d.svg';
      await img.decode();
      return img.naturalWidth;
    })()`);
    expect(width).toBeGreaterThan(60);

    const shots = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs') : dir;
    await page.screenshot({ path: path.join(shots, 'status-desktop.png'), fullPage: true });
    expect(statSync(path.join(shots, 'status-desktop.png')).size).toBeGreaterThan(20_000);
    await page.close();
  });

  it('fits a phone screen and follows dark mode', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, colorScheme: 'dark' });
    await page.goto(`${base}/`);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    expect(bg).toBe('rgb(17, 20, 24)');
    const shots = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs') : dir;
    await page.screenshot({ path: path.join(shots, 'status-phone.png') });
    await page.close();
  });

  it('works without JavaScript: 90-day bars by a link, a reload link, no meta refresh', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    expect(await page.locator('a.reload').count()).toBe(1);
    await page.locator('nav a', { hasText: '90 days' }).click();
    await page.waitForURL(/bars=90d/);
    const bars = page.locator('article[data-target="api"] .bar i');
    expect(await bars.count()).toBe(90);
    // the day of the 42-minute outage ten days ago is not perfect
    expect(await page.locator('article[data-target="api"] .bar i.f, article[data-target="api"] .bar i.p').count()).toBeGreaterThanOrEqual(1);
    await ctx.close();
  });

  it('refreshes in place with JavaScript, without reloading the page', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.evaluate("window.kept = 42; document.getElementById('status').dataset.old = '1'");
    await page.locator('article[data-target="api"] details summary').click();
    const before = await page.locator('article[data-target="worker"] .outage').innerText();
    await page.waitForFunction("document.getElementById('status').dataset.old === undefined", undefined, { timeout: 15_000 });
    expect(await page.evaluate<number>('window.kept')).toBe(42);
    expect(await page.locator('article[data-target="worker"] .outage').innerText()).not.toBe(before);
    expect(await page.locator('article[data-target="api"] details').getAttribute('open')).not.toBeNull();
    await page.close();
  });
});
