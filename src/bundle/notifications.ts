/**
 * Notification channels (Telegram, Slack, e-mail, a generic webhook, ntfy push) and the script
 * that turns them on: prometheus/alertmanager/stackwatch-alertmanager.sh.
 *
 * Alertmanager cannot enable a receiver conditionally, and the `*_file` forms of the secrets
 * differ between releases (Debian's 0.25 has no `bot_token_file` for Telegram nor `url_file` for
 * webhooks). So Alertmanager starts through a POSIX sh script (busybox in the prom/alertmanager
 * image, any sh elsewhere): it reads each channel's secret from an environment variable, from
 * the file named by <VAR>_FILE, or from a Docker secret file (/run/secrets/<name>); the
 * channels whose secret is set are enabled; it writes the effective alertmanager.yml (mode 0600,
 * outside the read-only bundle directory) with those channels fanned out to the page, ticket and
 * default receivers, and execs Alertmanager with it. No channel enabled: the demo printer, as in
 * the committed alertmanager.yml. The non-secret settings (chat id, SMTP host, ...) come from the
 * same environment, with defaults from BundleConfig.alertmanager.receivers baked in.
 *
 * Secrets are written inline (the form every Alertmanager release accepts); Alertmanager shows
 * them as <secret> in its API and UI (webhook URLs only from 0.26 on).
 */
import { alertmanagerConfig, RECEIVERS, TEMPLATE_FILE, TEMPLATES } from './alerts-routing';
import { type BundleConfig, NOTIFICATION_ROUTES } from './bundle-config';
import { toYaml } from './yaml';

/** File name of the entrypoint script, next to alertmanager.yml. */
export const ENTRYPOINT_FILE = 'stackwatch-alertmanager.sh';

/** A secret: its environment variable and its Docker secret file name. */
export interface SecretSpec { env: string; file: string }

export interface ChannelSpec {
  /** Channel name as the script logs it and as <NAME>_ROUTES is spelt (upper case). */
  name: 'telegram' | 'slack' | 'email' | 'webhook' | 'ntfy';
  /** The secret whose presence enables the channel. */
  secret: SecretSpec;
  /** Settings that must be non-empty when the channel is enabled. */
  required: string[];
}

/** Every channel, in the order the script reports them. */
export const CHANNELS: readonly ChannelSpec[] = [
  { name: 'telegram', secret: { env: 'TELEGRAM_BOT_TOKEN', file: 'telegram_bot_token' }, required: ['TELEGRAM_CHAT_ID'] },
  { name: 'slack', secret: { env: 'SLACK_WEBHOOK_URL', file: 'slack_webhook_url' }, required: [] },
  { name: 'email', secret: { env: 'SMTP_PASSWORD', file: 'smtp_password' }, required: ['SMTP_SMARTHOST', 'SMTP_FROM', 'SMTP_TO'] },
  { name: 'webhook', secret: { env: 'WEBHOOK_URL', file: 'webhook_url' }, required: [] },
  { name: 'ntfy', secret: { env: 'NTFY_URL', file: 'ntfy_url' }, required: [] },
];

/** Optional secrets: an ntfy access token; a dead-man's-switch URL for the Watchdog. */
export const NTFY_TOKEN: SecretSpec = { env: 'NTFY_TOKEN', file: 'ntfy_token' };
export const WATCHDOG_URL: SecretSpec = { env: 'WATCHDOG_URL', file: 'watchdog_url' };

/** Non-secret settings: environment variable -> default from the bundle config. */
export function settingDefaults(cfg: BundleConfig): Record<string, string> {
  const r = cfg.alertmanager.receivers;
  return {
    TELEGRAM_CHAT_ID: r.telegram.chatId,
    TELEGRAM_API_URL: r.telegram.apiUrl,
    SLACK_CHANNEL: r.slack.channel,
    SMTP_SMARTHOST: r.email.smarthost,
    SMTP_FROM: r.email.from,
    SMTP_TO: r.email.to,
    SMTP_USERNAME: r.email.username,
    SMTP_REQUIRE_TLS: String(r.email.requireTls),
    NTFY_PRIORITY: String(r.ntfy.priority),
    NTFY_PAGE_PRIORITY: String(r.ntfy.pagePriority),
    ...Object.fromEntries(CHANNELS.map((c) => [`${c.name.toUpperCase()}_ROUTES`, r.routes.join(',')])),
  };
}

