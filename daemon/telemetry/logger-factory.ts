import type { Logger } from 'winston';

/**
 * Gives every class its own child logger named `area:Class` (e.g. `act:CollapseExecutor`), so that a
 * log line says where it came from and a log file can be filtered by area.
 */
export interface LoggerFactory {
  /** The logger of one class; `area` is the folder of the daemon it belongs to. */
  forClass(area: string, className: string): Logger;
  /** The root logger, for the composition root and process-level events. */
  readonly root: Logger;
  /**
   * Ends logging, for the last step of a shutdown: resolves once every line logged before the call is
   * written and the log file is closed. Idempotent; nothing may be logged afterwards.
   */
  close(): Promise<void>;
}

/** Token of {@link LoggerFactory}. */
export const LoggerFactory = Symbol.for('uhugepaged.LoggerFactory');
