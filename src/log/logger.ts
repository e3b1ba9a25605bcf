import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from '../config/config.js';

export type { Logger };

/**
 * pino to stderr: JSON lines by default (for collectors and tests), human-readable when
 * stderr is a terminal. Synchronous so that no record is lost when the process exits.
 */
export function createLogger(level: LogLevel, options: { pretty?: boolean } = {}): Logger {
  const human = options.pretty ?? process.stderr.isTTY === true;
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (human) {
    return pino(base, pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' }));
  }
  return pino(base, pino.destination({ fd: 2, sync: true }));
}
