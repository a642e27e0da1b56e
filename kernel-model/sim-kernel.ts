/**
 * SimKernel: the simulated kernel's public, syscall-shaped API (docs/kernel-model-api.md). Every call
 * runs at the current simulated time and charges its cost to the tasks that pay for it in Linux; only
 * `advance` moves the clock. Failures throw SyscallError with Linux's errno name; misuse of the API
 * itself (a caller pid that never existed, a negative length) throws TypeError or RangeError.
 */
import { PAGE_SIZE } from './mm/constants.js';
import { FaultLatency } from './mm/fault-latency.js';
import { copyProcess } from './mm/fork.js';
import type { Mempolicy } from './mm/mempolicy.js';
import { defaultPolicy } from './mm/mempolicy.js';
import { MmStruct, Task, VM, StallCause } from './mm/mm-types.js';
import type { Prot } from './mm/mmap.js';
import { hex } from './mm/mmap.js';
import { cgroupMkdir, cgroupRmdir, spawnCgroupPath } from './fs/cgroupfs.js';
import { ProcFs } from './fs/procfs.js';
import { closeFd, pidfdOpen, processMadvise, type Iovec } from './mm/pidfd.js';
import { kernelMigratePages, kernelMovePages, type MovePagesFlags } from './mm/migrate-syscalls.js';
import type { AccessStreamSpec } from './workload/access-pattern.js';
import type { DamonAttrs, DamonRegion } from './workload/damon.js';
import type { PerfCounters } from './workload/streams.js';
import { Kernel, type MachineConfig } from './kernel.js';
import { SyscallError } from './syscall-error.js';
import { allCapabilityNames } from './capabilities.js';

/** Options of `new SimKernel(...)`. */
export interface SimKernelConfig {
  /** NUMA nodes; default one node of 4096 MiB. */
  nodes?: readonly { memoryMiB: number }[];
  /** SLIT distance matrix; default 10 local, 20 remote. */
  distances?: readonly (readonly number[])[];
  /** Swap device size; default 0 (no swap). */
  swapMiB?: number;
  /** PRNG seed; default 1. */
  seed?: number;
  /**
   * The machine is a guest with a virtio-balloon device that does free page reporting: free memory of
   * page_reporting_order and up is handed back to the host, and reusing it costs a host fault per page
   * (docs/kernel-model-api.md). Default false.
   */
  balloon?: boolean;
  /**
   * Anonymous read faults map no zero page (4 KiB or huge) but allocate a zero-filled page, as a write
   * fault does, and so give the VMA an anon_vma: a PVM guest kernel booted with `pvm_no_zero_page=1`
   * (docs/linux-semantics.md). Default false: read faults map the zero page.
   */
  noZeroPage?: boolean;
}

/** Options of `spawn`. */
export interface SpawnOptions {
  comm?: string;
  uid?: number;
  caps?: readonly string[];
  dumpable?: boolean;
  /** The cgroup to start in: `/a/b` or `/sys/fs/cgroup/a/b` (default the root); ENOENT if it does not exist. */
  cgroup?: string;
  node?: number;
}


const internals = new WeakMap<SimKernel, Kernel>();

/**
 * The mechanisms behind a SimKernel, for evaluation tooling only (ground truth no real kernel shows).
 * Exported to other code through kernel-model/evaluation.ts, which the daemon may not import.
 */
export function kernelOf(sim: SimKernel): Kernel {
  return internals.get(sim)!;
}

/** Stall time of a task by cause, ms. */
export type StallTimes = Record<StallCause, number>;

/** The simulated kernel. */
export class SimKernel {
  private readonly kernel: Kernel;
  private readonly files: ProcFs;

  constructor(config: SimKernelConfig = {}) {
    const machine: MachineConfig = {
      nodes: config.nodes ?? [{ memoryMiB: 4096 }],
      distances: config.distances,
      swapMiB: config.swapMiB,
      seed: config.seed,
      balloon: config.balloon,
      noZeroPage: config.noZeroPage,
    };
    if (config.swapMiB !== undefined && !(config.swapMiB >= 0)) throw new RangeError(`swapMiB must be ≥ 0, got ${config.swapMiB}`);
    this.kernel = new Kernel(machine);
    this.files = new ProcFs(this.kernel);
    internals.set(this, this.kernel);
  }

  // ---- clock --------------------------------------------------------------------------------------