/**
 * ntfy's message templating (ntfy 2.10+: `tpl=1`, title `t` and message `m` are Go templates over
 * the webhook's JSON body), so that a push reads like the other channels' messages.
 */
const NTFY_TITLE = '[{{if eq .status "firing"}}FIRING{{else}}RESOLVED{{end}}] {{if .groupLabels.target}}{{.groupLabels.target}}{{else}}{{.commonLabels.alertname}}{{end}}';
const NTFY_MESSAGE = '{{range .alerts}}{{if eq .status "firing"}}{{.annotations.summary}} (since {{.startsAt}}){{else}}Resolved: {{.annotations.summary}}{{end}}'
  + '{{if .annotations.mttr_7d}}\nMean time to recovery over 7d: {{.annotations.mttr_7d}}{{end}}{{if .annotations.runbook_url}}\nRunbook: {{.annotations.runbook_url}}{{end}}'
  + '{{if .annotations.dashboard_url}}\nDashboard: {{.annotations.dashboard_url}}{{end}}\n{{end}}';

/** The query ntfy's topic URL gets (besides the priority `p`): templating on, title and message templates. */
export function ntfyQuery(): string {
  return `tpl=1&t=${encodeURIComponent(NTFY_TITLE)}&m=${encodeURIComponent(NTFY_MESSAGE)}`;
}

/** A placeholder the script replaces with a quoted YAML string of a shell variable's value. */
const S = (v: string): string => `@@S:${v}@@`;
/** A placeholder the script replaces with the variable's value as is (validated integer or boolean). */
const RAW = (v: string): string => `@@RAW:${v}@@`;

/** One channel's entry in a receiver: the `*_configs` key and its list item. */
interface ChannelItem { key: string; item: Record<string, unknown> }

function channelItems(): Record<ChannelSpec['name'], ChannelItem> {
  const tmpl = (name: string): string => `{{ template "${name}" . }}`;
  return {
    telegram: {
      key: 'telegram_configs',
      item: {
        api_url: S('TELEGRAM_API_URL'), bot_token: S('secret_telegram'), chat_id: RAW('TELEGRAM_CHAT_ID'),
        parse_mode: 'HTML', message: tmpl(TEMPLATES.html), send_resolved: true,
      },
    },
    slack: {
      key: 'slack_configs',
      item: {
        api_url: S('secret_slack'), channel: S('SLACK_CHANNEL'), send_resolved: true,
        color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}',
        title: tmpl(TEMPLATES.slackTitle), text: tmpl(TEMPLATES.slackText),
      },
    },
    email: {
      key: 'email_configs',
      item: {
        to: S('SMTP_TO'), from: S('SMTP_FROM'), smarthost: S('SMTP_SMARTHOST'),
        auth_username: S('SMTP_USERNAME'), auth_password: S('secret_email'), require_tls: RAW('SMTP_REQUIRE_TLS'),
        send_resolved: true, headers: { Subject: tmpl(TEMPLATES.title) }, text: tmpl(TEMPLATES.text), html: '',
      },
    },
    webhook: { key: 'webhook_configs', item: { url: S('secret_webhook'), send_resolved: true } },
    ntfy: { key: 'webhook_configs', item: { url: S('ntfy_url'), send_resolved: true } },
  };
}

/** Indents every line of `text` by `n` spaces. */
const indent = (text: string, n: number): string => text.trimEnd().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

/** YAML of a list holding one item, as a heredoc body with the placeholders turned into shell. */
function heredocItem(item: Record<string, unknown>): string {
  return heredoc(indent(toYaml([item], ''), 6));
}

/** More keys of the list item above, as a heredoc body. */
function heredocMore(keys: Record<string, unknown>): string {
  return heredoc(indent(toYaml(keys, ''), 8));
}

