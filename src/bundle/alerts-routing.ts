/**
 * Alertmanager configuration (prometheus/alertmanager/alertmanager.yml) and its notification
 * template (prometheus/alertmanager/stackwatch.tmpl).
 *
 * Routing: one incident, one message. Pages (`notify="page"`) are grouped per exporter and target
 * name, whatever their kind and severity: the process group, the container and the HTTP endpoint
 * of one service share its name, so the cause (process gone, container unhealthy, OOM kill) and
 * the symptom (target down) land in one group and one message. Tickets (`notify="ticket"`) go to
 * their own receiver, one group per alert and target, at a calm pace. The Watchdog has its own
 * route. Resolved messages are on everywhere.
 *
 * Inhibitions (a cause mutes what it explains; never by severity alone):
 *  - a cause page mutes the symptoms (`role="symptom"`: target down, error budget burn, flapping,
 *    recovery time, health degraded) of the same target name on the same exporter;
 *  - the exporter down mutes every alert about the targets it watches (same job and instance);
 *  - an MQTT broker down mutes its own $SYS/round-trip alerts, and the alerts of the same
 *    exporter that depend on a broker (the backends' MQTT alerts, pending requests, degraded
 *    health); its silent topics are muted too;
 *  - the MQTT broker refusing the exporter's credentials mutes StackwatchMqttBrokerDown for that
 *    broker (it is up; the auth alert is the diagnosis; a muted alert still mutes others, so the
 *    broker's dependants stay muted);
 *  - the Docker API down mutes the container alerts (`kind="container"`) of the same exporter:
 *    it observes no container while the engine does not answer.
 */
import { type BundleConfig, type RouteTiming } from './bundle-config';
import { withMaintenance } from './maintenance-routing';

export const RECEIVERS = ['default', 'watchdog', 'page', 'ticket'] as const;
export type Receiver = (typeof RECEIVERS)[number];

/** The labels an incident is grouped by: which exporter, which target (service) name. */
export const PAGE_GROUP_BY = ['job', 'instance', 'target'] as const;

/** Alerts muted while the broker they depend on is down. */
export const BROKER_DEPENDENT_BROKER_ALERTS = ['StackwatchMqttSysStale', 'StackwatchMqttRoundtripFailing', 'StackwatchMqttRoundtripSlow', 'StackwatchMqttTopicSilent'] as const;
export const BROKER_DEPENDENT_BACKEND_ALERTS = ['StackwatchBackendMqttDisconnected', 'StackwatchBackendMqttIdle', 'StackwatchPendingRequestsGrowing', 'StackwatchHealthDegraded'] as const;
/** Target kind whose alerts are muted while the exporter cannot reach the Docker API. */
export const DOCKER_DEPENDENT_KIND = 'container';

/** File name of the notification template, next to alertmanager.yml. */
export const TEMPLATE_FILE = 'stackwatch.tmpl';

/**
 * The notification text for receivers that render one (chat, mail): the causes first, then the
 * symptoms still shown, then what resolved and how long it lasted. Webhook receivers get the
 * same alerts as JSON (labels `role`, `notify`; annotations; startsAt/endsAt).
 */
