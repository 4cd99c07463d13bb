import type { BundleConfig } from '../bundle-config';
import { ALERT } from './alerts-ref';
import type { DashboardSpec } from './grafana';
import { commonVariables, M, R, RANGE, RATE, rsel, sel } from './query';
import { MTTR_WINDOWS } from '../names';
import { increaseFromBirth } from '../rules';

const by = 'by (job, instance, kind, target)';

/**
 * Increase of a recovery-histogram series over `w`, counting a series born inside the window
 * from zero: the histogram's series appear with a target's first recovery, and increase() alone
 * would skip that one (the rules' helper, used for MTTR as well).
 */
const recoveries = (suffix: '_bucket' | '_sum' | '_count', w: string): string => increaseFromBirth(sel(M.targetRecovery, [], suffix), w);

export const recovery = (cfg: BundleConfig): DashboardSpec => ({
  uid: 'stackwatch-recovery',
  title: 'stackwatch / Recovery',
  description: 'Outages, how long recovery took (MTTR and its distribution), restarts and downtime: automatic restarts recover in seconds, manual recoveries take minutes.',
  tags: ['stackwatch'],
  time: 'now-7d',
  variables: commonVariables(cfg),
  rows: [
    {
      row: 'Outages and MTTR',
      panels: [
        {
          type: 'bargauge', title: 'Outages in the selected range', unit: 'none', w: 8, decimals: 0,
          description: 'Transitions from up to down per target within the dashboard\'s time range.',
          queries: [{ expr: `round(increase(${sel(M.targetOutages)}[${RANGE}]))`, legend: '{{kind}}/{{target}}', instant: true }],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 1 }, { color: 'red', value: 5 }],
          runbook: [ALERT.targetDown, ALERT.targetFlapping],
        },
        {
          type: 'table', title: 'MTTR (1d / 7d)', unit: 's', w: 8,
          description: 'Mean time to recovery per target: the average length of the outages that ended in the last day and week (recording rules). Empty for a target without recoveries in the window.',
          queries: MTTR_WINDOWS.map((w) => ({ expr: rsel(R.mttr(w)), legend: w })),
          transformations: [
            { id: 'merge', options: {} },
            {
              id: 'organize',
              options: {
                excludeByName: { Time: true, __name__: true, job: true, instance: true },
                renameByName: { 'Value #A': 'MTTR 1d', 'Value #B': 'MTTR 7d' },
              },
            },
          ],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 60 }, { color: 'red', value: 300 }],
          custom: { cellOptions: { type: 'color-text' } },
          runbook: [ALERT.recoverySlow],
        },
        {
          type: 'stat', title: 'MTTR in the selected range', unit: 's', w: 8,
          description: 'Average length of the outages that ended within the dashboard\'s time range, per target: increase of the recovery histogram\'s sum over its count.',
          queries: [{
            expr: `sum ${by} (${recoveries('_sum', RANGE)}) / sum ${by} (${recoveries('_count', RANGE)})`,
            legend: '{{kind}}/{{target}}', instant: true,
          }],
          thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 60 }, { color: 'red', value: 300 }],
          runbook: [ALERT.recoverySlow],
        },
        {
          type: 'timeseries', title: 'Outages', unit: 'none', w: 12,
          description: 'Outages starting per interval, per target. Regular spikes mean a crash loop (e.g. a restart every ~25 minutes).',
          queries: [{ expr: `increase(${sel(M.targetOutages)}[${RATE}])`, legend: '{{kind}}/{{target}}' }],
          custom: { drawStyle: 'bars', fillOpacity: 60 },
          runbook: [ALERT.targetFlapping],
        },
        {
          type: 'timeseries', title: 'Downtime per interval', unit: 's', w: 12,
          description: 'Seconds of downtime accrued per interval, per target (grows while an outage is in progress).',
          queries: [{ expr: `increase(${sel(M.targetDowntime)}[${RATE}])`, legend: '{{kind}}/{{target}}' }],
          custom: { drawStyle: 'bars', fillOpacity: 60 },
          runbook: [ALERT.targetDown],
        },
      ],
    },
    {
      row: 'Recovery time distribution',
      panels: [
        {
          type: 'heatmap', title: 'Recovery time (heatmap)', unit: 's', w: 12, h: 9,
          description: 'Length of the outages that ended, per interval, bucketed (all selected targets). Quick automatic restarts sit at the bottom; manual recoveries high up.',
          queries: [{ expr: `sum by (le) (${recoveries('_bucket', RATE)})`, legend: '{{le}}', format: 'heatmap' }],
          runbook: [ALERT.recoverySlow],
        },
        {
          type: 'bargauge', title: 'Recovery time histogram (selected range)', unit: 'none', w: 12, h: 9, decimals: 0,
          description: 'How many outages ended within each recovery-time bucket in the selected range (bucket upper bound in seconds; cumulative buckets made into per-bucket counts).',
          queries: [{ expr: `sum by (le) (${recoveries('_bucket', RANGE)})`, legend: '{{le}}', format: 'heatmap', instant: true }],
          options: { displayMode: 'basic', orientation: 'vertical' },
          runbook: [ALERT.recoverySlow],
        },
        {
          type: 'timeseries', title: 'Recovery time p50 / p90 (selected range)', unit: 's', w: 12,
          description: 'Median and 90th percentile of recovery time per target over the selected range (estimated from the histogram buckets).',
          queries: [0.5, 0.9].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (job, instance, kind, target, le) (${recoveries('_bucket', RANGE)}))`,
            legend: `{{kind}}/{{target}} p${q * 100}`, instant: true,
          })),
          runbook: [ALERT.recoverySlow],
        },
        {
          type: 'table', title: 'Time since last transition', unit: 's', w: 12,
          description: 'How long each target has been in its current state (up or down).',
          queries: [{ expr: `time() - ${sel(M.targetLastTransition)}`, legend: '{{kind}}/{{target}}' }],
          transformations: [{ id: 'organize', options: { excludeByName: { Time: true, __name__: true, job: true }, renameByName: { Value: 'in current state for' } } }],
        },
      ],
    },
    {
      row: 'Restarts',
      panels: [
        {
          type: 'timeseries', title: 'Container restarts', unit: 'none', w: 8,
          description: 'Container restarts (a die followed by a start) per interval. A steady rhythm is a crash loop.',
          queries: [{ expr: `increase(${sel(M.containerRestarts)}[${RATE}])`, legend: '{{container}}' }],
          custom: { drawStyle: 'bars', fillOpacity: 60 },
          runbook: [ALERT.containerCrashLooping],
        },
        {
          type: 'timeseries', title: 'Process restarts', unit: 'none', w: 8,
          description: 'Restarts per process group (a matching process ended and a new one started) per interval.',
          queries: [{ expr: `increase(${sel(M.processRestarts)}[${RATE}])`, legend: '{{group}}' }],
          custom: { drawStyle: 'bars', fillOpacity: 60 },
          runbook: [ALERT.processRestarting],
        },
        {
          type: 'timeseries', title: 'MQTT broker restarts', unit: 'none', w: 8,
          description: 'Broker restarts seen by stackwatch ($SYS uptime went backwards) per interval.',
          queries: [{ expr: `increase(${sel(M.mqttBrokerRestarts)}[${RATE}])`, legend: '{{broker}}' }],
          custom: { drawStyle: 'bars', fillOpacity: 60 },
          runbook: [ALERT.brokerDown],
        },
      ],
    },
  ],
});
