import { formatDuration } from '../config/duration';
import type { DiscoveredSummary, HistoryPoint, StatusModel, TargetSummary } from './model';

/**
 * The status page: server-rendered HTML with inline CSS and no external assets; it works with
 * JavaScript off (a reload link). With JavaScript, a few lines fetch the page's main part every
 * 10 s and swap it in place, so there is no reload flash and open incident lists stay open.
 * Dark mode follows the browser (prefers-color-scheme); the layout narrows to one column on a
 * phone.
 */

export interface PageTarget {
  summary: TargetSummary;
  /**
   * The bar's points before the one in progress: the same array object as long as they do not
   * change, so their HTML is rendered once and reused.
   */
  closed: HistoryPoint[];
  /** The point in progress. */
  current: HistoryPoint;
  /** Latency points for the sparkline (HTTP, MQTT); empty for other kinds. */
  spark: HistoryPoint[];
}

export interface PageInput {
  model: StatusModel;
  targets: PageTarget[];
  /** Which history the bars show. */
  range: '48h' | '90d';
  version: string;
  /** Only for trusted viewers. */
  configSource?: string;
  trusted: boolean;
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const pct = (u: number | null): string => (u === null ? '–' : `${(Math.floor(u * 10000) / 100).toFixed(2)}%`);

export function fmtLatency(s: number): string {
  if (s < 0.001) return `${Math.round(s * 1e6)}µs`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 2 : s < 0.1 ? 1 : 0)}ms`;
  return `${s.toFixed(2)}s`;
}

/** `2026-11-25 14:00 UTC`; bar boundaries repeat for every target, so they are remembered. */
const isoCache = new Map<number, string>();
function iso(t: number): string {
  let s = isoCache.get(t);
  if (s === undefined) {
    s = `${new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
    if (isoCache.size > 5000) isoCache.clear();
    isoCache.set(t, s);
  }
  return s;
}