export const NOTIFICATION_TEMPLATE = `{{/* stackwatch: one message per incident (an Alertmanager group: one target of one exporter). */}}
{{ define "stackwatch.title" -}}
[{{ if eq .Status "firing" }}FIRING{{ else }}RESOLVED{{ end }}] {{ with .GroupLabels.target }}{{ . }}{{ else }}{{ .CommonLabels.alertname }}{{ end }}:
{{- range .Alerts.Firing }}{{ if eq .Labels.role "cause" }} {{ .Annotations.summary }};{{ end }}{{ end }}
{{- range .Alerts.Firing }}{{ if ne .Labels.role "cause" }} {{ .Annotations.summary }};{{ end }}{{ end }}
{{- if eq .Status "resolved" }}{{ range .Alerts.Resolved }} {{ .Annotations.summary }};{{ end }}{{ end }}
{{- end }}

{{ define "stackwatch.text" -}}
{{ range .Alerts.Firing }}{{ if eq .Labels.role "cause" }}Cause: {{ .Annotations.summary }} ({{ .Labels.severity }}, since {{ .StartsAt.Format "15:04:05 MST" }})
  {{ .Annotations.description }}
  Runbook: {{ .Annotations.runbook_url }}
{{ end }}{{ end -}}
{{ range .Alerts.Firing }}{{ if ne .Labels.role "cause" }}Symptom: {{ .Annotations.summary }} ({{ .Labels.severity }}, since {{ .StartsAt.Format "15:04:05 MST" }})
  {{ .Annotations.description }}
  Runbook: {{ .Annotations.runbook_url }}
{{ end }}{{ end -}}
{{ range .Alerts.Resolved }}Resolved: {{ .Annotations.summary }} (lasted {{ .EndsAt.Sub .StartsAt }})
{{ end -}}
{{ end }}
`;

export function alertmanagerConfig(cfg: BundleConfig): Record<string, unknown> {
  const am = cfg.alertmanager;
  // One shape for every receiver; notification channels (chat, mail) are added to it.
  const receiver = (name: Receiver) => ({
    name,
    webhook_configs: [{ url: `${am.webhookBaseUrl}/${name}`, send_resolved: true }],
  });
  const timing = (t: RouteTiming) => ({ group_wait: t.groupWait, group_interval: t.groupInterval, repeat_interval: t.repeatInterval });
  // Maintenance windows: time_intervals, mute routes, the maintenance alert's inhibition (./maintenance-routing.ts).
  return withMaintenance({
    templates: [TEMPLATE_FILE],
    route: {
      receiver: 'default',
      group_by: ['alertname', 'job', 'instance'],
      ...timing(am.other),
      routes: [
        {
          receiver: 'watchdog',
          matchers: ['alertname="StackwatchWatchdog"'],
          group_wait: '0s',
          group_interval: am.watchdogRepeatInterval,
          repeat_interval: am.watchdogRepeatInterval,
        },
        { receiver: 'page', matchers: ['notify="page"'], group_by: [...PAGE_GROUP_BY], ...timing(am.page) },
        { receiver: 'ticket', matchers: ['notify="ticket"'], group_by: ['alertname', 'job', 'instance', 'target'], ...timing(am.ticket) },
      ],
    },
    inhibit_rules: [
      {
        source_matchers: ['role="cause"', 'notify="page"'],
        target_matchers: ['role="symptom"'],
        equal: [...PAGE_GROUP_BY],
      },
      {
        source_matchers: ['alertname="StackwatchExporterDown"'],
        target_matchers: ['alertname=~"Stackwatch.+"', 'alertname!~"StackwatchExporter.*|StackwatchWatchdog"'],
        equal: ['job', 'instance'],
      },
      {
        source_matchers: ['alertname="StackwatchMqttBrokerDown"'],
        target_matchers: [`alertname=~"${BROKER_DEPENDENT_BROKER_ALERTS.join('|')}"`],
        equal: ['job', 'instance', 'broker'],
      },
      {
        source_matchers: ['alertname="StackwatchMqttBrokerDown"'],
        target_matchers: [`alertname=~"${BROKER_DEPENDENT_BACKEND_ALERTS.join('|')}"`],
        equal: ['job', 'instance'],
      },
      {
        source_matchers: ['alertname="StackwatchMqttAuthFailing"'],
        target_matchers: ['alertname="StackwatchMqttBrokerDown"'],
        equal: ['job', 'instance', 'broker'],
      },
      {
        source_matchers: ['alertname="StackwatchDockerApiDown"'],
        target_matchers: [`kind="${DOCKER_DEPENDENT_KIND}"`],
        equal: ['job', 'instance'],
      },
    ],
    receivers: RECEIVERS.map(receiver),
  }, cfg.maintenance);
}
