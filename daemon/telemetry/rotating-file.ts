/**
 * The log file, rotated by size in logrotate's numbered scheme: lines go to `file`; when the next chunk
 * would take it past `maxBytes` (and it holds something), it is closed and renamed down the line
 *
 *     file.(maxFiles-1) → file.maxFiles (replacing it), ..., file.1 → file.2, file → file.1
 *
 * and a fresh `file` is opened, so `file` always has the newest lines and `file.maxFiles` the oldest kept.
 * `maxFiles` 0 keeps no copies: `file` is truncated in place instead. The renames stop at the first
 * missing number (the files above it need not move), so a rotation costs a stat and a rename per file
 * kept, however large `maxFiles` is. A chunk (one or more whole lines) is never split across files, so
 * a single line longer than `maxBytes` gets a file of its own.
 *
 * Why not winston's File transport (maxsize, maxFiles, tailable): it lost lines when a burst was logged
 * and a rotation happened in the middle of it. Here every fs call is synchronous, made inside
 * `_write`/`_writev`: a chunk has been handed to the kernel before the next one is looked at, and a
 * rotation cannot overlap a write. That costs one blocking write(2) per log line, which is little at the
 * rate the daemon logs; chunks buffered while the stream is corked go out as one write(2) per file.
 *
 * Invariants: `size` is the length of `file` (this stream is its only writer); `fd` is open from the
 * constructor until `_final` or `_destroy`, except after a failed reopen, which errors the stream.
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';

/** Where the log goes and how much of it is kept. */
export interface RotatingFileOptions {
  /** The file written to; its directory must exist. */
  readonly file: string;
  /** Largest size of a file in bytes, unless one line alone is larger. */
  readonly maxBytes: number;
  /** Rotated files kept (`file.1` .. `file.maxFiles`); 0 truncates `file` in place instead. */
  readonly maxFiles: number;
}

/**
 * A byte stream into a size-rotated log file (see the file comment). Each write must be whole lines.
 * The constructor opens the file and throws if it cannot; errors later (a rename, a reopen, a full
 * disk) go to the write's callback, so they are the stream's `'error'`.
 */
export class RotatingFileStream extends Writable {
  private readonly file: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private fd: number | undefined;
  private size: number;

  constructor(options: RotatingFileOptions) {
    super({ decodeStrings: true });
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) {
      throw new RangeError(`maxBytes of the log file ${options.file} must be a positive whole number, got ${options.maxBytes}`);
    }
    if (!Number.isSafeInteger(options.maxFiles) || options.maxFiles < 0) {
      throw new RangeError(`maxFiles of the log file ${options.file} must be a whole number ≥ 0, got ${options.maxFiles}`);
    }
    this.file = options.file;
    this.maxBytes = options.maxBytes;
    this.maxFiles = options.maxFiles;
    this.fd = this.open('a');
    this.size = fstatSync(this.fd).size;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    callback(attempt(() => this.append([chunk])));
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    callback(attempt(() => this.append(chunks.map((c) => c.chunk))));
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback(attempt(() => this.closeFile()));
  }

  /** Also runs after `_final` (a no-op then); on an error or `destroy()` it is what closes the file. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const closeError = attempt(() => this.closeFile());
    callback(error ?? closeError);
  }

  /** Writes the chunks in order, rotating before any chunk that would not fit; as few writes as that allows. */
  private append(chunks: readonly Buffer[]): void {
    let first = 0;
    let pending = 0;
    for (let i = 0; i < chunks.length; i++) {
      const length = chunks[i].length;
      if (this.size + pending > 0 && this.size + pending + length > this.maxBytes) {
        this.writeAll(Buffer.concat(chunks.slice(first, i)));
        this.rotate();
        first = i;
        pending = 0;
      }
      pending += length;
    }
    this.writeAll(chunks.length - first === 1 ? chunks[first] : Buffer.concat(chunks.slice(first)));
  }

  private writeAll(bytes: Buffer): void {
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd!, bytes, done);
    this.size += bytes.length;
  }

  private rotate(): void {
    this.closeFile();
    if (this.maxFiles === 0) {
      this.fd = this.open('w');
    } else {
      // Only the run file.1 .. file.(free-1) has to move: file.free is missing, or is the oldest and is replaced.
      let free = 1;
      while (free < this.maxFiles && existsSync(`${this.file}.${free}`)) free++;
      for (let k = free - 1; k >= 1; k--) renameIfPresent(`${this.file}.${k}`, `${this.file}.${k + 1}`);
      renameIfPresent(this.file, `${this.file}.1`);
      this.fd = this.open('a');
    }
    this.size = 0;
  }

  private open(flags: 'a' | 'w'): number {
    try {
      return openSync(this.file, flags);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? `its directory ${dirname(this.file)} does not exist` : (e as Error).message;
      throw new Error(`cannot open the log file ${this.file}: ${why}`, { cause: e });
    }
  }

  private closeFile(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }
}

/** Runs `action` and returns what it threw, as a stream callback takes it, instead of throwing. */
function attempt(action: () => void): Error | null {
  try {
    action();
    return null;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Renames `from` to `to`, replacing `to`; a missing `from` (fewer files so far) is no error. */
function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
