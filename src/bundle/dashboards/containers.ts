import { CONTAINER_HEALTH_STATES, CONTAINER_STATES, type ContainerHealthState, type ContainerState, type Enumerated, type EnumLabelOf } from '../../metrics/definitions';
import type { BundleConfig } from '../bundle-config';
import { ALERT } from './alerts-ref';
import { boolMapping, type DashboardSpec, type ValueMapping } from './grafana';
import { commonVariables, M, RATE, sel } from './query';

const STATE_COLORS: Record<ContainerState, string> = {
  created: 'blue', running: 'green', paused: 'yellow', restarting: 'orange', removing: 'purple', exited: 'red', dead: 'dark-red',
};
const HEALTH_COLORS: Record<ContainerHealthState, string> = {
  starting: 'blue', healthy: 'green', unhealthy: 'red', none: 'text',
};

function codeMapping<S extends string>(states: readonly S[], colors: Record<S, string>): ValueMapping {
  return {
    type: 'value',
    options: Object.fromEntries(states.map((s, i) => [String(i), { text: s, color: colors[s], index: i }])),
  };
}

/** One number per container for a state set: the index (in the catalogue's order) of the state currently 1. */
function stateCode<D extends typeof M.containerState | typeof M.containerHealth>(def: D, label: EnumLabelOf<D>): string {
  const states = (def.spec as Record<string, Enumerated>)[label]!.values;
  const parts = states.map((s, i) => `(${sel(def, [`${label}="${s}"`])} == 1) * ${i}`);
  return `max by (job, instance, container) (${parts.join(' or ')})`;
}

