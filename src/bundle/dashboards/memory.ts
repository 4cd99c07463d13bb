import type { BundleConfig } from '../bundle-config';
import { ALERT } from './alerts-ref';
import type { DashboardSpec } from './grafana';
import { commonVariables, M, R, RATE, rsel, sel } from './query';

/** The health-body field the example configs name `pending_requests` (mqtt.pending_requests). */
const pending = (cfg: BundleConfig): string => `field="${cfg.healthFields.pendingRequests}"`;

export const memory = (cfg: BundleConfig): DashboardSpec => ({
  uid: 'stackwatch-memory',
  title: 'stackwatch / Memory & leaks',
  description: 'Memory of processes and containers, the slope of its post-GC floor (a leak), predicted time to the limit, file descriptors and pending requests.',
  tags: ['stackwatch'],
  time: 'now-24h',
  variables: commonVariables(cfg),
  rows: [
    {
      row: 'Memory',
      panels: [
        {
          type: 'timeseries', title: 'Process resident memory (RSS)', unit: 'bytes', w: 12,
          description: 'Resident memory of each process group, with its floor (minimum over 30 minutes: the level after garbage collection, robust to GC sawtooth).',
          queries: [
            { expr: sel(M.processRss), legend: '{{group}}' },
            { expr: rsel(R.processMemoryFloor), legend: '{{group}} floor' },
          ],
          runbook: [ALERT.processMemoryLeak],
        },
        {
          type: 'timeseries', title: 'Container working set and limit', unit: 'bytes', w: 12,
          description: 'Working set of each container (cgroup usage minus inactive file cache: what the OOM killer looks at), its 30-minute floor and its limit.',
          queries: [
            { expr: sel(M.containerMemUsage), legend: '{{container}}' },
            { expr: rsel(R.containerMemoryFloor), legend: '{{container}} floor' },
            { expr: sel(M.containerMemLimit), legend: '{{container}} limit' },
          ],
          overrides: [{
            matcher: { id: 'byRegexp', options: '.* limit' },
            properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }],
          }],
          runbook: [ALERT.containerMemoryExhaustion],
        },
        {
          type: 'timeseries', title: 'Memory floor slope (per hour)', unit: 'bytes', w: 12,
          description: 'How fast the memory floor grows, in bytes per hour, per process group and container. A steady positive slope for hours is a leak; restarts and GC sawtooth do not count.',
          queries: [
            { expr: rsel(R.processMemoryFloorSlope), legend: '{{group}} /h' },
            { expr: rsel(R.containerMemoryFloorSlope), legend: '{{container}} /h' },
          ],
          custom: { axisSoftMin: undefined },
          runbook: [ALERT.processMemoryLeak, ALERT.containerMemoryLeak],
        },
        {
          type: 'bargauge', title: 'Predicted time to memory limit', unit: 's', w: 12,
          description: 'Seconds until each container reaches its memory limit if the floor keeps growing at its current slope (containers with a limit and a growing floor only).',
          queries: [{ expr: rsel(R.containerMemoryTimeToLimit), legend: '{{container}}', instant: true }],
          thresholds: [{ color: 'red', value: null }, { color: 'orange', value: 4 * 3600 }, { color: 'green', value: 24 * 3600 }],
          runbook: [ALERT.containerMemoryExhaustion],
        },
        {
          type: 'gauge', title: 'Container memory used of limit', unit: 'percentunit', w: 12, min: 0, max: 1,
          description: 'Working set / memory limit per container (containers with a limit).',
          queries: [{ expr: `${sel(M.containerMemUsage)} / ${sel(M.containerMemLimit)}`, legend: '{{container}}', instant: true }],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 0.8 }, { color: 'red', value: 0.9 }],
          runbook: [ALERT.containerMemoryExhaustion],
        },
        {
          type: 'timeseries', title: 'OOM kills', unit: 'none', w: 12,
          description: 'Containers killed by the kernel\'s OOM killer, per interval.',
          queries: [{ expr: `increase(${sel(M.containerOomKills)}[${RATE}])`, legend: '{{container}}' }],
          custom: { drawStyle: 'bars', fillOpacity: 60 },
          runbook: [ALERT.containerOomKilled],
        },
      ],
    },
    {
      row: 'File descriptors and pending work',
      panels: [
        {
          type: 'timeseries', title: 'Open file descriptors', unit: 'none', w: 12,
          description: 'Open file descriptors per process group. Growth without bound is a socket or file leak.',
          queries: [{ expr: sel(M.processOpenFds), legend: '{{group}}' }],
          runbook: [ALERT.processFdLeak],
        },
        {
          type: 'timeseries', title: 'File descriptors used of limit', unit: 'percentunit', w: 12, max: 1,
          description: 'Open file descriptors / the lowest open-files limit in each process group.',
          queries: [{ expr: `${sel(M.processOpenFds)} / ${sel(M.processMaxFds)}`, legend: '{{group}}' }],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 0.8 }, { color: 'red', value: 0.9 }],
          runbook: [ALERT.processFdLeak],
        },
        {
          type: 'timeseries', title: 'Pending requests', unit: 'none', w: 12,
          description: 'The backend\'s own count of requests waiting for an answer (health body field pending_requests, e.g. mqtt.pending_requests). Climbing while MQTT is silent is a leak: requests waiting for replies that never come are never cleaned up.',
          queries: [{ expr: sel(M.healthField, [pending(cfg)]), legend: '{{target}}' }],
          runbook: [ALERT.pendingRequestsGrowing],
        },
        {
          type: 'timeseries', title: 'Pending requests growth (per hour)', unit: 'none', w: 12,
          description: `Slope of pending requests over the last ${cfg.pendingRequests.growthWindow}, per hour (linear regression). Positive for long = requests are never cleaned up.`,
          queries: [{ expr: `deriv(${sel(M.healthField, [pending(cfg)])}[${cfg.pendingRequests.growthWindow}]) * 3600`, legend: '{{target}} /h' }],
          runbook: [ALERT.pendingRequestsGrowing],
        },
      ],
    },
  ],
});
