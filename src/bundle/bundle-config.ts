/**
 * Everything tunable about the bundle's rules, alerts and routing, in one typed place:
 * selectors, thresholds, `for:` durations, SLO objectives, addresses. `bundleConfig` is the
 * default (what `npm run bundle` and `stackwatch bundle` without --config write); users override
 * it with a bundle.yml (src/bundle/bundle-yaml.ts); `variantConfig()` derives variants for tests
 * (e.g. short `for:`).
 */
import { type Matcher, parseMatchers } from './dashboards/promql';

import type { MaintenanceWindow } from '../config/maintenance';
import type { TargetKind } from '../metrics/definitions';

import { parseDuration } from '../config/duration';

/** A Prometheus duration: 30s, 5m, 1h, 1d. */
export type Duration = `${number}${'ms' | 's' | 'm' | 'h' | 'd' | 'w'}`;

export type Severity = 'critical' | 'warning' | 'info';
export const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];

/**
 * How an alert reaches people (its `notify` label): `page` alerts are incidents, grouped per
 * target and sent at once; `ticket` alerts are slow trends and budgets, grouped per alert and
 * sent at a calm pace. Severity says how bad; `notify` says whether someone must act now.
 */
export type Notify = 'page' | 'ticket';

/**
 * Place of an alert in an incident (its `role` label): a `cause` says why something is wrong
 * (process gone, broker frozen, container unhealthy, OOM kill); a `symptom` says what users see
 * (target down, error budget burning). A firing cause page mutes the symptoms of the same target.
 */
export type Role = 'cause' | 'symptom';

/** Grouping and timing of one notification route. */
export interface RouteTiming {
  groupWait: Duration;
  groupInterval: Duration;
  repeatInterval: Duration;
}

/** The notification routes a channel can receive: pages, tickets, and other rule files' alerts. */
export type NotificationRoute = 'page' | 'ticket' | 'default';
export const NOTIFICATION_ROUTES: readonly NotificationRoute[] = ['page', 'ticket', 'default'];

/** Non-secret settings of the notification channels (environment variable in brackets). */
export interface NotificationSettings {
  /** Routes an enabled channel receives unless its <CHANNEL>_ROUTES variable says otherwise. */
  routes: readonly NotificationRoute[];
  telegram: {
    /** Chat, group or channel id (TELEGRAM_CHAT_ID), an integer; required with a bot token. */
    chatId: string;
    /** Bot API base URL (TELEGRAM_API_URL). */
    apiUrl: string;
  };
  slack: {
    /** Channel (SLACK_CHANNEL); empty: the incoming webhook's own channel. */
    channel: string;
  };
  email: {
    /** SMTP server host:port (SMTP_SMARTHOST); required with a password. */
    smarthost: string;
    /** Sender address (SMTP_FROM); required with a password. */
    from: string;
    /** Recipients, comma-separated (SMTP_TO); required with a password. */
    to: string;
    /** Login (SMTP_USERNAME); empty: the sender address. */
    username: string;
    /** Require STARTTLS (SMTP_REQUIRE_TLS). */
    requireTls: boolean;
  };
  ntfy: {
    /** Priority of pages and of other messages, 1-5 (NTFY_PAGE_PRIORITY, NTFY_PRIORITY). */
    pagePriority: number;
    priority: number;
  };
}

/** One window pair of the multi-window, multi-burn-rate SLO alerts (SRE workbook, ch. 5). */
export interface BurnWindow {
  long: '1h' | '6h' | '1d' | '3d';
  short: '5m' | '30m' | '2h' | '6h';
  /** Burn rate: how many times faster than "exactly spend the budget in the SLO period". */
  factor: number;
}

