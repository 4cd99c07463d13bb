import type { IncomingMessage } from 'node:http';

/**
 * Cross-site request refusal for state-changing requests (POST /-/reload), as Go's
 * net/http CrossOriginProtection does it: a browser says where a request comes from in
 * `Sec-Fetch-Site`, or failing that in `Origin`; a request from another site is refused.
 * Requests with neither header (curl, Prometheus tooling, scripts) are not from a browser page
 * and pass. Without this, any web page open in a browser on the same host could make it
 * reload the exporter with a `text/plain` form POST, which needs no CORS preflight.
 */

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Returns why the request is refused, or undefined when it may proceed. */
export function crossOriginRefusal(req: IncomingMessage): string | undefined {
  if (SAFE.has(req.method ?? 'GET')) return undefined;
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== '') {
    return site === 'same-origin' || site === 'none' ? undefined : `Sec-Fetch-Site is ${site}`;
  }
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === '') return undefined;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'Origin is not a URL';
  }
  return host !== '' && host === req.headers.host ? undefined : 'Origin is another site';
}
