/**
 * Alerting rules (prometheus/alerts/*.yml). Every alert: CamelCase `Stackwatch*`, the labels
 * `severity` (how bad), `notify` (page: an incident, act now; ticket: a trend or budget) and
 * `role` (cause: why; symptom: what users see), plus the target's labels (per-target alerts carry
 * `kind` and `target`, whatever the metric's own label is, so that Alertmanager groups and
 * inhibits per target), and the annotations `summary`, `description`, `runbook_url` (a section of
 * docs/runbook.md). Alerts about the exporter itself (its scrape, config reload, collectors,
 * Docker connection) carry `job` and `instance` (and `collector`) but no `kind`/`target`.
 *
 * Alerts built on a window (increase(), rate(), min_over_time()) keep a value for the length of
 * the window after a target's series are gone; each is joined with a series that exists only
 * while the target does, so that a removed container or target pages nobody.
 */
import { M, matcher, type TargetKind } from '../metrics/definitions';
import { type AlertName, type BundleConfig, type BurnWindow, type Duration, durationSeconds, exporterSelector, type Notify, type Role, type Severity } from './bundle-config';
import { R, type SliWindow } from './names';
import { type AlertingRule, type RuleGroup, increaseSinceBirth } from './rules';

/** A number as PromQL text, without floating-point noise (14.4 * 0.001 -> 0.0144). */
export function num(n: number): string {
  return String(Number(n.toPrecision(12)));
}

/** The runbook anchor of an alert: GitHub's anchor for a `## AlertName` heading. */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase();
}

/**
 * Adds `kind="<kind>"` and `target=<value of label from>` to an expression's result. The kind is
 * one of the exporter's target kinds, or `topic` for alerts about an MQTT topic filter (not an
 * availability target of its own).
 */
export function asTarget(expr: string, kind: TargetKind | 'topic', from: string): string {
  return `label_replace(label_replace(${expr}, "target", "$1", "${from}", "(.*)"), "kind", "${kind}", "", "")`;
}

interface AlertSpec {
  name: AlertName;
  severity: Severity;
  /** Omitted only by the Watchdog, which has its own route. */
  notify?: Notify;
  role?: Role;
  expr: string;
  summary: string;
  description: string;
}

/**
 * The Grafana dashboard each alert links to (annotation `dashboard_url`), by dashboard uid. Every
 * dashboard has the variables job, instance and target, which the link fills from the alert.
 */
export const ALERT_DASHBOARD: Record<AlertName, string> = {
  StackwatchExporterDown: 'stackwatch-overview',
  StackwatchExporterAbsent: 'stackwatch-overview',
  StackwatchWatchdog: 'stackwatch-overview',
  StackwatchConfigReloadFailed: 'stackwatch-overview',
  StackwatchCollectorFailing: 'stackwatch-overview',
  StackwatchTargetInMaintenance: 'stackwatch-overview',
  StackwatchTargetDown: 'stackwatch-recovery',
  StackwatchTargetFlapping: 'stackwatch-recovery',
  StackwatchSloFastBurn: 'stackwatch-overview',
  StackwatchSloSlowBurn: 'stackwatch-overview',
  StackwatchRecoverySlow: 'stackwatch-recovery',
  StackwatchHealthDegraded: 'stackwatch-overview',
  StackwatchBackendMqttDisconnected: 'stackwatch-mqtt',
  StackwatchBackendMqttIdle: 'stackwatch-mqtt',
  StackwatchPendingRequestsGrowing: 'stackwatch-overview',
  StackwatchTlsCertExpiringSoon: 'stackwatch-overview',
  StackwatchTlsCertExpiryCritical: 'stackwatch-overview',
  StackwatchMqttBrokerDown: 'stackwatch-mqtt',
  StackwatchMqttAuthFailing: 'stackwatch-mqtt',
  StackwatchMqttSysStale: 'stackwatch-mqtt',
  StackwatchMqttRoundtripFailing: 'stackwatch-mqtt',
  StackwatchMqttRoundtripSlow: 'stackwatch-mqtt',
  StackwatchMqttTopicSilent: 'stackwatch-mqtt',
  StackwatchDockerApiDown: 'stackwatch-containers',
  StackwatchDockerEventsStreamDown: 'stackwatch-containers',
  StackwatchContainerUnhealthy: 'stackwatch-containers',
  StackwatchContainerCrashLooping: 'stackwatch-containers',
  StackwatchContainerOomKilled: 'stackwatch-memory',
  StackwatchContainerMemoryLeakSuspected: 'stackwatch-memory',
  StackwatchContainerMemoryExhaustion: 'stackwatch-memory',
  StackwatchProcessNotRunning: 'stackwatch-containers',
  StackwatchProcessRestarting: 'stackwatch-containers',
  StackwatchProcessGroupAmbiguous: 'stackwatch-containers',
  StackwatchProcessMemoryLeakSuspected: 'stackwatch-memory',
  StackwatchProcessFdLeak: 'stackwatch-containers',
};