function fmtBytes(b: number | null): string {
  if (b === null) return '–';
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.round(b / 1024)} KiB`;
}

/** Colour class of an uptime ratio (the badge thresholds). */
export function uptimeClass(u: number | null): string {
  if (u === null) return 'none';
  if (u >= 0.9995) return 'good';
  if (u >= 0.99) return 'fair';
  if (u >= 0.95) return 'poor';
  return 'bad';
}

/** Short time labels for tooltips: `Nov 25 14:00` (hours) or `Nov 25` (days), UTC. */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function label(t: number, daily: boolean): string {
  const key = daily ? -t : t;
  let s = isoCache.get(key);
  if (s === undefined) {
    const d = new Date(t * 1000);
    const day = `${MONTHS[d.getUTCMonth()]!} ${d.getUTCDate()}`;
    s = daily ? day : `${day} ${String(d.getUTCHours()).padStart(2, '0')}:00`;
    if (isoCache.size > 5000) isoCache.clear();
    isoCache.set(key, s);
  }
  return s;
}

const CLASS: Record<string, string> = { none: 'n', good: 'g', fair: 'f', poor: 'p', bad: 'b' };

/**
 * One cell per point with a tooltip of its figures. Tooltips hold only numbers and times made
 * here (no names, no error texts), so they need no escaping; cells are kept short because a page
 * of 100 targets has 4800 (or 9000) of them.
 */
const closedHtml = new WeakMap<HistoryPoint[], string>();

function bar(closed: HistoryPoint[], current: HistoryPoint, range: string): string {
  const daily = range === '90d';
  let before = closedHtml.get(closed);
  if (before === undefined) {
    before = cells(closed, daily);
    closedHtml.set(closed, before);
  }
  return `<div class="bar" role="img" aria-label="history of the last ${range}">${before}${cells([current], daily)}</div>`;
}

function cells(points: HistoryPoint[], daily: boolean): string {
  let cells = '';
  for (const p of points) {
    let tip = `${label(p.start, daily)} UTC`;
    if (p.uptime === null) tip += ' · no data';
    else {
      tip += ` · ${pct(p.uptime)}`;
      if (p.downSeconds > 0) tip += ` · down ${formatDuration(p.downSeconds)}`;
      tip += ` · ${p.checks} checks, ${p.failures} failed`;
      if (p.latency) tip += ` · ${fmtLatency(p.latency.min)}/${fmtLatency(p.latency.avg)}/${fmtLatency(p.latency.max)}`;
    }
    cells += `<i class=${CLASS[uptimeClass(p.uptime)]!} title="${tip}"></i>`;
  }
  return cells;
}

function sparkline(points: HistoryPoint[]): string {
  // One pass for the scale and the figures, one for the coordinates (integers: the viewBox is
  // wide enough that rounding does not show).
  let max = 0;
  let min = Infinity;
  let peak = 0;
  let sum = 0;
  let n = 0;
  for (const p of points) {
    const l = p.latency;
    if (l === undefined) continue;
    if (l.avg > max) max = l.avg;
    if (l.min < min) min = l.min;
    if (l.max > peak) peak = l.max;
    sum += l.avg;
    n += 1;
  }
  if (n === 0) return '';
  const w = 480;
  const h = 36;
  const scale = (h - 4) / (max * 1.1 || 1);
  const step = w / Math.max(1, points.length - 1);
  let polys = '';
  let run = '';
  let runLen = 0;
  const flush = (): void => {
    if (runLen > 1) polys += `<polyline points="${run}"/>`;
    else if (runLen === 1) {
      const [x, y] = run.split(',');
      polys += `<circle cx="${x!}" cy="${y!}" r="1.5"/>`;
    }
    run = '';
    runLen = 0;
  };
  for (let i = 0; i < points.length; i++) {
    const l = points[i]!.latency;
    if (l === undefined) {
      flush();
      continue;
    }
    run += `${runLen > 0 ? ' ' : ''}${Math.round(i * step)},${Math.round(h - 2 - l.avg * scale)}`;
    runLen += 1;
  }
  flush();
  return `<figure class="spark"><svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="latency over 48 hours">` +
    `<title>mean latency per hour over 48 hours; peak ${fmtLatency(peak)}</title>${polys}</svg>` +
    `<figcaption>latency 48 h: min <b>${fmtLatency(min)}</b> · avg <b>${fmtLatency(sum / n)}</b> · max <b>${fmtLatency(peak)}</b></figcaption></figure>`;
}

function incidents(t: TargetSummary): string {
  if (t.incidents.length === 0) return '<p class="none">No incidents in 90 days.</p>';
  const shown = t.incidents.slice(0, 10);
  const items = shown.map((i) => `<li class="${i.end === null ? 'ongoing' : ''}"><time datetime="${new Date(i.start * 1000).toISOString()}">${iso(i.start)}</time> ` +
    `<span class="length">${formatDuration(i.seconds)}</span>${i.end === null ? ' <em>ongoing</em>' : ''}` +
    `${i.reason !== undefined ? ` <span class="reason">${escapeHtml(i.reason)}</span>` : ''}</li>`).join('');
  const more = t.incidents.length > shown.length ? `<p class="none">${t.incidents.length - shown.length} older in the API.</p>` : '';
  return `<details data-id="${escapeHtml(`${t.kind}/${t.name}`)}"><summary>Incidents (${t.incidents.length} in 90 days)</summary><ol class="incidents">${items}</ol>${more}</details>`;
}

function target(p: PageTarget, range: string): string {
  const t = p.summary;
  const badge = `/badge/${encodeURIComponent(t.kind)}/${encodeURIComponent(t.name)}`;
  const outage = t.outageSeconds === null ? '' : `<span class="outage">down for ${formatDuration(t.outageSeconds)}</span>`;
  return `<article class="target ${t.state}" data-kind="${escapeHtml(t.kind)}" data-target="${escapeHtml(t.name)}">
