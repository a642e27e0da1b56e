/** The messages between the port and its syscall thread (syscall-worker.ts). */
import type { PortIovec } from '../kernel-port.js';

/** A call for the syscall thread, numbered by the port. */
export type SyscallRequest =
  | { readonly id: number; readonly op: 'process_madvise'; readonly pidfd: number; readonly iov: readonly PortIovec[]; readonly advice: string }
  | { readonly id: number; readonly op: 'move_pages'; readonly pid: number; readonly pages: readonly number[]; readonly nodes: readonly number[] }
  | { readonly id: number; readonly op: 'write'; readonly path: string; readonly text: string };

/** Its outcome: the call's value and how long it took (ms, measured on the thread), or the errno. */
export type SyscallReply =
  | { readonly id: number; readonly ok: true; readonly value: number | number[]; readonly ms: number }
  | { readonly id: number; readonly ok: false; readonly errno: string; readonly call: string; readonly detail?: string | undefined };

/** A request without its number (the port assigns it). */
export type SyscallCall = SyscallRequest extends infer R ? (R extends SyscallRequest ? Omit<R, 'id'> : never) : never;
