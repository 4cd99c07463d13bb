import { validate } from './load';
import type { Config } from './schema';

export const BUILTIN_SOURCE = '<built-in default config>';

/**
 * The built-in default: this host's processes grouped by name, and the local Docker engine if
 * its socket exists. No HTTP or MQTT targets, so nothing can report a false outage.
 */
export function builtinConfig(): Config {
  return validate({ docker: { enabled: 'auto' }, process_discovery: { enabled: true } }, BUILTIN_SOURCE);
}
