/**
 * The simulated kernel's internal state: every mechanism, wired together. Mechanisms hold a reference
 * to this object and call each other through it (`k.vmscan.wakeKswapd(...)`), never reaching into each
 * other's arrays. The public, syscall-shaped API is the SimKernel facade in sim-kernel.ts; this class is
 * not exported from the package.
 */
import { Engine } from './engine/engine.js';
import { Prng } from './engine/prng.js';
import { PageAllocator } from './mm/alloc.js';
import { Compaction } from './mm/compaction.js';
import { MAX_ORDER, PAGEBLOCK_ORDER, PageKind } from './mm/constants.js';
import { Collapse } from './mm/collapse.js';
import { Pins } from './mm/gup.js';
import { Khugepaged } from './mm/khugepaged.js';
import { Ksm } from './mm/ksm.js';
import { HugeMemory } from './mm/huge-memory.js';
import { KernelAllocations } from './mm/kernel-allocations.js';
import { KernelLog } from './mm/kernel-log.js';
import { Madvise } from './mm/madvise.js';
import { MemControl } from './mm/memcontrol.js';
import { NumaBalancing } from './mm/numa-balancing.js';
import { PageReporting } from './mm/page-reporting.js';
import { Memory } from './mm/memory.js';
import { Mmap } from './mm/mmap.js';
import type { Task } from './mm/mm-types.js';
import { Migration } from './mm/migrate.js';
import { Oom } from './mm/oom-kill.js';
import { BuddyAllocator, Zone } from './mm/page-alloc.js';
import { PageCache } from './mm/page-cache.js';
import { PageFrames } from './mm/page-flags.js';
import { PageTables } from './mm/pgtable.js';
import { Psi } from './mm/psi.js';
import { Rmap } from './mm/rmap.js';
import { SwapDevice } from './mm/swap.js';
import { defaultMinFreeKbytes, defaultTunables, effectiveThpEnabled, type Tunables } from './mm/tunables.js';
import { Vmscan } from './mm/vmscan.js';
import { Kdamonds } from './workload/kdamond.js';
import { AccessStreams } from './workload/streams.js';
import { VmStat } from './mm/vmstat.js';

/** The machine a kernel is booted on. */
export interface MachineConfig {
  /** NUMA nodes with their memory in MiB (rounded down to whole 4 MiB blocks). */
  readonly nodes: readonly { readonly memoryMiB: number }[];
  /** SLIT distance matrix; default 10 local, 20 remote. */
  readonly distances?: readonly (readonly number[])[] | undefined;
  readonly swapMiB?: number | undefined;
  readonly seed?: number | undefined;
  /** A virtio-balloon device with free page reporting (the machine is a guest); default none. */
  readonly balloon?: boolean | undefined;
  /**
   * Anonymous read faults map no zero page, 4 KiB or huge: they allocate a zero-filled page as a write
   * fault does, giving the VMA its anon_vma (a PVM guest kernel booted with `pvm_no_zero_page=1`,
   * docs/linux-semantics.md "Read faults and the zero page"); default false.
   */
  readonly noZeroPage?: boolean | undefined;
}

/** The kernel's state and mechanisms. */
export class Kernel {
  readonly engine = new Engine();
  readonly prng: Prng;
  readonly frames: PageFrames;
  readonly zones: readonly Zone[];
  readonly buddy: BuddyAllocator;
  readonly vmstat: VmStat;
  readonly tunables: Tunables;
  readonly distances: readonly (readonly number[])[];
  readonly pgtables = new PageTables();
  readonly rmap: Rmap;
  readonly swap: SwapDevice;
  readonly log = new KernelLog();
  readonly tasks = new Map<number, Task>();
  /** Node of each pageblock (so nodeOfPfn is one array read). */
  private readonly blockNode: Uint8Array;
  private readonly nodeOrders: number[][];
  /** The next content value a written page gets (distinct per write, never 0). */
  private nextContent = 1;
  nextPid = 1;
  /** min_free_kbytes was written by the user: THP changes no longer recompute it. */
  userSetMinFree = false;