  /** Simulated time, ms. */
  now(): number {
    return this.kernel.engine.now;
  }

  /** Runs every due event up to now + ms, then sets now to now + ms. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`advance: ms must be a finite number ≥ 0, got ${ms}`);
    this.kernel.engine.runUntil(this.kernel.engine.now + ms);
  }

  // ---- processes ----------------------------------------------------------------------------------

  /** Creates a process; returns its pid. */
  spawn(opts: SpawnOptions = {}): number {
    const k = this.kernel;
    const uid = opts.uid ?? 0;
    const node = opts.node ?? 0;
    this.checkNode(node, 'spawn');
    const caps = new Set<string>(opts.caps ?? (uid === 0 ? allCapabilityNames : []));
    const cgroup = opts.cgroup === undefined ? '/' : spawnCgroupPath(k, opts.cgroup);
    if (cgroup === undefined) throw new SyscallError('ENOENT', 'clone3', `no cgroup ${opts.cgroup}`);
    const pid = k.nextPid++;
    const task = new Task(pid, 1, opts.comm ?? `proc${pid}`, uid, caps, opts.dumpable ?? true, node, defaultPolicy, cgroup, new MmStruct(), k.engine.now);
    k.tasks.set(pid, task);
    return pid;
  }

  /** fork(2): a copy-on-write child; returns its pid. */
  fork(pid: number): number {
    const k = this.kernel;
    const parent = this.liveTask(pid, 'fork');
    return copyProcess(k, parent, k.nextPid++).pid;
  }

  /** exit(2): frees the process's memory. */
  exit(pid: number): void {
    this.liveTask(pid, 'exit');
    this.kernel.exitTask(pid);
  }

  /** Live pids, ascending. */
  listPids(): number[] {
    return [...this.kernel.tasks.values()].filter((t) => t.alive).map((t) => t.pid);
  }

  /** Moves the task to a CPU of another node. */
  setNode(pid: number, node: number): void {
    this.checkNode(node, 'setNode');
    this.liveTask(pid, 'setNode').node = node;
  }

  /** set_mempolicy(2). */
  setMempolicy(pid: number, mode: Mempolicy['mode'], nodes: readonly number[] = []): void {
    this.liveTask(pid, 'set_mempolicy').mempolicy = this.policy('set_mempolicy', mode, nodes);
  }

  /** mbind(2). */
  mbind(pid: number, addr: number, length: number, mode: Mempolicy['mode'], nodes: readonly number[] = []): void {
    const task = this.liveTask(pid, 'mbind');
    const policy = this.policy('mbind', mode, nodes);
    this.kernel.mmap.modify('mbind', task, addr, addr + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE, (v) => {
      v.policy = policy;
    });
  }

  /** prctl(2) for the THP and KSM options. */
  prctl(pid: number, option: 'PR_SET_THP_DISABLE' | 'PR_GET_THP_DISABLE' | 'PR_SET_MEMORY_MERGE' | 'PR_GET_MEMORY_MERGE', arg = 0): number {
    const task = this.liveTask(pid, 'prctl');
    switch (option) {
      case 'PR_SET_THP_DISABLE':
        task.thpDisable = arg !== 0;
        return 0;
      case 'PR_GET_THP_DISABLE':
        return task.thpDisable ? 1 : 0;
      case 'PR_SET_MEMORY_MERGE':
        // Any non-zero arg2 enables (kernel/sys.c); turning it off unmerges every mergeable VMA (ENOMEM).
        this.kernel.ksm.setMergeAny(task, arg !== 0);
        return 0;
      case 'PR_GET_MEMORY_MERGE':
        return task.memoryMerge ? 1 : 0;
      default:
        throw new SyscallError('EINVAL', 'prctl', `unknown option ${String(option)}`);
    }
  }

  // ---- cgroups --------------------------------------------------------------------------------------

  /** mkdir(2) of a cgroup, e.g. `/sys/fs/cgroup/db`: EEXIST, ENOENT (no parent), EBUSY (no memcg id left); EPERM elsewhere. */
  mkdir(path: string): void {
    cgroupMkdir(this.kernel, path);
  }

  /** rmdir(2) of a cgroup: ENOENT, EBUSY (it has tasks or child cgroups, or is the root); EPERM elsewhere. */
  rmdir(path: string): void {
    cgroupRmdir(this.kernel, path);
  }

  // ---- memory syscalls ----------------------------------------------------------------------------

