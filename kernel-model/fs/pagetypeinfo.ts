/**
 * /proc/pagetypeinfo (mm/vmstat.c `pagetypeinfo_show`). Linux prints one section per node with memory,
 * each starting with the pageblock header, so a machine with two nodes repeats it:
 *
 *   Page block order: 9
 *   Pages per block:  512
 *   <blank>
 *   Free pages count per migrate type at order       0      1 ...     10 \n      "%-43s " then "%6d " each
 *   Node    0, zone   Normal, type    Unmovable    500 ...      0 \n      "Node %4d, zone %8s, type %12s "
 *   ...                                                                      then "%6lu " per order
 *   <blank>
 *   Number of blocks type     Unmovable      Movable ... \n                  "%-23s" then "%12s " each
 *   Node 0, zone   Normal           50         5215 ... \n                  "Node %d, zone %8s " "%12lu "
 *
 * Linux stops counting a free list at 100000 entries and prints `>100000`; so does this formatter.
 * Only populated zones are listed. The "Number of mixed blocks" section needs CONFIG_PAGE_OWNER and is
 * not printed, as on the captured host.
 */
import { NR_PAGE_ORDERS, perOrder } from './buddyinfo.js';
import { dec } from './seq-file.js';

/** Migratetype names in Linux's order (`migratetype_names`; no CMA on x86-64 without CONFIG_CMA). */
export const migratetypeNames = ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'Isolate'] as const;

/** A migratetype name. */
export type Migratetype = (typeof migratetypeNames)[number];

/** Where Linux stops walking a free list when counting it for this file. */
const FREE_LIST_COUNT_CAP = 100000;

/** The free lists and pageblock types of one zone. */
export interface PagetypeinfoZone {
  /** Zone name (`Normal`). */
  readonly zone: string;
  /** Free blocks per migratetype (indexed like `migratetypeNames`), each per order (`NR_PAGE_ORDERS`). */
  readonly freeByType: readonly ArrayLike<number>[];
  /** Pageblocks per migratetype, indexed like `migratetypeNames`. */
  readonly blocksByType: ArrayLike<number>;
}

/** One node's section. */
export interface PagetypeinfoNode {
  /** NUMA node id. */
  readonly node: number;
  /** Its populated zones in zone order. */
  readonly zones: readonly PagetypeinfoZone[];
}

/** Checks that a per-migratetype array has one entry per migratetype. */
function perType<T>(values: ArrayLike<T>, what: string): T[] {
  if (values.length !== migratetypeNames.length) {
    throw new RangeError(`${what} needs ${migratetypeNames.length} migratetypes, got ${values.length}`);
  }
  return Array.from(values);
}

/** `"%s%6lu "` with Linux's cap on the walk of a free list. */
function freeCount(n: number): string {
  return n >= FREE_LIST_COUNT_CAP ? `>${dec(FREE_LIST_COUNT_CAP, 6)} ` : `${dec(n, 6)} `;
}

/** The free-list rows of one zone, one per migratetype. */
function freeRows(node: number, z: PagetypeinfoZone): string {
  return perType(z.freeByType, `free lists of zone ${z.zone}`)
    .map((counts, t) => {
      const orders = perOrder(counts, `${migratetypeNames[t]} free lists of zone ${z.zone}`);
      const head = `Node ${dec(node, 4)}, zone ${z.zone.padStart(8)}, type ${migratetypeNames[t].padStart(12)} `;
      return `${head}${orders.map(freeCount).join('')}\n`;
    })
    .join('');
}

/** The pageblock-count row of one zone. */
function blockRow(node: number, z: PagetypeinfoZone): string {
  const counts = perType(z.blocksByType, `pageblocks of zone ${z.zone}`);
  return `Node ${dec(node)}, zone ${z.zone.padStart(8)} ${counts.map((n) => `${dec(n, 12)} `).join('')}\n`;
}

/** One node's section, header included. */
function nodeSection(n: PagetypeinfoNode, pageblockOrder: number): string {
  const orders = Array.from({ length: NR_PAGE_ORDERS }, (_, o) => `${dec(o, 6)} `).join('');
  const types = migratetypeNames.map((t) => `${t.padStart(12)} `).join('');
  return (
    `Page block order: ${dec(pageblockOrder)}\n` +
    `Pages per block:  ${dec(2 ** pageblockOrder)}\n` +
    '\n' +
    `${'Free pages count per migrate type at order'.padEnd(43)} ${orders}\n` +
    n.zones.map((z) => freeRows(n.node, z)).join('') +
    '\n' +
    `${'Number of blocks type '.padEnd(23)}${types}\n` +
    n.zones.map((z) => blockRow(n.node, z)).join('')
  );
}

/** The text of /proc/pagetypeinfo for the nodes with memory, in node order. */
export function formatPagetypeinfo(nodes: readonly PagetypeinfoNode[], pageblockOrder = 9): string {
  return nodes.map((n) => nodeSection(n, pageblockOrder)).join('');
}
