/**
 * Every metric stackwatch exports, in one place: name, type, help, labels, and for each label
 * either its fixed list of values or where its values come from.
 *
 * Collectors create their instruments from these definitions (see ./instruments.ts), typed by
 * their label names; the enumerated values below are what collectors emit and what the bundle's
 * rules and dashboards match on; the HELP text lists them, and docs/metrics.md is generated from
 * this file (npm run docs). A name or a value that is not here is not exported.
 *
 * Observation runs on each target's own schedule, not at scrape time (README, "Why
 * observation runs on its own schedule"): HELP texts of availability metrics say so.
 */

export type MetricType = 'gauge' | 'counter' | 'histogram';

export type MetricGroup = 'availability' | 'http' | 'mqtt' | 'docker' | 'process' | 'logs' | 'exporter';

/** A label whose values are a fixed list; a note explains a value where its name does not. */
export interface Enumerated<V extends string = string> {
  readonly values: readonly V[];
  readonly notes: { readonly [K in V]?: string };
}

/** A label whose values come from outside the code: the configuration, Docker, the host. */
export interface Origin {
  readonly from: string;
}

export type LabelSpec = Enumerated | Origin;
export type LabelSpecs = { readonly [label: string]: LabelSpec };

export interface MetricDef<N extends string = string, L extends string = string> {
  readonly name: N;
  readonly type: MetricType;
  /** The HELP text: the description, then the values of each enumerated label. */
  readonly help: string;
  /** The description alone (docs/metrics.md lists the values in their own column). */
  readonly description: string;
  readonly labels: readonly L[];
  /** Each label's values, or where they come from. */
  readonly spec: { readonly [K in L]: LabelSpec };
  /** Histogram buckets, in the metric's base unit. */
  readonly buckets?: readonly number[];
  /** Section of docs/metrics.md. */
  readonly group: MetricGroup;
}

/** The label names of a definition. */
export type LabelOf<D extends MetricDef> = D['labels'][number];
/** The labels of a definition that have a fixed list of values. */
export type EnumLabelOf<D extends MetricDef> = {
  [K in LabelOf<D>]: D['spec'][K] extends Enumerated ? K : never
}[LabelOf<D>];
/** The values a label of a definition can take (string for labels whose values come from elsewhere). */
export type ValueOf<D extends MetricDef, K extends LabelOf<D>> = D['spec'][K] extends Enumerated<infer V> ? V : string;
/** The values of an enumerated list. */
export type ValuesOf<E extends Enumerated> = E['values'][number];

export function isEnumerated(s: LabelSpec): s is Enumerated {
  return 'values' in s;
}

/** A fixed list of label values, with notes for those whose name needs explaining. */
export function oneOf<const V extends string>(values: readonly V[], notes: { readonly [K in V]?: string } = {}): Enumerated<V> {
  return { values, notes };
}

/** Where a label's values come from, when they are not a fixed list. */
export function from(text: string): Origin {
  return { from: text };
}

export const GROUP_TITLES: Record<MetricGroup, string> = {
  availability: 'Availability (every kind of target)',
  http: 'HTTP health',
  mqtt: 'MQTT broker',
  docker: 'Docker containers',
  process: 'Processes',
  logs: 'Access logs (real traffic)',
  exporter: 'The exporter itself',
};

/** Buckets for outage lengths: from a quick automatic restart to a day of manual recovery. */
export const RECOVERY_BUCKETS = [1, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400] as const;
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Real requests: from cached answers to slow uploads and long polls. */
export const LOG_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

const SCHEDULE_NOTE = 'Observed on the target\'s own interval, not at scrape time.';

/**
 * A list of values as text: `a, b (note), c`; runs of three or more consecutive numbers are
 * written as a range (`500-599`).
 */
export function valueList(e: Enumerated, quote: (v: string) => string = (v) => v): string {
  const out: string[] = [];
  const vs = e.values;
  for (let i = 0; i < vs.length; i++) {
    let j = i;
    while (j + 1 < vs.length && /^\d+$/.test(vs[j]!) && vs[j + 1] === String(Number(vs[j]) + 1) && e.notes[vs[j]!] === undefined) j++;
    if (j - i >= 2) {
      out.push(`${quote(vs[i]!)}-${quote(vs[j]!)}`);
      i = j;
      continue;
    }
    const note = e.notes[vs[i]!];
    out.push(note === undefined ? quote(vs[i]!) : `${quote(vs[i]!)} (${note})`);
  }
  return out.join(', ');
}

