/**
 * Machine-wide procfs files built from the model's counters and allocator state: /proc/vmstat,
 * /proc/meminfo, /proc/buddyinfo, /proc/pagetypeinfo, /proc/zoneinfo, /proc/pressure/memory and
 * /sys/devices/system/node/nodeN/meminfo. Derived items (free pages, available memory) are computed here
 * when read, never stored.
 */
import { HPAGE_PMD_NR, MAX_ORDER, NR_MIGRATETYPES, NR_ORDERS } from '../mm/constants.js';
import { cpuCount } from '../cpu-topology.js';
import { VM } from '../mm/mm-types.js';
import { WMARK_HIGH, WMARK_LOW, WMARK_MIN, type Zone } from '../mm/page-alloc.js';
import { NR_VM_ITEMS, Vm } from '../mm/vmstat.js';
import { formatBuddyinfo } from './buddyinfo.js';
import { formatMeminfo, formatNodeMeminfo, type MeminfoField, type NodeMeminfoField } from './meminfo.js';
import { formatPagetypeinfo } from './pagetypeinfo.js';
import { formatPressure } from './pressure.js';
import { formatVmstat } from './vmstat.js';
import { formatZoneinfo, type ZoneinfoPageset } from './zoneinfo.js';
import type { Kernel } from '../kernel.js';

/** Per-node counters with the derived items filled in. */
function nodeCounters(k: Kernel, node: number): Float64Array {
  const out = new Float64Array(NR_VM_ITEMS);
  for (let i = 0; i < NR_VM_ITEMS; i++) out[i] = k.vmstat.node(node, i);
  const zone = k.zones[node];
  out[Vm.nr_free_pages] = zone.nrFree;
  out[Vm.nr_free_pages_blocks] = k.buddy.freePagesInBlocks(zone);
  out[Vm.nr_zone_write_pending] = out[Vm.nr_dirty]!;
  out[Vm.nr_mlock] = k.vmstat.node(node, Vm.nr_mlock);
  return out;
}

/** /proc/vmstat: node counters summed, derived items computed. */
export function procVmstat(k: Kernel): string {
  const total = new Float64Array(NR_VM_ITEMS);
  for (const z of k.zones) {
    const c = nodeCounters(k, z.node);
    for (let i = 0; i < NR_VM_ITEMS; i++) total[i] += c[i];
  }
  return formatVmstat(total);
}

/** Committed address space: private writable mappings (VM_ACCOUNT), in kB. */
function committedKb(k: Kernel): number {
  let bytes = 0;
  for (const t of k.tasks.values()) if (t.alive) for (const v of t.mm.vmas) if (v.flags & VM.ACCOUNT) bytes += v.end - v.start;
  return bytes / 1024;
}

/** MemAvailable as si_mem_available estimates it, in pages. */
function memAvailable(k: Kernel, free: number, file: number, reclaimable: number): number {
  const lowSum = k.zones.reduce((s, z) => s + z.watermark[WMARK_LOW], 0);
  const reserve = k.zones.reduce((s, z) => s + z.watermark[WMARK_HIGH], 0);
  let avail = free - reserve;
  avail += file - Math.min(file / 2, lowSum);
  avail += reclaimable - Math.min(reclaimable / 2, lowSum);
  return Math.max(0, Math.floor(avail));
}

/** /proc/meminfo. */
export function procMeminfo(k: Kernel): string {
  const g = (item: number): number => k.vmstat.global(item);
  const kb = (pages: number): number => Math.floor(pages * 4);
  const totalPages = k.zones.reduce((s, z) => s + z.managed, 0);
  const free = k.zones.reduce((s, z) => s + z.nrFree, 0);
  const file = g(Vm.nr_file_pages);
  const sreclaim = g(Vm.nr_slab_reclaimable);
  const sunreclaim = g(Vm.nr_slab_unreclaimable);
  const f: Partial<Record<MeminfoField, number>> = {
    MemTotal: kb(totalPages),
    MemFree: kb(free),
    MemAvailable: kb(memAvailable(k, free, file, sreclaim)),
    Cached: kb(file),
    Active: kb(g(Vm.nr_active_anon) + g(Vm.nr_active_file)),
    Inactive: kb(g(Vm.nr_inactive_anon) + g(Vm.nr_inactive_file)),
    'Active(anon)': kb(g(Vm.nr_active_anon)),
    'Inactive(anon)': kb(g(Vm.nr_inactive_anon)),
    'Active(file)': kb(g(Vm.nr_active_file)),
    'Inactive(file)': kb(g(Vm.nr_inactive_file)),
    Unevictable: kb(g(Vm.nr_unevictable)),
    Mlocked: kb(g(Vm.nr_mlock)),
    SwapTotal: kb(k.swap.totalSlots),
    SwapFree: kb(k.swap.free),
    Dirty: kb(g(Vm.nr_dirty)),
    AnonPages: kb(g(Vm.nr_anon_pages)),
    KReclaimable: kb(sreclaim),
    Slab: kb(sreclaim + sunreclaim),
    SReclaimable: kb(sreclaim),
    SUnreclaim: kb(sunreclaim),
    PageTables: kb(g(Vm.nr_page_table_pages)),
    CommitLimit: kb(k.swap.totalSlots + totalPages / 2),
    Committed_AS: committedKb(k),
    VmallocTotal: 34359738367,
    AnonHugePages: kb(g(Vm.nr_anon_transparent_hugepages) * HPAGE_PMD_NR),
    Hugepagesize: 2048,
    DirectMap4k: 0,
    DirectMap2M: kb(totalPages),
  };
  return formatMeminfo(f);
}

