import pino, { type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Structured logs on stderr (stdout stays free for --check-config and --help output).
 * Messages are fixed strings; data goes in fields; errors as `{ err }`.
 */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { app: 'stackwatch' } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything, for tests and --check-config. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