export interface BundleConfig {
  /**
   * Where the runbook is published; alerts and dashboards link to `${runbookBaseUrl}#anchor`. By
   * default the runbook the exporter serves itself: `${exporter.externalUrl}/runbook`.
   */
  runbookBaseUrl: string;
  /**
   * Grafana as the people who get notifications reach it: every alert links to its dashboard at
   * `${dashboardBaseUrl}/d/<uid>/` with the alert's job, instance and target selected.
   */
  dashboardBaseUrl: string;
  /** The exporter as Prometheus scrapes it. */
  exporter: {
    /** Scrape job name (prometheus.yml) and the job of the rule tests' series. */
    job: string;
    /** host:port Prometheus scrapes (prometheus.yml) and the instance of the rule tests' series. */
    address: string;
    /**
     * Label matchers every rule, alert and dashboard query adds to its selectors, e.g.
     * `job=~"stackwatch|stackwatch-eu"`. Only `job` and `instance`: the rules aggregate per job
     * and instance, other labels do not survive them. Default: `job="<job>"`.
     */
    selector?: string;
    /** The exporter's URL as people reach it (its status page and /runbook). */
    externalUrl: string;
  };
  /** Prometheus' own settings for prometheus/prometheus.yml. */
  prometheus: { scrapeInterval: Duration; evaluationInterval: Duration; alertmanager: string };
  /** Alertmanager: where notifications go and how often. */
  alertmanager: {
    /**
     * The demo printer: while no notification channel is on, every receiver posts to
     * `${webhookBaseUrl}/${receiver}`.
     */
    webhookBaseUrl: string;
    /**
     * Pages: one group per incident target. group_wait gathers a cause and its symptoms into the
     * first message; a short group_interval sends the resolve (and a new outage right after it) quickly.
     */
    page: RouteTiming;
    /** Tickets: one group per alert and target, sent calmly. */
    ticket: RouteTiming;
    /** Alerts of other rule files (no `notify` label). */
    other: RouteTiming;
    /** The Watchdog is re-sent this often so that a dead-man's switch notices silence. */
    watchdogRepeatInterval: Duration;
    /**
     * Defaults of the notification channels' settings that are not secret. Each is overridden at
     * Alertmanager's start by its environment variable (docs/bundle.md, "Notifications"); a channel
     * is enabled by its secret, which never appears here.
     */
    receivers: NotificationSettings;
  };
  /** Target kinds TargetDown covers (MQTT has BrokerDown, processes ProcessNotRunning). */
  targetDownKinds: readonly TargetKind[];
  slo: {
    /** Availability objective over 30d, as a ratio of good checks (0.999 = 99.9 %). */
    objective: number;
    fast: readonly BurnWindow[];
    slow: readonly BurnWindow[];
  };
  /**
   * A page symptom (target down, health degraded) is explained, and not alerted, while a cause
   * page about the same target fires and for this long after it ended: a backend whose process
   * came back answers a few seconds later; that tail is not a new incident.
   */
  symptomHoldDown: Duration;
  /** Recovery objective: mean time to recovery over 1d above this (seconds) alerts. */
  recoveryObjectiveSeconds: number;
  flapping: { window: Duration; outages: number };
  /** Health-body fields (config keys under http[].json.fields) the MQTT alerts use. */
  healthFields: { mqttConnected: string; mqttIdleSeconds: string; pendingRequests: string };
  backendMqttIdleSeconds: number;
  pendingRequests: { growthWindow: Duration; floor: number; ceiling: number };
  mqtt: {
    sysStaleSeconds: number; roundtripFailureWindow: Duration; roundtripFailures: number; roundtripSlowQuantile: number; roundtripSlowSeconds: number;
    /** MqttAuthFailing: the broker refused the exporter's credentials within this window (and it is not connected). */
    authFailureWindow: Duration;
    /** MqttRoundtripFailing ends when a probe came back within this window (it does not outlast recovery). */
    roundtripRecoveryWindow: Duration;
  };
  /** TLS certificates of HTTPS targets: days of validity left below which the alerts fire. */
  tlsCert: { warningDays: number; criticalDays: number };
  restarts: { window: Duration; count: number };
  oomWindow: Duration;
  leak: {
    /** Window of the slope of the 30m memory floor. */
    slopeWindow: Duration;
    /** No restart in this window, and the process/container up for at least this long. */
    quietWindow: Duration;
    /** The floor must grow at least this many bytes per hour... */
    minBytesPerHour: number;
    /** ...and at least this share of the floor per hour. */
    minRatioPerHour: number;
  };
  /** Memory-exhaustion alert: predicted time to the container's limit below this. */
  exhaustionHorizonSeconds: number;
  fds: { window: Duration; horizonSeconds: number; minUsedRatio: number };
  /** The real-traffic alerts on the access logs (src/bundle/logs-rules.ts). */
  traffic: {
    /** Requests a route needs in the last hour before a burn-rate alert may fire (a few errors among few requests are noise). */
    minRequestsPerHour: number;
    /** StackwatchTrafficBadGateway: at least `count` responses 502/504 of one source within `window`. */
    badGateway: { window: Duration; count: number };
    /** StackwatchTrafficLatencyHigh: the 95th percentile of a route's request durations over 5 minutes above `seconds`, with at least `minRequests` requests in those 5 minutes. */
    latency: { seconds: number; minRequests: number };
  };
  /** `for:` of each alert, by alert name (the real-traffic alerts' too). */
  for: Record<AnyAlertName, Duration>;
  /**
   * Maintenance windows muted in Alertmanager (time_intervals + mute_time_intervals): the same
   * data as the exporter's `maintenance.windows`, parsed by the same schema
   * (src/config/maintenance.ts: maintenanceWindowsSchema). Plain data; none by default.
   */
  maintenance: readonly MaintenanceWindow[];
}

