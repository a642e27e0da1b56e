/**
 * pidfds and process_madvise(2) (Linux kernel/pid.c pidfd_open, mm/madvise.c process_madvise), with
 * the checks in Linux 6.18's order:
 *
 *   1. flags ≠ 0                                       → EINVAL
 *   2. vlen > UIO_MAXIOV (1024)                        → EINVAL; a malformed iovec → EINVAL (the model's
 *      stand-in for a bad pointer); a total over MAX_RW_COUNT is silently cut to it
 *   3. not an open pidfd                               → EBADF; target exited → ESRCH
 *      (PIDFD_SELF, -10000 or -10001, names the caller)
 *   4. PTRACE_MODE_READ on the target fails            → EACCES
 *   5. remote target, advice outside COLD/PAGEOUT/WILLNEED/COLLAPSE → EINVAL
 *   6. remote target, caller without CAP_SYS_NICE      → EPERM
 *   7. the iovecs in order; the first failing one stops the call. The result is the sum of the raw
 *      lengths of the iovecs completed before it if that is > 0, else that iovec's errno.
 */
import { PAGE_SIZE } from './constants.js';
import type { Task } from './mm-types.js';
import { SyscallError, type Errno } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** PIDFD_SELF_THREAD and PIDFD_SELF_THREAD_GROUP. */
export const PIDFD_SELF_THREAD = -10000;
export const PIDFD_SELF_THREAD_GROUP = -10001;
/** UIO_MAXIOV. */
export const UIO_MAXIOV = 1024;
/** MAX_RW_COUNT: INT_MAX rounded down to a page. */
export const MAX_RW_COUNT = 0x7ffff000;
/** The first file descriptor a pidfd gets (0–2 are the standard streams). */
const FIRST_FD = 3;

/** Advice another process may apply (process_madvise_remote_valid). */
const remoteAdvice: ReadonlySet<string> = new Set(['MADV_COLD', 'MADV_PAGEOUT', 'MADV_WILLNEED', 'MADV_COLLAPSE']);

/** One iovec. */
export interface Iovec {
  readonly base: number;
  readonly len: number;
}

/** pidfd_open(2): a new descriptor in the caller's table referring to `target`. */
export function pidfdOpen(k: Kernel, caller: Task, targetPid: number): number {
  const target = k.task(targetPid);
  if (!target) throw new SyscallError('ESRCH', 'pidfd_open', `pid ${targetPid}`);
  let fd = FIRST_FD;
  while (caller.fds.has(fd)) fd++;
  caller.fds.set(fd, target.pid);
  return fd;
}

/** close(2) of a descriptor. */
export function closeFd(caller: Task, fd: number): void {
  if (!caller.fds.delete(fd)) throw new SyscallError('EBADF', 'close', `fd ${fd}`);
}

function validIovecPart(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < 2 ** 63;
}

/** process_madvise(2); returns the bytes advised, or throws the errno as SyscallError. */
export function processMadvise(k: Kernel, caller: Task, pidfd: number, iov: readonly Iovec[], advice: string, flags: number): number {
  const fail = (errno: Errno, why: string): never => {
    throw new SyscallError(errno, 'process_madvise', why);
  };
  if (flags !== 0) fail('EINVAL', `flags ${flags}`);
  if (iov.length > UIO_MAXIOV) fail('EINVAL', `vlen ${iov.length} > ${UIO_MAXIOV}`);
  for (const v of iov) if (!validIovecPart(v.base) || !validIovecPart(v.len)) fail('EINVAL', `bad iovec {${v.base}, ${v.len}}`);
  const vectors = capTotal(iov);
  const target = resolvePidfd(k, caller, pidfd, fail);
  if (!k.ptraceMayRead(caller, target)) fail('EACCES', `no PTRACE_MODE_READ on pid ${target.pid}`);
  const remote = target !== caller;
  if (remote && !remoteAdvice.has(advice)) fail('EINVAL', `${advice} is not allowed on another process`);
  if (remote && !caller.hasCap('CAP_SYS_NICE')) fail('EPERM', 'CAP_SYS_NICE is needed to advise another process');
  let done = 0;
  for (const v of vectors) {
    try {
      if (v.base % PAGE_SIZE !== 0) throw new SyscallError('EINVAL', 'process_madvise', `unaligned base 0x${v.base.toString(16)}`);
      if (v.len > 0) k.madvise.madvise(target, v.base, v.len, advice, caller);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (done > 0) return done;
      throw new SyscallError(e.errno, 'process_madvise', e.message);
    }
    done += v.len;
  }
  return done;
}

/** The target of a pidfd (or PIDFD_SELF): EBADF for no such descriptor, ESRCH for an exited process. */
function resolvePidfd(k: Kernel, caller: Task, pidfd: number, fail: (errno: Errno, why: string) => never): Task {
  if (pidfd === PIDFD_SELF_THREAD || pidfd === PIDFD_SELF_THREAD_GROUP) return caller;
  const pid = caller.fds.get(pidfd);
  if (pid === undefined) return fail('EBADF', `fd ${pidfd} is not an open pidfd`);
  return k.task(pid) ?? fail('ESRCH', `pid ${pid} has exited`);
}

/** import_iovec: lengths beyond MAX_RW_COUNT in total are cut off. */
function capTotal(iov: readonly Iovec[]): Iovec[] {
  let left = MAX_RW_COUNT;
  return iov.map((v) => {
    const len = Math.min(v.len, left);
    left -= len;
    return { base: v.base, len };
  });
}
