/**
 * Probes of the kernel features the daemon depends on, each tried on the daemon's own process so that
 * nothing else is touched: the start-up checks (daemon/lifecycle/preflight.ts) read what each answers.
 * A probe returns `'ok'` or the errno name of the failure, never throws for a kernel's answer.
 */
import { KernelPortError } from '../kernel-port.js';
import { close, fill, madvise, mmapAnonymous, munmap, PIDFD_SELF_THREAD_GROUP, pidfdOpen, processMadvise } from './syscalls.js';

const HUGE = 2 * 1024 * 1024;

/** Runs `fn`; a KernelPortError becomes its errno name, anything else propagates (a bug, not an answer). */
function answer(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof KernelPortError) return e.errno;
    throw e;
  }
}

/**
 * MADV_COLLAPSE on a fully written, 2 MiB-aligned region of a fresh anonymous mapping of our own. Such
 * a region collapses wherever the advice is known (or is already huge, which also answers 0), so
 * EINVAL means the advice is not known — unless THP is disabled for this process, which the caller
 * checks. 4 MiB are mapped so that an aligned 2 MiB lies inside whatever address mmap picks.
 */
export function probeMadvCollapse(): string {
  let addr = 0;
  const mapped = answer(() => {
    addr = mmapAnonymous(2 * HUGE);
  });
  if (mapped !== 'ok') return mapped;
  try {
    const aligned = Math.ceil(addr / HUGE) * HUGE;
    return answer(() => {
      fill(aligned, HUGE, 0x5a);
      madvise(aligned, HUGE, 'MADV_COLLAPSE');
    });
  } finally {
    munmap(addr, 2 * HUGE);
  }
}

/** pidfd_open of ourselves and process_madvise with no iovec: 0 where both exist, ENOSYS where not. */
export function probeProcessMadvise(): string {
  let pidfd = -1;
  const opened = answer(() => {
    pidfd = pidfdOpen(process.pid);
  });
  if (opened !== 'ok') return opened;
  try {
    return answer(() => void processMadvise(pidfd, [], 'MADV_COLLAPSE'));
  } finally {
    close(pidfd);
  }
}

/** process_madvise on PIDFD_SELF_THREAD_GROUP with no iovec: 0 on Linux 6.13+, EBADF before. */
export function probePidfdSelf(): string {
  return answer(() => void processMadvise(PIDFD_SELF_THREAD_GROUP, [], 'MADV_COLLAPSE'));
}