/** Dashboard variables an alert's labels fill in its dashboard link (those it has). */
const DASHBOARD_VARS = ['job', 'instance', 'target'] as const;

/**
 * Annotation `dashboard_url`: the dashboard `uid` in Grafana at `cfg.dashboardBaseUrl`, its
 * variables set to the alert's job, instance and target (a Prometheus template over $labels).
 */
export function dashboardUrlAnnotation(cfg: BundleConfig, uid: string): string {
  const vars = DASHBOARD_VARS.map((v) => `{{ with $labels.${v} }}&var-${v}={{ . | urlquery }}{{ end }}`).join('');
  return `${cfg.dashboardBaseUrl.replace(/\/+$/, '')}/d/${uid}/?orgId=1${vars}`;
}

/** What `dashboard_url` renders to for given labels (for the rule tests). */
export function dashboardUrlFor(cfg: BundleConfig, uid: string, labels: Record<string, string>): string {
  // Go's url.QueryEscape: everything but letters, digits and -_.~ is %-escaped, a space is '+'.
  const q = (v: string): string => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
  const vars = DASHBOARD_VARS.filter((v) => (labels[v] ?? '') !== '').map((v) => `&var-${v}=${q(labels[v]!)}`).join('');
  return `${cfg.dashboardBaseUrl.replace(/\/+$/, '')}/d/${uid}/?orgId=1${vars}`;
}

/** `mttr_7d` of a target that has had no outage end within 7 days (the MTTR series is absent). */
export const MTTR_NONE = 'no outage in the last 7d';

/**
 * Annotation `mttr_7d`: the target's mean time to recovery over 7 days, looked up by Prometheus
 * (its `query` template function over the MTTR recording rule) when the alert is rendered, so
 * that Alertmanager's messages can show it. Empty for alerts without a target.
 */
export const MTTR_ANNOTATION = `{{ if $labels.target }}{{ with query (printf "${R.mttr('7d')}{job=%q,instance=%q,kind=%q,target=%q}" $labels.job $labels.instance $labels.kind $labels.target) }}{{ . | first | value | humanizeDuration }}{{ else }}${MTTR_NONE}{{ end }}{{ end }}`;

function alert(cfg: BundleConfig, a: AlertSpec): AlertingRule {
  const f = cfg.for[a.name];
  return {
    alert: a.name,
    expr: a.expr,
    ...(f === '0s' ? {} : { for: f }),
    labels: { severity: a.severity, ...(a.notify !== undefined ? { notify: a.notify } : {}), ...(a.role !== undefined ? { role: a.role } : {}) },
    annotations: {
      summary: a.summary,
      description: a.description,
      runbook_url: `${cfg.runbookBaseUrl}#${runbookAnchor(a.name)}`,
      dashboard_url: dashboardUrlAnnotation(cfg, ALERT_DASHBOARD[a.name]),
      mttr_7d: MTTR_ANNOTATION,
    },
  };
}

const T = '{{ $labels.kind }} target {{ $labels.target }}';
const ON_EXPORTER = '(exporter {{ $labels.instance }})';

/**
 * Multi-window burn: each clause needs the target to have been observed for the whole long
 * window (no verdict on an hour from the first minutes of a new install) and to exist now.
 * `unexplained`: the clause is also dropped while a page about the same target fired within its
 * long window: that incident has been (or is being) paged, the burn is its consequence.
 */