  readonly allocator: PageAllocator;
  readonly vmscan: Vmscan;
  readonly compaction: Compaction;
  readonly migration: Migration;
  readonly oom: Oom;
  readonly psi: Psi;
  readonly memory: Memory;
  /** Memory cgroups: the hierarchy, charges and limits. */
  readonly memcg: MemControl;
  readonly huge: HugeMemory;
  readonly pageCache: PageCache;
  readonly kernelAllocs: KernelAllocations;
  readonly mmap: Mmap;
  readonly madvise: Madvise;
  readonly pins: Pins;
  readonly streams: AccessStreams;
  readonly collapse: Collapse;
  readonly khugepaged: Khugepaged;
  readonly kdamonds: Kdamonds;
  /** Kernel samepage merging: ksmd and its trees. */
  readonly ksm: Ksm;
  /** Free page reporting to the hypervisor (active with a balloon device). */
  readonly pageReporting: PageReporting;
  /** Automatic NUMA balancing (kernel.numa_balancing). */
  readonly numaBalancing: NumaBalancing;
  /** PFN of the shared zero page. */
  readonly zeroPfn: number;
  /** Read faults allocate zero-filled pages instead of mapping the zero page (MachineConfig.noZeroPage). */
  readonly noZeroPage: boolean;

  constructor(config: MachineConfig) {
    const nodeCount = config.nodes.length;
    if (nodeCount < 1 || nodeCount > 64) throw new RangeError(`a machine needs 1–64 nodes, got ${nodeCount}`);
    const blockPages = 1 << MAX_ORDER;
    const nodePages = config.nodes.map((n, i) => {
      const pages = Math.floor((n.memoryMiB * 256) / blockPages) * blockPages;
      if (!(pages >= blockPages * 4)) throw new RangeError(`node ${i}: memoryMiB must be at least 16, got ${n.memoryMiB}`);
      return pages;
    });
    const total = nodePages.reduce((a, b) => a + b, 0);
    this.prng = new Prng(config.seed ?? 1);
    this.frames = new PageFrames(total);
    this.distances = config.distances ?? nodePages.map((_, i) => nodePages.map((__, j) => (i === j ? 10 : 20)));
    validateDistances(this.distances, nodeCount);
    this.nodeOrders = nodePages.map((_, i) =>
      nodePages.map((__, j) => j).sort((a, b) => this.distances[i][a] - this.distances[i][b] || a - b),
    );
    let start = 0;
    this.blockNode = new Uint8Array(total >> PAGEBLOCK_ORDER);
    this.zones = nodePages.map((pages, node) => {
      const z = new Zone(node, start, start + pages);
      this.blockNode.fill(node, start >> PAGEBLOCK_ORDER, (start + pages) >> PAGEBLOCK_ORDER);
      start += pages;
      return z;
    });
    this.buddy = new BuddyAllocator(this.frames, this.zones);
    this.vmstat = new VmStat(nodeCount);
    this.tunables = defaultTunables(total * 4, nodeCount);
    this.rmap = new Rmap(this.frames);
    this.swap = new SwapDevice(Math.floor(((config.swapMiB ?? 0) * 1024) / 4));

    this.memcg = new MemControl(this);
    this.allocator = new PageAllocator(this);
    this.vmscan = new Vmscan(this);
    this.compaction = new Compaction(this);
    this.migration = new Migration(this);
    this.oom = new Oom(this);
    this.psi = new Psi(this);
    this.memory = new Memory(this);
    this.huge = new HugeMemory(this);
    this.pageCache = new PageCache(this);
    this.kernelAllocs = new KernelAllocations(this);
    this.mmap = new Mmap(this);
    this.madvise = new Madvise(this, this.mmap);
    this.pins = new Pins(this);
    this.streams = new AccessStreams(this);
    this.collapse = new Collapse(this);
    this.khugepaged = new Khugepaged(this);
    this.kdamonds = new Kdamonds(this);
    this.ksm = new Ksm(this);
    this.pageReporting = new PageReporting(this);
    this.numaBalancing = new NumaBalancing(this);
    this.buddy.onBoost = (node) => this.vmscan.wakeKswapd(node, 0);
    this.applyWatermarks();
    this.zeroPfn = this.bootAllocZeroPage();
    this.noZeroPage = config.noZeroPage ?? false;
    if (config.balloon) this.pageReporting.register();
  }

  /** Node count. */
  get nodeCount(): number {
    return this.zones.length;
  }

  /** The node holding a frame. */
  nodeOfPfn(pfn: number): number {
    return this.blockNode[pfn >> PAGEBLOCK_ORDER];
  }

