/**
 * The syscall thread's body: it runs the port's slow calls — process_madvise (MADV_COLLAPSE copies up to
 * 2 MiB a region, and may compact), move_pages, and sysfs writes the kernel holds (DAMON commands) — one
 * at a time, in the order they were posted, synchronously, reading errno straight after each call
 * (syscalls.ts), so the daemon's event loop never waits on the kernel. The descriptors it is given
 * (pidfds) are the process's, shared by its threads.
 */
import { writeFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { startStopwatch } from '../../schedule/stopwatch.js';
import { KernelPortError } from '../kernel-port.js';
import { fsErrno } from './file-access.js';
import type { SyscallReply, SyscallRequest } from './syscall-messages.js';
import { movePages, processMadvise } from './syscalls.js';

/** Runs one request; what it returns, or the errno it failed with. */
function run(req: SyscallRequest): SyscallReply {
  const elapsed = startStopwatch();
  try {
    let value: number | number[];
    switch (req.op) {
      case 'process_madvise':
        value = processMadvise(req.pidfd, req.iov, req.advice);
        break;
      case 'move_pages':
        value = movePages(req.pid, req.pages, req.nodes);
        break;
      case 'write':
        try {
          writeFileSync(req.path, req.text);
        } catch (e) {
          throw new KernelPortError(fsErrno(e), 'write', req.path);
        }
        value = 0;
        break;
    }
    return { id: req.id, ok: true, value, ms: elapsed() };
  } catch (e) {
    if (e instanceof KernelPortError) return { id: req.id, ok: false, errno: e.errno, call: e.call, detail: e.detail };
    return { id: req.id, ok: false, errno: 'EIO', call: req.op, detail: e instanceof Error ? e.message : String(e) };
  }
}

parentPort?.on('message', (req: SyscallRequest) => parentPort?.postMessage(run(req)));