export const ALERT_NAMES = [
  'StackwatchExporterDown',
  'StackwatchExporterAbsent',
  'StackwatchWatchdog',
  'StackwatchConfigReloadFailed',
  'StackwatchCollectorFailing',
  'StackwatchTargetInMaintenance',
  'StackwatchTargetDown',
  'StackwatchTargetFlapping',
  'StackwatchSloFastBurn',
  'StackwatchSloSlowBurn',
  'StackwatchRecoverySlow',
  'StackwatchHealthDegraded',
  'StackwatchBackendMqttDisconnected',
  'StackwatchBackendMqttIdle',
  'StackwatchPendingRequestsGrowing',
  'StackwatchTlsCertExpiringSoon',
  'StackwatchTlsCertExpiryCritical',
  'StackwatchMqttBrokerDown',
  'StackwatchMqttAuthFailing',
  'StackwatchMqttSysStale',
  'StackwatchMqttRoundtripFailing',
  'StackwatchMqttRoundtripSlow',
  'StackwatchMqttTopicSilent',
  'StackwatchDockerApiDown',
  'StackwatchDockerEventsStreamDown',
  'StackwatchContainerUnhealthy',
  'StackwatchContainerCrashLooping',
  'StackwatchContainerOomKilled',
  'StackwatchContainerMemoryLeakSuspected',
  'StackwatchContainerMemoryExhaustion',
  'StackwatchProcessNotRunning',
  'StackwatchProcessRestarting',
  'StackwatchProcessGroupAmbiguous',
  'StackwatchProcessMemoryLeakSuspected',
  'StackwatchProcessFdLeak',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** The real-traffic alerts (src/bundle/logs-rules.ts): their own rule file, tests and runbook section. */
export const TRAFFIC_ALERTS = ['StackwatchTrafficFastBurn', 'StackwatchTrafficSlowBurn', 'StackwatchTrafficBadGateway', 'StackwatchTrafficLatencyHigh'] as const;
export type TrafficAlertName = (typeof TRAFFIC_ALERTS)[number];

/** Every alert the bundle ships. */
export const ALL_ALERT_NAMES = [...ALERT_NAMES, ...TRAFFIC_ALERTS] as const;
export type AnyAlertName = AlertName | TrafficAlertName;

export const bundleConfig: BundleConfig = {
  runbookBaseUrl: 'http://127.0.0.1:9967/runbook',
  // Grafana as docker-compose.yml publishes it (loopback of the Docker host).
  dashboardBaseUrl: 'http://127.0.0.1:3000',
  exporter: { job: 'stackwatch', address: 'stackwatch:9967', externalUrl: 'http://127.0.0.1:9967' },
  prometheus: { scrapeInterval: '15s', evaluationInterval: '15s', alertmanager: 'alertmanager:9093' },
  alertmanager: {
    webhookBaseUrl: 'http://alert-webhook:5001',
    page: { groupWait: '15s', groupInterval: '30s', repeatInterval: '4h' },
    ticket: { groupWait: '1m', groupInterval: '10m', repeatInterval: '24h' },
    other: { groupWait: '30s', groupInterval: '5m', repeatInterval: '4h' },
    watchdogRepeatInterval: '5m',
    receivers: {
      routes: ['page', 'ticket', 'default'],
      telegram: { chatId: '', apiUrl: 'https://api.telegram.org' },
      slack: { channel: '' },
      email: { smarthost: '', from: '', to: '', username: '', requireTls: true },
      ntfy: { pagePriority: 4, priority: 3 },
    },
  },
  targetDownKinds: ['http', 'container'],
  slo: {
    objective: 0.999,
    fast: [{ long: '1h', short: '5m', factor: 14.4 }, { long: '6h', short: '30m', factor: 6 }],
    slow: [{ long: '1d', short: '2h', factor: 3 }, { long: '3d', short: '6h', factor: 1 }],
  },
  symptomHoldDown: '2m',
  recoveryObjectiveSeconds: 120,
  flapping: { window: '2h', outages: 3 },
  healthFields: { mqttConnected: 'mqtt_connected', mqttIdleSeconds: 'mqtt_last_activity_seconds_ago', pendingRequests: 'pending_requests' },
  backendMqttIdleSeconds: 600,
  pendingRequests: { growthWindow: '10m', floor: 20, ceiling: 100 },
  mqtt: { sysStaleSeconds: 60, roundtripFailureWindow: '5m', roundtripFailures: 3, roundtripSlowQuantile: 0.9, roundtripSlowSeconds: 1, authFailureWindow: '5m', roundtripRecoveryWindow: '1m' },
  tlsCert: { warningDays: 14, criticalDays: 2 },
  restarts: { window: '1h', count: 2 },
  oomWindow: '15m',
  leak: { slopeWindow: '1h', quietWindow: '3h', minBytesPerHour: 1024 * 1024, minRatioPerHour: 0.02 },
  exhaustionHorizonSeconds: 4 * 3600,
  fds: { window: '1h', horizonSeconds: 4 * 3600, minUsedRatio: 0.25 },
  traffic: {
    minRequestsPerHour: 60,
    badGateway: { window: '2m', count: 10 },
    latency: { seconds: 2, minRequests: 30 },
  },
  // A cause pages no later than the symptoms it explains (same target), so that the first message
  // of an incident already names it: causes' for: <= 45s, TargetDown 1m. Events (an OOM kill, the
  // second restart of a crash loop) page at once.
  for: {
    StackwatchExporterDown: '1m',
    StackwatchExporterAbsent: '5m',
    StackwatchWatchdog: '0s',
    StackwatchConfigReloadFailed: '5m',
    StackwatchCollectorFailing: '5m',
    StackwatchTargetInMaintenance: '0s',
    StackwatchTargetDown: '1m',
    StackwatchTargetFlapping: '10m',
    StackwatchSloFastBurn: '2m',
    StackwatchSloSlowBurn: '15m',
    StackwatchRecoverySlow: '5m',
    StackwatchHealthDegraded: '2m',
    StackwatchBackendMqttDisconnected: '45s',
    StackwatchBackendMqttIdle: '2m',
    StackwatchPendingRequestsGrowing: '5m',
    StackwatchTlsCertExpiringSoon: '30m',
    StackwatchTlsCertExpiryCritical: '5m',
    StackwatchMqttBrokerDown: '45s',
    // Not longer than MqttBrokerDown's: it mutes that alert for the same broker (alerts-routing.ts).
    StackwatchMqttAuthFailing: '45s',
    StackwatchMqttSysStale: '1m',
    StackwatchMqttRoundtripFailing: '1m',
    StackwatchMqttRoundtripSlow: '10m',
    StackwatchMqttTopicSilent: '1m',
    StackwatchDockerApiDown: '1m',
    StackwatchDockerEventsStreamDown: '5m',
    StackwatchContainerUnhealthy: '30s',
    StackwatchContainerCrashLooping: '0s',
    StackwatchContainerOomKilled: '0s',
    StackwatchContainerMemoryLeakSuspected: '1h',
    StackwatchContainerMemoryExhaustion: '30m',
    StackwatchProcessNotRunning: '45s',
    StackwatchProcessRestarting: '0s',
    StackwatchProcessGroupAmbiguous: '30m',
    StackwatchProcessMemoryLeakSuspected: '1h',
    StackwatchProcessFdLeak: '15m',
    // Real traffic: symptoms, never before the causes that explain them.
    StackwatchTrafficFastBurn: '2m',
    StackwatchTrafficSlowBurn: '1h',
    StackwatchTrafficBadGateway: '1m',
    StackwatchTrafficLatencyHigh: '10m',
  },
  maintenance: [],
};

export interface VariantOptions {
  /** Replace every alert's `for:` with this (e.g. '1s' for end-to-end tests). */
  for?: Duration;
  /** Divide every alert's `for:` by this (whole seconds), keeping their order: causes before symptoms. */
  forDivisor?: number;
  /** Override of parts of the config. */
  overrides?: Partial<BundleConfig>;
}

/** A variant of the bundle config, e.g. `variantConfig({ for: '2s' })` for end-to-end tests. */
export function variantConfig(opts: VariantOptions, base: BundleConfig = bundleConfig): BundleConfig {
  const cfg: BundleConfig = { ...base, ...opts.overrides };
  if (opts.for !== undefined) {
    const f = opts.for;
    cfg.for = Object.fromEntries(ALL_ALERT_NAMES.map((n) => [n, n === 'StackwatchWatchdog' ? base.for[n] : f])) as Record<AnyAlertName, Duration>;
  }
  if (opts.forDivisor !== undefined) {
    const k = opts.forDivisor;
    cfg.for = Object.fromEntries(ALL_ALERT_NAMES.map((n) => [n, `${Math.round(durationSeconds(cfg.for[n]) / k)}s`])) as Record<AnyAlertName, Duration>;
  }
  return cfg;
}

/** Seconds in a Prometheus duration (for tests and computed thresholds). */
export function durationSeconds(d: Duration): number {
  const s = parseDuration(d);
  if (s === undefined) throw new Error(`not a duration: ${d}`);
  return s;
}

/** Labels a bundle selector may match on: the ones every rule keeps. */
export const SELECTOR_LABELS = ['job', 'instance'] as const;

/** The exporter selector as text: the configured one, or `job="<job>"`. */
export function exporterSelector(cfg: BundleConfig): string {
  return cfg.exporter.selector ?? `job=${JSON.stringify(cfg.exporter.job)}`;
}

/** The matchers every rule, alert and dashboard query adds to its selectors. */
export function exporterMatchers(cfg: BundleConfig): Matcher[] {
  return parseMatchers(exporterSelector(cfg));
}
