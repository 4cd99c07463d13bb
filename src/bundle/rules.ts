/**
 * Recording rules (prometheus/rules/*.yml): SLI error ratios, uptime ratios, MTTR, memory floors,
 * their slopes and the predicted time to a container's memory limit. Metric names come from
 * src/metrics/definitions.ts (M) and recording-rule names from ./names.ts (R).
 */
import { M } from '../metrics/definitions';
import { type BundleConfig, type Duration, durationSeconds } from './bundle-config';
import { MTTR_WINDOWS, R, SLI_WINDOWS, UPTIME_WINDOWS } from './names';

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup<T> {
  name: string;
  interval?: string;
  rules: T[];
}

/** The labels every per-target aggregate keeps: which exporter, which target. */
export const TARGET_LABELS = 'job, instance, kind, target';

/**
 * Increase of a counter over `w`, counting series born inside the window from zero. Prometheus
 * 2.42's increase() ignores a series' first sample, so a histogram series created by its first
 * observation (the recovery histogram: one per recovery) would otherwise never count its first
 * outage. Series that existed `w` ago use increase() as usual.
 */
export function increaseFromBirth(metric: string, w: string): string {
  return `(${metric} unless ${metric} offset ${w}) or increase(${metric}[${w}])`;
}

/**
 * Events counted by a counter over `w`, for counters that can be born non-zero: a container
 * OOM-killed (or restarted) before the first scrape that saw it is first stored at 1, and
 * increase() sees no change. A series born inside the window counts from zero, unless the
 * exporter itself started within the window: then every series is born at once, carrying the
 * history it read at start (Docker's RestartCount), which is no event of the window. Series that
 * existed `w` ago use increase() as usual.
 */
export function increaseSinceBirth(metric: string, w: Duration): string {
  const born = `(${metric} unless ${metric} offset ${w})`;
  return `((${born} and on(job, instance) (time() - ${EXPORTER_START} > ${durationSeconds(w)})) or increase(${metric}[${w}]))`;
}

/** The exporter's process start time (prom-client's default process metrics). */
export const EXPORTER_START = 'process_start_time_seconds';

/**
 * Leaves out targets inside a maintenance window. The exporter does not count checks made inside
 * a window (so the counters' long windows leave them out by themselves); this keeps the short
 * windows, whose rates still hold failures from just before the window, from judging it meanwhile.
 */
export const OUTSIDE_MAINTENANCE = `unless on(${TARGET_LABELS}) ${M.targetInMaintenance.name} == 1`;

export function recordingGroups(cfg: BundleConfig): RuleGroup<RecordingRule>[] {
  const errorRatios: RecordingRule[] = SLI_WINDOWS.map((w) => ({
    record: R.errorRatio(w),
    expr: `(sum by (${TARGET_LABELS}) (rate(${M.targetCheckFailures.name}[${w}])) / sum by (${TARGET_LABELS}) (rate(${M.targetChecks.name}[${w}]))) ${OUTSIDE_MAINTENANCE}`,
  }));
  // Time up is sampled at every evaluation outside maintenance; the ratios average those samples.
  const uptime: RecordingRule[] = [
    { record: R.upOutsideMaintenance, expr: `${M.targetUp.name} ${OUTSIDE_MAINTENANCE}` },
    ...UPTIME_WINDOWS.map((w) => ({
      record: R.uptimeRatio(w),
      expr: `avg by (${TARGET_LABELS}) (avg_over_time(${R.upOutsideMaintenance}[${w}]))`,
    })),
  ];
  const sum = `${M.targetRecovery.name}_sum`;
  const count = `${M.targetRecovery.name}_count`;
  const mttr: RecordingRule[] = MTTR_WINDOWS.map((w) => ({
    record: R.mttr(w),
    expr: `sum by (${TARGET_LABELS}) (${increaseFromBirth(sum, w)}) / (sum by (${TARGET_LABELS}) (${increaseFromBirth(count, w)}) > 0)`,
  }));
  const slope = cfg.leak.slopeWindow;
  const memory: RecordingRule[] = [
    { record: R.processMemoryFloor, expr: `min_over_time(${M.processRss.name}[30m])` },
    { record: R.containerMemoryFloor, expr: `min_over_time(${M.containerMemUsage.name}[30m])` },
    { record: R.processMemoryFloorSlope, expr: `deriv(${R.processMemoryFloor}[${slope}]) * 3600` },
    { record: R.containerMemoryFloorSlope, expr: `deriv(${R.containerMemoryFloor}[${slope}]) * 3600` },
    {
      record: R.containerMemoryTimeToLimit,
      expr: `(${M.containerMemLimit.name} - ${R.containerMemoryFloor}) / (${R.containerMemoryFloorSlope} > 0) * 3600`,
    },
  ];
  return [
    { name: 'stackwatch-sli', rules: errorRatios },
    { name: 'stackwatch-uptime', rules: uptime },
    { name: 'stackwatch-recovery', rules: mttr },
    { name: 'stackwatch-memory', rules: memory },
  ];
}

/** Every recording rule name the bundle defines. */
export function recordedNames(cfg: BundleConfig): string[] {
  return recordingGroups(cfg).flatMap((g) => g.rules.map((r) => r.record));
}
