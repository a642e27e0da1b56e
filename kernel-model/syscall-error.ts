/**
 * The error a simulated syscall fails with, carrying Linux's errno name (`'EINVAL'`, `'ENOMEM'`, ...)
 * and the name of the syscall, as `errno` and strace would show them.
 */
export class SyscallError extends Error {
  constructor(
    readonly errno: Errno,
    readonly syscall: string,
    detail?: string,
  ) {
    super(`${syscall}: ${errno}${detail ? ` (${detail})` : ''}`);
    this.name = 'SyscallError';
  }
}

/** The errno names the model uses, with their Linux numbers (move_pages reports them negated). */
export const errnoNumbers = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOSPC: 28,
  ENOTEMPTY: 39,
  EOPNOTSUPP: 95,
} as const;

/** An errno name known to the model. */
export type Errno = keyof typeof errnoNumbers;
