/** Generated Prometheus files (rules, alerts, prometheus.yml, Alertmanager config, rule tests): path -> content. */
import { alertGroups } from './alerts';
import { alertmanagerConfig, NOTIFICATION_TEMPLATE, TEMPLATE_FILE } from './alerts-routing';
import { type BundleConfig, exporterMatchers } from './bundle-config';
import { withMatchers } from './dashboards/promql';
import { alertmanagerEntrypoint, ENTRYPOINT_FILE } from './notifications';
import { trafficAlertGroups, trafficRecordingGroups } from './logs-rules';
import { trafficRuleTestFiles } from './logs-rules-tests';
import { type RuleGroup, recordingGroups } from './rules';
import { ruleTestFiles } from './rules-tests';
import { GENERATED_HEADER, toYaml } from './yaml';

/** File name (without .yml) of each rule group: prometheus/rules/<file>.yml, prometheus/alerts/<file>.yml. */
const fileOf = (group: string): string => group.replace(/^stackwatch-/, '');

/** Every selector of every rule's expression gets the exporter's matchers (the config's exporter selector). */
function selectExporter<T extends { expr: string }>(g: RuleGroup<T>, cfg: BundleConfig): RuleGroup<T> {
  const matchers = exporterMatchers(cfg);
  return { ...g, rules: g.rules.map((r) => ({ ...r, expr: withMatchers(r.expr, matchers) })) };
}

/** Recording and alerting rule files for a config: path relative to prometheus/ -> YAML. */
export function ruleFiles(cfg: BundleConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const g of recordingGroups(cfg)) out[`rules/${fileOf(g.name)}.yml`] = toYaml({ groups: [selectExporter(g, cfg)] });
  for (const g of alertGroups(cfg)) out[`alerts/${fileOf(g.name)}.yml`] = toYaml({ groups: [selectExporter(g, cfg)] });
  for (const g of trafficRecordingGroups()) out[`rules/${fileOf(g.name)}.yml`] = toYaml({ groups: [selectExporter(g, cfg)] });
  for (const g of trafficAlertGroups(cfg)) out[`alerts/${fileOf(g.name)}.yml`] = toYaml({ groups: [selectExporter(g, cfg)] });
  return out;
}

/** prometheus.yml: scrape the exporter, load rules and alerts, send to Alertmanager. */
export function prometheusConfig(cfg: BundleConfig): Record<string, unknown> {
  return {
    global: { scrape_interval: cfg.prometheus.scrapeInterval, evaluation_interval: cfg.prometheus.evaluationInterval },
    rule_files: ['rules/*.yml', 'alerts/*.yml'],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [cfg.prometheus.alertmanager] }] }] },
    scrape_configs: [{ job_name: cfg.exporter.job, static_configs: [{ targets: [cfg.exporter.address] }] }],
  };
}

export function prometheusFilesFor(cfg: BundleConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, content] of Object.entries(ruleFiles(cfg))) out[`prometheus/${rel}`] = content;
  out['prometheus/prometheus.yml'] = toYaml(prometheusConfig(cfg), `${GENERATED_HEADER}# Keep more than 30 days of data (--storage.tsdb.retention.time=35d): the SLO, uptime and
# error-budget rules look back 30 days. Rules and alerts: rules/*.yml, alerts/*.yml; their tests:
# promtool test rules tests/*.yml (run from this directory).
`);
  out['prometheus/alertmanager/alertmanager.yml'] = toYaml(alertmanagerConfig(cfg), `${GENERATED_HEADER}# Notifications to Telegram, Slack, e-mail, a webhook or ntfy need no edit here: set their secrets
# in .env and start Alertmanager through ${ENTRYPOINT_FILE}, which writes this config with those
# channels on (docs/bundle.md, "Notifications"). As it is, every receiver posts to the demo printer.
`);
  out[`prometheus/alertmanager/${TEMPLATE_FILE}`] = NOTIFICATION_TEMPLATE;
  out[`prometheus/alertmanager/${ENTRYPOINT_FILE}`] = alertmanagerEntrypoint(cfg);
  return out;
}

/** Everything under prometheus/ for a config: prometheusFilesFor() and the rule tests. */
export function prometheusFiles(cfg: BundleConfig): Record<string, string> {
  const out = prometheusFilesFor(cfg);
  for (const [rel, content] of Object.entries({ ...ruleTestFiles(cfg), ...trafficRuleTestFiles(cfg) })) out[`prometheus/tests/${rel}`] = content;
  return out;
}