export const containers = (cfg: BundleConfig): DashboardSpec => ({
  uid: 'stackwatch-containers',
  title: 'stackwatch / Containers & processes',
  description: 'Docker containers (state, health check, restarts, exit codes, CPU, memory) and process groups (count, restarts, CPU, memory, threads, fds).',
  tags: ['stackwatch'],
  time: 'now-6h',
  variables: commonVariables(cfg),
  rows: [
    {
      row: 'Docker',
      panels: [
        {
          type: 'stat', title: 'Docker API and events stream', unit: 'none', w: 6, h: 5,
          description: 'Whether the Docker API (through the socket proxy) answered the last request, and whether the events stream is open (state changes arrive by events).',
          queries: [
            { expr: sel(M.dockerUp), legend: '{{instance}} API', instant: true },
            { expr: sel(M.dockerEventsUp), legend: '{{instance}} events', instant: true },
          ],
          mappings: [boolMapping('DOWN', 'UP')],
          thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
          options: { textMode: 'value_and_name' },
          runbook: [ALERT.targetDown],
        },
        {
          type: 'state-timeline', title: 'Container state', unit: 'none', w: 18, h: 8,
          description: 'State of each container over time: created, running, paused, restarting, removing, exited, dead.',
          queries: [{ expr: stateCode(M.containerState, 'state'), legend: '{{container}}' }],
          mappings: [codeMapping(CONTAINER_STATES.values, STATE_COLORS)],
          runbook: [ALERT.containerCrashLooping],
        },
        {
          type: 'state-timeline', title: 'Container health check', unit: 'none', w: 12, h: 8,
          description: 'Docker health-check status of each container: starting, healthy, unhealthy, or none (no health check). Unhealthy can also mean the check command itself is missing from the image (e.g. no curl), not that the service is down.',
          queries: [{ expr: stateCode(M.containerHealth, 'status'), legend: '{{container}}' }],
          mappings: [codeMapping(CONTAINER_HEALTH_STATES.values, HEALTH_COLORS)],
          runbook: [ALERT.containerUnhealthy],
        },
        {
          type: 'table', title: 'Containers', unit: 'none', w: 12, h: 8,
          description: 'Each container\'s image and compose service, last exit code, restarts and OOM kills in the selected range, and uptime.',
          queries: [
            { expr: sel(M.containerInfo), legend: 'info' },
            { expr: sel(M.containerExitCode), legend: 'exit code' },
            { expr: `round(increase(${sel(M.containerRestarts)}[$__range]))`, legend: 'restarts' },
            { expr: `round(increase(${sel(M.containerOomKills)}[$__range]))`, legend: 'OOM kills' },
            { expr: `time() - ${sel(M.containerStartedAt)}`, legend: 'up for' },
          ],
          transformations: [
            { id: 'merge', options: {} },
            {
              id: 'organize',
              options: {
                excludeByName: { Time: true, __name__: true, job: true, 'Value #A': true },
                renameByName: { 'Value #B': 'last exit code', 'Value #C': 'restarts', 'Value #D': 'OOM kills', 'Value #E': 'up for' },
              },
            },
          ],
          overrides: [{ matcher: { id: 'byName', options: 'up for' }, properties: [{ id: 'unit', value: 's' }] }],
          runbook: [ALERT.containerCrashLooping, ALERT.containerOomKilled],
        },
        {
          type: 'timeseries', title: 'Container CPU', unit: 'percentunit', w: 12,
          description: 'CPU used by each container, in cores (100% = one full core).',
          queries: [{ expr: `rate(${sel(M.containerCpu)}[${RATE}])`, legend: '{{container}}' }],
        },
        {
          type: 'timeseries', title: 'Container memory (working set)', unit: 'bytes', w: 12,
          description: 'Working set of each container (cgroup usage minus inactive file cache). See Memory & leaks for floors, slopes and time to limit.',
          queries: [{ expr: sel(M.containerMemUsage), legend: '{{container}}' }],
          runbook: [ALERT.containerMemoryLeak],
        },
      ],
    },
    {
      row: 'Processes',
      panels: [
        {
          type: 'timeseries', title: 'Processes per group', unit: 'none', w: 12, decimals: 0,
          description: 'Processes matching each group. 0 means the service is not running.',
          queries: [{ expr: sel(M.processGroupProcesses), legend: '{{group}}' }],
          runbook: [ALERT.processNotRunning],
        },
        {
          type: 'timeseries', title: 'Process restarts', unit: 'none', w: 12,
          description: 'Restarts per group per interval (a matching process ended and a new one started). A steady rhythm (e.g. a restart every ~25 minutes) is a crash loop, such as a development server\'s --reload watcher left on in production.',
          queries: [{ expr: `increase(${sel(M.processRestarts)}[${RATE}])`, legend: '{{group}}' }],
          custom: { drawStyle: 'bars', fillOpacity: 60 },
          runbook: [ALERT.processRestarting],
        },
        {
          type: 'timeseries', title: 'Process CPU by mode', unit: 'percentunit', w: 12,
          description: 'CPU used by each group, user and system time, in cores (100% = one full core).',
          queries: [{ expr: `sum by (group, mode) (rate(${sel(M.processCpu)}[${RATE}]))`, legend: '{{group}} {{mode}}' }],
          custom: { stacking: { mode: 'normal', group: 'A' }, fillOpacity: 40 },
        },
        {
          type: 'timeseries', title: 'Process memory', unit: 'bytes', w: 12,
          description: 'Resident and virtual memory of each group.',
          queries: [
            { expr: sel(M.processRss), legend: '{{group}} resident' },
            { expr: sel(M.processVirtual), legend: '{{group}} virtual' },
          ],
          runbook: [ALERT.processMemoryLeak],
        },
        {
          type: 'timeseries', title: 'Threads and open file descriptors', unit: 'none', w: 12,
          description: 'Threads and open file descriptors per group.',
          queries: [
            { expr: sel(M.processThreads), legend: '{{group}} threads' },
            { expr: sel(M.processOpenFds), legend: '{{group}} fds' },
          ],
          runbook: [ALERT.processFdLeak],
        },
        {
          type: 'table', title: 'Process groups: up for', unit: 's', w: 12,
          description: 'Time since the oldest process of each group started. Short and resetting = restarting.',
          queries: [{ expr: `time() - ${sel(M.processOldestStart)}`, legend: '{{group}}' }],
          transformations: [{ id: 'organize', options: { excludeByName: { Time: true, job: true }, renameByName: { Value: 'up for' } } }],
          runbook: [ALERT.processRestarting],
        },
      ],
    },
  ],
});