function heredoc(yaml: string): string {
  const body = yaml.replace(/(["']?)@@(S|RAW):(\w+)@@\1/g, (_m, _q, kind: string, v: string) => (kind === 'S' ? `$(q "$${v}")` : `$${v}`));
  // Outside the placeholders the heredoc must hold nothing the shell would expand.
  const rest = body.replace(/\$\(q "\$\w+"\)|\$\w+/g, '');
  if (/[$`\\]/.test(rest)) throw new Error(`receiver YAML holds a character the shell would expand: ${rest}`);
  return body;
}

/** Single-quoted shell word. */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The entrypoint script: reads the secrets and settings, writes the effective config, execs Alertmanager. */
export function alertmanagerEntrypoint(cfg: BundleConfig): string {
  const full = alertmanagerConfig(cfg) as Record<string, unknown> & { receivers: { name: string }[] };
  const { templates: _t, receivers: demoReceivers, ...routing } = full;
  const fixed = toYaml(routing, '').trimEnd();
  const demo = toYaml({ receivers: demoReceivers }, '').trimEnd();
  // Receivers of the routing other than the notification routes and the Watchdog (the silent
  // receiver of maintenance windows): written as they are, whatever channels are on.
  const own = new Set<string>([...NOTIFICATION_ROUTES, 'watchdog']);
  const extra = demoReceivers.filter((r) => !own.has(r.name));
  const extraYaml = extra.length === 0 ? '' : toYaml(extra, '').trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
  const defaults = settingDefaults(cfg);
  const L: string[] = [];
  const add = (...lines: string[]): void => {
    L.push(...lines);
  };

  add(
    '#!/bin/sh',
    '# Generated by `npm run bundle` from src/bundle/notifications.ts. Do not edit: configure it with',
    '# environment variables and secret files (docs/bundle.md, "Notifications").',
    '#',
    '# Starts Alertmanager with the notification channels whose secret is set: from the variable,',
    '# from the file named by <VAR>_FILE, or from $STACKWATCH_SECRETS_DIR/<name> (default /run/secrets,',
    '# where Docker puts its secrets). No channel set: every receiver posts to the demo printer.',
    '#',
    '#   stackwatch-alertmanager.sh [ALERTMANAGER FLAGS...]   write the config, exec Alertmanager',
    '#   stackwatch-alertmanager.sh --print-config             print the effective config and exit',
    '#',
    '# STACKWATCH_ALERTMANAGER_CONFIG: where the effective config is written (default',
    '# /tmp/stackwatch-alertmanager/alertmanager.yml, mode 0600); ALERTMANAGER_BIN: the binary',
    '# (default alertmanager).',
    'set -eu',
    'umask 077',
    'here=$(cd "$(dirname "$0")" && pwd)',
    'secrets_dir=${STACKWATCH_SECRETS_DIR:-/run/secrets}',
    'out=${STACKWATCH_ALERTMANAGER_CONFIG:-/tmp/stackwatch-alertmanager/alertmanager.yml}',
    'nl=\'',
    '\'',
    '',
    'die() { echo "stackwatch-alertmanager: $*" >&2; exit 1; }',
    '',
    '# secret VAR NAME: the value of $VAR, else of the file $VAR_FILE, else of $secrets_dir/NAME (else empty).',
    'secret() {',
    '  eval "s_val=\\${$1:-}; s_file=\\${$1_FILE:-}"',
    '  if [ -n "$s_val" ]; then printf \'%s\' "$s_val"; return 0; fi',
    '  if [ -n "$s_file" ]; then [ -r "$s_file" ] || die "$1_FILE: cannot read $s_file"; else s_file=$secrets_dir/$2; fi',
    '  if [ -f "$s_file" ]; then',
    '    [ -r "$s_file" ] || die "cannot read the secret file $s_file"',
    '    cat "$s_file"',
    '  fi',
    '}',
    '',
    '# q VALUE: VALUE as a single-quoted YAML string (one line).',
    'q() {',
    '  case $1 in *"$nl"*) die "a setting or secret spans several lines; give it on one line";; esac',
    '  printf "\'%s\'" "$(printf \'%s\' "$1" | sed "s/\'/\'\'/g")"',
    '}',
    '',
    '# Settings (not secret): the environment, else the bundle\'s defaults.',
  );
  for (const [k, v] of Object.entries(defaults)) add(`[ -n "\${${k}:-}" ] || ${k}=${shq(v)}`);
  add('');
  add('# Secrets. A secret file\'s trailing newline is dropped by $(...).');
  for (const c of CHANNELS) add(`secret_${c.name}=$(secret ${c.secret.env} ${c.secret.file})`);
  add(`secret_ntfy_token=$(secret ${NTFY_TOKEN.env} ${NTFY_TOKEN.file})`);
  add(`secret_watchdog=$(secret ${WATCHDOG_URL.env} ${WATCHDOG_URL.file})`);
  add('');
  add('# Everything goes into the YAML on one line.');
  const oneLine: [string, string][] = [
    ...CHANNELS.map((c) => [`secret_${c.name}`, c.secret.env] as [string, string]),
    ['secret_ntfy_token', NTFY_TOKEN.env], ['secret_watchdog', WATCHDOG_URL.env],
    ...Object.keys(defaults).map((k) => [k, k] as [string, string]),
  ];
  add(`for v in ${oneLine.map(([v, n]) => `${v}:${n}`).join(' ')}; do`,
    '  eval "x=\\${${v%%:*}}"',
    '  case $x in *"$nl"*) die "${v#*:} spans several lines; give it on one line";; esac',
    'done');
  add('');
  add('enabled=""');
  for (const c of CHANNELS) {
    add(`if [ -n "$secret_${c.name}" ]; then`);
    add(`  enabled="$enabled ${c.name}"`);
    for (const r of c.required) add(`  [ -n "$${r}" ] || die "${c.secret.env} is set (${c.name} enabled) but ${r} is not"`);
    add('fi');
  }
  add(
    '',
    '# Validation of what goes into the config unquoted.',
    'case $enabled in *telegram*)',
    '  case $TELEGRAM_CHAT_ID in -[0-9]*|[0-9]*) ;; *) die "TELEGRAM_CHAT_ID must be an integer (a chat, group or channel id), not \'$TELEGRAM_CHAT_ID\'";; esac',
    '  case ${TELEGRAM_CHAT_ID#-} in *[!0-9]*) die "TELEGRAM_CHAT_ID must be an integer (a chat, group or channel id), not \'$TELEGRAM_CHAT_ID\'";; esac;;',
    'esac',
    'case $SMTP_REQUIRE_TLS in true|false) ;; *) die "SMTP_REQUIRE_TLS must be true or false, not \'$SMTP_REQUIRE_TLS\'";; esac',
    'for p in NTFY_PRIORITY NTFY_PAGE_PRIORITY; do',
    '  eval "v=\\$$p"',
    '  case $v in [1-5]) ;; *) die "$p must be 1 (min) to 5 (max), not \'$v\'";; esac',
    'done',
    '[ -n "$SMTP_USERNAME" ] || SMTP_USERNAME=$SMTP_FROM',
    '',
    `# routes CHANNEL RECEIVER: whether the channel receives that route (<CHANNEL>_ROUTES: ${NOTIFICATION_ROUTES.join(', ')}).`,
    'routes() {',
    '  r_var=$(printf \'%s\' "$1" | tr \'[:lower:]\' \'[:upper:]\')_ROUTES',
    '  eval "r_list=\\$$r_var"',
    '  for r in $(printf \'%s\' "$r_list" | tr \',\' \' \'); do',
    `    case $r in ${NOTIFICATION_ROUTES.join('|')}) ;; *) die "$r_var: unknown route '$r' (known: ${NOTIFICATION_ROUTES.join(', ')})";; esac`,
    '  done',
    '  case ",$r_list," in *",$2,"*) return 0;; esac',
    '  return 1',
    '}',
    'for c in $enabled; do routes "$c" page || :; done',
    '',
    '# ntfy: its topic URL plus the message templates and the priority, per receiver.',
    'case $secret_ntfy in *\\?*) ntfy_sep="&";; *) ntfy_sep="?";; esac',
  );
  add(`ntfy_query="${ntfyQuery()}"`);
  for (const r of NOTIFICATION_ROUTES) add(`ntfy_url_${r}="\${secret_ntfy}\${ntfy_sep}\${ntfy_query}&p=$${r === 'page' ? 'NTFY_PAGE_PRIORITY' : 'NTFY_PRIORITY'}"`);
  add(
    '',
    '# section KEY: the `KEY:` line of the receiver being written, once.',
    'section() {',
    '  case " $sections " in *" $1 "*) return 0;; esac',
    '  sections="$sections $1"',
    '  echo "    $1:"',
    '}',
  );
  const items = channelItems();
  for (const c of CHANNELS) {
    const { key, item } = items[c.name];
    add('', `# item_${c.name} RECEIVER: the receiver's ${key} entry for ${c.name}.`, `item_${c.name}() {`, `  section ${key}`);
    if (c.name === 'ntfy') {
      add('  eval "ntfy_url=\\$ntfy_url_$1"', '  cat <<STACKWATCH_ITEM', heredocItem(item), 'STACKWATCH_ITEM');
      add('  [ -z "$secret_ntfy_token" ] || cat <<STACKWATCH_ITEM', heredocMore({ http_config: { authorization: { credentials: S('secret_ntfy_token') } } }), 'STACKWATCH_ITEM');
    } else {
      add('  cat <<STACKWATCH_ITEM', heredocItem(item), 'STACKWATCH_ITEM');
    }
    add('}');
  }
  add(
    '',
    'config() {',
    '  echo "# Written by $0 at start: the channels enabled:${enabled:- none (demo printer)}."',
    '  echo "templates:"',
    `  echo "  - $(q "$here/${TEMPLATE_FILE}")"`,
    "  cat <<'STACKWATCH_ROUTING'",
    fixed,
    'STACKWATCH_ROUTING',
    '  if [ -z "$enabled" ]; then',
    "    cat <<'STACKWATCH_DEMO'",
    demo,
    'STACKWATCH_DEMO',
    '    return 0',
    '  fi',
    '  echo "receivers:"',
  );
  add(
    // Shell variables are global: routes() has its own loop variable r.
    `  for receiver in ${NOTIFICATION_ROUTES.join(' ')}; do`,
    '    echo "  - name: $receiver"',
    '    sections=""',
    `    for channel in ${CHANNELS.map((c) => c.name).join(' ')}; do`,
    '      eval "channel_secret=\\$secret_$channel"',
    '      if [ -n "$channel_secret" ] && routes "$channel" "$receiver"; then "item_$channel" "$receiver"; fi',
    '    done',
    '  done',
  );
  if (!RECEIVERS.includes('watchdog')) throw new Error('the routing has no watchdog receiver');
  add(
    '  # The Watchdog (always firing) goes only to a dead-man\'s switch, never to a person.',
    '  echo "  - name: watchdog"',
    '  if [ -n "$secret_watchdog" ]; then',
    '    echo "    webhook_configs:"',
    '    cat <<STACKWATCH_ITEM',
    heredocItem({ url: S('secret_watchdog'), send_resolved: false }),
    'STACKWATCH_ITEM',
    '  fi',
    ...(extraYaml === '' ? [] : ["  cat <<'STACKWATCH_EXTRA'", extraYaml, 'STACKWATCH_EXTRA']),
    '}',
    '',
    'if [ "${1:-}" = --print-config ]; then',
    '  config',
    '  exit 0',
    'fi',
    'mkdir -p "$(dirname "$out")"',
    'config > "$out.tmp"',
    'mv "$out.tmp" "$out"',
    'if [ -z "$enabled" ]; then watchdog="the demo printer"; elif [ -n "$secret_watchdog" ]; then watchdog="the dead-man\'s switch URL"; else watchdog="nowhere (set WATCHDOG_URL)"; fi',
    'echo "stackwatch-alertmanager: notification channels:${enabled:- none, every receiver posts to the demo printer}; the Watchdog goes to $watchdog; config $out" >&2',
    'exec "${ALERTMANAGER_BIN:-alertmanager}" --config.file="$out" "$@"',
  );
  return `${L.join('\n')}\n`;
}
