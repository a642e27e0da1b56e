/**
 * The few system calls the daemon makes on a real Linux kernel, through koffi into the C library:
 * pidfd_open, process_madvise and move_pages (by number, through syscall(2): glibc wraps the first two
 * only since 2.36 and move_pages lives in libnuma), close, and — for start-up probes on the daemon's own
 * memory and the Linux benchmarks' child program — mmap, mprotect, munmap, madvise and memset.
 *
 * Each call is synchronous and reads errno at once, before anything else can run on the thread and
 * overwrite it; a failure throws a {@link KernelPortError} with the errno's name, as strace prints it.
 * The calls that can take long (process_madvise with MADV_COLLAPSE copies up to 2 MiB per region,
 * move_pages copies pages) must not run on the event loop's thread: the Linux port runs them in a worker
 * thread, which loads this same module.
 */
import { constants } from 'node:os';
import koffi, { type LibraryHandle } from 'koffi';
import { KernelPortError, type PortIovec } from '../kernel-port.js';

/** madvise(2) advice values (include/uapi/asm-generic/mman-common.h). */
export const MADV: Readonly<Record<string, number>> = {
  MADV_NORMAL: 0,
  MADV_RANDOM: 1,
  MADV_SEQUENTIAL: 2,
  MADV_WILLNEED: 3,
  MADV_DONTNEED: 4,
  MADV_FREE: 8,
  MADV_REMOVE: 9,
  MADV_DONTFORK: 10,
  MADV_DOFORK: 11,
  MADV_MERGEABLE: 12,
  MADV_UNMERGEABLE: 13,
  MADV_HUGEPAGE: 14,
  MADV_NOHUGEPAGE: 15,
  MADV_DONTDUMP: 16,
  MADV_DODUMP: 17,
  MADV_COLD: 20,
  MADV_PAGEOUT: 21,
  MADV_POPULATE_READ: 22,
  MADV_POPULATE_WRITE: 23,
  MADV_COLLAPSE: 25,
};

/** process_madvise(2) on oneself without a pidfd (Linux 6.13+): the calling thread, or its thread group. */
export const PIDFD_SELF_THREAD = -10000;
export const PIDFD_SELF_THREAD_GROUP = -10001;

/** move_pages(2) flag: move pages mapped by this process only (MPOL_MF_MOVE_ALL would need CAP_SYS_NICE for shared ones too). */
export const MPOL_MF_MOVE = 1 << 1;

const SYS_pidfd_open = 434;
const SYS_process_madvise = 440;
/** move_pages predates the unified syscall table, so its number differs by architecture. */
const SYS_move_pages: Readonly<Record<string, number>> = { x64: 279, arm64: 239, riscv64: 239, loong64: 239 };

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MAP_FIXED = 0x10;

/** errno number → name. Where Linux has two names for one number, the one strace prints wins. */
const errnoNames: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  for (const [name, n] of Object.entries(constants.errno)) if (!names.has(n)) names.set(n, name);
  names.set(constants.errno.EAGAIN, 'EAGAIN');
  names.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP');
  names.set(constants.errno.EDEADLK, 'EDEADLK');
  return names;
})();

/** The name of an errno number (`'E' + n` for one Node does not know). */
export function errnoName(n: number): string {
  return errnoNames.get(n) ?? `E${n}`;
}

type LibcFunction = ReturnType<LibraryHandle['func']>;

/** The C library's functions, bound on first use (so that importing this module on another OS is harmless). */
interface Libc {
  syscall: LibcFunction;
  close: LibcFunction;
  mmap: LibcFunction;
  mmapPointer: LibcFunction;
  mprotect: LibcFunction;
  munmap: LibcFunction;
  madvise: LibcFunction;
  memset: LibcFunction;
}

let libc: Libc | undefined;

function lib(): Libc {
  if (libc) return libc;
  const c = koffi.load('libc.so.6');
  libc = {
    syscall: c.func('long syscall(long number, ...)'),
    close: c.func('int close(int fd)'),
    // Addresses travel as integers: user-space addresses stay below 2^47, exact in a double.
    mmap: c.func('uintptr_t mmap(uintptr_t addr, size_t length, int prot, int flags, int fd, long offset)'),
    // The same mmap returning a pointer object, which koffi.view needs to lay an ArrayBuffer over it.
    mmapPointer: c.func('void *mmap(uintptr_t addr, size_t length, int prot, int flags, int fd, long offset)'),
    mprotect: c.func('int mprotect(uintptr_t addr, size_t length, int prot)'),
    munmap: c.func('int munmap(uintptr_t addr, size_t length)'),
    madvise: c.func('int madvise(uintptr_t addr, size_t length, int advice)'),
    memset: c.func('uintptr_t memset(uintptr_t s, int c, size_t n)'),
  };
  return libc;
}

/** Calls `fn`, and turns a −1 result into a KernelPortError with the errno read straight after the call. */
function checked(call: string, fn: () => number | bigint, detail?: string): number {
  const r = Number(fn());
  if (r === -1) throw new KernelPortError(errnoName(koffi.errno()), call, detail);
  return r;
}

/** Resolves advice given by name (`'MADV_COLLAPSE'`) or number. */
export function adviceNumber(advice: string | number): number {
  if (typeof advice === 'number') return advice;
  const n = MADV[advice];
  if (n === undefined) throw new KernelPortError('EINVAL', 'madvise', `unknown advice ${advice}`);
  return n;
}