function burn(windows: readonly BurnWindow[], budget: number, unexplained: boolean): string {
  const err = (w: SliWindow): string => R.errorRatio(w);
  const on = 'on(job, instance, kind, target)';
  return windows
    .map((b) => {
      const rate = `${err(b.long)} > ${num(b.factor * budget)} and ${err(b.short)} > ${num(b.factor * budget)}`;
      const history = ` and ${on} (${M.targetChecks.name} offset ${b.long}) and ${on} ${M.targetUp.name}`;
      const incident = unexplained
        ? ` unless on(job, instance, target) max_over_time(ALERTS{alertstate="firing", notify="page", alertname!~"StackwatchSlo.+"}[${b.long}])`
        : '';
      return `(${rate}${history}${incident})`;
    })
    .join(' or ');
}

export function alertGroups(cfg: BundleConfig): RuleGroup<AlertingRule>[] {
  const a = (s: AlertSpec): AlertingRule => alert(cfg, s);
  const budget = 1 - cfg.slo.objective;
  const pct = `${num(cfg.slo.objective * 100)}%`;
  const field = (f: string): string => `${M.healthField.name}{field="${f}"}`;
  const http = (expr: string): string => `label_replace(${expr}, "kind", "${'http' satisfies TargetKind}", "", "")`;
  const pending = field(cfg.healthFields.pendingRequests);
  const by = (labels: string): string => `on(${labels})`;
  const C = 'job, instance, container';
  const G = 'job, instance, group';
  const q = cfg.leak.quietWindow;
  /** Events (restarts, OOM kills, outages) in a window, counting a series born in it with its first value. */
  const events = (metric: string, w: Duration): string => increaseSinceBirth(metric, w);
  /** The target still exists (its instant series is present). */
  const exists = {
    target: ` and on(job, instance, kind, target) ${M.targetUp.name}`,
    container: ` and on(${C}) ${M.containerState.name}`,
    group: ` and on(${G}) ${M.processGroupProcesses.name}`,
    broker: ` and on(job, instance, broker) ${M.mqttConnected.name}`,
  };

  /** Not while a cause page about the same target fires, or ended within the hold-down. */
  const unexplained = ` unless on(job, instance, target) max_over_time(ALERTS{alertstate="firing", notify="page", role="cause"}[${cfg.symptomHoldDown}])`;

  /** The broker down explains its own $SYS and round-trip failures and its silent topics, also for the hold-down after it (clients reconnecting). */
  const brokerExplains = ` unless on(job, instance, broker) max_over_time(ALERTS{alertname="StackwatchMqttBrokerDown", alertstate="firing"}[${cfg.symptomHoldDown}])`;

  const exporter: AlertingRule[] = [
    a({
      name: 'StackwatchExporterDown', severity: 'critical', notify: 'page', role: 'cause',
      expr: 'up == 0',
      summary: 'stackwatch exporter {{ $labels.instance }} is down',
      description: 'Prometheus cannot scrape the stackwatch exporter at {{ $labels.instance }} (job {{ $labels.job }}). Nothing it watches is observed; alerts about its targets are muted until it is back.',
    }),
    a({
      name: 'StackwatchExporterAbsent', severity: 'critical', notify: 'page', role: 'cause',
      expr: 'absent(up)',
      summary: 'No stackwatch exporter is scraped (job {{ $labels.job }})',
      description: `Prometheus has no scrape target matching {${exporterSelector(cfg)}} at all: the exporter is missing from service discovery or the scrape config. Nothing is monitored.`,
    }),
    a({
      name: 'StackwatchWatchdog', severity: 'info',
      expr: 'vector(1)',
      summary: 'Alerting pipeline heartbeat',
      description: 'Always firing, so that the path Prometheus -> Alertmanager -> receiver is known to work. If the receiver stops getting this, alerting is broken.',
    }),
    a({
      name: 'StackwatchConfigReloadFailed', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: `${M.configReloadOk.name} == 0`,
      summary: 'stackwatch exporter {{ $labels.instance }} rejected its new configuration',
      description: `The last configuration reload of the exporter {{ $labels.instance }} failed more than ${cfg.for.StackwatchConfigReloadFailed} ago and no reload has succeeded since: it still runs the previous configuration, so the change (new targets, thresholds, credentials) is not in force. It would refuse to start with this file.`,
    }),
    a({
      name: 'StackwatchCollectorFailing', severity: 'warning', notify: 'ticket', role: 'cause',
      // Docker's collector fails whenever the engine is unreachable: that is StackwatchDockerApiDown.
      expr: `${M.collectorSuccess.name} == 0 unless ${by('job, instance, collector')} label_replace(${M.dockerUp.name} == 0, "collector", "docker", "", "")`,
      summary: 'Collector {{ $labels.collector }} of stackwatch {{ $labels.instance }} is failing',
      description: `The last cycles of the {{ $labels.collector }} collector ${ON_EXPORTER} have failed for more than ${cfg.for.StackwatchCollectorFailing}: its own machinery, not a target, is broken, so the metrics it owns are stale or missing and the alerts built on them can stay silent.`,
    }),
  ];

  const availability: AlertingRule[] = [
    a({
      // Notifies nobody (its own route, a receiver without integrations): it inhibits every alert
      // about the same target while the exporter says the target is in a maintenance window.
      name: 'StackwatchTargetInMaintenance', severity: 'info',
      expr: `${M.targetInMaintenance.name} == 1`,
      summary: `${T} is in a maintenance window`,
      description: `${T} ${ON_EXPORTER} is inside a maintenance window of the exporter's configuration (maintenance.windows): alerts about it are muted, its checks are not counted against the SLO, and an outage that starts now is not counted as one.`,
    }),
    a({
      name: 'StackwatchTargetDown', severity: 'critical', notify: 'page', role: 'symptom',
      expr: `${M.targetUp.name}{${matcher(M.targetUp, 'kind', ...cfg.targetDownKinds)}} == 0${unexplained}`,
      summary: `${T} is down`,
      description: `${T} ${ON_EXPORTER} has failed its checks for more than ${cfg.for.StackwatchTargetDown}. The outage is being counted in stackwatch_target_downtime_seconds_total; its length goes into the recovery histogram when it ends.`,
    }),
    a({
      name: 'StackwatchTargetFlapping', severity: 'warning', notify: 'ticket', role: 'symptom',
      expr: `${events(M.targetOutages.name, cfg.flapping.window)} >= ${cfg.flapping.outages}${exists.target}`,
      summary: `${T} is flapping`,
      description: `${T} ${ON_EXPORTER} went down at least ${cfg.flapping.outages} times in the last ${cfg.flapping.window}: something keeps killing or restarting it (a crash loop, a reload watcher, an external health-check script).`,
    }),
    a({
      name: 'StackwatchSloFastBurn', severity: 'critical', notify: 'page', role: 'symptom',
      expr: burn(cfg.slo.fast, budget, true),
      summary: `${T} is burning its error budget fast`,
      description: `${T} ${ON_EXPORTER} fails checks at a rate that spends the 30-day error budget of a ${pct} availability objective in days (burn rate at least ${cfg.slo.fast.map((b) => `${b.factor}x over ${b.long}`).join(', or ')}), and no page about it fired in that window: intermittent failures no other alert explains.`,
    }),
    a({
      name: 'StackwatchSloSlowBurn', severity: 'warning', notify: 'ticket', role: 'symptom',
      expr: burn(cfg.slo.slow, budget, false),
      summary: `${T} is burning its error budget`,
      description: `${T} ${ON_EXPORTER} fails checks at a rate that will spend the 30-day error budget of a ${pct} availability objective before the period ends (burn rate at least ${cfg.slo.slow.map((b) => `${b.factor}x over ${b.long}`).join(', or ')}).`,
    }),
    a({
      name: 'StackwatchRecoverySlow', severity: 'warning', notify: 'ticket', role: 'symptom',
      expr: `${R.mttr('1d')} > ${cfg.recoveryObjectiveSeconds}${exists.target}`,
      summary: `${T} takes too long to recover`,
      description: `Outages of ${T} ${ON_EXPORTER} over the last day lasted {{ $value | humanizeDuration }} on average; the recovery objective is ${cfg.recoveryObjectiveSeconds}s. Automatic restarts are not working, or recovery is manual.`,
    }),
  ];

  const health: AlertingRule[] = [
    a({
      name: 'StackwatchHealthDegraded', severity: 'warning', notify: 'page', role: 'symptom',
      expr: http(`${M.healthStatus.name}{${matcher(M.healthStatus, 'status', 'degraded', 'unhealthy')}} == 1`) + unexplained,
      summary: 'Backend {{ $labels.target }} reports {{ $labels.status }}',
      description: `The health endpoint of {{ $labels.target }} ${ON_EXPORTER} has reported status {{ $labels.status }} for more than ${cfg.for.StackwatchHealthDegraded}. Look at the body's fields (stackwatch_health_field) for the failing dependency.`,
    }),
    a({
      name: 'StackwatchBackendMqttDisconnected', severity: 'critical', notify: 'page', role: 'cause',
      expr: http(`${field(cfg.healthFields.mqttConnected)} == 0`),
      summary: 'Backend {{ $labels.target }} lost its MQTT connection',
      description: `The health endpoint of {{ $labels.target }} ${ON_EXPORTER} has reported ${cfg.healthFields.mqttConnected}=false for more than ${cfg.for.StackwatchBackendMqttDisconnected}. Requests that go through MQTT fail (502/503).`,
    }),
    a({
      name: 'StackwatchBackendMqttIdle', severity: 'warning', notify: 'page', role: 'cause',
      expr: http(`${field(cfg.healthFields.mqttIdleSeconds)} > ${cfg.backendMqttIdleSeconds}`),
      summary: 'Backend {{ $labels.target }} has had no MQTT traffic for {{ $value | humanizeDuration }}',
      description: `The MQTT client of {{ $labels.target }} ${ON_EXPORTER} says it is connected but has seen no message for more than ${cfg.backendMqttIdleSeconds}s: a stale connection. Responses from MQTT never arrive.`,
    }),
    a({
      name: 'StackwatchPendingRequestsGrowing', severity: 'warning', notify: 'page', role: 'cause',
      expr: http(`${pending} > ${cfg.pendingRequests.ceiling} or (${pending} > ${cfg.pendingRequests.floor} and deriv(${pending}[${cfg.pendingRequests.growthWindow}]) > 0)`),
      summary: 'Pending requests of {{ $labels.target }} keep growing',
      description: `{{ $labels.target }} ${ON_EXPORTER} has {{ $value }} pending requests, growing over ${cfg.pendingRequests.growthWindow} (or above ${cfg.pendingRequests.ceiling}): answers are not coming back and requests pile up (memory grows, users get 502/504).`,
    }),
    a({
      name: 'StackwatchTlsCertExpiringSoon', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: http(`${M.httpCertExpiry.name} - time() < ${cfg.tlsCert.warningDays * 86400}`),
      summary: 'TLS certificate of {{ $labels.target }} expires in {{ $value | humanizeDuration }}',
      description: `The certificate served by {{ $labels.target }} ${ON_EXPORTER} is valid for less than ${cfg.tlsCert.warningDays} days: its automatic renewal is not working (an ACME client renews at 30 days left). Renew it before clients start refusing the connection.`,
    }),
    a({
      name: 'StackwatchTlsCertExpiryCritical', severity: 'critical', notify: 'page', role: 'cause',
      expr: http(`${M.httpCertExpiry.name} - time() < ${cfg.tlsCert.criticalDays * 86400}`),
      summary: 'TLS certificate of {{ $labels.target }} {{ if lt $value 0.0 }}has expired{{ else }}expires in {{ $value | humanizeDuration }}{{ end }}',
      description: `The certificate last served by {{ $labels.target }} ${ON_EXPORTER} has {{ $value | humanizeDuration }} of validity left (negative: expired that long ago; limit ${cfg.tlsCert.criticalDays} days). Once it expires, clients that verify certificates refuse the connection.`,
    }),
  ];

  const mqtt: AlertingRule[] = [
    a({
      name: 'StackwatchMqttBrokerDown', severity: 'critical', notify: 'page', role: 'cause',
      expr: asTarget(`${M.mqttConnected.name} == 0`, 'mqtt', 'broker'),
      summary: 'MQTT broker {{ $labels.broker }} is unreachable',
      description: `The exporter {{ $labels.instance }} has not been connected to broker {{ $labels.broker }} for more than ${cfg.for.StackwatchMqttBrokerDown}. Alerts of clients that depend on the broker are muted while this fires.`,
    }),
    a({
      name: 'StackwatchMqttAuthFailing', severity: 'critical', notify: 'page', role: 'cause',
      expr: asTarget(
        `increase(${M.mqttConnectFailures.name}{${matcher(M.mqttConnectFailures, 'reason', 'auth')}}[${cfg.mqtt.authFailureWindow}]) > 0`
        + ` and ${by('job, instance, broker')} ${M.mqttConnected.name} == 0`,
        'mqtt', 'broker'),
      summary: 'MQTT broker {{ $labels.broker }} rejects the exporter\'s credentials',
      description: `Broker {{ $labels.broker }} answers, but refused the connection of the exporter {{ $labels.instance }} as not authorised (bad username or password, or not allowed) in the last ${cfg.mqtt.authFailureWindow}, and the exporter is not connected. The broker is up: StackwatchMqttBrokerDown is muted while this fires. If the broker's password file or ACL changed, other clients may be locked out too.`,
    }),
    a({
      name: 'StackwatchMqttSysStale', severity: 'warning', notify: 'page', role: 'cause',
      expr: asTarget(`time() - ${M.mqttSysLast.name} > ${cfg.mqtt.sysStaleSeconds}${brokerExplains}`, 'mqtt', 'broker'),
      summary: 'No $SYS messages from MQTT broker {{ $labels.broker }}',
      description: `The last $SYS message from broker {{ $labels.broker }} ${ON_EXPORTER} arrived {{ $value | humanizeDuration }} ago (limit ${cfg.mqtt.sysStaleSeconds}s): the broker is frozen or the connection is stale although it looks open.`,
    }),
    a({
      name: 'StackwatchMqttRoundtripFailing', severity: 'critical', notify: 'page', role: 'cause',
      expr: asTarget(
        `${events(M.mqttRoundtripFailures.name, cfg.mqtt.roundtripFailureWindow)} >= ${cfg.mqtt.roundtripFailures}`
        + ` unless ${by('job, instance, broker')} (increase(${M.mqttRoundtrip.name}_count[${cfg.mqtt.roundtripRecoveryWindow}]) > 0)${exists.broker}${brokerExplains}`,
        'mqtt', 'broker'),
      summary: 'MQTT round trips through {{ $labels.broker }} fail',
      description: `At least ${cfg.mqtt.roundtripFailures} probe messages published to broker {{ $labels.broker }} ${ON_EXPORTER} did not come back in the last ${cfg.mqtt.roundtripFailureWindow}, and none came back in the last ${cfg.mqtt.roundtripRecoveryWindow}: the broker accepts connections but does not deliver.`,
    }),
    a({
      name: 'StackwatchMqttRoundtripSlow', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: asTarget(`histogram_quantile(${cfg.mqtt.roundtripSlowQuantile}, sum by (job, instance, broker, le) (rate(${M.mqttRoundtrip.name}_bucket[5m]))) > ${cfg.mqtt.roundtripSlowSeconds}${exists.broker}`, 'mqtt', 'broker'),
      summary: 'MQTT round trips through {{ $labels.broker }} are slow',
      description: `The ${cfg.mqtt.roundtripSlowQuantile * 100}th percentile of probe round trips through broker {{ $labels.broker }} ${ON_EXPORTER} is {{ $value | humanizeDuration }} (limit ${cfg.mqtt.roundtripSlowSeconds}s).`,
    }),
    a({
      name: 'StackwatchMqttTopicSilent', severity: 'warning', notify: 'page', role: 'cause',
      expr: asTarget(`${M.mqttTopicSilent.name} == 1${brokerExplains}`, 'topic', 'topic'),
      summary: 'No message on MQTT topic {{ $labels.topic }} (broker {{ $labels.broker }})',
      description: `Nothing has been published on {{ $labels.topic }} through broker {{ $labels.broker }} ${ON_EXPORTER} for longer than its stale_after, for more than ${cfg.for.StackwatchMqttTopicSilent}: the broker delivers, but the device or worker that publishes there has stopped.`,
    }),
  ];

  const docker: AlertingRule[] = [
    a({
      name: 'StackwatchDockerApiDown', severity: 'warning', notify: 'page', role: 'cause',
      expr: `${M.dockerUp.name} == 0`,
      summary: 'stackwatch {{ $labels.instance }} cannot reach the Docker API',
      description: `The exporter {{ $labels.instance }} has had no answer from the Docker engine (or could not open its events stream) for more than ${cfg.for.StackwatchDockerApiDown}. Container states, restarts and OOM kills are not observed; the container alerts of this exporter are muted while this fires.`,
    }),
    a({
      name: 'StackwatchDockerEventsStreamDown', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: `${M.dockerEventsUp.name} == 0 unless ${by('job, instance')} ${M.dockerUp.name} == 0`,
      summary: 'Docker events stream of stackwatch {{ $labels.instance }} is closed',
      description: `The Docker API answers the exporter {{ $labels.instance }}, but its events stream has been closed for more than ${cfg.for.StackwatchDockerEventsStreamDown}: container starts, deaths, OOM kills and health changes are not seen until the stream reopens.`,
    }),
    a({
      name: 'StackwatchContainerUnhealthy', severity: 'critical', notify: 'page', role: 'cause',
      expr: asTarget(`${M.containerHealth.name}{${matcher(M.containerHealth, 'status', 'unhealthy')}} == 1`, 'container', 'container'),
      summary: 'Container {{ $labels.container }} is unhealthy',
      description: `Docker reports the health check of container {{ $labels.container }} ${ON_EXPORTER} as unhealthy for more than ${cfg.for.StackwatchContainerUnhealthy}. Check whether the check itself works (a missing curl in the image) before blaming the service.`,
    }),
    a({
      name: 'StackwatchContainerCrashLooping', severity: 'critical', notify: 'page', role: 'cause',
      expr: asTarget(`${events(M.containerRestarts.name, cfg.restarts.window)} >= ${cfg.restarts.count}${exists.container}`, 'container', 'container'),
      summary: 'Container {{ $labels.container }} is crash-looping',
      description: `Container {{ $labels.container }} ${ON_EXPORTER} restarted at least ${cfg.restarts.count} times in the last ${cfg.restarts.window}.`,
    }),
    a({
      name: 'StackwatchContainerOomKilled', severity: 'warning', notify: 'page', role: 'cause',
      // An OOM kill in the window; or a container that stayed down after one (exited with 137
      // after an OOM kill): the cause stays named for as long as the outage lasts.
      expr: asTarget(
        `(${events(M.containerOomKills.name, cfg.oomWindow)} > 0${exists.container})`
        + ` or (${M.containerOomKills.name} > 0 and ${by(C)} ${M.containerExitCode.name} == 137 and ${by(C)} ${M.containerState.name}{${matcher(M.containerState, 'state', 'exited')}} == 1)`,
        'container', 'container'),
      summary: 'Container {{ $labels.container }} was OOM-killed',
      description: `The kernel killed container {{ $labels.container }} ${ON_EXPORTER} for exceeding its memory limit in the last ${cfg.oomWindow}, or the container has stayed down since such a kill. Usually the end of a memory leak; see the memory floor slope.`,
    }),
    a({
      name: 'StackwatchContainerMemoryLeakSuspected', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: asTarget(
        `(${R.containerMemoryFloorSlope} > ${cfg.leak.minBytesPerHour} and ${R.containerMemoryFloorSlope} > ${num(cfg.leak.minRatioPerHour)} * ${R.containerMemoryFloor})`
        + ` unless ${by(C)} (increase(${M.containerRestarts.name}[${q}]) > 0)`
        + ` unless ${by(C)} (changes(${M.containerStartedAt.name}[${q}]) > 0)`
        + ` unless ${by(C)} (time() - ${M.containerStartedAt.name} < ${durationText(q)})${exists.container}`,
        'container', 'container'),
      summary: 'Container {{ $labels.container }} may be leaking memory',
      description: `The memory floor (minimum over 30m, so GC sawtooth does not count) of container {{ $labels.container }} ${ON_EXPORTER} has grown by more than ${humanBytes(cfg.leak.minBytesPerHour)} and ${num(cfg.leak.minRatioPerHour * 100)}% per hour for more than ${cfg.for.StackwatchContainerMemoryLeakSuspected}, with no restart in the last ${q}.`,
    }),
    a({
      name: 'StackwatchContainerMemoryExhaustion', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: asTarget(
        `${R.containerMemoryTimeToLimit} < ${cfg.exhaustionHorizonSeconds}`
        + ` unless ${by(C)} (time() - ${M.containerStartedAt.name} < ${durationText(q)})${exists.container}`,
        'container', 'container'),
      summary: 'Container {{ $labels.container }} will reach its memory limit soon',
      description: `At the current growth of its memory floor, container {{ $labels.container }} ${ON_EXPORTER} reaches its memory limit in {{ $value | humanizeDuration }}, then gets OOM-killed.`,
    }),
  ];

  const processes: AlertingRule[] = [
    a({
      name: 'StackwatchProcessNotRunning', severity: 'critical', notify: 'page', role: 'cause',
      expr: asTarget(`${M.processGroupProcesses.name} == 0`, 'process', 'group'),
      summary: 'No process of group {{ $labels.group }} is running',
      description: `The exporter {{ $labels.instance }} has found no process matching group {{ $labels.group }} for more than ${cfg.for.StackwatchProcessNotRunning}. Nothing restarted it.`,
    }),
    a({
      name: 'StackwatchProcessRestarting', severity: 'critical', notify: 'page', role: 'cause',
      expr: asTarget(`${events(M.processRestarts.name, cfg.restarts.window)} >= ${cfg.restarts.count}${exists.group}`, 'process', 'group'),
      summary: 'Processes of group {{ $labels.group }} keep restarting',
      description: `Processes of group {{ $labels.group }} ${ON_EXPORTER} were replaced at least ${cfg.restarts.count} times in the last ${cfg.restarts.window}: a crash loop, or a development reload flag in production.`,
    }),
    a({
      name: 'StackwatchProcessGroupAmbiguous', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: asTarget(`${M.processGroupExecutables.name} > 1`, 'process', 'group'),
      summary: 'Process group {{ $labels.group }} matches different programs',
      description: `The processes matching group {{ $labels.group }} ${ON_EXPORTER} have run {{ $value }} different executables for more than ${cfg.for.StackwatchProcessGroupAmbiguous}: its pattern likely also matches a wrapper (a supervisor script whose arguments name the program), which keeps the group up while the program is dead. Anchor the pattern; stackwatch processes --config FILE shows the matches.`,
    }),
    a({
      name: 'StackwatchProcessMemoryLeakSuspected', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: asTarget(
        `(${R.processMemoryFloorSlope} > ${cfg.leak.minBytesPerHour} and ${R.processMemoryFloorSlope} > ${num(cfg.leak.minRatioPerHour)} * ${R.processMemoryFloor})`
        + ` unless ${by(G)} (increase(${M.processRestarts.name}[${q}]) > 0)`
        + ` unless ${by(G)} (changes(${M.processOldestStart.name}[${q}]) > 0)`
        + ` unless ${by(G)} (time() - ${M.processOldestStart.name} < ${durationText(q)})${exists.group}`,
        'process', 'group'),
      summary: 'Process group {{ $labels.group }} may be leaking memory',
      description: `The resident-memory floor (minimum over 30m, so GC sawtooth does not count) of group {{ $labels.group }} ${ON_EXPORTER} has grown by more than ${humanBytes(cfg.leak.minBytesPerHour)} and ${num(cfg.leak.minRatioPerHour * 100)}% per hour for more than ${cfg.for.StackwatchProcessMemoryLeakSuspected}, with no restart in the last ${q}.`,
    }),
    a({
      name: 'StackwatchProcessFdLeak', severity: 'warning', notify: 'ticket', role: 'cause',
      expr: asTarget(
        `(predict_linear(${M.processOpenFds.name}[${cfg.fds.window}], ${cfg.fds.horizonSeconds}) >= ${by(G)} ${M.processMaxFds.name})`
        + ` and ${by(G)} (${M.processOpenFds.name} / ${M.processMaxFds.name} > ${num(cfg.fds.minUsedRatio)})`
        + ` unless ${by(G)} (increase(${M.processRestarts.name}[${cfg.fds.window}]) > 0)${exists.group}`,
        'process', 'group'),
      summary: 'Process group {{ $labels.group }} is leaking file descriptors',
      description: `Open file descriptors of group {{ $labels.group }} ${ON_EXPORTER} grow steadily and reach the limit within ${cfg.fds.horizonSeconds / 3600}h at this rate. Then accept() and open() fail.`,
    }),
  ];

  return [
    { name: 'stackwatch-exporter', rules: exporter },
    { name: 'stackwatch-availability', rules: availability },
    { name: 'stackwatch-health', rules: health },
    { name: 'stackwatch-mqtt', rules: mqtt },
    { name: 'stackwatch-docker', rules: docker },
    { name: 'stackwatch-processes', rules: processes },
  ];
}

/** Bytes as the alerts' texts write them: 1 MiB, 512 KiB. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${num(n)} ${units[i]!}`;
}

/** A duration as seconds, for comparisons with time() arithmetic. */
function durationText(d: Duration): string {
  return String(durationSeconds(d));
}

export function allAlerts(cfg: BundleConfig): AlertingRule[] {
  return alertGroups(cfg).flatMap((g) => g.rules);
}
