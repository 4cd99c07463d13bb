import type { TargetView } from './availability';
import { formatDuration } from './config/duration';

/** The landing page: every target with its state, last check, last error and outage length. */

const escape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const ago = (t: number | undefined, now: number): string => (t === undefined ? 'never' : `${formatDuration(Math.max(0, now - t))} ago`);

export interface LandingOptions {
  /**
   * Whether the viewer may see the configuration path and raw error texts (which can name
   * internal addresses); see isTrusted() in src/trust.ts. Others see states and figures only.
   */
  trusted: boolean;
}

export function renderLanding(views: readonly TargetView[], now: number, version: string, configSource: string, opts: LandingOptions = { trusted: false }): string {
  const sorted = [...views].sort((a, b) => rank(a) - rank(b) || a.kind.localeCompare(b.kind) || a.target.localeCompare(b.target));
  const down = views.filter((v) => v.state === 'down').length;
  const rows = sorted.map((v) => {
    const outage = v.downSince === undefined ? '' : formatDuration(now - v.downSince);
    const error = v.lastError === undefined ? ''
      : `${opts.trusted ? escape(v.lastError) : 'check failed'} <small>(${ago(v.lastErrorAt, now)})</small>`;
    return `<tr class="${v.state}" data-kind="${escape(v.kind)}" data-target="${escape(v.target)}">` +
      `<td>${escape(v.kind)}</td><td>${escape(v.target)}</td>` +
      `<td class="state">${v.state}</td>` +
      `<td class="outage">${outage}</td>` +
      `<td>${ago(v.lastCheck, now)}</td>` +
      `<td>${v.outages}</td><td>${formatDuration(v.downtimeSeconds)}</td>` +
      `<td class="error">${error}</td></tr>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>stackwatch${down > 0 ? ` (${down} down)` : ''}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
tr.down td.state{color:#fff;background:#c62828;font-weight:bold}tr.up td.state{color:#1b5e20;font-weight:bold}
tr.unknown td.state{color:#777}td.error{color:#b71c1c;font-size:.9em}small{color:#777}
</style></head><body>
<h1>stackwatch</h1>
<p>${views.length} targets, ${down} down. Version ${escape(version)}${opts.trusted ? `; configuration: ${escape(configSource)}` : ''}.
<a href="/metrics">Metrics</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a></p>
<table><thead><tr><th>Kind</th><th>Target</th><th>State</th><th>Outage</th><th>Last check</th><th>Outages</th><th>Downtime</th><th>Last error</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="8">No targets configured.</td></tr>'}
</tbody></table>
</body></html>
`;
}

function rank(v: TargetView): number {
  return v.state === 'down' ? 0 : v.state === 'unknown' ? 1 : 2;
}