function def<const N extends string, const K extends MetricType, const S extends LabelSpecs>(
  name: N,
  type: K,
  group: MetricGroup,
  spec: S,
  description: string,
  buckets?: readonly number[],
): MetricDef<N, keyof S & string> & { type: K; spec: S } {
  const labels = Object.keys(spec) as (keyof S & string)[];
  let help = description;
  for (const l of labels) {
    const s = spec[l]!;
    if (isEnumerated(s)) help += ` ${l}: ${valueList(s)}.`;
  }
  const d = { name, type, group, labels, spec, help, description };
  return buckets ? { ...d, buckets } : d;
}

// --- enumerated label values -----------------------------------------------------------------

/** The kinds of availability target (`kind` label of the stackwatch_target_* metrics). */
export const TARGET_KINDS = oneOf(['http', 'mqtt', 'container', 'process', 'traffic'], {
  http: 'an HTTP health target', mqtt: 'an MQTT broker', container: 'a Docker container',
  process: 'a declared process group', traffic: 'a log source with a traffic block',
});
export type TargetKind = ValuesOf<typeof TARGET_KINDS>;

export const HTTP_FAILURE_REASONS = oneOf(
  ['timeout', 'connect', 'dns', 'tls', 'status', 'body_too_large', 'invalid_json', 'condition', 'internal'],
  { internal: 'the check itself could not run, e.g. an unusable TLS file' },
);
export type HttpFailureReason = ValuesOf<typeof HTTP_FAILURE_REASONS>;

/** The tri-state status read from a health body, and unknown when it cannot be read or mapped. */
export const HEALTH_STATUSES = oneOf(['healthy', 'degraded', 'unhealthy', 'unknown']);
export type HealthStatus = ValuesOf<typeof HEALTH_STATUSES>;

export const MQTT_CONNECT_FAILURE_REASONS = oneOf(['auth', 'refused', 'timeout', 'network', 'tls', 'other'], {
  auth: 'bad credentials, not authorized', refused: 'other CONNACK refusals',
});
export type MqttConnectFailureReason = ValuesOf<typeof MQTT_CONNECT_FAILURE_REASONS>;

export const MQTT_DROP_REASONS = oneOf(['too_large', 'error'], {
  too_large: 'over mqtt maximum_packet_size; brokers speaking MQTT 5 drop these before sending, see $SYS/broker/publish/messages/dropped',
  error: 'handling the message failed',
});
export type MqttDropReason = ValuesOf<typeof MQTT_DROP_REASONS>;

/** Docker's container states (State.Status). */
export const CONTAINER_STATES = oneOf(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead']);
export type ContainerState = ValuesOf<typeof CONTAINER_STATES>;

/** Docker's health-check states, and none for a container without a health check. */
export const CONTAINER_HEALTH_STATES = oneOf(['starting', 'healthy', 'unhealthy', 'none'], { none: 'no health check' });
export type ContainerHealthState = ValuesOf<typeof CONTAINER_HEALTH_STATES>;

export const CPU_MODES = oneOf(['user', 'system']);
export type CpuMode = ValuesOf<typeof CPU_MODES>;

export const PROC_READ_ERROR_REASONS = oneOf(['permission', 'parse', 'other']);
export type ProcReadErrorReason = ValuesOf<typeof PROC_READ_ERROR_REASONS>;

/** Request methods of the access logs: the standard ones, and other for the rest. */
export const LOG_METHODS = oneOf(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'other']);
export type LogMethod = ValuesOf<typeof LOG_METHODS>;

/** Status codes of the access logs: the exact code for 429, 499 and 5xx, else the class. */
export const LOG_CODES = oneOf(['1xx', '2xx', '3xx', '4xx', '429', '499', ...Array.from({ length: 100 }, (_, i) => String(500 + i))]);

