/**
 * A kernel port of canned files and scripted calls, for tests of the daemon's core that need control
 * the simulated kernel does not give (a node short of memory on cue, a call that returns short, a
 * process that exits between two reads) or a clock of the test's own (rxjs's TestScheduler).
 *
 * What it shows is a small machine: per node its free 2 MiB blocks and memory (buddyinfo, node
 * meminfo), the memory pressure and compaction stalls, and per process its status, cgroup and
 * smaps_rollup; access sampling returns the regions the test gives. process_madvise and move_pages
 * succeed at once unless the test scripts them; every call is recorded in `calls`. A process that is
 * not (or no longer) in `procs` is gone: its files are ENOENT and calls on it ESRCH, as on Linux.
 */
import { defer, of, type Observable } from 'rxjs';
import { KernelPortError, type AccessRegion, type KernelPort, type MadviseResult, type PortIovec, type SamplingAttrs } from '../../daemon/kernel-port/kernel-port.js';
import type { Clock } from '../../daemon/schedule/clock.js';

const REGION_BYTES = 2 * 1024 * 1024;

/** A process of the fake machine. */
export interface FakeProcess {
  readonly pid: number;
  comm: string;
  uid?: number;
  cgroup?: string;
  /** RssAnon (status) and Anonymous (smaps_rollup), kB. */
  anonKb: number;
  /** What access sampling reports while the process is sampled. */
  regions: AccessRegion[];
  /** Regions process_madvise collapsed (AnonHugePages of smaps_rollup follows from them). */
  readonly huge: Set<number>;
}

/** A node of the fake machine. */
export interface FakeNode {
  freeHugeBlocks: number;
  memFreeKb: number;
  memTotalKb: number;
}

/** One recorded call. */
export interface FakeCall {
  readonly name: 'pidfd_open' | 'close' | 'process_madvise' | 'move_pages' | 'start_sampling' | 'stop_sampling' | 'write';
  readonly pid: number;
  /** process_madvise: the iovec bases; move_pages: the target node; start_sampling: maxNrRegions; write: the value. */
  readonly detail?: unknown;
  /** Clock time of the call. */
  readonly at: number;
}

export class FakeKernelPort implements KernelPort {
  readonly kind = 'sim' as const;
  /** No fake process has it. */
  readonly selfPid = 999_999;
  readonly procs = new Map<number, FakeProcess>();
  readonly nodes: FakeNode[] = [
    { freeHugeBlocks: 1000, memFreeKb: 4 << 20, memTotalKb: 8 << 20 },
    { freeHugeBlocks: 1000, memFreeKb: 4 << 20, memTotalKb: 8 << 20 },
  ];
  psiSome = 0;
  compactStalls = 0;
  cpuMs = 0;
  readonly calls: FakeCall[] = [];
  /** Extra files (sysfs knobs...), path → text. */
  readonly files = new Map<string, string>();
  /** process_madvise's behaviour; default: every region collapsed at once, 1 ms. */
  madvise: (pid: number, iov: readonly PortIovec[]) => Observable<MadviseResult> = (pid, iov) => {
    const p = this.procs.get(pid);
    for (const v of iov) p?.huge.add(v.base);
    return of({ bytes: iov.reduce((s, v) => s + v.len, 0), latencyMs: 1 });
  };
  /** move_pages's behaviour; default: every page moved where asked. */
  move: (pid: number, pages: readonly number[], nodes: readonly number[]) => Observable<number[]> = (_pid, _pages, nodes) => of([...nodes]);
  /** Called before each file read (a test can make a process exit between two reads here). */
  beforeRead: (path: string) => void = () => undefined;
  private readonly sampled = new Set<number>();
  private readonly fds = new Map<number, number>();
  private nextFd = 3;

  constructor(readonly clock: Clock) {}

  /** Adds a process; returns it. */
  spawn(p: Partial<FakeProcess> & { pid: number }): FakeProcess {
    const proc: FakeProcess = { comm: `proc${p.pid}`, anonKb: 0, regions: [], huge: new Set(), ...p };
    this.procs.set(p.pid, proc);
    return proc;
  }

  /** The calls of one kind. */
  callsOf(name: FakeCall['name']): FakeCall[] {
    return this.calls.filter((c) => c.name === name);
  }

  selfCpuMs(): number {
    return this.cpuMs;
  }

  readFile(path: string): string {
    this.beforeRead(path);
    const canned = this.files.get(path);
    if (canned !== undefined) return canned;
    const proc = /^\/proc\/(\d+)\/(\w+)$/.exec(path);
    if (proc !== null) return this.procFile(Number(proc[1]), proc[2], path);
    const node = /^\/sys\/devices\/system\/node\/node(\d+)\/meminfo$/.exec(path);
    if (node !== null && this.nodes[Number(node[1])] !== undefined) {
      const n = this.nodes[Number(node[1])];
      return `Node ${node[1]} MemTotal: ${n.memTotalKb} kB\nNode ${node[1]} MemFree: ${n.memFreeKb} kB\n`;
    }
    switch (path) {
      case '/proc/buddyinfo':
        return this.nodes.map((n, i) => `Node ${i}, zone   Normal ${' 0'.repeat(9)} ${n.freeHugeBlocks} 0\n`).join('');
      case '/proc/pressure/memory':
        return `some avg10=${this.psiSome.toFixed(2)} avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`;
      case '/proc/vmstat':
        return `compact_stall ${this.compactStalls}\n`;
      default:
        throw new KernelPortError('ENOENT', 'read', path);
    }
  }

