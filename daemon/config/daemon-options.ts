/**
 * Options the daemon process is started with (from the command line), as opposed to policy, which lives
 * in policy files. Bound as a constant value by the composition root.
 */
export interface DaemonOptions {
  /** winston level: error, warn, info, verbose, debug. */
  readonly logLevel: string;
  /** Write JSON lines to this file instead of human-readable lines to stderr. */
  readonly logFile?: string | undefined;
  /** The log file is rotated before it would grow past this many bytes (unless one line alone is larger). */
  readonly logMaxBytes: number;
  /** Rotated log files kept (`FILE.1` newest .. `FILE.N` oldest); 0 truncates the log file in place instead. */
  readonly logMaxFiles: number;
  /** Upper bound on how long a graceful shutdown may take before the process gives up waiting. */
  readonly shutdownTimeoutMs: number;
  /** Port of the Prometheus endpoint on 127.0.0.1; 0 turns it off. */
  readonly metricsPort: number;
  /** The policy file; undefined means the shipped config/uhugepaged.yaml. */
  readonly policyFile?: string | undefined;
  /** Decide and log, never act: no process_madvise, no move_pages, not even pidfd_open. */
  readonly dryRun: boolean;
  /** One observe-decide-act cycle, then stop. */
  readonly once: boolean;
}

/** Token of {@link DaemonOptions}. */
export const DaemonOptions = Symbol.for('uhugepaged.DaemonOptions');

/** Defaults used when the command line says nothing. */
export const defaultDaemonOptions: DaemonOptions = {
  logLevel: 'info',
  logMaxBytes: 64 * 1024 * 1024,
  logMaxFiles: 5,
  shutdownTimeoutMs: 10_000,
  metricsPort: 0,
  dryRun: false,
  once: false,
};
