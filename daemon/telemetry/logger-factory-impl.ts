import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { inject, injectable } from 'inversify';
import winston, { type Logger } from 'winston';
import { DaemonOptions } from '../config/daemon-options.js';
import type { LoggerFactory } from './logger-factory.js';
import { journalFormat, stderrIsJournal } from './journal-stream.js';
import { RotatingFileStream } from './rotating-file.js';

/**
 * winston-backed {@link LoggerFactory}. With a log file, every line is one JSON object (for `uhugepaged
 * tune` and log shippers), written through a {@link RotatingFileStream} (`logMaxBytes`, `logMaxFiles`);
 * on stderr, lines are `time level [area:Class] message {fields}` for a terminal, or, when stderr is
 * the systemd journal (JOURNAL_STREAM), `<N>[area:Class] message {fields}`: the journal reads the
 * priority from `<N>` and stamps the time itself (journal-stream.ts).
 */
@injectable()
export class LoggerFactoryImpl implements LoggerFactory {
  readonly root: Logger;
  private readonly file: RotatingFileStream | undefined;
  private closing: Promise<void> | undefined;

  constructor(@inject(DaemonOptions) options: DaemonOptions) {
    this.file = options.logFile
      ? new RotatingFileStream({ file: options.logFile, maxBytes: options.logMaxBytes, maxFiles: options.logMaxFiles })
      : undefined;
    const transport = this.file
      ? new winston.transports.Stream({ stream: this.file, format: winston.format.json() })
      : new winston.transports.Stream({ stream: process.stderr, format: stderrIsJournal(process.env) ? journalFormat : humanFormat });
    this.root = winston.createLogger({
      level: options.logLevel,
      format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true })),
      transports: [transport],
    });
  }

  forClass(area: string, className: string): Logger {
    return this.root.child({ logger: `${area}:${className}` });
  }

  /**
   * Ends the root logger once every line logged so far has reached its transport, then ends the log
   * file (stderr stays open). winston's transport does not end the stream it was given, hence the second
   * step.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const loggerFinished = once(this.root, 'finish');
    this.root.end();
    await loggerFinished;
    if (this.file) await finished(this.file.end());
  }
}

const humanFormat = winston.format.printf((info) => {
  const { timestamp, level, message, logger, stack, ...fields } = info;
  const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  const where = typeof logger === 'string' ? ` [${logger}]` : '';
  const trace = typeof stack === 'string' ? `\n${stack}` : '';
  return `${String(timestamp)} ${level}${where} ${String(message)}${rest}${trace}`;
});