  /**
   * mmap(2) of anonymous memory; returns the address. `addr` maps exactly there, as MAP_FIXED_NOREPLACE
   * does (EEXIST over an existing mapping); otherwise the kernel picks the place (top-down, aligned).
   */
  mmap(pid: number, length: number, opts: { align?: number; prot?: Prot; shared?: boolean; addr?: number } = {}): number {
    if (!(length > 0) || !Number.isFinite(length)) throw new RangeError(`mmap: length must be > 0, got ${length}`);
    const task = this.liveTask(pid, 'mmap');
    const addr = this.kernel.mmap.mmap(task, length, opts.prot ?? 'rw', opts.shared ?? false, opts.align, opts.addr);
    if (task.memoryMerge) this.kernel.madvise.madvise(task, addr, length, 'MADV_MERGEABLE');
    return addr;
  }

  munmap(pid: number, addr: number, length: number): void {
    this.kernel.mmap.munmap(this.liveTask(pid, 'munmap'), addr, length);
  }

  mprotect(pid: number, addr: number, length: number, prot: Prot): void {
    this.kernel.mmap.mprotect(this.liveTask(pid, 'mprotect'), addr, length, prot);
  }

  mlock(pid: number, addr: number, length: number): void {
    this.kernel.mmap.mlock(this.liveTask(pid, 'mlock'), addr, length);
  }

  /** madvise(2); returns 0. */
  madvise(pid: number, addr: number, length: number, advice: string): number {
    this.kernel.madvise.madvise(this.liveTask(pid, 'madvise'), addr, length, advice);
    return 0;
  }

  /**
   * The process accesses every 4 KiB page of the range, faulting as Linux would. A write gives each
   * page a machine-wide distinct content value, or `fill`. Throws EFAULT where Linux would deliver
   * SIGSEGV, after faulting the pages before the bad one.
   */
  touch(pid: number, addr: number, length: number, opts: { write?: boolean; fill?: number } = {}): void {
    const task = this.liveTask(pid, 'touch');
    if (!(length >= 0)) throw new RangeError(`touch: length must be ≥ 0, got ${length}`);
    const write = opts.write ?? true;
    const k = this.kernel;
    const end = addr + length;
    for (let a = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE; a < end; ) {
      const vma = task.mm.findVma(a);
      if (!vma || !(vma.flags & VM.READ) || (write && !(vma.flags & VM.WRITE))) {
        throw new SyscallError('EFAULT', 'touch', `SIGSEGV at ${hex(a)}`);
      }
      const stop = Math.min(end, vma.end);
      if (k.memory.touchRange(task, vma, a, stop, write, opts.fill) === 'oom') {
        throw new SyscallError('EFAULT', 'touch', `process ${pid} was killed by the OOM killer`);
      }
      a = Math.ceil(stop / PAGE_SIZE) * PAGE_SIZE;
    }
  }

  /** Long-term pins the range (FOLL_LONGTERM). */
  pin(pid: number, addr: number, length: number): void {
    this.kernel.pins.pin(this.liveTask(pid, 'pin'), addr, length);
  }

  /** Releases pins taken by `pin`. */
  unpin(pid: number, addr: number, length: number): void {
    this.kernel.pins.unpin(this.liveTask(pid, 'unpin'), addr, length);
  }

  /**
   * migrate_pages(2): every page of process `pid` on `fromNodes` moves to the node at the same position
   * in `toNodes`; returns how many folios could not be moved (0: all moved). The caller (default: the
   * process itself) pays and needs PTRACE_MODE_READ (EPERM); shared pages move only if it has
   * CAP_SYS_NICE. ESRCH, EINVAL, EPERM as Linux (kernel-model/mm/migrate-syscalls.ts).
   */
  migratePages(pid: number, fromNodes: readonly number[], toNodes: readonly number[], opts: { caller?: number } = {}): number {
    const caller = this.liveTask(opts.caller ?? pid, 'migrate_pages');
    return kernelMigratePages(this.kernel, caller, pid, fromNodes, toNodes);
  }

