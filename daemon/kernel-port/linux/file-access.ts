/**
 * The file calls the Linux port and its access samplers make, behind a small interface: on a host they
 * go to the real procfs and sysfs; in tests, to a tree in a temporary directory (`root`), where a fake
 * can stand in for what the kernel does on a write (DAMON's sysfs creating directories, refusing with
 * EBUSY). Failures are KernelPortErrors carrying the errno name Node read (ENOENT, ESRCH, EACCES, EBUSY).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KernelPortError } from '../kernel-port.js';

/** The file calls of the Linux port. */
export interface FileAccess {
  readFile(path: string): string;
  writeFile(path: string, text: string): void;
  /**
   * A write the kernel may hold for long: DAMON's `update_schemes_tried_regions` waits for kdamond's next
   * aggregation (seconds). On a host it runs off the event loop's thread.
   */
  writeFileAwaited(path: string, text: string): Promise<void>;
  readBinary(path: string, offset: number, length: number): Uint8Array;
  /** The names in a directory. */
  readDir(path: string): string[];
  exists(path: string): boolean;
  /** A small file of the daemon's own (its state directory), created with its parent directories. */
  writeOwnFile(path: string, text: string): void;
  removeOwnFile(path: string): void;
}

/** The errno name of a Node file error (EIO when it carries none). */
export function fsErrno(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : 'EIO';
}

/** Runs a file call, turning a Node error into a KernelPortError of that call. */
export function fileCall<T>(call: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new KernelPortError(fsErrno(e), call, path);
  }
}

/**
 * The host's files, each path under `root` ('' on a real host: tests give a temporary directory).
 * `awaited` performs the long writes (the port gives its syscall thread); without it they are made here.
 */
export class HostFileAccess implements FileAccess {
  constructor(
    private readonly root = '',
    private readonly awaited?: (path: string, text: string) => Promise<void>,
  ) {}

  private at(path: string): string {
    return `${this.root}${path}`;
  }

  readFile(path: string): string {
    return fileCall('read', path, () => readFileSync(this.at(path), 'utf8'));
  }

  writeFile(path: string, text: string): void {
    fileCall('write', path, () => writeFileSync(this.at(path), text));
  }

  writeFileAwaited(path: string, text: string): Promise<void> {
    if (this.awaited) return this.awaited(this.at(path), text);
    return new Promise((resolve) => {
      this.writeFile(path, text);
      resolve();
    });
  }

  readBinary(path: string, offset: number, length: number): Uint8Array {
    const fd = fileCall('open', path, () => openSync(this.at(path), 'r'));
    try {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = fileCall('pread', path, () => readSync(fd, out, done, length - done, offset + done));
        if (n === 0) break;
        done += n;
      }
      return out.subarray(0, done);
    } finally {
      closeSync(fd);
    }
  }

  readDir(path: string): string[] {
    return fileCall('readdir', path, () => readdirSync(this.at(path)));
  }

  exists(path: string): boolean {
    return existsSync(this.at(path));
  }

  writeOwnFile(path: string, text: string): void {
    fileCall('write', path, () => {
      mkdirSync(dirname(this.at(path)), { recursive: true, mode: 0o700 });
      writeFileSync(this.at(path), text, { mode: 0o600 });
    });
  }

  removeOwnFile(path: string): void {
    fileCall('unlink', path, () => rmSync(this.at(path), { force: true }));
  }
}