export const LOG_PARSE_FAILURE_REASONS = oneOf(['no_match', 'bad_status', 'invalid_json', 'too_long'], {
  no_match: 'not the format', too_long: 'over max_line_bytes, skipped',
});
export type LogParseFailureReason = ValuesOf<typeof LOG_PARSE_FAILURE_REASONS>;

export const LOG_ROTATION_KINDS = oneOf(['rotated', 'truncated'], {
  rotated: 'renamed or deleted, then a new file', truncated: 'truncated in place, as by copytruncate',
});
export type LogRotationKind = ValuesOf<typeof LOG_ROTATION_KINDS>;

/** The collectors (one per kind; see src/collectors/index.ts). */
export const COLLECTOR_NAMES = oneOf(['http', 'docker', 'mqtt', 'process', 'logs']);
export type CollectorName = ValuesOf<typeof COLLECTOR_NAMES>;

export const COLLECTOR_ERROR_REASONS = oneOf(['internal', 'resources'], {
  internal: 'an exception inside a check, cycle or event handler, or a target\'s unusable setup; recorded as a failed observation of the targets concerned',
  resources: 'the exporter ran out of file descriptors or memory; the check is not counted, so the target is not reported down for it',
});
export type CollectorErrorReason = ValuesOf<typeof COLLECTOR_ERROR_REASONS>;

export const WEB_REFUSAL_REASONS = oneOf(['tls_handshake', 'client_certificate', 'unauthorized', 'auth_busy', 'cross_origin', 'lifecycle_disabled'], {
  unauthorized: 'basic auth', auth_busy: 'too many password checks waiting',
});
export type WebRefusalReason = ValuesOf<typeof WEB_REFUSAL_REASONS>;

export const STORAGE_OPERATIONS = oneOf(['write', 'read'], { read: 'at start' });
export type StorageOperation = ValuesOf<typeof STORAGE_OPERATIONS>;

// --- labels whose values come from elsewhere -------------------------------------------------

const TARGET = from('config: the target\'s name; for kind container, the container\'s name');
const T = { kind: TARGET_KINDS, target: TARGET } as const;
const HTTP_TARGET = from('config: http target names');
const BROKER = from('config: mqtt broker names');
const CONTAINER = from('Docker: container names (those the docker filters select)');
const GROUP = from('config: process group names; with process_discovery also the names of the busiest processes');
const SOURCE = from('config: log source names');
const ROUTE = from('config: the source\'s route names, and other');
const HOST = from('the host');
const BUILD = from('the build');

