/**
 * Notifications as a user sets them up: the bundle's entrypoint script
 * (prometheus/alertmanager/stackwatch-alertmanager.sh) run with sh, secrets given as environment
 * variables, <VAR>_FILE files or Docker secret files, the effective config it writes checked by
 * Debian's amtool 0.25 (check-config with every channel and with none, routing of every alert),
 * the shared template rendered by `amtool template render` for a firing and a resolved incident,
 * and a real Alertmanager started by the script delivering to loopback listeners that stand in
 * for the Slack and Telegram APIs, a webhook, ntfy and an SMTP server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { SILENT_RECEIVER } from '../../src/bundle/maintenance-routing';
import { allAlerts } from '../../src/bundle/alerts';
import { NOTIFICATION_TEMPLATE, TEMPLATE_FILE } from '../../src/bundle/alerts-routing';
import { bundleConfig, variantConfig } from '../../src/bundle/bundle-config';
import { alertmanagerEntrypoint, CHANNELS, ENTRYPOINT_FILE } from '../../src/bundle/notifications';
import { startReadyDaemon, type ReadyDaemon } from '../harness/daemon';
import { onFreePort } from '../harness/ports';
import { ProcessSet } from '../harness/processes';
import { PROMETHEUS_INSTALL_HINT } from '../harness/prometheus';
import { requireBinary } from '../harness/require-binary';
import { waitFor } from '../harness/wait';

const root = path.join(__dirname, '..', '..');
const bundleDir = path.join(root, 'prometheus', 'alertmanager');
const script = path.join(bundleDir, ENTRYPOINT_FILE);
const sh = requireBinary('sh', 'sudo apt-get install -y dash (any POSIX sh)');
const amtool = requireBinary('amtool', PROMETHEUS_INSTALL_HINT);

interface Run { code: number; stdout: string; stderr: string }

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 30_000, env }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-notify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the committed script with only `env` (and PATH), secrets dir empty unless given. */
function entrypoint(env: Record<string, string>, args = ['--print-config'], file = script): Promise<Run> {
  return run(sh, [file, ...args], { PATH: process.env.PATH, STACKWATCH_SECRETS_DIR: path.join(tmp, 'no-secrets'), ...env });
}

interface Receiver { name: string; [key: string]: unknown }
interface AmConfig { templates: string[]; route: unknown; inhibit_rules: unknown[]; receivers: Receiver[] }

async function configFor(env: Record<string, string>): Promise<AmConfig> {
  const r = await entrypoint(env);
  if (r.code !== 0) throw new Error(`the script failed: ${r.stderr}`);
  return YAML.parse(r.stdout) as AmConfig;
}

/** Channel keys (`telegram_configs`, ...) of a receiver, with their item counts. */
const channelsOf = (cfg: AmConfig, name: string): Record<string, number> => {
  const r = cfg.receivers.find((x) => x.name === name);
  if (r === undefined) throw new Error(`no receiver ${name}`);
  return Object.fromEntries(Object.entries(r).filter(([k]) => k.endsWith('_configs')).map(([k, v]) => [k, (v as unknown[]).length]));
};

/** Fake secrets and the settings they need: every channel on. */
const ALL_ON: Record<string, string> = {
  TELEGRAM_BOT_TOKEN: '123456:fake-token', TELEGRAM_CHAT_ID: '-1001234567890',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.example/services/T0/B0/fake',
  SMTP_PASSWORD: "fake 'pass' word", SMTP_SMARTHOST: 'smtp.example.com:587', SMTP_FROM: 'alerts@example.com', SMTP_TO: 'oncall@example.com',
  WEBHOOK_URL: 'https://hooks.example.com/stackwatch',
  NTFY_URL: 'https://ntfy.example.com/stackwatch-topic', NTFY_TOKEN: 'tk_fake',
  WATCHDOG_URL: 'https://deadman.example.com/ping/fake',
};

async function amtoolCheck(config: string): Promise<Run> {
  const dir = mkdtempSync(path.join(tmp, 'check-'));
  const file = path.join(dir, 'alertmanager.yml');
  writeFileSync(file, config);
  return run(amtool, ['check-config', file]);
}

