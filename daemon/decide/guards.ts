/**
 * Guards (policy `guards`): when the daemon must not act, from what the kernel shows. Collapsing takes
 * a free 2 MiB block on the node where the huge page goes and, for absent pages, charges memory: done on
 * a node short of either, or while the machine is already stalling on memory, it would start the
 * reclaim and compaction storms the daemon exists to avoid.
 *
 *   per node   free 2 MiB blocks (orders ≥ 9 of /proc/buddyinfo, all zones of the node) below
 *              `minFreeHugePagesPerNode`, or available memory below `minFreeMemory` of MemTotal.
 *              Available is what the node can give without touching anonymous memory: MemFree plus
 *              clean page cache (Active(file) + Inactive(file) − Dirty − Writeback) plus reclaimable
 *              slab (nodeN/meminfo). A Linux host's memory is mostly page cache once it has run a
 *              while; MADV_COLLAPSE reclaims clean cache cheaply when it needs a page, and it is
 *              reclaim of anonymous memory — swapping — that makes the storms this guard prevents.
 *   global     /proc/pressure/memory `some` avg10 above `maxPsiMemorySome`, or direct compaction
 *              stalls (`compact_stall` in /proc/vmstat) faster than `maxCompactStallsPerSec` since the
 *              previous reading, less the stalls the daemon's own collapse attempts can account for
 *   per cgroup memory.current within `memcgHeadroom` of memory.max (cgroup v2), memory.usage_in_bytes
 *              within it of memory.limit_in_bytes (the v1 memory controller)
 *
 * `read` takes one reading through the kernel port at the caller's time; the verdicts are then pure.
 */
import type { Policy } from '../config/policy-schema.js';
import type { CgroupHierarchy } from './classes.js';
import { KernelPortError, type KernelPort } from '../kernel-port/kernel-port.js';
import { parseBuddyinfo, parseCgroupLimit, parseKeyValueKb, parsePressure, parseVmstat } from '../kernel-port/procfs-parsers.js';

export type GuardPolicy = Policy['guards'];

/**
 * Where each hierarchy keeps a memory cgroup's limit and usage: v2 under the unified mount, v1 under the
 * memory controller's conventional mount point (systemd and the distributions mount it there).
 */
const MEMCG_FILES: Readonly<Record<CgroupHierarchy, { mount: string; limit: string; usage: string }>> = {
  v2: { mount: '/sys/fs/cgroup', limit: 'memory.max', usage: 'memory.current' },
  v1: { mount: '/sys/fs/cgroup/memory', limit: 'memory.limit_in_bytes', usage: 'memory.usage_in_bytes' },
};

/** Order of a 2 MiB block of 4 KiB pages. */
const HUGE_ORDER = 9;

/** What one reading found about a node. */
export interface NodeReading {
  readonly node: number;
  /** Free blocks of 2 MiB or more, in 2 MiB units. */
  readonly freeHugeBlocks: number;
  readonly memFreeKb: number;
  /** MemFree + clean file pages + reclaimable slab. */
  readonly memAvailableKb: number;
  readonly memTotalKb: number;
}

/** Why the daemon may not act on a node, or at all. */
export type NodeBlock = 'few-free-huge-pages' | 'little-free-memory';
export type GlobalBlock = 'memory-pressure' | 'compaction-stalls';

export class Guards {
  private lastStalls: { at: number; count: number } | undefined;
  private nodes: NodeReading[] = [];
  private global: GlobalBlock | undefined;

  constructor(
    private policy: GuardPolicy,
    private readonly port: KernelPort,
  ) {}

  reconfigure(policy: GuardPolicy): void {
    this.policy = policy;
  }

  /**
   * Takes a reading at time `now` (ms, the daemon's clock). `ownCollapses`: the collapse attempts the
   * daemon made since the last reading. Each can count one direct compaction stall (MADV_COLLAPSE
   * allocates with direct compaction, and compact_stall counts every task's), so they are taken off:
   * the guard is about stalls the daemon would add to, not the ones its own failures cause — those its
   * failure memory backs off from (ENOMEM per node).
   */
  read(now: number, ownCollapses = 0): void {
    const port = this.port;
    const free = new Map<number, number>();
    for (const zone of parseBuddyinfo(port.readFile('/proc/buddyinfo'))) {
      let blocks = 0;
      for (let order = HUGE_ORDER; order < zone.free.length; order++) blocks += zone.free[order] << (order - HUGE_ORDER);
      free.set(zone.node, (free.get(zone.node) ?? 0) + blocks);
    }
    this.nodes = [...free.keys()].sort((a, b) => a - b).map((node) => {
      const mem = parseKeyValueKb(port.readFile(`/sys/devices/system/node/node${node}/meminfo`), 'node meminfo');
      const kb = (key: string): number => mem.get(key) ?? 0;
      const cleanFile = Math.max(0, kb('Active(file)') + kb('Inactive(file)') - kb('Dirty') - kb('Writeback'));
      return { node, freeHugeBlocks: free.get(node) ?? 0, memFreeKb: kb('MemFree'), memAvailableKb: kb('MemFree') + cleanFile + kb('SReclaimable'), memTotalKb: kb('MemTotal') };
    });
    const psi = parsePressure(port.readFile('/proc/pressure/memory'));
    const stalls = parseVmstat(port.readFile('/proc/vmstat')).get('compact_stall') ?? 0;
    const last = this.lastStalls;
    this.lastStalls = { at: now, count: stalls };
    const others = last === undefined ? 0 : Math.max(0, stalls - last.count - ownCollapses);
    const stallRate = last !== undefined && now > last.at ? (others * 1000) / (now - last.at) : 0;
    if (psi.some.avg10 / 100 > this.policy.maxPsiMemorySome) this.global = 'memory-pressure';
    else if (stallRate > this.policy.maxCompactStallsPerSec) this.global = 'compaction-stalls';
    else this.global = undefined;
  }

  /** The nodes of the last reading. */
  get readings(): readonly NodeReading[] {
    return this.nodes;
  }

  /** Why nothing may be done at all, as of the last reading. */
  get globalBlock(): GlobalBlock | undefined {
    return this.global;
  }

  /** Why nothing may be collapsed onto `node`, as of the last reading. */
  nodeBlock(node: number): NodeBlock | undefined {
    const r = this.nodes.find((n) => n.node === node);
    if (r === undefined) return undefined;
    if (r.freeHugeBlocks < this.policy.minFreeHugePagesPerNode) return 'few-free-huge-pages';
    if (r.memAvailableKb < this.policy.minFreeMemory * r.memTotalKb) return 'little-free-memory';
    return undefined;
  }

  /**
   * Whether the memory cgroup has headroom: its usage at least `memcgHeadroom` of its limit below it
   * (always, for a cgroup without a limit or the root). Read when asked: only candidates' cgroups are.
   */
  cgroupHasHeadroom(cgroup: string, hierarchy: CgroupHierarchy = 'v2'): boolean {
    if (cgroup === '/') return true;
    const files = MEMCG_FILES[hierarchy];
    const dir = `${files.mount}${cgroup}`;
    try {
      const max = parseCgroupLimit(this.port.readFile(`${dir}/${files.limit}`));
      if (!Number.isFinite(max)) return true;
      const current = parseCgroupLimit(this.port.readFile(`${dir}/${files.usage}`));
      return max - current >= this.policy.memcgHeadroom * max;
    } catch (e) {
      // A cgroup that vanished, or a host without these files: no limit the daemon can see.
      if (e instanceof KernelPortError) return true;
      throw e;
    }
  }
}