export const M = {
  // --- availability (owned by src/availability.ts) ---
  targetUp: def('stackwatch_target_up', 'gauge', 'availability', T,
    `1 if the target currently counts as up, 0 if down (after flap damping). ${SCHEDULE_NOTE}`),
  targetChecks: def('stackwatch_target_checks_total', 'counter', 'availability', T,
    'Observations of the target (HTTP probes, MQTT round trips, container and process sightings).'),
  targetCheckFailures: def('stackwatch_target_check_failures_total', 'counter', 'availability', T,
    'Observations of the target that failed.'),
  targetLastCheck: def('stackwatch_target_last_check_timestamp_seconds', 'gauge', 'availability', T,
    'Unix time of the last observation of the target.'),
  targetLastTransition: def('stackwatch_target_last_transition_timestamp_seconds', 'gauge', 'availability', T,
    'Unix time the target last changed between up and down (the time of the first observation of the new state).'),
  targetOutages: def('stackwatch_target_outages_total', 'counter', 'availability', T,
    'Outages of the target: transitions from up to down (a target down at its first observation counts one).'),
  targetDowntime: def('stackwatch_target_downtime_seconds_total', 'counter', 'availability', T,
    `Seconds the target has been down, including the outage in progress. ${SCHEDULE_NOTE}`),
  targetRecovery: def('stackwatch_target_recovery_seconds', 'histogram', 'availability', T,
    'Length of each outage that ended, observed once at recovery (MTTR = rate(_sum)/rate(_count)).',
    RECOVERY_BUCKETS),
  targetInMaintenance: def('stackwatch_target_in_maintenance', 'gauge', 'availability', T,
    '1 while the target is inside a configured maintenance window (maintenance.windows), else 0. Checks made inside a window are not counted in the checks and failures counters, and an outage that starts inside one is not counted as an outage.'),

  // --- HTTP health (src/collectors/http.ts) ---
  httpDuration: def('stackwatch_http_request_duration_seconds', 'histogram', 'http', { target: HTTP_TARGET },
    'Duration of health requests, from sending to the end of the body, including failed ones.', LATENCY_BUCKETS),
  httpStatusCode: def('stackwatch_http_status_code', 'gauge', 'http', { target: HTTP_TARGET },
    'HTTP status code of the last response (0 when no response arrived).'),
  httpFailures: def('stackwatch_http_failures_total', 'counter', 'http', { target: HTTP_TARGET, reason: HTTP_FAILURE_REASONS },
    'Failed health checks, by reason.'),
  healthStatus: def('stackwatch_health_status', 'gauge', 'http', { target: HTTP_TARGET, status: HEALTH_STATUSES },
    'State set of the status string in the health body: 1 for the current status, 0 for the others.'),
  healthField: def('stackwatch_health_field', 'gauge', 'http', { target: HTTP_TARGET, field: from('config: json.fields names of the target') },
    'Numbers and booleans (1/0) picked out of the health JSON body by configured paths; absent when the field is missing.'),
  httpCertExpiry: def('stackwatch_http_tls_cert_expiry_timestamp_seconds', 'gauge', 'http', { target: HTTP_TARGET },
    'Unix time the server\'s TLS certificate expires (HTTPS targets).'),

  // --- MQTT (src/collectors/mqtt.ts) ---
  mqttConnected: def('stackwatch_mqtt_connected', 'gauge', 'mqtt', { broker: BROKER },
    '1 while the exporter\'s client is connected to the broker and receiving $SYS messages.'),
  mqttReconnects: def('stackwatch_mqtt_reconnects_total', 'counter', 'mqtt', { broker: BROKER },
    'Reconnections of the exporter\'s client to the broker (after a drop or a stale-connection watchdog reset).'),
  mqttConnectFailures: def('stackwatch_mqtt_connect_failures_total', 'counter', 'mqtt', { broker: BROKER, reason: MQTT_CONNECT_FAILURE_REASONS },
    'Failed connection attempts, by reason.'),
  mqttSysLast: def('stackwatch_mqtt_sys_last_message_timestamp_seconds', 'gauge', 'mqtt', { broker: BROKER },
    'Unix time the last $SYS message arrived from the broker.'),
  mqttUptime: def('stackwatch_mqtt_broker_uptime_seconds', 'gauge', 'mqtt', { broker: BROKER },
    'Broker uptime ($SYS/broker/uptime).'),
  mqttClientsConnected: def('stackwatch_mqtt_broker_clients_connected', 'gauge', 'mqtt', { broker: BROKER },
    'Clients connected to the broker ($SYS/broker/clients/connected).'),
  mqttClientsMaximum: def('stackwatch_mqtt_broker_clients_maximum', 'gauge', 'mqtt', { broker: BROKER },
    'Most clients connected at once since the broker started ($SYS/broker/clients/maximum).'),
  mqttSubscriptions: def('stackwatch_mqtt_broker_subscriptions', 'gauge', 'mqtt', { broker: BROKER },
    'Subscriptions on the broker ($SYS/broker/subscriptions/count).'),
  mqttRetained: def('stackwatch_mqtt_broker_retained_messages', 'gauge', 'mqtt', { broker: BROKER },
    'Retained messages on the broker ($SYS/broker/retained messages/count).'),
  mqttStored: def('stackwatch_mqtt_broker_messages_stored', 'gauge', 'mqtt', { broker: BROKER },
    'Messages stored by the broker ($SYS/broker/messages/stored).'),
  mqttMsgsReceived: def('stackwatch_mqtt_broker_messages_received_total', 'counter', 'mqtt', { broker: BROKER },
    'Messages the broker received since it started ($SYS/broker/messages/received).'),
  mqttMsgsSent: def('stackwatch_mqtt_broker_messages_sent_total', 'counter', 'mqtt', { broker: BROKER },
    'Messages the broker sent since it started ($SYS/broker/messages/sent).'),
  mqttDropped: def('stackwatch_mqtt_broker_publish_messages_dropped_total', 'counter', 'mqtt', { broker: BROKER },
    'PUBLISH messages the broker dropped ($SYS/broker/publish/messages/dropped).'),
  mqttBytesReceived: def('stackwatch_mqtt_broker_bytes_received_total', 'counter', 'mqtt', { broker: BROKER },
    'Bytes the broker received since it started ($SYS/broker/bytes/received).'),
  mqttBytesSent: def('stackwatch_mqtt_broker_bytes_sent_total', 'counter', 'mqtt', { broker: BROKER },
    'Bytes the broker sent since it started ($SYS/broker/bytes/sent).'),
  mqttHeap: def('stackwatch_mqtt_broker_heap_current_bytes', 'gauge', 'mqtt', { broker: BROKER },
    'Broker heap in use ($SYS/broker/heap/current; only where mosquitto was built with memory tracking).'),
  mqttBrokerRestarts: def('stackwatch_mqtt_broker_restarts_total', 'counter', 'mqtt', { broker: BROKER },
    'Broker restarts seen by the exporter (its uptime, or one of its running totals, went backwards).'),
  mqttSysParseErrors: def('stackwatch_mqtt_sys_parse_errors_total', 'counter', 'mqtt', { broker: BROKER },
    '$SYS payloads that did not parse as a number and were skipped.'),
  mqttRoundtrip: def('stackwatch_mqtt_roundtrip_seconds', 'histogram', 'mqtt', { broker: BROKER },
    'Time from publishing a probe message (QoS 1) to receiving it back.', LATENCY_BUCKETS),
  mqttRoundtripFailures: def('stackwatch_mqtt_roundtrip_failures_total', 'counter', 'mqtt', { broker: BROKER },
    'Round-trip probes that did not come back within their timeout or could not be published.'),
  mqttMessagesDropped: def('stackwatch_mqtt_messages_dropped_total', 'counter', 'mqtt', { broker: BROKER, reason: MQTT_DROP_REASONS },
    'Messages the exporter\'s client discarded, by reason.'),
  mqttTopicLast: def('stackwatch_mqtt_topic_last_message_timestamp_seconds', 'gauge', 'mqtt', { broker: BROKER, topic: from('config: the broker\'s topic filters') },
    'Unix time the last message arrived on an application topic filter named in config.'),
  mqttTopicSilent: def('stackwatch_mqtt_topic_silent', 'gauge', 'mqtt', { broker: BROKER, topic: from('config: the broker\'s topic filters') },
    '1 while no message has arrived on an application topic filter for longer than its stale_after (counted from the exporter\'s start when none ever arrived), 0 otherwise.'),

  // --- Docker (src/collectors/docker.ts) ---
  dockerUp: def('stackwatch_docker_up', 'gauge', 'docker', {},
    '1 if the Docker API answered the last request.'),
  dockerEventsUp: def('stackwatch_docker_events_stream_up', 'gauge', 'docker', {},
    '1 while the Docker events stream is open.'),
  containerState: def('stackwatch_container_state', 'gauge', 'docker', { container: CONTAINER, state: CONTAINER_STATES },
    'State set of the container: 1 for its current state, 0 for the others.'),
  containerHealth: def('stackwatch_container_health_status', 'gauge', 'docker', { container: CONTAINER, status: CONTAINER_HEALTH_STATES },
    'State set of the container health check: 1 for its current status, 0 for the others.'),
  containerRestarts: def('stackwatch_container_restarts_total', 'counter', 'docker', { container: CONTAINER },
    'Restarts of the container (a die followed by a start), consistent with Docker\'s RestartCount.'),
  containerOomKills: def('stackwatch_container_oom_kills_total', 'counter', 'docker', { container: CONTAINER },
    'OOM kills of the container: oom events (a burst within 10 s counts once) and State.OOMKilled of exits not seen as events.'),
  containerExitCode: def('stackwatch_container_last_exit_code', 'gauge', 'docker', { container: CONTAINER },
    'Exit code of the container\'s last exit.'),
  containerStartedAt: def('stackwatch_container_started_at_timestamp_seconds', 'gauge', 'docker', { container: CONTAINER },
    'Unix time the container last started.'),
  containerMemUsage: def('stackwatch_container_memory_usage_bytes', 'gauge', 'docker', { container: CONTAINER },
    'Memory in use by the container (working set: cgroup usage minus inactive file cache).'),
  containerMemLimit: def('stackwatch_container_memory_limit_bytes', 'gauge', 'docker', { container: CONTAINER },
    'Memory limit of the container (absent when unlimited).'),
  containerCpu: def('stackwatch_container_cpu_seconds_total', 'counter', 'docker', { container: CONTAINER },
    'CPU time used by the container, summed over its runs (read from its cgroup every resources_interval).'),
  containerInfo: def('stackwatch_container_info', 'gauge', 'docker', {
    container: CONTAINER, image: from('Docker: the container\'s image'),
    compose_project: from('Docker: the container\'s com.docker.compose.project label (empty without)'),
    compose_service: from('Docker: the container\'s com.docker.compose.service label (empty without)'),
  },
    'Facts about the container; the value is always 1.'),
  dockerEventErrors: def('stackwatch_docker_event_errors_total', 'counter', 'docker', {},
    'Docker events stream lines that could not be parsed or were too long, skipped.'),

  // --- processes (src/collectors/process.ts) ---
  processGroupProcesses: def('stackwatch_process_group_processes', 'gauge', 'process', { group: GROUP },
    'Processes matching the group.'),
  processGroupExecutables: def('stackwatch_process_group_executables', 'gauge', 'process', { group: GROUP },
    'Distinct executables among the processes matching a declared group; above 1 the pattern likely also matches a wrapper (e.g. `bash supervise.sh node app.js` for cmdline "node"): anchor it (stackwatch processes shows the matches).'),
  processRestarts: def('stackwatch_process_restarts_total', 'counter', 'process', { group: GROUP },
    'Restarts in a declared group: a matching process ended and a new one started (pid + start time identity).'),
  processCpu: def('stackwatch_process_cpu_seconds_total', 'counter', 'process', { group: GROUP, mode: CPU_MODES },
    'CPU time used by the group\'s processes, by mode; processes that exited stay counted.'),
  processRss: def('stackwatch_process_resident_memory_bytes', 'gauge', 'process', { group: GROUP },
    'Resident memory of the group\'s processes.'),
  processVirtual: def('stackwatch_process_virtual_memory_bytes', 'gauge', 'process', { group: GROUP },
    'Virtual memory of the group\'s processes.'),
  processOpenFds: def('stackwatch_process_open_fds', 'gauge', 'process', { group: GROUP },
    'Open file descriptors of the group\'s processes.'),
  processMaxFds: def('stackwatch_process_max_fds', 'gauge', 'process', { group: GROUP },
    'Lowest open-files limit among the group\'s processes.'),
  processThreads: def('stackwatch_process_threads', 'gauge', 'process', { group: GROUP },
    'Threads of the group\'s processes.'),
  processOldestStart: def('stackwatch_process_oldest_start_time_seconds', 'gauge', 'process', { group: GROUP },
    'Unix time the oldest process of the group started.'),
  processReadErrors: def('stackwatch_process_read_errors_total', 'counter', 'process', { reason: PROC_READ_ERROR_REASONS },
    'Errors reading /proc other than processes vanishing mid-read, by reason.'),
  hostInfo: def('stackwatch_host_info', 'gauge', 'process', { hostname: HOST, os: HOST, kernel: HOST, arch: HOST },
    'Facts about the host; the value is always 1.'),

  // --- access logs (src/collectors/logs.ts) ---
  logRequests: def('stackwatch_log_requests_total', 'counter', 'logs', { source: SOURCE, route: ROUTE, method: LOG_METHODS, code: LOG_CODES },
    'Requests in the access log, by route (the first configured pattern that matches the path, else other), method and status code (the exact code for 429, 499 and 5xx, else the class).'),
  logRequestDuration: def('stackwatch_log_request_duration_seconds', 'histogram', 'logs', { source: SOURCE, route: ROUTE },
    'Request durations the access log records (nginx $request_time and equivalents); lines without one are not observed.',
    LOG_LATENCY_BUCKETS),
  logUpstreamDuration: def('stackwatch_log_upstream_duration_seconds', 'histogram', 'logs', { source: SOURCE, route: ROUTE },
    'Upstream response times the access log records (nginx $upstream_response_time, summed over the upstreams tried).',
    LOG_LATENCY_BUCKETS),
  logResponseBytes: def('stackwatch_log_response_bytes_total', 'counter', 'logs', { source: SOURCE, route: ROUTE },
    'Response body bytes the access log records.'),
  logParseFailures: def('stackwatch_log_parse_failures_total', 'counter', 'logs', { source: SOURCE, reason: LOG_PARSE_FAILURE_REASONS },
    'Lines that were not counted as requests, by reason.'),
  logSourceInfo: def('stackwatch_log_source_info', 'gauge', 'logs', { source: SOURCE, upstream: from('config: the source\'s upstream (empty when not set)') },
    'Always 1, one series per log source: upstream is the target its proxy forwards to, from the config (empty when not set); the traffic alerts take it as their target.'),
  logLastLine: def('stackwatch_log_last_line_timestamp_seconds', 'gauge', 'logs', { source: SOURCE },
    'Unix time the last line of the source was read.'),
  logStale: def('stackwatch_log_stale', 'gauge', 'logs', { source: SOURCE },
    '1 while the source has had no line for its stale_after (or since the exporter started), else 0.'),
  logFiles: def('stackwatch_log_files', 'gauge', 'logs', { source: SOURCE },
    'Files the source\'s path or glob names now (0 while the log file is missing).'),
  logRotations: def('stackwatch_log_rotations_total', 'counter', 'logs', { source: SOURCE, kind: LOG_ROTATION_KINDS },
    'Log files replaced under the path or truncated in place, by kind.'),
  logReadErrors: def('stackwatch_log_read_errors_total', 'counter', 'logs', { source: SOURCE },
    'Errors opening or reading the source\'s files other than a missing file (e.g. permission denied).'),

  // --- the exporter itself (src/collectors/collector-stats.ts, src/app.ts) ---
  collectorDuration: def('stackwatch_collector_duration_seconds', 'gauge', 'exporter', { collector: COLLECTOR_NAMES },
    'Duration of the collector\'s last cycle (for http: the last probe).'),
  collectorSuccess: def('stackwatch_collector_success', 'gauge', 'exporter', { collector: COLLECTOR_NAMES },
    '1 if the collector\'s last cycle worked (its own machinery, not the target\'s health).'),
  collectorLastSuccess: def('stackwatch_collector_last_success_timestamp_seconds', 'gauge', 'exporter', { collector: COLLECTOR_NAMES },
    'Unix time of the collector\'s last successful cycle.'),
  collectorErrors: def('stackwatch_collector_errors_total', 'counter', 'exporter', { collector: COLLECTOR_NAMES, reason: COLLECTOR_ERROR_REASONS },
    'Failures of the exporter\'s own machinery, by reason.'),
  serverConnectionsDropped: def('stackwatch_http_server_connections_dropped_total', 'counter', 'exporter', {},
    'Connections to the exporter\'s own server closed at once because it had its cap of open connections (a quarter of its file descriptors, at most 512).'),
  configReloadOk: def('stackwatch_config_last_reload_successful', 'gauge', 'exporter', {},
    '1 if the last configuration load or reload succeeded, 0 if it failed (the previous configuration stays in force).'),
  configReloadTime: def('stackwatch_config_last_reload_success_timestamp_seconds', 'gauge', 'exporter', {},
    'Unix time of the last successful configuration load or reload.'),
  webConfigReloadOk: def('stackwatch_web_config_last_reload_successful', 'gauge', 'exporter', {},
    '1 if the web configuration file (--web.config.file: TLS, basic auth, headers) and its certificate files last loaded, 0 if the last change was refused (the previous setup keeps serving).'),
  webRequestsRefused: def('stackwatch_web_requests_refused_total', 'counter', 'exporter', { reason: WEB_REFUSAL_REASONS },
    'Requests and connections to the exporter\'s own server that were refused, by reason.'),
  storageSnapshotFailures: def('stackwatch_storage_snapshot_failures_total', 'counter', 'exporter', { operation: STORAGE_OPERATIONS },
    'Snapshots of the data directory (--storage.path) that could not be written or read, by operation. The exporter keeps running; history made since the last good write is lost at the next restart.'),
  storageSnapshotLastSuccess: def('stackwatch_storage_snapshot_last_success_timestamp_seconds', 'gauge', 'exporter', { operation: STORAGE_OPERATIONS },
    'Unix time of the last snapshot written (or, with no target, found current on disk) or read, by operation.'),
  buildInfo: def('stackwatch_build_info', 'gauge', 'exporter', { version: BUILD, nodejs: BUILD },
    'Build facts; the value is always 1.'),
} as const;

