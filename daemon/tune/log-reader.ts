/**
 * Reading decision logs for `uhugepaged tune`: JSON lines, streamed line by line (a log may be large),
 * with the rotated copies of each file (`FILE.N` … `FILE.1`, then `FILE`: oldest first, the order the
 * lines were written in; see rotating-file.ts). A line that is not a JSON object is counted and its
 * place kept as a sample, never fatal; a file that cannot be read is a {@link LogReadError}.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** One log line that parsed as a JSON object. */
export type LogRecord = Readonly<Record<string, unknown>>;

/** What was read, beside the records. */
export interface LogReadStats {
  /** The files read, in order (rotated copies included). */
  readonly files: string[];
  lines: number;
  /** Lines that were not a JSON object (blank lines are not counted). */
  malformed: number;
  /** The first few malformed lines, as FILE:LINE. */
  readonly malformedSamples: string[];
}

/** A log file that cannot be read. */
export class LogReadError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    reason: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`);
    this.name = 'LogReadError';
  }
}

const MALFORMED_SAMPLES = 5;

/** A file with its rotated copies, oldest first: FILE.N … FILE.1, FILE (only those that exist). */
export function logFileWithRotations(file: string): string[] {
  const older: string[] = [];
  for (let n = 1; existsSync(`${file}.${n}`); n++) older.push(`${file}.${n}`);
  return [...older.reverse(), file];
}

function errnoText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'ENOENT') return 'cannot read the log: no such file (ENOENT)';
  if (code === 'EISDIR') return 'cannot read the log: it is a directory (EISDIR)';
  return `cannot read the log: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Streams every record of the files (each with its rotated copies) to `onRecord`, in order; resolves
 * with what was read. Throws LogReadError for a file that cannot be opened or read.
 */
export async function readLogRecords(files: readonly string[], onRecord: (rec: LogRecord) => void): Promise<LogReadStats> {
  const stats: LogReadStats = { files: [], lines: 0, malformed: 0, malformedSamples: [] };
  for (const given of files) {
    try {
      if (statSync(given).isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    } catch (e) {
      throw new LogReadError(given, undefined, errnoText(e));
    }
    for (const file of logFileWithRotations(given)) {
      stats.files.push(file);
      let lineNo = 0;
      try {
        const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
        for await (const line of lines) {
          lineNo++;
          stats.lines++;
          if (line.trim() === '') continue;
          const rec = parseLine(line);
          if (rec === undefined) {
            stats.malformed++;
            if (stats.malformedSamples.length < MALFORMED_SAMPLES) stats.malformedSamples.push(`${file}:${lineNo}`);
          } else onRecord(rec);
        }
      } catch (e) {
        throw new LogReadError(file, lineNo > 0 ? lineNo : undefined, errnoText(e));
      }
    }
  }
  return stats;
}

function parseLine(line: string): LogRecord | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}
