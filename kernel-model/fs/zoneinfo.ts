/**
 * /proc/zoneinfo (mm/vmstat.c `zoneinfo_show_print`), every zone of every node, populated or not:
 *
 *   Node 0, zone   Normal                      "Node %d, zone %8s"
 *     per-node stats                           only under the node's first populated zone:
 *         nr_inactive_anon 516                 "      %-12s %lu" per node stat item
 *     pages free     2620356                   the zone's NR_FREE_PAGES
 *           boost    0                         boost, min, low, high, promo, spanned, present, managed, cma
 *           protection: (0, 0, 0, 0, 0)        lowmem_reserve[], one per zone type
 *         nr_free_pages 2620356                populated zones only from here: "      %-12s %lu" per zone
 *         numa_hit     21879259                stat item, then per NUMA event
 *     pagesets
 *       cpu: 0                                 per online CPU: count, high, batch, high_min, high_max,
 *                 count:    8065               then "  vm stats threshold: %d"
 *     node_unreclaimable:  0
 *     start_pfn:           1048576
 *
 * Counters come as arrays indexed by `Vm` (mm/vmstat-items.ts): the node's array for the per-node block,
 * the zone's for the zone items and NUMA events. Which items belong to which block follows vmstatNames:
 * zone items are nr_free_pages..nr_free_cma, NUMA events numa_hit..numa_other, node items
 * nr_inactive_anon..nr_kernel_file_pages.
 */
import { Vm, vmstatNames, type VmstatName } from '../mm/vmstat-items.js';
import { dec } from './seq-file.js';

/** The per-CPU page list state and vmstat threshold of one zone on one CPU. */
export interface ZoneinfoPageset {
  /** Pages on the per-CPU lists. */
  readonly count: number;
  /** Current high mark. */
  readonly high: number;
  /** Refill/drain batch. */
  readonly batch: number;
  /** Lower bound of the auto-tuned high mark. */
  readonly highMin: number;
  /** Upper bound of the auto-tuned high mark. */
  readonly highMax: number;
  /** Per-CPU vmstat drift allowed before folding into the zone (`stat_threshold`). */
  readonly statThreshold: number;
}

/** One zone. Page counts are in pages. */
export interface ZoneinfoZone {
  /** Zone name (`Normal`). */
  readonly zone: string;
  /** Watermark boost. */
  readonly boost: number;
  /** WMARK_MIN. */
  readonly min: number;
  /** WMARK_LOW. */
  readonly low: number;
  /** WMARK_HIGH. */
  readonly high: number;
  /** WMARK_PROMO. */
  readonly promo: number;
  /** Pages spanned by the zone, holes included. */
  readonly spanned: number;
  /** Pages present; a zone with none is unpopulated and prints only up to `protection`. */
  readonly present: number;
  /** Pages managed by the buddy allocator. */
  readonly managed: number;
  /** CMA pages. */
  readonly cma: number;
  /** `lowmem_reserve[]` against each zone type (5 entries on x86-64: DMA, DMA32, Normal, Movable, Device). */
  readonly protection: readonly number[];
  /** Zone counters indexed by `Vm`; "pages free" is its nr_free_pages. */
  readonly counters: ArrayLike<number>;
  /** One entry per online CPU, CPU 0 first. */
  readonly pagesets: readonly ZoneinfoPageset[];
  /** First page frame number of the zone. */
  readonly startPfn: number;
}

/** One node with its zones in zone order. */
export interface ZoneinfoNode {
  /** NUMA node id. */
  readonly node: number;
  /** Node counters indexed by `Vm`, in the units /proc/vmstat prints. */
  readonly counters: ArrayLike<number>;
  /** kswapd gave up on the node (`kswapd_failures >= MAX_RECLAIM_RETRIES`). */
  readonly unreclaimable: boolean;
  /** Every zone of the node, populated or not. */
  readonly zones: readonly ZoneinfoZone[];
}

/** Names of the items between `first` and `last` of vmstatNames, both included. */
function itemRange(first: number, last: number): readonly VmstatName[] {
  return vmstatNames.slice(first, last + 1);
}

const nodeItems = itemRange(Vm.nr_inactive_anon, Vm.nr_kernel_file_pages);
const zoneItems = [...itemRange(Vm.nr_free_pages, Vm.nr_free_cma), ...itemRange(Vm.numa_hit, Vm.numa_other)];

/** `"\n      %-12s %lu"` lines for `names`, read from `counters` by their `Vm` index. */
function statLines(names: readonly VmstatName[], counters: ArrayLike<number>): string {
  return names.map((name) => `      ${name.padEnd(12)} ${dec(counters[Vm[name]])}\n`).join('');
}

/** The zone's header, node stats if asked, and the watermark block up to `protection`. */
function zoneHead(n: ZoneinfoNode, z: ZoneinfoZone, withNodeStats: boolean): string {
  const nodeStats = withNodeStats ? `  per-node stats\n${statLines(nodeItems, n.counters)}` : '';
  const marks: [string, number][] = [
    ['boost', z.boost], ['min', z.min], ['low', z.low], ['high', z.high], ['promo', z.promo],
    ['spanned', z.spanned], ['present', z.present], ['managed', z.managed], ['cma', z.cma],
  ];
  return (
    `Node ${dec(n.node)}, zone ${z.zone.padStart(8)}\n${nodeStats}` +
    `  pages free     ${dec(z.counters[Vm.nr_free_pages])}\n` +
    marks.map(([name, v]) => `        ${name.padEnd(8)} ${dec(v)}\n`).join('') +
    `        protection: (${z.protection.map((p) => dec(p)).join(', ')})\n`
  );
}

/** The per-CPU block of one CPU. */
function pagesetLines(cpu: number, p: ZoneinfoPageset): string {
  return (
    `    cpu: ${dec(cpu)}\n` +
    `              count:    ${dec(p.count)}\n` +
    `              high:     ${dec(p.high)}\n` +
    `              batch:    ${dec(p.batch)}\n` +
    `              high_min: ${dec(p.highMin)}\n` +
    `              high_max: ${dec(p.highMax)}\n` +
    `  vm stats threshold: ${dec(p.statThreshold)}\n`
  );
}

/** The rest of a populated zone: counters, pagesets, and the closing lines. */
function zoneBody(n: ZoneinfoNode, z: ZoneinfoZone): string {
  return (
    statLines(zoneItems, z.counters) +
    '  pagesets\n' +
    z.pagesets.map((p, cpu) => pagesetLines(cpu, p)).join('') +
    `  node_unreclaimable:  ${n.unreclaimable ? 1 : 0}\n` +
    `  start_pfn:           ${dec(z.startPfn)}\n`
  );
}

/** All zones of one node; the node's stats go under its first populated zone. */
function nodeText(n: ZoneinfoNode): string {
  const firstPopulated = n.zones.findIndex((z) => z.present > 0);
  return n.zones
    .map((z, i) => zoneHead(n, z, i === firstPopulated) + (z.present > 0 ? zoneBody(n, z) : ''))
    .join('');
}

/** The text of /proc/zoneinfo for `nodes` in node order. */
export function formatZoneinfo(nodes: readonly ZoneinfoNode[]): string {
  return nodes.map(nodeText).join('');
}