  /**
   * move_pages(2): with `nodes`, moves the page at each address to that node; with null, only asks where
   * each page is. Returns each page's status: a node id, or a negated errno (-2 ENOENT: not present;
   * -14 EFAULT: unmapped or the zero page; -13 EACCES: shared, without MPOL_MF_MOVE_ALL; -16 EBUSY;
   * -12 ENOMEM; -11 EAGAIN: pinned). A node that does not exist fails the call with ENODEV.
   */
  movePages(
    pid: number,
    addrs: readonly number[],
    nodes: readonly number[] | null,
    opts: { caller?: number; flags?: MovePagesFlags } = {},
  ): number[] {
    if (nodes !== null && nodes.length !== addrs.length) throw new RangeError(`move_pages: ${addrs.length} addresses but ${nodes.length} nodes`);
    const caller = this.liveTask(opts.caller ?? pid, 'move_pages');
    return kernelMovePages(this.kernel, caller, pid, addrs, nodes, opts.flags ?? 'MPOL_MF_MOVE');
  }

  // ---- pidfds and process_madvise -----------------------------------------------------------------

  /** pidfd_open(2): a descriptor in the caller's table; ESRCH if the target has exited. */
  pidfdOpen(callerPid: number, targetPid: number): number {
    return pidfdOpen(this.kernel, this.liveTask(callerPid, 'pidfd_open'), targetPid);
  }

  /** close(2); EBADF if the descriptor is not open. */
  close(callerPid: number, fd: number): void {
    closeFd(this.liveTask(callerPid, 'close'), fd);
  }

  /**
   * process_madvise(2): the bytes advised, with Linux 6.18's checks and partial-progress result
   * (see kernel-model/mm/pidfd.ts). `pidfd` may be PIDFD_SELF (-10000 or -10001).
   */
  processMadvise(callerPid: number, pidfd: number, iov: readonly Iovec[], advice: string, flags = 0): number {
    return processMadvise(this.kernel, this.liveTask(callerPid, 'process_madvise'), pidfd, iov, advice, flags);
  }

  // ---- workloads and monitoring ------------------------------------------------------------------

  /**
   * Declares that the process keeps accessing a mapped range (rate, pattern, hot subset, writes). Each
   * tick of simulated time the kernel faults, ages and prices these accesses (docs/kernel-model-api.md).
   * Returns the stream's id.
   */
  addAccessStream(pid: number, spec: AccessStreamSpec): number {
    return this.kernel.streams.add(this.liveTask(pid, 'access_stream'), spec);
  }

  /** Changes a stream (a phase change: the hot set moves, the rate changes). */
  updateAccessStream(pid: number, id: number, spec: AccessStreamSpec): void {
    this.kernel.streams.update(this.liveTask(pid, 'access_stream'), id, spec);
  }

  removeAccessStream(pid: number, id: number): void {
    this.kernel.streams.remove(this.liveTask(pid, 'access_stream'), id);
  }

  /**
   * Perf-like modelled counters of a process: accesses, cycles, page-walk cycles, and the cycles the
   * same accesses would have cost on 4 KiB local pages (so MMU overhead and speed-up can be computed).
   */
  perfCounters(pid: number): PerfCounters {
    this.anyTask(pid, 'perfCounters');
    return this.kernel.streams.counters(pid);
  }

  /**
   * The latencies of a process's page faults so far (a copy): kernel time plus swap-in and memcg-throttle
   * waits per fault, in a log-scale histogram (`quantileUs(0.99)`; `since(earlier)` for an interval).
   */
  faultLatency(pid: number): FaultLatency {
    return this.anyTask(pid, 'faultLatency').faultLatency?.copy() ?? new FaultLatency();
  }

  /** Starts DAMON monitoring of a process's address space (one kdamond per process). */
  damonStart(pid: number, attrs: Partial<DamonAttrs> = {}): void {
    this.kernel.kdamonds.start(this.liveTask(pid, 'damon_start'), attrs);
  }

  damonStop(pid: number): void {
    this.kernel.kdamonds.stop(pid);
  }

  /** DAMON's current regions of a monitored process: address range, nr_accesses per aggregation, age. */
  damonRegions(pid: number): DamonRegion[] {
    return this.kernel.kdamonds.regions(pid);
  }

  // ---- files --------------------------------------------------------------------------------------

  /**
   * The text of a procfs/sysfs file, as Linux 6.18 prints it. With `caller`, that task reads and pays
   * what the read costs (smaps walks page tables); without, the read is an observer's and free.
   */
  readFile(path: string, opts: { caller?: number } = {}): string {
    return this.files.read(path, this.caller(opts, 'read'));
  }

  /** Writes a knob or control file; throws EINVAL/EBUSY where Linux refuses the value. */
  writeFile(path: string, text: string, opts: { caller?: number } = {}): void {
    this.files.write(path, text, this.caller(opts, 'write'));
  }