<header><h3>${escapeHtml(t.name)}</h3><span class="kind">${escapeHtml(t.kind)}</span><span class="state">${t.state}</span>${t.checkedState !== undefined ? `<span class="checked">checks: ${t.checkedState}</span>` : ''}${outage}</header>
${bar(p.closed, p.current, range)}
<dl class="figures">
<div><dt>Uptime 24 h</dt><dd class="uptime-24h">${pct(t.uptime['24h'])}</dd></div>
<div><dt>7 d</dt><dd class="uptime-7d">${pct(t.uptime['7d'])}</dd></div>
<div><dt>30 d</dt><dd class="uptime-30d">${pct(t.uptime['30d'])}</dd></div>
<div><dt>MTTR 30 d</dt><dd class="mttr">${t.mttrSeconds30d === null ? '–' : formatDuration(t.mttrSeconds30d)}</dd></div>
<div><dt>Outages 30 d</dt><dd class="outages">${t.outages30d}</dd></div>
</dl>
${sparkline(p.spark)}
${t.lastError !== undefined && t.state === 'down' ? `<p class="error">${escapeHtml(t.lastError)}</p>` : ''}
${matches(t)}
${incidents(t)}
<p class="links"><a href="${badge}/status.svg">badge</a> · <a href="/api/v1/targets/${encodeURIComponent(t.kind)}/${encodeURIComponent(t.name)}/history?window=7d">history JSON</a></p>
</article>`;
}

/** A process group's matches: a group kept up by a wrapper whose arguments name the program is flagged. */
function matches(t: TargetSummary): string {
  const m = t.matches;
  if (m === undefined) return '';
  const warn = m.mixed ? '<p class="error mixed">The matches run different executables: the pattern likely also matches a wrapper (a supervisor script whose arguments name the program). Anchor it (<code>^node </code>) or match <code>exe</code>.</p>' : '';
  const rows = (m.processes ?? []).map((p) => `<tr><td>${p.pid}</td><td>${escapeHtml(p.comm)}</td><td>${escapeHtml(p.exe ?? '?')}</td></tr>`).join('');
  const table = rows === '' ? '' : `<table class="matches"><thead><tr><th>pid</th><th>comm</th><th>exe</th></tr></thead><tbody>${rows}</tbody></table>`;
  return `<details class="matches"${m.mixed ? ' open' : ''}><summary>Matches: ${m.count} process${m.count === 1 ? '' : 'es'}</summary>${warn}${table}</details>`;
}

function discovered(items: DiscoveredSummary[]): string {
  if (items.length === 0) return '';
  const rows = items.map((d) => `<tr class="${escapeHtml(d.state)}" data-kind="${d.kind}" data-target="${escapeHtml(d.name)}"><td>${d.kind === 'container' ? 'container' : 'process group'}</td>` +
    `<td>${escapeHtml(d.name)}</td><td class="state">${escapeHtml(d.state)}${d.processes !== undefined ? ` (${d.processes})` : ''}</td>` +
    `<td class="mem">${fmtBytes(d.memoryBytes)}</td><td>${d.uptime24h !== undefined ? pct(d.uptime24h) : ''}</td></tr>`).join('\n');
  return `<section class="discovered"><h2>Discovered on this host</h2>
<p class="none">Watched without being declared in the configuration.</p>
<div class="scroll"><table><thead><tr><th>Kind</th><th>Name</th><th>State</th><th>Memory</th><th>Uptime 24 h</th></tr></thead><tbody>
${rows}
</tbody></table></div></section>`;
}

export function bannerText(m: StatusModel): { cls: string; text: string } {
  const total = m.targets.length + m.discovered.filter((d) => d.kind === 'container').length;
  const parts: string[] = [];
  if (m.counts.down > 0) parts.push(`${m.counts.down} down`);
  if (m.counts.degraded > 0) parts.push(`${m.counts.degraded} degraded`);
  if (parts.length > 0) return { cls: m.counts.down > 0 ? 'down' : 'degraded', text: parts.join(' · ') };
  if (total === 0) return { cls: 'unknown', text: 'No declared targets' };
  const maint = m.counts.maintenance > 0 ? ` · ${m.counts.maintenance} in maintenance` : '';
  if (m.counts.unknown > 0) return { cls: 'unknown', text: `${m.counts.up} up · ${m.counts.unknown} not checked yet${maint}` };
  if (m.counts.maintenance > 0) return { cls: 'maintenance', text: `${m.counts.up} up${maint}` };
  return { cls: 'up', text: `All ${total} up` };
}

export function pageTitle(m: StatusModel): string {
  const bad = [m.counts.down > 0 ? `${m.counts.down} down` : '', m.counts.degraded > 0 ? `${m.counts.degraded} degraded` : ''].filter(Boolean);
  return `stackwatch${bad.length > 0 ? ` (${bad.join(', ')})` : ''}`;
}

/** The part of the page that refreshes (also served alone for the in-place refresh). */
export function renderMain(input: PageInput): string {
  const m = input.model;
  const b = bannerText(m);
  const other = input.range === '48h' ? '<a href="?bars=90d">90 days</a>' : '<a href="?bars=48h">48 hours</a>';
  return `<main id="status" data-title="${escapeHtml(pageTitle(m))}">
