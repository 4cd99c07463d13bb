import type { BundleConfig } from '../bundle-config';
import { ALERT } from './alerts-ref';
import { boolMapping, type DashboardSpec } from './grafana';
import { BUDGET, commonVariables, HEALTH_MAPPING, healthCode, M, R, RANGE, rsel, sel } from './query';
import { UPTIME_WINDOWS } from '../names';

const up = sel(M.targetUp);

export const overview = (cfg: BundleConfig): DashboardSpec => ({
  uid: 'stackwatch-overview',
  title: 'stackwatch / Overview',
  description: 'Is everything up, how available has each target been, and how much error budget is left.',
  tags: ['stackwatch'],
  time: 'now-24h',
  variables: commonVariables(cfg, { slo: true }),
  rows: [
    {
      row: 'Now',
      panels: [
        {
          type: 'stat', title: 'Targets up', unit: 'none', w: 4, h: 5,
          description: 'Targets that currently count as up (after flap damping), out of all monitored targets.',
          queries: [{ expr: `sum(${up})`, legend: 'up', instant: true }, { expr: `count(${up})`, legend: 'monitored', instant: true }],
          colorMode: 'fixed',
          runbook: [ALERT.targetDown],
        },
        {
          type: 'stat', title: 'Targets down', unit: 'none', w: 4, h: 5,
          description: 'Targets that are down right now. 0 is green; anything else is an active outage (see "Active outages").',
          queries: [{ expr: `count(${up} == 0) or vector(0)`, legend: 'down', instant: true }],
          thresholds: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
          runbook: [ALERT.targetDown],
        },
        {
          type: 'stat', title: 'Exporter', unit: 'none', w: 4, h: 5,
          description: 'Whether Prometheus can scrape each stackwatch exporter (Prometheus\' own `up` series). When it is down, every other panel is stale.',
          queries: [{ expr: 'up{job=~"$job", instance=~"$instance"}', legend: '{{instance}}', instant: true }],
          mappings: [boolMapping('DOWN', 'UP')],
          thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
          runbook: [ALERT.exporterDown],
        },
        {
          type: 'table', title: 'Active outages', unit: 's', w: 12, h: 5,
          description: 'Targets down right now and for how long (since their last transition). Empty when everything is up.',
          queries: [{
            expr: `time() - ${sel(M.targetLastTransition)} and on (job, instance, kind, target) (${up} == 0)`,
            legend: '{{kind}} {{target}}',
          }],
          transformations: [{
            id: 'organize',
            options: {
              excludeByName: { Time: true, __name__: true, job: true },
              renameByName: { Value: 'down for', kind: 'kind', target: 'target', instance: 'exporter' },
            },
          }],
          thresholds: [{ color: 'orange', value: null }, { color: 'red', value: 300 }],
          custom: { cellOptions: { type: 'color-text' } },
          runbook: [ALERT.targetDown],
        },
        {
          type: 'state-timeline', title: 'State per target', unit: 'none', w: 24, h: 9,
          description: 'Up (green) / down (red) history of every target, as stackwatch observed it on each target\'s own interval (not at scrape time).',
          queries: [{ expr: up, legend: '{{kind}}/{{target}}' }],
          mappings: [boolMapping('down', 'up')],
          thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
          runbook: [ALERT.targetDown, ALERT.targetFlapping],
        },
        {
          type: 'state-timeline', title: 'Maintenance windows', unit: 'none', w: 24, h: 5,
          description: 'When each target was inside a maintenance window of the exporter\'s configuration (maintenance.windows). Meanwhile its checks are not counted against the SLO, an outage that starts is not counted as one, and its alerts are muted.',
          queries: [{ expr: sel(M.targetInMaintenance), legend: '{{kind}}/{{target}}' }],
          mappings: [boolMapping('—', 'maintenance')],
          thresholds: [{ color: 'transparent', value: null }, { color: 'blue', value: 1 }],
        },
      ],
    },
    {
      row: 'Availability and error budget',
      panels: [
        {
          type: 'table', title: 'Uptime per target (24h / 7d / 30d)', unit: 'percentunit', w: 12, h: 9, decimals: 3,
          description: 'Share of time each target was up over the last 24 hours, 7 days and 30 days (time-based SLI, from the recording rules).',
          queries: UPTIME_WINDOWS.map((w) => ({ expr: rsel(R.uptimeRatio(w)), legend: w })),
          transformations: [
            { id: 'merge', options: {} },
            {
              id: 'organize',
              options: {
                excludeByName: { Time: true, __name__: true, job: true, instance: true },
                renameByName: { 'Value #A': 'uptime 24h', 'Value #B': 'uptime 7d', 'Value #C': 'uptime 30d' },
              },
            },
          ],
          thresholds: [{ color: 'red', value: null }, { color: 'orange', value: 0.99 }, { color: 'green', value: 0.995 }],
          custom: { cellOptions: { type: 'color-text' } },
          runbook: [ALERT.burnSlow],
        },
        {
          type: 'bargauge', title: 'Error budget left (30d)', unit: 'percentunit', w: 12, h: 9, min: 0, max: 1,
          description: 'Share of the 30-day error budget not yet spent, per target: 1 - (failed checks / all checks over 30d) / (1 - objective). The objective is the "Objective %" variable. Below 0 the objective is missed.',
          queries: [{ expr: `1 - ${rsel(R.errorRatio('30d'))} / ${BUDGET}`, legend: '{{kind}}/{{target}}', instant: true }],
          thresholds: [{ color: 'red', value: null }, { color: 'orange', value: 0.25 }, { color: 'green', value: 0.5 }],
          runbook: [ALERT.burnFast, ALERT.burnSlow],
        },
        {
          type: 'timeseries', title: 'Availability (1d window)', unit: 'percentunit', w: 12, decimals: 3,
          description: 'Rolling 24-hour share of time up, per target. A dip shows when the budget was spent.',
          queries: [{ expr: rsel(R.uptimeRatio('1d')), legend: '{{kind}}/{{target}}' }],
          custom: { axisSoftMin: 0.95, axisSoftMax: 1 },
        },
        {
          type: 'bargauge', title: 'Downtime in the selected range', unit: 's', w: 12,
          description: 'Seconds each target was down within the dashboard\'s time range (including an outage in progress).',
          queries: [{ expr: `increase(${sel(M.targetDowntime)}[${RANGE}])`, legend: '{{kind}}/{{target}}', instant: true }],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 60 }, { color: 'red', value: 600 }],
          runbook: [ALERT.targetDown],
        },
      ],
    },
    {
      row: 'Health endpoints',
      panels: [
        {
          type: 'state-timeline', title: 'Health status (tri-state)', unit: 'none', w: 24, h: 7,
          description: 'The status string each HTTP health body reports: healthy, degraded, unhealthy, or unknown (no parsable body). Degraded is not down: the target is still up.',
          queries: [{ expr: healthCode(), legend: '{{target}}' }],
          mappings: [HEALTH_MAPPING],
          runbook: [ALERT.healthDegraded],
        },
      ],
    },
  ],
});
