/**
 * /proc/buddyinfo (mm/vmstat.c `frag_show_print`): one line per populated zone, nodes in order and zones
 * in order within a node, giving the number of free blocks of each order:
 *
 *   Node 0, zone   Normal   1633   1866 ...   2353 \n
 *
 * `"Node %d, zone %8s "` then `"%6lu "` for each of the NR_PAGE_ORDERS orders: every line ends with a
 * space before its newline.
 */
import { dec } from './seq-file.js';

/** Orders 0..MAX_PAGE_ORDER (10 on x86-64): the number of free lists per zone. */
export const NR_PAGE_ORDERS = 11;

/** The free blocks of one zone. */
export interface BuddyinfoZone {
  /** NUMA node id. */
  readonly node: number;
  /** Zone name as Linux spells it (`Normal`; the model has one zone per node). */
  readonly zone: string;
  /** Free blocks per order, `NR_PAGE_ORDERS` entries (`zone->free_area[order].nr_free`). */
  readonly nrFree: ArrayLike<number>;
}

/** Checks that a per-order array has exactly `NR_PAGE_ORDERS` entries and returns them as an array. */
export function perOrder(counts: ArrayLike<number>, what: string): number[] {
  if (counts.length !== NR_PAGE_ORDERS) {
    throw new RangeError(`${what} needs ${NR_PAGE_ORDERS} orders, got ${counts.length}`);
  }
  return Array.from(counts);
}

/** The text of /proc/buddyinfo for `zones`, given in node then zone order. */
export function formatBuddyinfo(zones: readonly BuddyinfoZone[]): string {
  return zones
    .map((z) => {
      const counts = perOrder(z.nrFree, `zone ${z.zone} of node ${z.node}`);
      return `Node ${dec(z.node)}, zone ${z.zone.padStart(8)} ${counts.map((n) => `${dec(n, 6)} `).join('')}\n`;
    })
    .join('');
}
