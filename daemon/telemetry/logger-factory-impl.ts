import { inject, injectable } from 'inversify';
import winston, { type Logger } from 'winston';
import { DaemonOptions } from '../config/daemon-options.js';
import type { LoggerFactory } from './logger-factory.js';

/**
 * winston-backed {@link LoggerFactory}. With a log file, every line is one JSON object (for `uhugepaged
 * tune` and log shippers); on stderr, lines are `time level [area:Class] message {fields}`, which
 * journald and a terminal both read well.
 */
@injectable()
export class LoggerFactoryImpl implements LoggerFactory {
  readonly root: Logger;

  constructor(@inject(DaemonOptions) options: DaemonOptions) {
    const transport = options.logFile
      ? new winston.transports.File({ filename: options.logFile, format: winston.format.json() })
      : new winston.transports.Stream({ stream: process.stderr, format: humanFormat });
    this.root = winston.createLogger({
      level: options.logLevel,
      format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true })),
      transports: [transport],
    });
  }

  forClass(area: string, className: string): Logger {
    return this.root.child({ logger: `${area}:${className}` });
  }
}

const humanFormat = winston.format.printf((info) => {
  const { timestamp, level, message, logger, stack, ...fields } = info;
  const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  const where = typeof logger === 'string' ? ` [${logger}]` : '';
  const trace = typeof stack === 'string' ? `\n${stack}` : '';
  return `${String(timestamp)} ${level}${where} ${String(message)}${rest}${trace}`;
});
