/**
 * Names of the recording rules the bundle defines: the contract between the rules
 * (src/bundle/rules.ts), the alerts and the dashboards (src/bundle/dashboards/). Import from here;
 * never spell a recording rule's name elsewhere.
 *
 * Naming follows Prometheus' level:metric:operations convention.
 */

/** SLI windows of the SRE workbook's multi-window, multi-burn-rate alerts. */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

/** Uptime and MTTR windows shown on dashboards. */
export const UPTIME_WINDOWS = ['1d', '7d', '30d'] as const;
export const MTTR_WINDOWS = ['1d', '7d'] as const;

export const R = {
  /** Share of failed checks per target over a window (event-based SLI): failures / checks. */
  errorRatio: (w: SliWindow) => `kind_target:stackwatch_target_check_failures:ratio_rate${w}`,
  /** stackwatch_target_up outside maintenance windows (absent while the target is in one). */
  upOutsideMaintenance: 'kind_target:stackwatch_target_up:outside_maintenance',
  /** Share of time up per target over a window (time-based SLI), maintenance left out. */
  uptimeRatio: (w: (typeof UPTIME_WINDOWS)[number]) => `kind_target:stackwatch_target_up:avg_over_time${w}`,
  /** Mean time to recovery per target over a window, seconds. */
  mttr: (w: (typeof MTTR_WINDOWS)[number]) => `kind_target:stackwatch_target_recovery_seconds:mean${w}`,
  /** Memory floor (min over 30m) per process group / container, bytes. */
  processMemoryFloor: 'group:stackwatch_process_resident_memory_bytes:min_over_time30m',
  containerMemoryFloor: 'container:stackwatch_container_memory_usage_bytes:min_over_time30m',
  /** Slope of the memory floor, bytes per hour. */
  processMemoryFloorSlope: 'group:stackwatch_process_resident_memory_bytes:floor_deriv_bytes_per_hour',
  containerMemoryFloorSlope: 'container:stackwatch_container_memory_usage_bytes:floor_deriv_bytes_per_hour',
  /** Predicted seconds until the container reaches its memory limit at the current floor slope. */
  containerMemoryTimeToLimit: 'container:stackwatch_container_memory:seconds_to_limit',
} as const;
