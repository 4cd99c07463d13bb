/**
 * The order jest starts test files in: files that failed last time first, then the longest first,
 * so no worker is left running one long file while the others sit idle at the end of the run.
 *
 * Jest's own sequencer orders by the durations it recorded in its cache, and when it has none (a
 * fresh clone, as in CI) runs the files without a recorded duration first, largest file first.
 * File size says little here: the image build is one of the smallest files and the longest run.
 * So a file without a recorded duration gets the one below, measured in CI, or else a guess by kind
 * (an integration file waits on real services, a unit file does not). Refresh the table from
 * `npx jest --json --outputFile=r.json` (each testResults[i].perfStats.runtime) when files are
 * added or change much; only the order depends on it, never a result.
 */
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

/**
 * Seconds per file in the fresh-clone CI run of 2026-11-26 12:10Z (2 workers), for the files that
 * took 8 s or more; the two promtool files that since run only the cases their settings change
 * are that run's figure scaled by their measured CPU time after/before (0.65 and 0.49). Six files
 * whose waits were cut since have the figure measured on a 2-core dev machine after the cut (one
 * file at a time, 1-minute load average 3-6): incident-replay-mqtt (73 in that run), ha-pair (53),
 * docker-removal (51), mqtt-sys-restart (45), series-per-kind (28) and unit/event-loop-delay (16).
 * data-dir-lock is its first run on that machine (most of it the 20 s a stale lock takes to age),
 * process-full-interval too.
 */
const SECONDS = {
  'integration/image.test.ts': 125,
  'integration/bundle-settings-promtool.test.ts': 66,
  'integration/incident-replay-mqtt.test.ts': 66,
  'integration/incident-replay-docker.test.ts': 53,
  'integration/ha-pair.test.ts': 51,
  'integration/incident-replay-processes.test.ts': 43,
  'integration/docker-removal.test.ts': 41,
  'integration/rules-promtool.test.ts': 37,
  'integration/mqtt-sys-restart.test.ts': 37,
  'integration/bundle-command.test.ts': 36,
  'integration/docker.test.ts': 29,
  'integration/maintenance-e2e.test.ts': 28,
  'integration/data-dir-lock.test.ts': 28,
  'integration/dashboards-live.test.ts': 28,
  'integration/status-page.test.ts': 27,
  'integration/logs-nginx.test.ts': 24,
  'unit/docker-removal.test.ts': 23,
  'integration/storage-failures.test.ts': 23,
  'integration/restart.test.ts': 22,
  'integration/web-tls.test.ts': 19,
  'integration/cli.test.ts': 18,
  'integration/process-restarts.test.ts': 17,
  'integration/alerts-e2e.test.ts': 15,
  'integration/process-full-interval.test.ts': 15,
  'integration/docker-restart.test.ts': 15,
  'integration/mqtt-broker.test.ts': 14,
  'integration/compose.test.ts': 13,
  'integration/process.test.ts': 13,
  'integration/healthcheck.test.ts': 12,
  'integration/reload-reconcile.test.ts': 12,
  'integration/series-per-kind.test.ts': 12,
  'integration/http-hardening.test.ts': 11,
  'integration/http-probe.test.ts': 11,
  'unit/event-loop-delay.test.ts': 11,
  'integration/logs-rules-promtool.test.ts': 10,
  'integration/http-stall.test.ts': 10,
  'integration/compose-demo.test.ts': 10,
  'integration/http-seed.test.ts': 9,
  'integration/alertmanager-routing.test.ts': 9,
  'integration/http-exposition.test.ts': 8,
};
const GUESS = { integration: 6, unit: 1 };

class LongestFirst extends Sequencer {
  /** Seconds: jest's record from an earlier run here, else the table, else the guess. */
  expected(test) {
    const recorded = this.time(test);
    if (recorded !== undefined) return recorded / 1000;
    const rel = path.relative(path.join(test.context.config.rootDir, 'test'), test.path).split(path.sep).join('/');
    return SECONDS[rel] ?? (rel.startsWith('integration/') ? GUESS.integration : GUESS.unit);
  }

  sort(tests) {
    const keyed = tests.map((test) => ({ test, failed: this.hasFailed(test), seconds: this.expected(test) }));
    keyed.sort((a, b) => (a.failed !== b.failed ? (a.failed ? -1 : 1) : b.seconds - a.seconds || (a.test.path < b.test.path ? -1 : 1)));
    // As jest's own sort does: `duration` is what jest recorded, for its estimate and its choice
    // to run a few known-fast files in band; the table never stands in for it there.
    return keyed.map(({ test }) => Object.assign(test, { duration: this.time(test) }));
  }
}

module.exports = LongestFirst;