export const ALL_METRICS: readonly MetricDef[] = Object.values(M);

/**
 * The names of the metrics of a section that carry `label`: the series to drop when the thing
 * that label names (a container, a broker, a group, a source, a target) goes away.
 */
export function namesWithLabel(group: MetricGroup, label: string, type?: MetricType): string[] {
  return ALL_METRICS.filter((d) => d.group === group && d.labels.includes(label) && (type === undefined || d.type === type)).map((d) => d.name);
}

/**
 * A PromQL label matcher naming values of a metric's enumerated label: `reason="auth"`, or
 * `status=~"degraded|unhealthy"` for several. The values are typed by the catalogue, so a rule
 * or panel naming a value the metric does not have (a renamed reason) does not build; labels
 * typed as plain strings (code) are checked when the bundle is generated.
 */
export function matcher<D extends MetricDef, K extends EnumLabelOf<D>>(def: D, label: K, ...values: readonly ValueOf<D, K>[]): string {
  const spec = def.spec[label];
  if (spec === undefined || !isEnumerated(spec)) throw new Error(`${def.name} has no enumerated label ${label}`);
  if (values.length === 0) throw new Error(`matcher on ${def.name}{${label}} names no value`);
  for (const v of values) {
    if (!spec.values.includes(v)) throw new Error(`${def.name}{${label}} has no value ${v}`);
  }
  return values.length === 1 ? `${label}="${values[0]}"` : `${label}=~"${values.join('|')}"`;
}

