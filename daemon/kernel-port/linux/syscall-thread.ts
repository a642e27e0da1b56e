/**
 * The port's side of its syscall thread (syscall-worker.ts): slow calls are posted to one worker thread
 * and come back as Observables that emit once and complete, or fail with the call's KernelPortError.
 *
 * Order: the worker takes messages in the order they were posted and runs each to its end before the
 * next, so calls are queued in subscription order without a queue of our own. The thread is started on
 * the first call (a `--dry-run` daemon never starts it) and holds the process alive only while a call
 * is in flight (ref/unref), so an idle daemon can still exit. A thread idle for IDLE_MS is ended and the
 * next call starts another: its V8 isolate is tens of MiB of a daemon in steady state, where nothing is
 * left to collapse. An unsubscribed call cannot be taken back from the kernel: it runs, and its reply is
 * dropped. If the thread dies, the calls in flight fail with EIO and the next call starts a new one;
 * `terminate` ends it for good.
 */
import { Worker } from 'node:worker_threads';
import { Observable, timer, type Subscription } from 'rxjs';
import { KernelPortError } from '../kernel-port.js';
import type { SyscallCall, SyscallReply } from './syscall-messages.js';

/** A call's value and how long the kernel took over it (ms, measured on the thread). */
export interface SyscallDone<T> {
  readonly value: T;
  readonly ms: number;
}

/** A thread with no call for this long is ended (ms). */
export const IDLE_MS = 30_000;

export class SyscallThread {
  private worker: Worker | undefined;
  private idleTimer: Subscription | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: SyscallReply) => void>();
  private terminated = false;

  constructor(private readonly idleMs = IDLE_MS) {}

  /** Whether the thread is running (it starts on the first call). */
  get started(): boolean {
    return this.worker !== undefined;
  }

  /** Posts a call; it runs after every call posted before it. */
  call<T extends number | number[]>(req: SyscallCall): Observable<SyscallDone<T>> {
    return new Observable<SyscallDone<T>>((subscriber) => {
      if (this.terminated) {
        subscriber.error(new KernelPortError('EBADF', req.op, 'the kernel port is closed'));
        return undefined;
      }
      const id = this.nextId++;
      let live = true;
      this.pending.set(id, (reply) => {
        if (!live) return;
        if (reply.ok) {
          subscriber.next({ value: reply.value as T, ms: reply.ms });
          subscriber.complete();
        } else subscriber.error(new KernelPortError(reply.errno, reply.call, reply.detail));
      });
      const worker = this.ensureWorker();
      this.idleTimer?.unsubscribe();
      worker.ref();
      worker.postMessage({ ...req, id });
      return () => {
        live = false;
      };
    });
  }

  /** Ends the thread (after the call it is in, if any); later calls fail with EBADF. */
  async terminate(): Promise<void> {
    this.terminated = true;
    this.idleTimer?.unsubscribe();
    const worker = this.worker;
    this.worker = undefined;
    if (worker === undefined) return;
    this.failPending('the kernel port was closed during the call');
    await worker.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./syscall-worker.js', import.meta.url));
    worker.on('message', (reply: SyscallReply) => {
      const settle = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) {
        worker.unref();
        this.idleTimer = timer(this.idleMs).subscribe(() => this.retire(worker));
      }
      settle?.(reply);
    });
    const died = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failPending(why);
    };
    worker.on('error', (e: Error) => died(`the syscall thread failed: ${e.message}`));
    worker.on('exit', (code) => died(`the syscall thread exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  /** Ends an idle thread; a call posted since keeps it. */
  private retire(worker: Worker): void {
    if (this.worker !== worker || this.pending.size > 0) return;
    this.worker = undefined;
    void worker.terminate();
  }

  private failPending(why: string): void {
    const settles = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, settle] of settles) settle({ id, ok: false, errno: 'EIO', call: 'syscall thread', detail: why });
  }
}
