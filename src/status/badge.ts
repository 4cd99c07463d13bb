import { formatDuration } from '../config/duration';
import { escapeHtml, pct } from './page';
import type { StatusState } from './model';

/**
 * SVG badges in the shields.io "flat" style for READMEs and wikis: status, uptime and MTTR,
 * coloured by thresholds. Text widths are estimated from per-character widths of Verdana 11px.
 */

export const COLOURS = {
  brightgreen: '#4c1', green: '#97ca00', yellow: '#dfb317', orange: '#fe7d37', red: '#e05d44', grey: '#9f9f9f', blue: '#007ec6',
} as const;

/** Uptime: >= 99.95 % bright green, >= 99 % green, >= 95 % yellow, else red; none grey. */
export function uptimeColour(u: number | null): string {
  if (u === null) return COLOURS.grey;
  if (u >= 0.9995) return COLOURS.brightgreen;
  if (u >= 0.99) return COLOURS.green;
  if (u >= 0.95) return COLOURS.yellow;
  return COLOURS.red;
}

/** MTTR: no outage or up to 5 min bright green, up to 15 min green, up to 1 h yellow, else red. */
export function mttrColour(s: number | null): string {
  if (s === null || s <= 300) return COLOURS.brightgreen;
  if (s <= 900) return COLOURS.green;
  if (s <= 3600) return COLOURS.yellow;
  return COLOURS.red;
}

export function stateColour(s: StatusState): string {
  return { up: COLOURS.brightgreen, down: COLOURS.red, degraded: COLOURS.orange, unknown: COLOURS.grey, maintenance: COLOURS.blue }[s];
}

export const uptimeText = pct;
export const mttrText = (s: number | null): string => (s === null ? 'no outages' : formatDuration(s));

function textWidth(s: string): number {
  let w = 0;
  for (const c of s) w += /[il.:,;!|' ]/.test(c) ? 3.5 : /[mwMW%]/.test(c) ? 10 : /[A-Z0-9]/.test(c) ? 7.5 : 6.5;
  return Math.ceil(w);
}

export function badge(label: string, value: string, colour: string): string {
  const lw = textWidth(label) + 10;
  const vw = textWidth(value) + 10;
  const w = lw + vw;
  const l = escapeHtml(label);
  const v = escapeHtml(value);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${l}: ${v}"><title>${l}: ${v}</title>` +
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)">` +
    `<rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${vw}" height="20" fill="${colour}"/><rect width="${w}" height="20" fill="url(#s)"/></g>` +
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">` +
    `<text x="${lw / 2}" y="15" fill="#010101" fill-opacity=".3">${l}</text><text x="${lw / 2}" y="14">${l}</text>` +
    `<text x="${lw + vw / 2}" y="15" fill="#010101" fill-opacity=".3">${v}</text><text x="${lw + vw / 2}" y="14">${v}</text></g></svg>`;
}
