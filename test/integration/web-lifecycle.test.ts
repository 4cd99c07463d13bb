import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnCli } from '../harness/cli';
import { startFaultServer, type FaultServer } from '../harness/fault-server';
import { boundPort } from '../harness/built-daemon';
import { stopChild } from '../harness/processes';
import { scrape } from '../harness/prom-text';
import { sleep, waitFor } from '../harness/wait';

/**
 * POST /-/reload only with --web.enable-lifecycle (as Prometheus), SIGHUP always, and no reload
 * from a browser page on another site (a text/plain form POST needs no CORS preflight).
 */

jest.setTimeout(60_000);

let dir: string;
let fault: FaultServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-lifecycle-'));
  fault = await startFaultServer();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await fault.close();
});

const target = (name: string) => `  - { name: ${name}, url: "${fault.url}/", interval: 1s, timeout: 500ms }\n`;

async function daemon(extra: string[]) {
  const cfg = path.join(dir, `cfg-${Math.random()}.yml`);
  writeFileSync(cfg, `http:\n${target('first')}`);
  const p = spawnCli(['--config', cfg, '--web.listen-address', '127.0.0.1:0', ...extra]);
  const base = `http://127.0.0.1:${await boundPort(p)}`;
  await waitFor('first target up', async () => (await scrape(base)).get('stackwatch_target_up', { kind: 'http', target: 'first' }) === 1);
  const addSecond = () => writeFileSync(cfg, `http:\n${target('first')}${target('second')}`);
  const hasSecond = async () => (await scrape(base)).get('stackwatch_target_up', { kind: 'http', target: 'second' }) !== undefined;
  return { p, base, addSecond, hasSecond };
}

describe('lifecycle API', () => {
  it('refuses POST /-/reload without --web.enable-lifecycle; SIGHUP reloads regardless', async () => {
    const d = await daemon([]);
    try {
      d.addSecond();
      for (const method of ['POST', 'PUT']) {
        const r = await fetch(`${d.base}/-/reload`, { method });
        expect(r.status).toBe(403);
        expect(await r.text()).toContain('--web.enable-lifecycle');
      }
      await sleep(1500);
      expect(await d.hasSecond()).toBe(false);
      expect((await scrape(d.base)).get('stackwatch_web_requests_refused_total', { reason: 'lifecycle_disabled' })).toBe(2);
      d.p.kill('SIGHUP');
      await waitFor('second target after SIGHUP', d.hasSecond);
    } finally {
      await stopChild(d.p);
    }
  });

  it('with --web.enable-lifecycle, reloads on POST but not on a cross-site one', async () => {
    const d = await daemon(['--web.enable-lifecycle']);
    try {
      d.addSecond();
      const crossSite: Record<string, string>[] = [
        { 'content-type': 'text/plain', origin: 'http://evil.example' },
        { 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' },
        { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
      ];
      for (const headers of crossSite) {
        const r = await fetch(`${d.base}/-/reload`, { method: 'POST', headers, body: 'x=1' });
        expect(r.status).toBe(403);
        expect(await r.text()).toContain('cross-site request refused');
      }
      await sleep(1500);
      expect(await d.hasSecond()).toBe(false);
      expect((await scrape(d.base)).get('stackwatch_web_requests_refused_total', { reason: 'cross_origin' })).toBe(3);

      // The same origin (the status page's own) and a client without browser headers may.
      const same = await fetch(`${d.base}/-/reload`, { method: 'POST', headers: { origin: d.base, 'sec-fetch-site': 'same-origin' } });
      expect(same.status).toBe(200);
      await waitFor('second target after POST', d.hasSecond);
      expect((await fetch(`${d.base}/-/reload`, { method: 'POST' })).status).toBe(200);
    } finally {
      await stopChild(d.p);
    }
  });
});
