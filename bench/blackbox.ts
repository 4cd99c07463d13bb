/**
 * blackbox_exporter as the whole-daemon benches run it (bench/daemon.bench.ts,
 * bench/http-reference.bench.ts): Debian's binary, with an `http_json` module that judges a
 * target as stackwatch's JSON health check does (200 and `"status": "healthy"` in the body).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

export const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';

/** Writes the module config into `dir` and returns blackbox_exporter's arguments to listen on `port`. */
export function blackboxJsonArgs(dir: string, port: number): string[] {
  const file = path.join(dir, 'blackbox.yml');
  writeFileSync(file, stringify({
    modules: {
      http_json: {
        prober: 'http', timeout: '3s',
        http: { method: 'GET', valid_status_codes: [200], fail_if_body_not_matches_regexp: ['"status":\\s*"healthy"'], preferred_ip_protocol: 'ip4' },
      },
    },
  }));
  return [`--config.file=${file}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
}
