import type { BundleConfig } from '../bundle-config';
import { ALERT } from './alerts-ref';
import { boolMapping, type DashboardSpec } from './grafana';
import { commonVariables, M, RATE, RECONNECT_ATTEMPTS_FIELD, sel } from './query';

export const mqtt = (cfg: BundleConfig): DashboardSpec => ({
  uid: 'stackwatch-mqtt',
  title: 'stackwatch / MQTT broker',
  description: 'The broker as stackwatch sees it: connection, $SYS freshness, round trip, clients and traffic, restarts; and the backends\' own view of their MQTT connection.',
  tags: ['stackwatch'],
  time: 'now-6h',
  variables: commonVariables(cfg),
  rows: [
    {
      row: 'Connection',
      panels: [
        {
          type: 'stat', title: 'Connected', unit: 'none', w: 6, h: 5,
          description: 'Whether stackwatch\'s own client is connected to the broker and receiving $SYS messages.',
          queries: [{ expr: sel(M.mqttConnected), legend: '{{broker}}', instant: true }],
          mappings: [boolMapping('DISCONNECTED', 'CONNECTED')],
          thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
          runbook: [ALERT.brokerDown],
        },
        {
          type: 'stat', title: 'Broker uptime', unit: 's', w: 6, h: 5,
          description: 'Broker uptime from $SYS/broker/uptime. Drops to 0 on a broker restart.',
          queries: [{ expr: sel(M.mqttUptime), legend: '{{broker}}', instant: true }],
          colorMode: 'fixed',
          runbook: [ALERT.brokerDown],
        },
        {
          type: 'stat', title: '$SYS age', unit: 's', w: 6, h: 5,
          description: 'Seconds since the last $SYS message arrived. More than a few sys_intervals means a frozen broker or a stale connection ("connected" but silent).',
          queries: [{ expr: `time() - ${sel(M.mqttSysLast)}`, legend: '{{broker}}', instant: true }],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 30 }, { color: 'red', value: 60 }],
          runbook: [ALERT.sysStale],
        },
        {
          type: 'stat', title: 'Reconnects and broker restarts (selected range)', unit: 'none', w: 6, h: 5, decimals: 0,
          description: 'How often stackwatch\'s client reconnected, and how often the broker restarted ($SYS uptime went backwards), within the selected range.',
          queries: [
            { expr: `round(increase(${sel(M.mqttReconnects)}[$__range]))`, legend: '{{broker}} reconnects', instant: true },
            { expr: `round(increase(${sel(M.mqttBrokerRestarts)}[$__range]))`, legend: '{{broker}} restarts', instant: true },
          ],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 1 }],
          options: { textMode: 'value_and_name' },
          runbook: [ALERT.brokerDown],
        },
        {
          type: 'timeseries', title: 'Round trip p50 / p95', unit: 's', w: 8,
          description: 'Time from publishing a QoS 1 probe to receiving it back: the broker is really delivering, not just accepting connections.',
          queries: [0.5, 0.95].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (broker, le) (rate(${sel(M.mqttRoundtrip, [], '_bucket')}[${RATE}])))`,
            legend: `{{broker}} p${q * 100}`,
          })),
          runbook: [ALERT.roundtripSlow],
        },
        {
          type: 'timeseries', title: 'Round-trip failures', unit: 'ops', w: 8,
          description: 'Probes that did not come back within their timeout or could not be published, per second.',
          queries: [{ expr: `rate(${sel(M.mqttRoundtripFailures)}[${RATE}])`, legend: '{{broker}}' }],
          runbook: [ALERT.roundtripFailing],
        },
        {
          type: 'timeseries', title: 'Connection failures by reason', unit: 'ops', w: 8,
          description: 'Failed connection attempts of stackwatch\'s client per second, by reason: auth (bad credentials), refused, timeout, network, tls, other.',
          queries: [{ expr: `sum by (broker, reason) (rate(${sel(M.mqttConnectFailures)}[${RATE}]))`, legend: '{{broker}} {{reason}}' }],
          custom: { stacking: { mode: 'normal', group: 'A' }, fillOpacity: 40 },
          runbook: [ALERT.brokerDown],
        },
      ],
    },
    {
      row: 'Clients and traffic ($SYS)',
      panels: [
        {
          type: 'timeseries', title: 'Clients', unit: 'none', w: 12,
          description: 'Clients connected now, and the most connected at once since the broker started.',
          queries: [
            { expr: sel(M.mqttClientsConnected), legend: '{{broker}} connected' },
            { expr: sel(M.mqttClientsMaximum), legend: '{{broker}} maximum' },
          ],
        },
        {
          type: 'timeseries', title: 'Subscriptions, retained and stored messages', unit: 'none', w: 12,
          description: 'Subscriptions on the broker, retained messages, and messages stored (queued for clients). Stored messages growing means a consumer is not keeping up.',
          queries: [
            { expr: sel(M.mqttSubscriptions), legend: '{{broker}} subscriptions' },
            { expr: sel(M.mqttRetained), legend: '{{broker}} retained' },
            { expr: sel(M.mqttStored), legend: '{{broker}} stored' },
          ],
        },
        {
          type: 'timeseries', title: 'Messages per second', unit: 'mps', w: 12,
          description: 'Messages the broker received and sent per second, and PUBLISH messages it dropped.',
          queries: [
            { expr: `rate(${sel(M.mqttMsgsReceived)}[${RATE}])`, legend: '{{broker}} received' },
            { expr: `rate(${sel(M.mqttMsgsSent)}[${RATE}])`, legend: '{{broker}} sent' },
            { expr: `rate(${sel(M.mqttDropped)}[${RATE}])`, legend: '{{broker}} dropped' },
          ],
        },
        {
          type: 'timeseries', title: 'Bytes per second', unit: 'Bps', w: 12,
          description: 'Bytes the broker received and sent per second.',
          queries: [
            { expr: `rate(${sel(M.mqttBytesReceived)}[${RATE}])`, legend: '{{broker}} received' },
            { expr: `rate(${sel(M.mqttBytesSent)}[${RATE}])`, legend: '{{broker}} sent' },
          ],
        },
        {
          type: 'timeseries', title: 'Broker heap', unit: 'bytes', w: 12,
          description: 'Heap the broker has in use ($SYS/broker/heap/current; only published where mosquitto was built with memory tracking).',
          queries: [{ expr: sel(M.mqttHeap), legend: '{{broker}}' }],
        },
        {
          type: 'table', title: 'Application topics: last message age', unit: 's', w: 12,
          description: 'Seconds since the last message on each application topic filter named in the config. A topic that went silent while the client says "connected" is a stale connection: the client looks connected but nothing flows.',
          queries: [{ expr: `time() - ${sel(M.mqttTopicLast)}`, legend: '{{broker}} {{topic}}' }],
          transformations: [{ id: 'organize', options: { excludeByName: { Time: true, job: true }, renameByName: { Value: 'last message' } } }],
          runbook: [ALERT.backendMqttIdle],
        },
        {
          type: 'state-timeline', title: 'Application topics: silent', unit: 'none', w: 12, h: 7,
          description: 'Each application topic filter: silent (no message for longer than its stale_after) or speaking.',
          queries: [{ expr: sel(M.mqttTopicSilent), legend: '{{broker}} {{topic}}' }],
          mappings: [boolMapping('speaking', 'silent', 'green', 'red')],
          thresholds: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
          runbook: [ALERT.mqttTopicSilent],
        },
      ],
    },
    {
      row: 'Backends\' MQTT (from their health bodies)',
      panels: [
        {
          type: 'state-timeline', title: 'Backend MQTT connected', unit: 'none', w: 12, h: 7,
          description: `The backend's own view of its MQTT connection (health body field ${cfg.healthFields.mqttConnected}, e.g. mqtt.connected).`,
          queries: [{ expr: sel(M.healthField, [`field="${cfg.healthFields.mqttConnected}"`]), legend: '{{target}}' }],
          mappings: [boolMapping('disconnected', 'connected')],
          thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
          runbook: [ALERT.backendMqttDisconnected],
        },
        {
          type: 'timeseries', title: 'Backend MQTT idle time and reconnect attempts', unit: 's', w: 12, h: 7,
          description: `Seconds since the backend's MQTT client last saw traffic (field ${cfg.healthFields.mqttIdleSeconds}, e.g. mqtt.last_activity_seconds_ago), and its reconnect attempts (field ${RECONNECT_ATTEMPTS_FIELD}; right axis, a count).`,
          queries: [
            { expr: sel(M.healthField, [`field="${cfg.healthFields.mqttIdleSeconds}"`]), legend: '{{target}} idle' },
            { expr: sel(M.healthField, [`field="${RECONNECT_ATTEMPTS_FIELD}"`]), legend: '{{target}} reconnect attempts' },
          ],
          overrides: [{
            matcher: { id: 'byRegexp', options: '.* reconnect attempts' },
            properties: [{ id: 'unit', value: 'none' }, { id: 'custom.axisPlacement', value: 'right' }],
          }],
          runbook: [ALERT.backendMqttIdle],
        },
      ],
    },
  ],
});
