/**
 * The vocabulary of the start-up checks (preflight.ts): findings, the host they ask, and two helpers
 * every check uses. Kept apart from the entry so that the checks and the entry do not import each other.
 */
/** How a finding bears on starting: fine, worth knowing, or a reason not to start. */
export type FindingLevel = 'ok' | 'note' | 'refuse';

/** One result of a start-up check. */
export interface Finding {
  readonly level: FindingLevel;
  /** The check's name (`madv-collapse`, `capabilities`, ...). */
  readonly check: string;
  /** What was found, in words. */
  readonly message: string;
  /** How to put it right, when there is something to do. */
  readonly fix?: string;
}

/** What a probe of a kernel feature answered: `'ok'` or the errno name of the failure. */
export type ProbeOutcome = string;

/** The kernel features found by trying them. */
export type ProbedFeature = 'madv-collapse' | 'process-madvise' | 'pidfd-self';

/** File metadata the checks need. */
export interface HostStat {
  readonly mode: number;
  readonly uid: number;
}

/**
 * Everything the checks ask of the machine. File calls throw an Error whose `code` is the errno name
 * (as Node's fs does) when the file cannot be read.
 */
export interface PreflightHost {
  readFile(path: string): string;
  readLink(path: string): string;
  stat(path: string): HostStat;
  /** Whether this process may open `path` for reading ('r') or writing ('w'); false on any error. */
  canOpen(path: string, mode: 'r' | 'w'): boolean;
  /** Tries a kernel feature on the daemon's own process; see preflight-host.ts for each probe. */
  probe(feature: ProbedFeature): ProbeOutcome;
  readonly pid: number;
  readonly euid: number;
}

/** What the checks are run for. */
export interface PreflightInput {
  readonly host: PreflightHost;
  /** The policy file the daemon will load. */
  readonly policyFile: string;
  /** The THP knob files the policy asks the daemon to hold (policy `kernelSettings`). */
  readonly kernelSettings: readonly string[];
  /** `--dry-run`: no kernel call that changes anything, so what only acting needs is a note. */
  readonly dryRun: boolean;
}

/** The errno name of a failed host call (`EIO` when the error carries none). */
export function hostErrno(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : 'EIO';
}

/** A file's text, or undefined when it cannot be read. */
export function readOptional(host: PreflightHost, path: string): string | undefined {
  try {
    return host.readFile(path);
  } catch {
    return undefined;
  }
}