/** pidfd_open(2): a descriptor that names the process `pid` for as long as it is open. */
export function pidfdOpen(pid: number, flags = 0): number {
  return checked('pidfd_open', () => lib().syscall(SYS_pidfd_open, 'int', pid, 'uint', flags) as number | bigint, `pid ${pid}`);
}

/** close(2). */
export function close(fd: number): void {
  checked('close', () => lib().close(fd) as number);
}

/** The iovecs as struct iovec[] (two 64-bit words each: base, length). */
function iovecArray(iov: readonly PortIovec[]): Buffer {
  const buf = Buffer.alloc(16 * Math.max(1, iov.length));
  iov.forEach((v, i) => {
    buf.writeBigUInt64LE(BigInt(v.base), 16 * i);
    buf.writeBigUInt64LE(BigInt(v.len), 16 * i + 8);
  });
  return buf;
}

/**
 * process_madvise(2): applies `advice` to the iovecs of the process behind `pidfd`. Returns the bytes
 * advised (the raw lengths of the iovecs completed before the first that failed, if any were); throws
 * with the errno when none was.
 */
export function processMadvise(pidfd: number, iov: readonly PortIovec[], advice: string | number, flags = 0): number {
  const adv = adviceNumber(advice);
  const vec = iovecArray(iov);
  return checked(
    'process_madvise',
    () => lib().syscall(SYS_process_madvise, 'int', pidfd, 'void *', vec, 'size_t', iov.length, 'int', adv, 'uint', flags) as number | bigint,
  );
}

/**
 * move_pages(2) of process `pid` (0: oneself): moves each page to its node, or with `nodes` null only
 * queries where each page is. Returns the per-page status: the node, or a negative errno number.
 */
export function movePages(pid: number, pages: readonly number[], nodes: readonly number[] | null, flags = MPOL_MF_MOVE): number[] {
  const nr = SYS_move_pages[process.arch];
  if (nr === undefined) throw new KernelPortError('ENOSYS', 'move_pages', `no syscall number known for ${process.arch}`);
  const count = pages.length;
  if (count === 0) return [];
  const addrs = Buffer.alloc(8 * count);
  pages.forEach((p, i) => addrs.writeBigUInt64LE(BigInt(p), 8 * i));
  const nodeBuf = nodes ? Buffer.alloc(4 * count) : null;
  nodes?.forEach((n, i) => nodeBuf?.writeInt32LE(n, 4 * i));
  const status = Buffer.alloc(4 * count);
  checked('move_pages', () => lib().syscall(nr, 'int', pid, 'ulong', count, 'void *', addrs, 'void *', nodeBuf, 'void *', status, 'int', flags) as number | bigint, `pid ${pid}`);
  return Array.from({ length: count }, (_, i) => status.readInt32LE(4 * i));
}

/** An anonymous private read-write mapping of `length` bytes in this process; its address. */
export function mmapAnonymous(length: number): number {
  const addr = Number(lib().mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) as number | bigint);
  // MAP_FAILED is (void *)-1: all ones, which the unsigned return type shows as 2^64 − 1.
  if (addr >= 2 ** 63) throw new KernelPortError(errnoName(koffi.errno()), 'mmap', `${length} bytes`);
  return addr;
}

/** An anonymous mapping (as {@link mmapAnonymous}) with an ArrayBuffer over it, so JS can read and write it. */
export interface MappedView {
  readonly addr: number;
  /** The mapping's bytes: valid until it is unmapped, which must not happen while the buffer is in use. */
  readonly buffer: ArrayBuffer;
}

/**
 * A fresh anonymous private read-write mapping of `length` bytes at `addr`, which must lie inside a
 * mapping of this process's own (from {@link mmapAnonymous}): MAP_FIXED replaces that part of it. The
 * caller picks the address (a 2 MiB boundary inside a larger reservation, say) because a view can only
 * start where a mapping does, and Node refuses an ArrayBuffer over 4 GiB, so the view cannot be of a
 * larger reservation and start at an offset.
 */
export function mmapAnonymousViewAt(addr: number, length: number): MappedView {
  const ptr: unknown = lib().mmapPointer(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  const got = koffi.address(ptr);
  if (got === 2n ** 64n - 1n) throw new KernelPortError(errnoName(koffi.errno()), 'mmap', `${length} bytes at 0x${addr.toString(16)}`);
  return { addr: Number(got), buffer: koffi.view(ptr, length) };
}

/** mprotect(2) to PROT_NONE: `length` bytes at `addr` become inaccessible (a guard). */
export function protectNone(addr: number, length: number): void {
  checked('mprotect', () => lib().mprotect(addr, length, 0) as number);
}

/** munmap(2). */
export function munmap(addr: number, length: number): void {
  checked('munmap', () => lib().munmap(addr, length) as number);
}

/** madvise(2) on this process's own memory. */
export function madvise(addr: number, length: number, advice: string | number): void {
  checked('madvise', () => lib().madvise(addr, length, adviceNumber(advice)) as number);
}

/** Fills `length` bytes of this process's memory at `addr` with `byte` (touches, and so populates, them). */
export function fill(addr: number, length: number, byte: number): void {
  lib().memset(addr, byte, length);
}