describe('the entrypoint script decides which channels are on', () => {
  test('no secret: the demo printer, exactly the committed alertmanager.yml (templates by absolute path)', async () => {
    const cfg = await configFor({});
    const committed = YAML.parse(readFileSync(path.join(bundleDir, 'alertmanager.yml'), 'utf8')) as AmConfig;
    expect(cfg.templates).toEqual([path.join(bundleDir, TEMPLATE_FILE)]);
    expect({ ...cfg, templates: committed.templates }).toEqual(committed);
    for (const r of cfg.receivers) expect(channelsOf(cfg, r.name)).toEqual(r.name === SILENT_RECEIVER ? {} : { webhook_configs: 1 });
  });

  test.each(CHANNELS.map((c) => [c.name, c] as const))('%s alone: on in page, ticket and default; the Watchdog goes nowhere; amtool accepts it', async (_name, c) => {
    const env = Object.fromEntries(Object.entries(ALL_ON).filter(([k]) => k === c.secret.env || c.required.includes(k)));
    const cfg = await configFor(env);
    const key = c.name === 'ntfy' ? 'webhook_configs' : c.name === 'email' ? 'email_configs' : `${c.name}_configs`;
    for (const r of ['page', 'ticket', 'default']) expect([r, channelsOf(cfg, r)]).toEqual([r, { [key]: 1 }]);
    expect(channelsOf(cfg, 'watchdog')).toEqual({});
    // The maintenance windows' silent receiver stays, with no channel.
    expect(channelsOf(cfg, SILENT_RECEIVER)).toEqual({});
    const check = await amtoolCheck(YAML.stringify(cfg));
    if (check.code !== 0) throw new Error(check.stdout + check.stderr);
  });

  test('every channel on: each receiver fans out to all of them; the Watchdog to the dead-man\'s switch only', async () => {
    const cfg = await configFor(ALL_ON);
    for (const r of ['page', 'ticket', 'default']) {
      expect([r, channelsOf(cfg, r)]).toEqual([r, { telegram_configs: 1, slack_configs: 1, email_configs: 1, webhook_configs: 2 }]);
    }
    expect(channelsOf(cfg, 'watchdog')).toEqual({ webhook_configs: 1 });
    const page = cfg.receivers.find((r) => r.name === 'page') as unknown as {
      telegram_configs: Record<string, unknown>[]; slack_configs: Record<string, unknown>[]; email_configs: Record<string, unknown>[]; webhook_configs: Record<string, unknown>[];
    };
    // Values arrive intact (quotes included); the chat id as the integer Alertmanager wants.
    expect(page.telegram_configs[0]).toMatchObject({ bot_token: '123456:fake-token', chat_id: -1001234567890, parse_mode: 'HTML', api_url: 'https://api.telegram.org' });
    expect(page.email_configs[0]).toMatchObject({ auth_password: "fake 'pass' word", auth_username: 'alerts@example.com', require_tls: true, html: '' });
    const ntfy = new URL(page.webhook_configs[1]!.url as string);
    expect(ntfy.origin + ntfy.pathname).toBe('https://ntfy.example.com/stackwatch-topic');
    expect(ntfy.searchParams.get('tpl')).toBe('1');
    expect(ntfy.searchParams.get('p')).toBe('4');
    expect(page.webhook_configs[1]).toMatchObject({ http_config: { authorization: { credentials: 'tk_fake' } } });
    const ticket = cfg.receivers.find((r) => r.name === 'ticket') as unknown as { webhook_configs: { url: string }[] };
    expect(new URL(ticket.webhook_configs[1]!.url).searchParams.get('p')).toBe('3');
  });

  test('secrets from Docker secret files and from <VAR>_FILE; a trailing newline is dropped', async () => {
    const secrets = mkdtempSync(path.join(tmp, 'secrets-'));
    writeFileSync(path.join(secrets, 'telegram_bot_token'), '42:from-docker-secret\n');
    const own = path.join(tmp, 'my-slack-url');
    writeFileSync(own, 'https://hooks.slack.example/from-file\n');
    const cfg = await configFor({ STACKWATCH_SECRETS_DIR: secrets, TELEGRAM_CHAT_ID: '7', SLACK_WEBHOOK_URL_FILE: own });
    const page = cfg.receivers.find((r) => r.name === 'page') as unknown as { telegram_configs: { bot_token: string }[]; slack_configs: { api_url: string }[] };
    expect(page.telegram_configs[0]!.bot_token).toBe('42:from-docker-secret');
    expect(page.slack_configs[0]!.api_url).toBe('https://hooks.slack.example/from-file');
  });

  test('<CHANNEL>_ROUTES picks the routes: e-mail for tickets only, Telegram for pages only', async () => {
    const cfg = await configFor({ ...ALL_ON, EMAIL_ROUTES: 'ticket', TELEGRAM_ROUTES: 'page' });
    expect(channelsOf(cfg, 'page')).toEqual({ telegram_configs: 1, slack_configs: 1, webhook_configs: 2 });
    expect(channelsOf(cfg, 'ticket')).toEqual({ slack_configs: 1, email_configs: 1, webhook_configs: 2 });
  });

  test.each([
    ['a bot token without a chat id', { TELEGRAM_BOT_TOKEN: 'secret-token-value' }, /TELEGRAM_BOT_TOKEN is set \(telegram enabled\) but TELEGRAM_CHAT_ID is not/],
    ['a chat id that is not an integer', { TELEGRAM_BOT_TOKEN: 'secret-token-value', TELEGRAM_CHAT_ID: '@mychannel' }, /TELEGRAM_CHAT_ID must be an integer/],
    ['an SMTP password without a server', { SMTP_PASSWORD: 'secret-token-value', SMTP_FROM: 'a@b.c', SMTP_TO: 'd@e.f' }, /SMTP_PASSWORD is set \(email enabled\) but SMTP_SMARTHOST is not/],
    ['an unknown route', { SLACK_WEBHOOK_URL: 'secret-token-value', SLACK_ROUTES: 'page,pager' }, /SLACK_ROUTES: unknown route 'pager'/],
    ['a priority out of range', { NTFY_URL: 'secret-token-value', NTFY_PRIORITY: '9' }, /NTFY_PRIORITY must be 1 \(min\) to 5 \(max\)/],
    ['a secret on two lines', { WEBHOOK_URL: 'secret-token-value\nsecond line' }, /WEBHOOK_URL spans several lines/],
    ['a setting on two lines', { SLACK_WEBHOOK_URL: 'secret-token-value', SLACK_CHANNEL: '#ops\n#dev' }, /SLACK_CHANNEL spans several lines/],
    ['an unreadable <VAR>_FILE', { WEBHOOK_URL_FILE: '/nonexistent/stackwatch/webhook' }, /WEBHOOK_URL_FILE: cannot read/],
  ])('refuses %s, saying which variable, never printing the secret', async (_what, env, message) => {
    const r = await entrypoint(env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr + r.stdout).not.toContain('secret-token-value');
  });

  test('the defaults come from the bundle config (alertmanager.receivers); the environment overrides them', async () => {
    const base = bundleConfig.alertmanager;
    const cfg = variantConfig({ overrides: { alertmanager: { ...base, receivers: { ...base.receivers, routes: ['page'], telegram: { ...base.receivers.telegram, chatId: '555' } } } } });
    const file = path.join(mkdtempSync(path.join(tmp, 'variant-')), ENTRYPOINT_FILE);
    writeFileSync(file, alertmanagerEntrypoint(cfg));
    const fromConfig = YAML.parse((await entrypoint({ TELEGRAM_BOT_TOKEN: '1:x' }, ['--print-config'], file)).stdout) as AmConfig;
    expect(channelsOf(fromConfig, 'page')).toEqual({ telegram_configs: 1 });
    expect(channelsOf(fromConfig, 'ticket')).toEqual({});
    expect((fromConfig.receivers[0] as unknown as { telegram_configs: { chat_id: number }[] }).telegram_configs[0]!.chat_id).toBe(555);
    const fromEnv = YAML.parse((await entrypoint({ TELEGRAM_BOT_TOKEN: '1:x', TELEGRAM_CHAT_ID: '777', TELEGRAM_ROUTES: 'ticket' }, ['--print-config'], file)).stdout) as AmConfig;
    expect(channelsOf(fromEnv, 'page')).toEqual({});
    expect((fromEnv.receivers.find((r) => r.name === 'ticket') as unknown as { telegram_configs: { chat_id: number }[] }).telegram_configs[0]!.chat_id).toBe(777);
  });

  test('busybox sh, the shell of the prom/alertmanager image, writes the same config as dash', async () => {
    const busybox = requireBinary('busybox', 'sudo apt-get install -y busybox-static');
    const env = { PATH: process.env.PATH, STACKWATCH_SECRETS_DIR: path.join(tmp, 'no-secrets'), ...ALL_ON, EMAIL_ROUTES: 'ticket' };
    const [a, b] = await Promise.all([run(sh, [script, '--print-config'], env), run(busybox, ['sh', script, '--print-config'], env)]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const refused = await run(busybox, ['sh', script, '--print-config'], { ...env, TELEGRAM_CHAT_ID: '12a' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/TELEGRAM_CHAT_ID must be an integer/);
  });

  test('started for real: writes the config mode 0600 where asked and execs ALERTMANAGER_BIN with its flags', async () => {
    const dir = mkdtempSync(path.join(tmp, 'exec-'));
    const fake = path.join(dir, 'fake-alertmanager');
    writeFileSync(fake, '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    const out = path.join(dir, 'run', 'alertmanager.yml');
    const r = await entrypoint({ ...ALL_ON, ALERTMANAGER_BIN: fake, STACKWATCH_ALERTMANAGER_CONFIG: out }, ['--storage.path=/x', '--log.level=info']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([`--config.file=${out}`, '--storage.path=/x', '--log.level=info']);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(r.stderr).toContain('notification channels: telegram slack email webhook ntfy');
    expect(r.stderr).not.toContain('fake-token');
    expect((YAML.parse(readFileSync(out, 'utf8')) as AmConfig).receivers).toHaveLength(5);
  });
});

describe('amtool 0.25 accepts what the script writes', () => {
  test.each([['every channel on', ALL_ON], ['no channel on', {}]])('check-config: %s', async (_what, env) => {
    const r = await entrypoint(env);
    expect(r.code).toBe(0);
    const check = await amtoolCheck(r.stdout);
    if (check.code !== 0) throw new Error(check.stdout + check.stderr);
    expect(check.stdout).toContain('SUCCESS');
    // page, ticket, default, watchdog and the maintenance windows' silent receiver.
    expect(check.stdout).toContain('5 receivers');
    expect(check.stdout).toContain('1 templates');
  });

  test('a config the script should not have written fails check-config (the check has teeth)', async () => {
    const r = await entrypoint(ALL_ON);
    const check = await amtoolCheck(r.stdout.replace(/chat_id: -?\d+/g, 'chat_id: "not a number"'));
    expect(check.code).not.toBe(0);
  });

  test('with every channel on, every alert still routes to its receiver', async () => {
    const r = await entrypoint(ALL_ON);
    const dir = mkdtempSync(path.join(tmp, 'routes-'));
    const file = path.join(dir, 'alertmanager.yml');
    writeFileSync(file, r.stdout);
    for (const a of allAlerts(bundleConfig)) {
      const want = a.alert === 'StackwatchWatchdog' ? 'watchdog' : a.alert === 'StackwatchTargetInMaintenance' ? SILENT_RECEIVER : a.labels.notify!;
      const labels = { alertname: a.alert, ...a.labels, job: 'stackwatch', instance: 'stackwatch:9967', kind: 'http', target: 'api' };
      const t = await run(amtool, ['config', 'routes', 'test', `--config.file=${file}`, `--verify.receivers=${want}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
      if (t.code !== 0) throw new Error(`${a.alert} should route to ${want}: ${t.stdout}${t.stderr}`);
    }
  }, 120_000);
});

/** Template data as Alertmanager hands it to a receiver (one group: target api of stackwatch:9967). */
function templateData(status: 'firing' | 'resolved'): unknown {
  const startsAt = '2026-11-26T01:00:00Z';
  const alert = (alertname: string, role: string, summary: string, extra: Record<string, string>) => ({
    status,
    labels: { alertname, role, severity: 'critical', notify: 'page', job: 'stackwatch', instance: 'stackwatch:9967', kind: 'http', target: 'api' },
    annotations: {
      summary, description: `${summary}: details`, runbook_url: `https://runbook.example/#${alertname.toLowerCase()}`,
      dashboard_url: 'http://127.0.0.1:3000/d/stackwatch-recovery/?orgId=1&var-job=stackwatch&var-target=api', ...extra,
    },
    startsAt, endsAt: status === 'resolved' ? '2026-11-26T01:07:31.4Z' : '0001-01-01T00:00:00Z',
  });
  return {
    receiver: 'page', status, externalURL: 'http://127.0.0.1:9093',
    groupLabels: { job: 'stackwatch', instance: 'stackwatch:9967', target: 'api' },
    commonLabels: { job: 'stackwatch', instance: 'stackwatch:9967', target: 'api' }, commonAnnotations: {},
    alerts: [
      alert('StackwatchTargetDown', 'symptom', 'http target api is down', { mttr_7d: '4m 10s' }),
      alert('StackwatchProcessNotRunning', 'cause', 'No process of group api <runs> & none restarted', { mttr_7d: 'no outage in the last 7d' }),
    ],
  };
}

async function render(status: 'firing' | 'resolved', template: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmp, 'render-'));
  writeFileSync(path.join(dir, TEMPLATE_FILE), NOTIFICATION_TEMPLATE);
  writeFileSync(path.join(dir, 'data.json'), JSON.stringify(templateData(status)));
  const r = await run(amtool, ['template', 'render', `--template.glob=${path.join(dir, TEMPLATE_FILE)}`, `--template.text={{ template "${template}" . }}`, `--template.data=${path.join(dir, 'data.json')}`]);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  return r.stdout;
}

describe('amtool template render: the shared templates', () => {
  test('firing: the cause first, then the symptom, each with since, MTTR, runbook and dashboard', async () => {
    expect(await render('firing', 'stackwatch.title')).toBe('[FIRING] api: No process of group api <runs> & none restarted; http target api is down;');
    const text = await render('firing', 'stackwatch.text');
    expect(text).toBe([
      'Cause: No process of group api <runs> & none restarted (critical, since 2026-11-26 01:00:00 UTC)',
      '  No process of group api <runs> & none restarted: details',
      '  Mean time to recovery over 7d: no outage in the last 7d',
      '  Runbook: https://runbook.example/#stackwatchprocessnotrunning',
      '  Dashboard: http://127.0.0.1:3000/d/stackwatch-recovery/?orgId=1&var-job=stackwatch&var-target=api',
      'Symptom: http target api is down (critical, since 2026-11-26 01:00:00 UTC)',
      '  http target api is down: details',
      '  Mean time to recovery over 7d: 4m 10s',
      '  Runbook: https://runbook.example/#stackwatchtargetdown',
      '  Dashboard: http://127.0.0.1:3000/d/stackwatch-recovery/?orgId=1&var-job=stackwatch&var-target=api',
      '',
    ].join('\n'));
  });

  test('resolved: how long the outage lasted, to the second', async () => {
    expect(await render('resolved', 'stackwatch.title')).toBe('[RESOLVED] api: http target api is down; No process of group api <runs> & none restarted;');
    const text = await render('resolved', 'stackwatch.text');
    expect(text).toContain('Resolved: http target api is down: recovered after 7m31s (down since 2026-11-26 01:00:00 UTC)\n  Mean time to recovery over 7d: 4m 10s\n');
  });

  test('Slack mrkdwn: & < > escaped, links as <url|name>', async () => {
    expect(await render('firing', 'stackwatch.title.slack')).toBe('[FIRING] api: No process of group api &lt;runs&gt; &amp; none restarted; http target api is down;');
    const text = await render('resolved', 'stackwatch.slack.text');
    expect(text).toContain('*Resolved:* No process of group api &lt;runs&gt; &amp; none restarted: recovered after 7m31s');
    expect(text).toContain('  <http://127.0.0.1:3000/d/stackwatch-recovery/?orgId=1&amp;var-job=stackwatch&amp;var-target=api|Dashboard>\n');
    expect(text).not.toMatch(/<(?!https?:)/);
  });

  test('Telegram HTML: values escaped, links as <a href>', async () => {
    const html = await render('resolved', 'stackwatch.html');
    expect(html).toMatch(/^<b>\[RESOLVED\] api: http target api is down; No process of group api &lt;runs&gt; &amp; none restarted;<\/b>\n\n/);
    expect(html).toContain('<b>Resolved:</b> No process of group api &lt;runs&gt; &amp; none restarted: recovered after 7m31s');
    expect(html).toContain('<a href="http://127.0.0.1:3000/d/stackwatch-recovery/?orgId=1&amp;var-job=stackwatch&amp;var-target=api">Dashboard</a>');
    // Only the tags Telegram's HTML mode knows.
    expect([...new Set([...html.matchAll(/<\/?([a-z]+)/g)].map((m) => m[1]))].sort()).toEqual(['a', 'b']);
  });
});

/** What the loopback "chat service" got: path, query, parsed body. */
interface Hit { path: string; query: URLSearchParams; body: Record<string, unknown> }

/** One listener standing in for Slack's webhook, Telegram's Bot API, a webhook and ntfy. */
async function startFakeApis(): Promise<{ url: string; hits: Hit[]; close: () => Promise<void> }> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = Object.fromEntries(new URLSearchParams(raw));
      }
      hits.push({ path: u.pathname, query: u.searchParams, body });
      if (u.pathname.endsWith('/sendMessage')) {
        // The Bot API's answer: the message sent.
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, result: { message_id: hits.length, date: Math.floor(Date.now() / 1000), chat: { id: Number(body.chat_id), type: 'group' }, text: body.text } }));
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A minimal SMTP server on loopback (EHLO, AUTH PLAIN, MAIL, RCPT, DATA) that keeps the messages. */
async function startFakeSmtp(): Promise<{ port: number; mails: { auth: string; data: string }[]; close: () => Promise<void> }> {
  const mails: { auth: string; data: string }[] = [];
  const server = net.createServer((sock) => {
    let buf = '';
    let inData = false;
    let data = '';
    let auth = '';
    sock.write('220 fake-smtp ESMTP\r\n');
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            mails.push({ auth, data });
            data = '';
            sock.write('250 queued\r\n');
          } else data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          continue;
        }
        const cmd = line.toUpperCase();
        if (cmd.startsWith('EHLO')) sock.write('250-fake-smtp\r\n250 AUTH PLAIN\r\n');
        else if (cmd.startsWith('AUTH PLAIN')) {
          auth = Buffer.from(line.slice(11), 'base64').toString('utf8');
          sock.write('235 ok\r\n');
        } else if (cmd.startsWith('DATA')) {
          inData = true;
          sock.write('354 go on\r\n');
        } else if (cmd.startsWith('QUIT')) sock.end('221 bye\r\n');
        else sock.write('250 ok\r\n');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as AddressInfo).port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('a real Alertmanager started by the script delivers to every channel', () => {
  const procs = new ProcessSet();
  let api: Awaited<ReturnType<typeof startFakeApis>>;
  let smtp: Awaited<ReturnType<typeof startFakeSmtp>>;
  let am: ReadyDaemon;
  let amUrl = '';

  beforeAll(async () => {
    const bin = requireBinary('prometheus-alertmanager', PROMETHEUS_INSTALL_HINT);
    api = await startFakeApis();
    smtp = await startFakeSmtp();
    // The script and template of a variant with short group timings, in a directory like the bundle's.
    const cfg = variantConfig({ overrides: { alertmanager: { ...bundleConfig.alertmanager, page: { groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' } } } });
    // Started again on another port (in a new directory: a failed start removes its own) if the
    // chosen one was taken meanwhile (the log says so).
    am = await onFreePort((port) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-am-script-'));
      writeFileSync(path.join(dir, ENTRYPOINT_FILE), alertmanagerEntrypoint(cfg));
      writeFileSync(path.join(dir, TEMPLATE_FILE), NOTIFICATION_TEMPLATE);
      amUrl = `http://127.0.0.1:${port}`;
      return startReadyDaemon({
        name: 'alertmanager (via the entrypoint script)', procs, bin: sh, dir, url: amUrl,
        args: [path.join(dir, ENTRYPOINT_FILE), `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=debug'],
        env: {
          PATH: process.env.PATH, ALERTMANAGER_BIN: bin,
          STACKWATCH_SECRETS_DIR: path.join(dir, 'no-secrets'), STACKWATCH_ALERTMANAGER_CONFIG: path.join(dir, 'run', 'alertmanager.yml'),
          SLACK_WEBHOOK_URL: `${api.url}/slack/services/T0/B0/fake`, SLACK_CHANNEL: '#ops',
          TELEGRAM_BOT_TOKEN: '123456:fake-token', TELEGRAM_CHAT_ID: '-1001234567890', TELEGRAM_API_URL: `${api.url}/telegram`,
          WEBHOOK_URL: `${api.url}/webhook`, NTFY_URL: `${api.url}/ntfy/stackwatch-topic`,
          SMTP_PASSWORD: 'fake-smtp-password', SMTP_SMARTHOST: `127.0.0.1:${smtp.port}`, SMTP_FROM: 'alerts@example.com', SMTP_TO: 'oncall@example.com', SMTP_REQUIRE_TLS: 'false',
        },
      });
    });
  }, 60_000);

  afterAll(async () => {
    await am?.stop();
    await api?.close();
    await smtp?.close();
    await procs.killAll();
  });

  test('a page and its resolve reach Slack, Telegram, the webhook, ntfy and e-mail, the resolve with the outage length', async () => {
    const startsAt = new Date(Date.now() - 451_000);
    const labels = { alertname: 'StackwatchTargetDown', severity: 'critical', notify: 'page', role: 'symptom', job: 'stackwatch', instance: 'live:1', kind: 'http', target: 'api' };
    const annotations = { summary: 'http target api is down', description: 'fails its checks', runbook_url: 'https://runbook.example/#stackwatchtargetdown', dashboard_url: 'http://127.0.0.1:3000/d/stackwatch-recovery/?orgId=1', mttr_7d: '2m 5s' };
    const post = async (endsAt?: Date): Promise<void> => {
      const res = await fetch(`${amUrl}/api/v2/alerts`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ labels, annotations, startsAt: startsAt.toISOString(), ...(endsAt !== undefined ? { endsAt: endsAt.toISOString() } : {}) }]),
      });
      expect(res.status).toBe(200);
    };
    const slackText = (status: string): Hit | undefined => api.hits.find((h) => h.path === '/slack/services/T0/B0/fake' && ((h.body.attachments as { title: string }[] | undefined)?.[0]?.title ?? '').startsWith(`[${status}] api`));
    const telegram = (status: string): Hit | undefined => api.hits.find((h) => h.path === '/telegram/bot123456:fake-token/sendMessage' && String(h.body.text).startsWith(`<b>[${status}] api`));

    await post();
    const slackFiring = await waitFor('the firing Slack message', () => slackText('FIRING'), 30_000, 100);
    const attachment = (slackFiring.body.attachments as { title: string; text: string; color: string }[])[0]!;
    expect(slackFiring.body.channel).toBe('#ops');
    expect(attachment.title).toBe('[FIRING] api: http target api is down;');
    expect(attachment.text).toMatch(/^\*Symptom:\* http target api is down \(critical, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\n {2}fails its checks\n {2}Mean time to recovery over 7d: 2m 5s\n {2}<https:\/\/runbook.example\/#stackwatchtargetdown\|Runbook>\n {2}<http:\/\/127.0.0.1:3000\/d\/stackwatch-recovery\/\?orgId=1\|Dashboard>\n$/);
    expect(attachment.color).toBe('danger');
    const tgFiring = await waitFor('the firing Telegram message', () => telegram('FIRING'), 30_000, 100);
    expect(tgFiring.body).toMatchObject({ parse_mode: 'HTML' });
    expect(String(tgFiring.body.chat_id)).toBe('-1001234567890');

    await post(new Date(startsAt.getTime() + 451_000));
    const slackResolved = await waitFor('the resolved Slack message', () => slackText('RESOLVED'), 30_000, 100);
    expect((slackResolved.body.attachments as { text: string }[])[0]!.text).toMatch(/^\*Resolved:\* http target api is down: recovered after 7m31s \(down since /);
    const tgResolved = await waitFor('the resolved Telegram message', () => telegram('RESOLVED'), 30_000, 100);
    expect(String(tgResolved.body.text)).toContain('<b>Resolved:</b> http target api is down: recovered after 7m31s');

    // The webhook gets Alertmanager's JSON; ntfy the same with its templates and the page priority in the URL.
    const hook = await waitFor('the resolved webhook', () => api.hits.find((h) => h.path === '/webhook' && h.body.status === 'resolved'), 30_000, 100);
    expect((hook.body.alerts as { annotations: Record<string, string> }[])[0]!.annotations.mttr_7d).toBe('2m 5s');
    const ntfy = await waitFor('the ntfy push', () => api.hits.find((h) => h.path === '/ntfy/stackwatch-topic'), 30_000, 100);
    expect(ntfy.query.get('tpl')).toBe('1');
    expect(ntfy.query.get('p')).toBe('4');
    expect(ntfy.query.get('m')).toContain('{{.annotations.summary}}');

    // E-mail: subject and body from the same template, logged in with the password.
    const mail = await waitFor('the resolved e-mail', () => smtp.mails.find((m) => m.data.includes('Subject: [RESOLVED] api')), 30_000, 100);
    expect(mail.auth.split('\0')).toEqual(['', 'alerts@example.com', 'fake-smtp-password']);
    expect(mail.data.replace(/=\r?\n/g, '')).toContain('recovered after 7m31s');
    expect(am.log()).not.toContain('fake-smtp-password');
  }, 90_000);
});
