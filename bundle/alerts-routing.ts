/**
 * Alertmanager configuration (prometheus/alertmanager/alertmanager.yml): routing by severity,
 * grouping per target, a Watchdog route, webhook receivers and the inhibitions:
 *  - the exporter down mutes the alerts about the targets it watches (same job and instance);
 *  - an MQTT broker down mutes the alerts that depend on it (its own $SYS/round-trip alerts, and
 *    the backends' MQTT alerts seen by the same exporter);
 *  - the MQTT broker refusing the exporter's credentials mutes StackwatchMqttBrokerDown for that
 *    broker (it is up; the auth alert is the diagnosis, and as a source of the broker inhibitions
 *    the muted BrokerDown still mutes what depends on the broker);
 *  - the Docker API down mutes the container alerts (`kind="container"`) of the same exporter:
 *    it observes no container while the engine does not answer;
 *  - a critical alert mutes warnings for the same target (job, instance, kind, target).
 */
import { type BundleConfig, SEVERITIES } from './bundle-config';

export const RECEIVERS = ['default', 'watchdog', ...SEVERITIES] as const;
export type Receiver = (typeof RECEIVERS)[number];

/** Alerts muted while the broker they depend on is down. */
export const BROKER_DEPENDENT_BROKER_ALERTS = ['StackwatchMqttSysStale', 'StackwatchMqttRoundtripFailing', 'StackwatchMqttRoundtripSlow'] as const;
export const BROKER_DEPENDENT_BACKEND_ALERTS = ['StackwatchBackendMqttDisconnected', 'StackwatchBackendMqttIdle', 'StackwatchPendingRequestsGrowing', 'StackwatchHealthDegraded'] as const;
/** Target kind whose alerts are muted while the exporter cannot reach the Docker API. */
export const DOCKER_DEPENDENT_KIND = 'container';

export function alertmanagerConfig(cfg: BundleConfig): Record<string, unknown> {
  const am = cfg.alertmanager;
  const receiver = (name: Receiver) => ({
    name,
    webhook_configs: [{ url: `${am.webhookBaseUrl}/${name}`, send_resolved: true }],
  });
  return {
    route: {
      receiver: 'default',
      group_by: ['alertname', 'job', 'instance', 'kind', 'target'],
      group_wait: am.groupWait,
      group_interval: am.groupInterval,
      repeat_interval: am.repeatInterval.warning,
      routes: [
        {
          receiver: 'watchdog',
          matchers: ['alertname="StackwatchWatchdog"'],
          group_wait: '0s',
          group_interval: am.watchdogRepeatInterval,
          repeat_interval: am.watchdogRepeatInterval,
        },
        ...SEVERITIES.map((s) => ({ receiver: s, matchers: [`severity="${s}"`], repeat_interval: am.repeatInterval[s] })),
      ],
    },
    inhibit_rules: [
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
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ['job', 'instance', 'kind', 'target'],
      },
    ],
    receivers: RECEIVERS.map(receiver),
  };
}