  /** Every node ordered by distance from `node` (the zonelist). */
  nodeOrder(node: number): readonly number[] {
    return this.nodeOrders[node];
  }

  /** A live task, or undefined. */
  task(pid: number): Task | undefined {
    const t = this.tasks.get(pid);
    return t?.alive ? t : undefined;
  }

  /** A fresh content value for a written page. */
  newContent(): number {
    const v = this.nextContent;
    this.nextContent = this.nextContent >= 0xffffffff ? 1 : this.nextContent + 1;
    return v;
  }

  /**
   * Ends a task (exit_mmap): its pins are dropped, every mapping is unmapped and its page tables freed.
   * The Task object stays in the table, not alive, so late lookups can tell "exited" from "never was".
   */
  exitTask(pid: number): void {
    const t = this.task(pid);
    if (!t) return;
    this.pins.releaseTask(pid);
    for (const v of t.mm.vmas) this.memory.zapRange(t, v.start, v.end, false);
    for (const [pmdIdx, e] of [...t.mm.pmd]) if (e >= 0) this.memory.freePteTable(t.mm, pmdIdx);
    t.mm.vmas = [];
    t.mm.leaveCowGroup();
    t.fds.clear();
    t.alive = false;
  }

  /**
   * Bytes of state that scale with physical memory: the frame arrays plus every per-pageblock array.
   * (Page tables scale with mapped memory and are reported separately by `pgtables.bytes`.)
   */
  physicalStateBytes(): number {
    const f = this.frames;
    let bytes = f.flags.byteLength + f.order.byteLength + f.mapcount.byteLength + f.link0.byteLength + f.link1.byteLength;
    bytes += this.blockNode.byteLength;
    for (const z of this.zones) bytes += z.pageblockMt.byteLength;
    bytes += this.compaction.stateBytes();
    bytes += this.memcg.stateBytes();
    bytes += this.pageReporting.stateBytes() + this.numaBalancing.stateBytes();
    return bytes;
  }

  /**
   * THP was enabled or disabled: like khugepaged's start/stop, recompute the recommended
   * min_free_kbytes unless the administrator set it.
   */
  onThpEnabledChanged(): void {
    if (this.userSetMinFree) return;
    this.tunables.minFreeKbytes = defaultMinFreeKbytes(this.frames.count * 4, this.nodeCount, effectiveThpEnabled(this.tunables) !== 'never');
    this.applyWatermarks();
  }

  /**
   * PTRACE_MODE_READ of `target` by `caller` (__ptrace_may_access with the commoncap check): oneself;
   * else the same uid or CAP_SYS_PTRACE; a non-dumpable target needs CAP_SYS_PTRACE; and without
   * CAP_SYS_PTRACE the caller's capabilities must cover the target's (cap_ptrace_access_check).
   */
  ptraceMayRead(caller: Task, target: Task): boolean {
    if (caller === target) return true;
    const ptraceCap = caller.hasCap('CAP_SYS_PTRACE');
    if (caller.uid !== target.uid && !ptraceCap) return false;
    if (!target.dumpable && !ptraceCap) return false;
    if (ptraceCap) return true;
    for (const cap of target.caps) if (!caller.hasCap(cap)) return false;
    return true;
  }

  /** Recomputes watermarks after min_free_kbytes or watermark_scale_factor changed. */
  applyWatermarks(): void {
    this.buddy.watermarkBoostFactor = this.tunables.watermarkBoostFactor;
    this.buddy.setupWatermarks(this.tunables.minFreeKbytes, this.tunables.watermarkScaleFactor);
  }

  private bootAllocZeroPage(): number {
    const pfn = this.buddy.rmqueue(this.zones[0], 0, 0);
    this.frames.initAllocated(pfn, PageKind.ZeroPage);
    this.frames.setContent(pfn, 0);
    return pfn;
  }
}

function validateDistances(d: readonly (readonly number[])[], n: number): void {
  if (d.length !== n || d.some((row) => row.length !== n)) throw new RangeError(`distances must be a ${n}×${n} matrix`);
  d.forEach((row, i) =>
    row.forEach((v, j) => {
      if (!(Number.isInteger(v) && v >= 10 && v <= 254)) throw new RangeError(`distances[${i}][${j}] must be an integer 10–254`);
      if (i === j && v !== 10) throw new RangeError(`distances[${i}][${i}] must be 10 (local)`);
    }),
  );
}