const BY_NAME = new Map<string, MetricDef>(ALL_METRICS.map((d) => [d.name, d]));

/** The definition a series name belongs to (a histogram's `_bucket`, `_sum` and `_count` too). */
export function definitionOf(series: string): MetricDef | undefined {
  const d = BY_NAME.get(series);
  if (d !== undefined) return d;
  const base = /^(.*)_(bucket|sum|count)$/.exec(series)?.[1];
  const h = base === undefined ? undefined : BY_NAME.get(base);
  return h?.type === 'histogram' ? h : undefined;
}

/**
 * Throws unless a series of a catalogue metric (others pass) has only the metric's labels (and
 * `le` on buckets, and the `scrapeLabels` Prometheus adds) and only catalogue values on its
 * enumerated labels: test inputs written by hand stay true to what the exporter emits.
 */
export function checkSeriesLabels(series: string, labels: Readonly<Record<string, string>>, scrapeLabels: readonly string[] = []): void {
  const d = definitionOf(series);
  if (d === undefined) return;
  for (const [k, v] of Object.entries(labels)) {
    if (scrapeLabels.includes(k) || (k === 'le' && series.endsWith('_bucket'))) continue;
    const spec = (d.spec as Readonly<Record<string, LabelSpec>>)[k];
    if (spec === undefined) throw new Error(`${series} has no label ${k} (its labels: ${d.labels.join(', ') || 'none'})`);
    if (isEnumerated(spec) && !spec.values.includes(v)) throw new Error(`${series}{${k}} has no value ${JSON.stringify(v)} (its values: ${spec.values.join(', ')})`);
  }
}