/** /sys/devices/system/node/nodeN/meminfo. */
export function nodeMeminfo(k: Kernel, node: number): string {
  const c = nodeCounters(k, node);
  const kb = (pages: number): number => Math.floor(pages * 4);
  const zone = k.zones[node];
  const f: Partial<Record<NodeMeminfoField, number>> = {
    MemTotal: kb(zone.managed),
    MemFree: kb(zone.nrFree),
    MemUsed: kb(zone.managed - zone.nrFree),
    Active: kb(c[Vm.nr_active_anon] + c[Vm.nr_active_file]),
    Inactive: kb(c[Vm.nr_inactive_anon] + c[Vm.nr_inactive_file]),
    'Active(anon)': kb(c[Vm.nr_active_anon]),
    'Inactive(anon)': kb(c[Vm.nr_inactive_anon]),
    'Active(file)': kb(c[Vm.nr_active_file]),
    'Inactive(file)': kb(c[Vm.nr_inactive_file]),
    Unevictable: kb(c[Vm.nr_unevictable]),
    Mlocked: kb(c[Vm.nr_mlock]),
    Dirty: kb(c[Vm.nr_dirty]),
    FilePages: kb(c[Vm.nr_file_pages]),
    AnonPages: kb(c[Vm.nr_anon_pages]),
    PageTables: kb(c[Vm.nr_page_table_pages]),
    KReclaimable: kb(c[Vm.nr_slab_reclaimable]),
    Slab: kb(c[Vm.nr_slab_reclaimable] + c[Vm.nr_slab_unreclaimable]),
    SReclaimable: kb(c[Vm.nr_slab_reclaimable]),
    SUnreclaim: kb(c[Vm.nr_slab_unreclaimable]),
    AnonHugePages: kb(c[Vm.nr_anon_transparent_hugepages] * HPAGE_PMD_NR),
  };
  return formatNodeMeminfo(node, f);
}

/** Free blocks per order of a zone, all migratetypes together. */
function freePerOrder(zone: Zone): number[] {
  return Array.from({ length: NR_ORDERS }, (_, o) => {
    let n = 0;
    for (let mt = 0; mt < NR_MIGRATETYPES; mt++) n += zone.blocks(o, mt);
    return n;
  });
}

/** /proc/buddyinfo. */
export function procBuddyinfo(k: Kernel): string {
  return formatBuddyinfo(k.zones.map((z) => ({ node: z.node, zone: 'Normal', nrFree: freePerOrder(z) })));
}

/** /proc/pagetypeinfo. */
export function procPagetypeinfo(k: Kernel): string {
  return formatPagetypeinfo(
    k.zones.map((z) => {
      const blocksByType = new Array<number>(NR_MIGRATETYPES).fill(0);
      for (const mt of z.pageblockMt) blocksByType[mt]++;
      const freeByType = Array.from({ length: NR_MIGRATETYPES }, (_, mt) =>
        Array.from({ length: MAX_ORDER + 1 }, (__, o) => z.blocks(o, mt)),
      );
      return { node: z.node, zones: [{ zone: 'Normal', freeByType, blocksByType }] };
    }),
  );
}

/** /proc/zoneinfo: one populated Normal zone per node (the model has no DMA zones), a pageset per CPU. */
export function procZoneinfo(k: Kernel): string {
  const pageset: ZoneinfoPageset = { count: 0, high: 0, batch: 63, highMin: 0, highMax: 0, statThreshold: 0 };
  return formatZoneinfo(
    k.zones.map((z) => {
      const counters = nodeCounters(k, z.node);
      return {
        node: z.node,
        counters,
        unreclaimable: k.vmscan.nodeUnreclaimable(z.node),
        zones: [
          {
            zone: 'Normal',
            boost: z.watermarkBoost,
            min: z.watermark[WMARK_MIN],
            low: z.wmark(WMARK_LOW) - z.watermarkBoost,
            high: z.wmark(WMARK_HIGH) - z.watermarkBoost,
            promo: z.watermark[WMARK_HIGH] + (z.watermark[WMARK_HIGH] - z.watermark[WMARK_LOW]),
            spanned: z.endPfn - z.startPfn,
            present: z.endPfn - z.startPfn,
            managed: z.managed,
            cma: 0,
            protection: [0, 0, 0, 0, 0],
            counters,
            pagesets: Array.from({ length: cpuCount(k.nodeCount) }, () => pageset),
            startPfn: z.startPfn,
          },
        ],
      };
    }),
  );
}

/** /proc/pressure/memory. */
export function procPressure(k: Kernel): string {
  const p = k.psi;
  return formatPressure({
    some: { avg10: p.someAvg[0], avg60: p.someAvg[1], avg300: p.someAvg[2], totalUs: p.someTotalUs },
    full: { avg10: p.fullAvg[0], avg60: p.fullAvg[1], avg300: p.fullAvg[2], totalUs: p.fullTotalUs },
  });
}
