/**
 * Every metric stackwatch exports, in one place: name, type, help and labels.
 *
 * Collectors create their instruments from these definitions (see ./instruments.ts), the
 * bundle's rules and dashboards import the names from here, and docs/metrics.md is generated
 * from this file (npm run docs). A name that is not here is not exported.
 *
 * Observation runs on each target's own schedule, not at scrape time (README, "Why
 * observation runs on its own schedule"): HELP texts of availability metrics say so.
 */

export type MetricType = 'gauge' | 'counter' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** Histogram buckets, in the metric's base unit. */
  readonly buckets?: readonly number[];
  /** Section of docs/metrics.md. */
  readonly group: MetricGroup;
}

export type MetricGroup = 'availability' | 'http' | 'mqtt' | 'docker' | 'process' | 'logs' | 'exporter';

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

function def<const N extends string, const K extends MetricType>(
  name: N,
  type: K,
  group: MetricGroup,
  labels: readonly string[],
  help: string,
  buckets?: readonly number[],
): MetricDef & { name: N; type: K } {
  return buckets ? { name, type, group, labels, help, buckets } : { name, type, group, labels, help };
}

const T = ['kind', 'target'] as const;

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
  httpDuration: def('stackwatch_http_request_duration_seconds', 'histogram', 'http', ['target'],
    'Duration of health requests, from sending to the end of the body, including failed ones.', LATENCY_BUCKETS),
  httpStatusCode: def('stackwatch_http_status_code', 'gauge', 'http', ['target'],
    'HTTP status code of the last response (0 when no response arrived).'),
  httpFailures: def('stackwatch_http_failures_total', 'counter', 'http', ['target', 'reason'],
    'Failed health checks by reason: timeout, connect, dns, tls, status, body_too_large, invalid_json, condition, internal (the check itself could not run, e.g. an unusable TLS file).'),
  healthStatus: def('stackwatch_health_status', 'gauge', 'http', ['target', 'status'],
    'State set of the status string in the health body: healthy, degraded, unhealthy, unknown (1 for the current one).'),
  healthField: def('stackwatch_health_field', 'gauge', 'http', ['target', 'field'],
    'Numbers and booleans (1/0) picked out of the health JSON body by configured paths; absent when the field is missing.'),
  httpCertExpiry: def('stackwatch_http_tls_cert_expiry_timestamp_seconds', 'gauge', 'http', ['target'],
    'Unix time the server\'s TLS certificate expires (HTTPS targets).'),

  // --- MQTT (src/collectors/mqtt.ts) ---
  mqttConnected: def('stackwatch_mqtt_connected', 'gauge', 'mqtt', ['broker'],
    '1 while the exporter\'s client is connected to the broker and receiving $SYS messages.'),
  mqttReconnects: def('stackwatch_mqtt_reconnects_total', 'counter', 'mqtt', ['broker'],
    'Reconnections of the exporter\'s client to the broker (after a drop or a stale-connection watchdog reset).'),
  mqttConnectFailures: def('stackwatch_mqtt_connect_failures_total', 'counter', 'mqtt', ['broker', 'reason'],
    'Failed connection attempts by reason: auth (bad credentials, not authorized), refused (other CONNACK refusals), timeout, network, tls, other.'),
  mqttSysLast: def('stackwatch_mqtt_sys_last_message_timestamp_seconds', 'gauge', 'mqtt', ['broker'],
    'Unix time the last $SYS message arrived from the broker.'),
  mqttUptime: def('stackwatch_mqtt_broker_uptime_seconds', 'gauge', 'mqtt', ['broker'],
    'Broker uptime ($SYS/broker/uptime).'),
  mqttClientsConnected: def('stackwatch_mqtt_broker_clients_connected', 'gauge', 'mqtt', ['broker'],
    'Clients connected to the broker ($SYS/broker/clients/connected).'),
  mqttClientsMaximum: def('stackwatch_mqtt_broker_clients_maximum', 'gauge', 'mqtt', ['broker'],
    'Most clients connected at once since the broker started ($SYS/broker/clients/maximum).'),
  mqttSubscriptions: def('stackwatch_mqtt_broker_subscriptions', 'gauge', 'mqtt', ['broker'],
    'Subscriptions on the broker ($SYS/broker/subscriptions/count).'),
  mqttRetained: def('stackwatch_mqtt_broker_retained_messages', 'gauge', 'mqtt', ['broker'],
    'Retained messages on the broker ($SYS/broker/retained messages/count).'),
  mqttStored: def('stackwatch_mqtt_broker_messages_stored', 'gauge', 'mqtt', ['broker'],
    'Messages stored by the broker ($SYS/broker/messages/stored).'),
  mqttMsgsReceived: def('stackwatch_mqtt_broker_messages_received_total', 'counter', 'mqtt', ['broker'],
    'Messages the broker received since it started ($SYS/broker/messages/received).'),
  mqttMsgsSent: def('stackwatch_mqtt_broker_messages_sent_total', 'counter', 'mqtt', ['broker'],
    'Messages the broker sent since it started ($SYS/broker/messages/sent).'),
  mqttDropped: def('stackwatch_mqtt_broker_publish_messages_dropped_total', 'counter', 'mqtt', ['broker'],
    'PUBLISH messages the broker dropped ($SYS/broker/publish/messages/dropped).'),
  mqttBytesReceived: def('stackwatch_mqtt_broker_bytes_received_total', 'counter', 'mqtt', ['broker'],
    'Bytes the broker received since it started ($SYS/broker/bytes/received).'),
  mqttBytesSent: def('stackwatch_mqtt_broker_bytes_sent_total', 'counter', 'mqtt', ['broker'],
    'Bytes the broker sent since it started ($SYS/broker/bytes/sent).'),
  mqttHeap: def('stackwatch_mqtt_broker_heap_current_bytes', 'gauge', 'mqtt', ['broker'],
    'Broker heap in use ($SYS/broker/heap/current; only where mosquitto was built with memory tracking).'),
  mqttBrokerRestarts: def('stackwatch_mqtt_broker_restarts_total', 'counter', 'mqtt', ['broker'],
    'Broker restarts seen by the exporter (its uptime, or one of its running totals, went backwards).'),
  mqttSysParseErrors: def('stackwatch_mqtt_sys_parse_errors_total', 'counter', 'mqtt', ['broker'],
    '$SYS payloads that did not parse as a number and were skipped.'),
  mqttRoundtrip: def('stackwatch_mqtt_roundtrip_seconds', 'histogram', 'mqtt', ['broker'],
    'Time from publishing a probe message (QoS 1) to receiving it back.', LATENCY_BUCKETS),
  mqttRoundtripFailures: def('stackwatch_mqtt_roundtrip_failures_total', 'counter', 'mqtt', ['broker'],
    'Round-trip probes that did not come back within their timeout or could not be published.'),
  mqttMessagesDropped: def('stackwatch_mqtt_messages_dropped_total', 'counter', 'mqtt', ['broker', 'reason'],
    'Messages the exporter\'s client discarded, by reason: too_large (over mqtt maximum_packet_size; brokers speaking MQTT 5 drop these before sending, see $SYS/broker/publish/messages/dropped), error (handling the message failed).'),
  mqttTopicLast: def('stackwatch_mqtt_topic_last_message_timestamp_seconds', 'gauge', 'mqtt', ['broker', 'topic'],
    'Unix time the last message arrived on an application topic filter named in config.'),
  mqttTopicSilent: def('stackwatch_mqtt_topic_silent', 'gauge', 'mqtt', ['broker', 'topic'],
    '1 while no message has arrived on an application topic filter for longer than its stale_after (counted from the exporter\'s start when none ever arrived), 0 otherwise.'),

  // --- Docker (src/collectors/docker.ts) ---
  dockerUp: def('stackwatch_docker_up', 'gauge', 'docker', [],
    '1 if the Docker API answered the last request.'),
  dockerEventsUp: def('stackwatch_docker_events_stream_up', 'gauge', 'docker', [],
    '1 while the Docker events stream is open.'),
  containerState: def('stackwatch_container_state', 'gauge', 'docker', ['container', 'state'],
    'State set of the container: created, running, paused, restarting, removing, exited, dead.'),
  containerHealth: def('stackwatch_container_health_status', 'gauge', 'docker', ['container', 'status'],
    'State set of the container health check: starting, healthy, unhealthy, none.'),
  containerRestarts: def('stackwatch_container_restarts_total', 'counter', 'docker', ['container'],
    'Restarts of the container (a die followed by a start), consistent with Docker\'s RestartCount.'),
  containerOomKills: def('stackwatch_container_oom_kills_total', 'counter', 'docker', ['container'],
    'OOM kills of the container: oom events (a burst within 10 s counts once) and State.OOMKilled of exits not seen as events.'),
  containerExitCode: def('stackwatch_container_last_exit_code', 'gauge', 'docker', ['container'],
    'Exit code of the container\'s last exit.'),
  containerStartedAt: def('stackwatch_container_started_at_timestamp_seconds', 'gauge', 'docker', ['container'],
    'Unix time the container last started.'),
  containerMemUsage: def('stackwatch_container_memory_usage_bytes', 'gauge', 'docker', ['container'],
    'Memory in use by the container (working set: cgroup usage minus inactive file cache).'),
  containerMemLimit: def('stackwatch_container_memory_limit_bytes', 'gauge', 'docker', ['container'],
    'Memory limit of the container (absent when unlimited).'),
  containerCpu: def('stackwatch_container_cpu_seconds_total', 'counter', 'docker', ['container'],
    'CPU time used by the container, summed over its runs (read from its cgroup every resources_interval).'),
  containerInfo: def('stackwatch_container_info', 'gauge', 'docker', ['container', 'image', 'compose_project', 'compose_service'],
    'Facts about the container; the value is always 1.'),
  dockerEventErrors: def('stackwatch_docker_event_errors_total', 'counter', 'docker', [],
    'Docker events stream lines that could not be parsed or were too long, skipped.'),

  // --- processes (src/collectors/process.ts) ---
  processGroupProcesses: def('stackwatch_process_group_processes', 'gauge', 'process', ['group'],
    'Processes matching the group.'),
  processGroupExecutables: def('stackwatch_process_group_executables', 'gauge', 'process', ['group'],
    'Distinct executables among the processes matching a declared group; above 1 the pattern likely also matches a wrapper (e.g. `bash supervise.sh node app.js` for cmdline "node"): anchor it (stackwatch processes shows the matches).'),
  processRestarts: def('stackwatch_process_restarts_total', 'counter', 'process', ['group'],
    'Restarts in a declared group: a matching process ended and a new one started (pid + start time identity).'),
  processCpu: def('stackwatch_process_cpu_seconds_total', 'counter', 'process', ['group', 'mode'],
    'CPU time used by the group\'s processes, by mode (user, system); processes that exited stay counted.'),
  processRss: def('stackwatch_process_resident_memory_bytes', 'gauge', 'process', ['group'],
    'Resident memory of the group\'s processes.'),
  processVirtual: def('stackwatch_process_virtual_memory_bytes', 'gauge', 'process', ['group'],
    'Virtual memory of the group\'s processes.'),
  processOpenFds: def('stackwatch_process_open_fds', 'gauge', 'process', ['group'],
    'Open file descriptors of the group\'s processes.'),
  processMaxFds: def('stackwatch_process_max_fds', 'gauge', 'process', ['group'],
    'Lowest open-files limit among the group\'s processes.'),
  processThreads: def('stackwatch_process_threads', 'gauge', 'process', ['group'],
    'Threads of the group\'s processes.'),
  processOldestStart: def('stackwatch_process_oldest_start_time_seconds', 'gauge', 'process', ['group'],
    'Unix time the oldest process of the group started.'),
  processReadErrors: def('stackwatch_process_read_errors_total', 'counter', 'process', ['reason'],
    'Errors reading /proc other than processes vanishing mid-read (e.g. permission).'),
  hostInfo: def('stackwatch_host_info', 'gauge', 'process', ['hostname', 'os', 'kernel', 'arch'],
    'Facts about the host; the value is always 1.'),

  // --- access logs (src/collectors/logs.ts) ---
  logRequests: def('stackwatch_log_requests_total', 'counter', 'logs', ['source', 'route', 'method', 'code'],
    'Requests in the access log. route: a configured pattern or other; method: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE or other; code: the exact code for 429, 499 and 5xx, else the class 1xx-4xx.'),
  logRequestDuration: def('stackwatch_log_request_duration_seconds', 'histogram', 'logs', ['source', 'route'],
    'Request durations the access log records (nginx $request_time and equivalents); lines without one are not observed.',
    LOG_LATENCY_BUCKETS),
  logUpstreamDuration: def('stackwatch_log_upstream_duration_seconds', 'histogram', 'logs', ['source', 'route'],
    'Upstream response times the access log records (nginx $upstream_response_time, summed over the upstreams tried).',
    LOG_LATENCY_BUCKETS),
  logResponseBytes: def('stackwatch_log_response_bytes_total', 'counter', 'logs', ['source', 'route'],
    'Response body bytes the access log records.'),
  logParseFailures: def('stackwatch_log_parse_failures_total', 'counter', 'logs', ['source', 'reason'],
    'Lines that were not counted as requests, by reason: no_match (not the format), bad_status, invalid_json, too_long (over max_line_bytes, skipped).'),
  logSourceInfo: def('stackwatch_log_source_info', 'gauge', 'logs', ['source', 'upstream'],
    'Always 1, one series per log source: upstream is the target its proxy forwards to, from the config (empty when not set); the traffic alerts take it as their target.'),
  logLastLine: def('stackwatch_log_last_line_timestamp_seconds', 'gauge', 'logs', ['source'],
    'Unix time the last line of the source was read.'),
  logStale: def('stackwatch_log_stale', 'gauge', 'logs', ['source'],
    '1 while the source has had no line for its stale_after (or since the exporter started), else 0.'),
  logFiles: def('stackwatch_log_files', 'gauge', 'logs', ['source'],
    'Files the source\'s path or glob names now (0 while the log file is missing).'),
  logRotations: def('stackwatch_log_rotations_total', 'counter', 'logs', ['source', 'kind'],
    'Log files replaced under the path (kind rotated: renamed or deleted, then a new file) or truncated in place (kind truncated: copytruncate).'),
  logReadErrors: def('stackwatch_log_read_errors_total', 'counter', 'logs', ['source'],
    'Errors opening or reading the source\'s files other than a missing file (e.g. permission denied).'),

  // --- the exporter itself (src/collectors/collector-stats.ts, src/app.ts) ---
  collectorDuration: def('stackwatch_collector_duration_seconds', 'gauge', 'exporter', ['collector'],
    'Duration of the collector\'s last cycle (for http: the last probe).'),
  collectorSuccess: def('stackwatch_collector_success', 'gauge', 'exporter', ['collector'],
    '1 if the collector\'s last cycle worked (its own machinery, not the target\'s health).'),
  collectorLastSuccess: def('stackwatch_collector_last_success_timestamp_seconds', 'gauge', 'exporter', ['collector'],
    'Unix time of the collector\'s last successful cycle.'),
  collectorErrors: def('stackwatch_collector_errors_total', 'counter', 'exporter', ['collector', 'reason'],
    'Failures of the exporter\'s own machinery, by reason: internal (an exception inside a check, cycle or event handler, or a target\'s unusable setup; recorded as a failed observation of the targets concerned), resources (the exporter ran out of file descriptors or memory; the check is not counted, so the target is not reported down for it).'),
  serverConnectionsDropped: def('stackwatch_http_server_connections_dropped_total', 'counter', 'exporter', [],
    'Connections to the exporter\'s own server closed at once because it had its cap of open connections (a quarter of its file descriptors, at most 512).'),
  configReloadOk: def('stackwatch_config_last_reload_successful', 'gauge', 'exporter', [],
    '1 if the last configuration load or reload succeeded, 0 if it failed (the previous configuration stays in force).'),
  configReloadTime: def('stackwatch_config_last_reload_success_timestamp_seconds', 'gauge', 'exporter', [],
    'Unix time of the last successful configuration load or reload.'),
  webConfigReloadOk: def('stackwatch_web_config_last_reload_successful', 'gauge', 'exporter', [],
    '1 if the web configuration file (--web.config.file: TLS, basic auth, headers) and its certificate files last loaded, 0 if the last change was refused (the previous setup keeps serving).'),
  webRequestsRefused: def('stackwatch_web_requests_refused_total', 'counter', 'exporter', ['reason'],
    'Requests and connections to the exporter\'s own server that were refused, by reason: tls_handshake, client_certificate, unauthorized (basic auth), auth_busy (too many password checks waiting), cross_origin, lifecycle_disabled.'),
  storageSnapshotFailures: def('stackwatch_storage_snapshot_failures_total', 'counter', 'exporter', ['operation'],
    'Snapshots of the data directory (--storage.path) that could not be written or read (operation: write, read). The exporter keeps running; history made since the last good write is lost at the next restart.'),
  storageSnapshotLastSuccess: def('stackwatch_storage_snapshot_last_success_timestamp_seconds', 'gauge', 'exporter', ['operation'],
    'Unix time of the last snapshot written (operation="write") or read at start (operation="read").'),
  buildInfo: def('stackwatch_build_info', 'gauge', 'exporter', ['version', 'nodejs'],
    'Build facts; the value is always 1.'),
} as const;

export const ALL_METRICS: readonly MetricDef[] = Object.values(M);