<header class="top"><h1>stackwatch</h1><p class="banner ${b.cls}">${escapeHtml(b.text)}</p></header>
<nav>Bars: last ${input.range === '48h' ? '48 hours per hour' : '90 days per day'} (${other}) · Updated <time>${iso(m.generatedAt).slice(11)}</time> · <a href="" class="reload">Reload</a></nav>
<section class="targets">
${input.targets.map((t) => target(t, input.range)).join('\n') || '<p class="none">No HTTP, MQTT or process targets in the configuration.</p>'}
</section>
${discovered(m.discovered)}
<footer>stackwatch ${escapeHtml(input.version)}${input.configSource !== undefined ? ` · configuration: ${escapeHtml(input.configSource)}` : ''} ·
<a href="/api/v1/targets">API</a> · <a href="/metrics">Metrics</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a></footer>
</main>`;
}

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2125;--mut:#6b7280;--card:#f6f7f9;--line:#e3e6ea;
--good:#2e9e44;--fair:#8bbf3a;--poor:#e0a526;--bad:#d93f3f;--none:#c9ced4;--deg:#d98a1c;--mnt:#3b6fd9}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e5e7eb;--mut:#9aa3ad;--card:#1b2027;--line:#2c333c;--none:#3a424c}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:1100px;margin:0 auto;padding:1rem}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem}h1{font-size:1.4rem;margin:.2rem 0}
.banner{margin:0;padding:.35rem .8rem;border-radius:.4rem;font-weight:600;color:#fff;background:var(--good)}
.banner.down{background:var(--bad)}.banner.degraded{background:var(--deg)}.banner.unknown{background:var(--mut)}.banner.maintenance{background:var(--mnt)}
nav,footer,.none,figcaption,.links{color:var(--mut);font-size:.85rem}nav{margin:.6rem 0 1rem}a{color:inherit}
.targets{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,480px),1fr));gap:.8rem}
.target{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--good);border-radius:.5rem;padding:.7rem .9rem;min-width:0}
.target.down{border-left-color:var(--bad)}.target.degraded{border-left-color:var(--deg)}.target.unknown{border-left-color:var(--none)}.target.maintenance{border-left-color:var(--mnt)}
.target header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.2rem .6rem}h3{margin:0;font-size:1.05rem;overflow-wrap:anywhere}
.kind{font-size:.75rem;color:var(--mut);text-transform:uppercase;letter-spacing:.04em}
.state{font-weight:700;text-transform:uppercase;font-size:.8rem}.up .state{color:var(--good)}.down .state{color:var(--bad)}
.degraded .state{color:var(--deg)}.unknown .state{color:var(--mut)}.maintenance .state{color:var(--mnt)}.checked{font-size:.8rem;color:var(--mut)}.outage{font-weight:600;color:var(--bad)}
.bar{display:flex;gap:1px;height:26px;margin:.6rem 0 .3rem}.bar i{flex:1;border-radius:2px;background:var(--none);min-width:1px}
.bar i:hover{opacity:.7}.bar .g{background:var(--good)}.bar .f{background:var(--fair)}.bar .p{background:var(--poor)}.bar .b{background:var(--bad)}
.figures{display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;margin:.3rem 0}.figures div{min-width:4.5rem}dt{font-size:.72rem;color:var(--mut)}dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
.spark{margin:.3rem 0}.spark svg{display:block;width:100%;height:36px}.spark polyline{fill:none;stroke:#3b82f6;stroke-width:1.5;vector-effect:non-scaling-stroke}.spark circle{fill:#3b82f6}
.error{color:var(--bad);font-size:.85rem;overflow-wrap:anywhere;margin:.3rem 0}
details{font-size:.85rem;margin:.3rem 0}summary{cursor:pointer;color:var(--mut)}.incidents{margin:.3rem 0;padding-left:1.2rem}
.incidents .length{font-weight:700}.incidents .ongoing{color:var(--bad)}.reason{color:var(--mut);overflow-wrap:anywhere}
.discovered{margin-top:1.5rem}.discovered h2{font-size:1.1rem;margin:0}.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line)}
td.mem{font-variant-numeric:tabular-nums}tr.down td.state{color:var(--bad);font-weight:700}tr.up td.state,tr.running td.state{color:var(--good)}
footer{margin-top:1.5rem;border-top:1px solid var(--line);padding-top:.6rem}
@media (max-width:520px){main{padding:.6rem}.figures{gap:.2rem .8rem}.bar{height:22px}}
`;

/** Every 10 s: fetch the main part and swap it in; keeps open incident lists open. */
const SCRIPT = `
(function(){
  var busy=false;
  function refresh(){
    if(busy||document.hidden)return;busy=true;
    var u=new URL(location.href);u.searchParams.set('fragment','1');
    fetch(u,{headers:{accept:'text/html'},cache:'no-store'}).then(function(r){if(!r.ok)throw new Error(r.status);return r.text();}).then(function(html){
      var open=[].map.call(document.querySelectorAll('details[open]'),function(d){return d.dataset.id;});
      var old=document.getElementById('status');var tpl=document.createElement('template');tpl.innerHTML=html.trim();
      var next=tpl.content.firstElementChild;if(!old||!next)return;
      open.forEach(function(id){var d=next.querySelector('details[data-id="'+CSS.escape(id)+'"]');if(d)d.open=true;});
      old.replaceWith(next);document.title=next.dataset.title||document.title;
    }).catch(function(){}).then(function(){busy=false;});
  }
  setInterval(refresh,10000);
  document.addEventListener('visibilitychange',refresh);
})();
`;

export function renderPage(input: PageInput): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(pageTitle(input.model))}</title>
<style>${CSS}</style></head><body>
${renderMain(input)}
<script>${SCRIPT}</script>
</body></html>
`;
}
