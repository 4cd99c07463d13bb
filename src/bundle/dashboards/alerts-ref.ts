/**
 * The alerts whose runbook sections the dashboards link to. Typed against the rules' own list of
 * alert names (src/bundle/bundle-config.ts), so a renamed alert fails to compile here; the runbook
 * anchor is the rules' runbookAnchor() (the alert name in lower case, GitHub's `## Name` anchor).
 */
import type { AlertName } from '../bundle-config';

export const ALERT = {
  exporterDown: 'StackwatchExporterDown',
  exporterAbsent: 'StackwatchExporterAbsent',
  targetDown: 'StackwatchTargetDown',
  targetFlapping: 'StackwatchTargetFlapping',
  burnFast: 'StackwatchSloFastBurn',
  burnSlow: 'StackwatchSloSlowBurn',
  recoverySlow: 'StackwatchRecoverySlow',
  healthDegraded: 'StackwatchHealthDegraded',
  backendMqttDisconnected: 'StackwatchBackendMqttDisconnected',
  backendMqttIdle: 'StackwatchBackendMqttIdle',
  mqttTopicSilent: 'StackwatchMqttTopicSilent',
  pendingRequestsGrowing: 'StackwatchPendingRequestsGrowing',
  brokerDown: 'StackwatchMqttBrokerDown',
  sysStale: 'StackwatchMqttSysStale',
  roundtripFailing: 'StackwatchMqttRoundtripFailing',
  roundtripSlow: 'StackwatchMqttRoundtripSlow',
  containerUnhealthy: 'StackwatchContainerUnhealthy',
  containerCrashLooping: 'StackwatchContainerCrashLooping',
  containerOomKilled: 'StackwatchContainerOomKilled',
  containerMemoryLeak: 'StackwatchContainerMemoryLeakSuspected',
  containerMemoryExhaustion: 'StackwatchContainerMemoryExhaustion',
  processNotRunning: 'StackwatchProcessNotRunning',
  processRestarting: 'StackwatchProcessRestarting',
  processMemoryLeak: 'StackwatchProcessMemoryLeakSuspected',
  processFdLeak: 'StackwatchProcessFdLeak',
} as const satisfies Record<string, AlertName>;