  writeFile(path: string, text: string): void {
    if (!this.files.has(path)) throw new KernelPortError('ENOENT', 'write', path);
    this.calls.push({ name: 'write', pid: 0, detail: `${path}=${text}`, at: this.clock.now() });
    this.files.set(path, text);
  }

  readBinary(path: string): Uint8Array {
    throw new KernelPortError('ENOENT', 'pread', path);
  }

  listPids(): number[] {
    return [...this.procs.keys()];
  }

  pidfdOpen(pid: number): number {
    this.calls.push({ name: 'pidfd_open', pid, at: this.clock.now() });
    if (!this.procs.has(pid)) throw new KernelPortError('ESRCH', 'pidfd_open');
    const fd = this.nextFd++;
    this.fds.set(fd, pid);
    return fd;
  }

  close(fd: number): void {
    const pid = this.fds.get(fd);
    if (pid === undefined) throw new KernelPortError('EBADF', 'close');
    this.calls.push({ name: 'close', pid, at: this.clock.now() });
    this.fds.delete(fd);
  }

  processMadvise(pidfd: number, iov: readonly PortIovec[], advice: string): Observable<MadviseResult> {
    return defer(() => {
      const pid = this.fds.get(pidfd);
      if (pid === undefined) throw new KernelPortError('EBADF', 'process_madvise');
      if (advice !== 'MADV_COLLAPSE') throw new KernelPortError('EINVAL', 'process_madvise', advice);
      this.calls.push({ name: 'process_madvise', pid, detail: iov.map((v) => v.base), at: this.clock.now() });
      if (!this.procs.has(pid)) throw new KernelPortError('ESRCH', 'process_madvise');
      return this.madvise(pid, iov);
    });
  }

  movePages(pid: number, pages: readonly number[], nodes: readonly number[]): Observable<number[]> {
    return defer(() => {
      this.calls.push({ name: 'move_pages', pid, detail: nodes[0], at: this.clock.now() });
      if (!this.procs.has(pid)) throw new KernelPortError('ESRCH', 'move_pages');
      return this.move(pid, pages, nodes);
    });
  }

  startSampling(pid: number, attrs: Partial<SamplingAttrs> = {}): void {
    this.calls.push({ name: 'start_sampling', pid, detail: attrs.maxNrRegions, at: this.clock.now() });
    if (!this.procs.has(pid)) throw new KernelPortError('ESRCH', 'damon_start');
    if (this.sampled.has(pid)) throw new KernelPortError('EBUSY', 'damon_start');
    this.sampled.add(pid);
  }

  stopSampling(pid: number): void {
    this.calls.push({ name: 'stop_sampling', pid, at: this.clock.now() });
    this.sampled.delete(pid);
  }

  /** Whether the process is sampled now. */
  isSampled(pid: number): boolean {
    return this.sampled.has(pid);
  }

  accessRegions(pid: number): AccessRegion[] {
    const p = this.procs.get(pid);
    if (p === undefined) throw new KernelPortError('ESRCH', 'damon_regions');
    if (!this.sampled.has(pid)) throw new KernelPortError('EINVAL', 'damon_regions', 'not sampled');
    return p.regions;
  }

  private procFile(pid: number, file: string, path: string): string {
    const p = this.procs.get(pid);
    if (p === undefined) throw new KernelPortError('ENOENT', 'read', path);
    switch (file) {
      case 'status':
        return [`Name:\t${p.comm}`, 'State:\tR (running)', `Tgid:\t${pid}`, `Pid:\t${pid}`, 'PPid:\t1', `Uid:\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}`, `RssAnon:\t${p.anonKb} kB`, 'Threads:\t1', ''].join('\n');
      case 'cgroup':
        return `0::${p.cgroup ?? '/'}\n`;
      case 'smaps_rollup':
        return `00400000-7fff0000 ---p 00000000 00:00 0                          [rollup]\nAnonymous:      ${p.anonKb} kB\nAnonHugePages:  ${p.huge.size * (REGION_BYTES / 1024)} kB\n`;
      default:
        throw new KernelPortError('ENOENT', 'read', path);
    }
  }
}

/** One sampling region per 2 MiB region from `start`, `count` of them, each at `nrAccesses` of 100 checks. */
export function hotRegions(start: number, count: number, nrAccesses = 50): AccessRegion[] {
  return Array.from({ length: count }, (_, i) => ({ start: start + i * REGION_BYTES, end: start + (i + 1) * REGION_BYTES, nrAccesses, age: 5 }));
}
