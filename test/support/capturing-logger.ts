import Transport from 'winston-transport';
import winston, { type Logger } from 'winston';
import type { LoggerFactory } from '../../daemon/telemetry/logger-factory.js';

/** One captured log entry. */
export interface Captured { level: string; message: string; logger?: string; [field: string]: unknown }

/** A winston transport that appends every entry to an array. */
export class ArrayTransport extends Transport {
  constructor(private readonly sink: Captured[]) {
    super();
  }
  override log(info: Captured, next: () => void): void {
    this.sink.push(info);
    next();
  }
}

/** A {@link LoggerFactory} that keeps every entry in memory, for assertions. */
export class CapturingLoggerFactory implements LoggerFactory {
  readonly entries: Captured[] = [];
  readonly root: Logger = winston.createLogger({ level: 'debug', transports: [new ArrayTransport(this.entries)] });
  private closing: Promise<void> | undefined;
  forClass(area: string, className: string): Logger {
    return this.root.child({ logger: `${area}:${className}` });
  }
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => this.root.end(() => resolve()));
    return this.closing;
  }
}
