// The host's own procfs and sysfs behind the two file calls of the kernel port, for tests that check the
// daemon's readers against a real Linux kernel. Read-only; anything else the port offers throws.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { KernelPortError, type KernelPort } from '../../daemon/kernel-port/kernel-port.js';

/** A Node error's errno name, as the port reports it. */
function errnoOf(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : 'EIO';
}

/** readFile and readBinary on this machine's files; the other calls of KernelPort are not there. */
export function hostFilePort(): KernelPort {
  const port = {
    readFile(path: string): string {
      try {
        return readFileSync(path, 'utf8');
      } catch (e) {
        throw new KernelPortError(errnoOf(e), 'read', path);
      }
    },
    readBinary(path: string, offset: number, length: number): Uint8Array {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (e) {
        throw new KernelPortError(errnoOf(e), 'open', path);
      }
      try {
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, length - done, offset + done);
          if (n === 0) break;
          done += n;
        }
        return out.subarray(0, done);
      } catch (e) {
        throw new KernelPortError(errnoOf(e), 'pread', path);
      } finally {
        closeSync(fd);
      }
    },
  };
  return new Proxy(port as unknown as KernelPort, {
    get(target, key, receiver): unknown {
      if (key in target) return Reflect.get(target, key, receiver);
      throw new Error(`the host file port has no ${String(key)}`);
    },
  });
}
