import type { IncomingMessage } from 'node:http';

/**
 * Who may see everything the exporter knows (config path, target URLs, raw error texts) and who
 * sees only names, states and figures.
 *
 * A request is trusted when it passed authentication (basic auth or a verified client
 * certificate configured through the web config file), or, when no authentication is
 * configured, when it comes from the loopback interface. Every page, API and badge that can
 * reveal configuration asks this one function.
 */
export interface TrustPolicy {
  /** True when authentication is configured: every request that reached a handler passed it. */
  authConfigured(): boolean;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export function isTrusted(req: IncomingMessage, policy: TrustPolicy): boolean {
  return policy.authConfigured() || isLoopback(req.socket.remoteAddress);
}
