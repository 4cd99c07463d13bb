import { execFileSync } from 'node:child_process';

/**
 * Fails (never skips) when a service the test needs is not installed, saying how to install it.
 * Returns the binary's absolute path.
 */
export function requireBinary(name: string, install: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed; this test needs the real one. Install it with: ${install}`);
  }
}
