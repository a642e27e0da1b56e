/**
 * Log lines for the systemd journal. When a service's stderr is connected to the journal, systemd sets
 * JOURNAL_STREAM to that stream's `device:inode`; a line starting with `<N>` is then stored at syslog
 * priority N (the sd-daemon.h convention), and the journal stamps each line itself. So there the
 * daemon writes one line per record, with its priority and without a timestamp; the variable alone is
 * not enough, because a child that inherited it may have had its stderr redirected elsewhere.
 */
import { fstatSync } from 'node:fs';
import winston from 'winston';

/** The device and inode of an open file descriptor, as JOURNAL_STREAM writes them (decimal). */
export type FdIdentity = (fd: number) => { dev: bigint; ino: bigint };

const fstatIdentity: FdIdentity = (fd) => {
  const s = fstatSync(fd, { bigint: true });
  return { dev: s.dev, ino: s.ino };
};

/** Whether file descriptor `fd` (stderr by default) is the stream JOURNAL_STREAM names. */
export function stderrIsJournal(env: NodeJS.ProcessEnv, identity: FdIdentity = fstatIdentity, fd = 2): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const { dev, ino } = identity(fd);
    return dev === BigInt(m[1]) && ino === BigInt(m[2]);
  } catch {
    return false;
  }
}

/** winston's npm levels as syslog priorities (3 err, 4 warning, 6 info, 7 debug). */
export const journalPriority: Readonly<Record<string, number>> = { error: 3, warn: 4, info: 6, http: 6, verbose: 7, debug: 7, silly: 7 };

/**
 * `<N>[area:Class] message {fields}`: one line per record. A stack trace goes into the fields as one
 * JSON string, because each line of a multi-line record would become an entry of its own, at the
 * default priority.
 */
export const journalFormat = winston.format.printf((info) => {
  const { timestamp: _timestamp, level, message, logger, ...fields } = info;
  const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  const where = typeof logger === 'string' ? `[${logger}] ` : '';
  const text = `${where}${String(message)}${rest}`.replace(/\r?\n/g, ' ');
  return `<${journalPriority[level] ?? 6}>${text}`;
});