  /** Bytes of /proc/PID/pagemap or /proc/kpageflags, with Linux's layout. */
  readBinary(path: string, offset: number, length: number, opts: { caller?: number } = {}): Uint8Array {
    return this.files.readBinary(path, offset, length, this.caller(opts, 'pread'));
  }

  private caller(opts: { caller?: number }, syscall: string): Task | undefined {
    return opts.caller === undefined ? undefined : this.liveTask(opts.caller, syscall);
  }

  // ---- accounting ---------------------------------------------------------------------------------

  /** Stall time by cause (ms) that a task has suffered. */
  stallTime(pid: number): StallTimes {
    const t = this.anyTask(pid, 'stallTime');
    const out = {} as StallTimes;
    for (const cause of Object.keys(StallCause) as StallCause[]) out[cause] = t.stallMs[StallCause[cause]]!;
    return out;
  }

  /** User and system CPU time of a task, ms. */
  cpuTime(pid: number): { utimeMs: number; stimeMs: number } {
    const t = this.anyTask(pid, 'cpuTime');
    return { utimeMs: t.utimeMs, stimeMs: t.stimeMs };
  }

  /** CPU time (ms) of the kernel's own threads: khugepaged, ksmd, and kswapd and kcompactd per node. */
  kernelThreadCpu(): { khugepaged: number; ksmd: number; kswapd: number[]; kcompactd: number[] } {
    const k = this.kernel;
    return {
      khugepaged: k.khugepaged.cpuMs,
      ksmd: k.ksm.cpuMs,
      kswapd: k.zones.map((z) => k.vmscan.kswapdCpuMs(z.node)),
      kcompactd: k.zones.map((z) => k.compaction.kcompactdCpuMs(z.node)),
    };
  }

  /** The kernel log as /dev/kmsg records. */
  kmsg(): string {
    return this.kernel.log.kmsg();
  }

  // ---- machine-level consumers (for scenarios) -----------------------------------------------------

  /** Kernel allocations (slab, buffers) on a node, freed after `lifetimeMs` if given; returns pages got. */
  kernelAlloc(node: number, pages: number, kind: 'unmovable' | 'reclaimable', lifetimeMs?: number): number {
    this.checkNode(node, 'kernelAlloc');
    return this.kernel.kernelAllocs.allocate(node, pages, kind, lifetimeMs);
  }

  /** Buffered file reads (or writes, `dirty`) filling the page cache of a node; returns pages added. */
  pageCacheAdd(node: number, pages: number, dirty = false): number {
    this.checkNode(node, 'pageCacheAdd');
    return this.kernel.pageCache.add(node, pages, dirty);
  }

  /** Drops page-cache pages as file deletion would; returns pages dropped. */
  pageCacheDrop(pages: number): number {
    return this.kernel.pageCache.drop(pages);
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private liveTask(pid: number, syscall: string): Task {
    const t = this.kernel.tasks.get(pid);
    if (!t) throw new TypeError(`${syscall}: pid ${pid} never existed`);
    if (!t.alive) throw new SyscallError('ESRCH', syscall, `pid ${pid} has exited`);
    return t;
  }

  private anyTask(pid: number, what: string): Task {
    const t = this.kernel.tasks.get(pid);
    if (!t) throw new TypeError(`${what}: pid ${pid} never existed`);
    return t;
  }

  private checkNode(node: number, what: string): void {
    if (!(Number.isInteger(node) && node >= 0 && node < this.kernel.nodeCount)) {
      throw new RangeError(`${what}: node ${node} does not exist (0–${this.kernel.nodeCount - 1})`);
    }
  }

  private policy(syscall: string, mode: Mempolicy['mode'], nodes: readonly number[]): Mempolicy {
    if (!['default', 'local', 'preferred', 'bind', 'interleave'].includes(mode)) throw new SyscallError('EINVAL', syscall, `mode ${mode}`);
    if (nodes.some((n) => !(Number.isInteger(n) && n >= 0 && n < this.kernel.nodeCount))) throw new SyscallError('EINVAL', syscall, 'node out of range');
    if ((mode === 'bind' || mode === 'interleave' || mode === 'preferred') && nodes.length === 0) throw new SyscallError('EINVAL', syscall, `${mode} needs nodes`);
    return { mode, nodes: [...nodes] };
  }
}
