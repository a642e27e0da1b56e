/**
 * /proc/meminfo (fs/proc/meminfo.c) and /sys/devices/system/node/nodeN/meminfo (drivers/base/node.c) as
 * Linux 6.18 prints them on x86-64, from a plain record of values.
 *
 * Both files print most fields with `show_val_kb`: the name and colon left-aligned in 16 columns, the
 * value right-aligned in 8, then " kB". The hugetlb page counts are plain counts in 5 columns
 * (`"HugePages_Total:   %5lu"` in the machine file, `"Node %d HugePages_Total: %5u"` in the node file).
 * The node file prefixes every line with `Node N `, has its own set and order of fields (MemUsed,
 * FilePages; no MemAvailable, Buffers, Cached, swap or vmalloc lines) and no HugePages_Rsvd.
 *
 * Which fields exist follows the golden capture of this host (CONFIG_ZSWAP on, no CMA, no unaccepted
 * memory). A field missing from the record prints 0, as for anything the model does not track.
 */
import { dec } from './seq-file.js';

/** The fields of /proc/meminfo in Linux 6.18's order. All are kB except the HugePages_* page counts. */
export const meminfoFields = [
  'MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapCached', 'Active', 'Inactive',
  'Active(anon)', 'Inactive(anon)', 'Active(file)', 'Inactive(file)', 'Unevictable', 'Mlocked',
  'SwapTotal', 'SwapFree', 'Zswap', 'Zswapped', 'Dirty', 'Writeback', 'AnonPages', 'Mapped', 'Shmem',
  'KReclaimable', 'Slab', 'SReclaimable', 'SUnreclaim', 'KernelStack', 'PageTables', 'SecPageTables',
  'NFS_Unstable', 'Bounce', 'WritebackTmp', 'CommitLimit', 'Committed_AS', 'VmallocTotal', 'VmallocUsed',
  'VmallocChunk', 'Percpu', 'AnonHugePages', 'ShmemHugePages', 'ShmemPmdMapped', 'FileHugePages',
  'FilePmdMapped', 'Balloon', 'HugePages_Total', 'HugePages_Free', 'HugePages_Rsvd', 'HugePages_Surp',
  'Hugepagesize', 'Hugetlb', 'DirectMap4k', 'DirectMap2M', 'DirectMap1G',
] as const;

/** A /proc/meminfo field name. */
export type MeminfoField = (typeof meminfoFields)[number];

/** The fields of nodeN/meminfo in Linux 6.18's order. All are kB except the HugePages_* page counts. */
export const nodeMeminfoFields = [
  'MemTotal', 'MemFree', 'MemUsed', 'SwapCached', 'Active', 'Inactive', 'Active(anon)', 'Inactive(anon)',
  'Active(file)', 'Inactive(file)', 'Unevictable', 'Mlocked', 'Dirty', 'Writeback', 'FilePages', 'Mapped',
  'AnonPages', 'Shmem', 'KernelStack', 'PageTables', 'SecPageTables', 'NFS_Unstable', 'Bounce',
  'WritebackTmp', 'KReclaimable', 'Slab', 'SReclaimable', 'SUnreclaim', 'AnonHugePages', 'ShmemHugePages',
  'ShmemPmdMapped', 'FileHugePages', 'FilePmdMapped', 'HugePages_Total', 'HugePages_Free', 'HugePages_Surp',
] as const;

/** A nodeN/meminfo field name. */
export type NodeMeminfoField = (typeof nodeMeminfoFields)[number];

/** Fields that are hugetlb page counts, printed without a unit in 5 columns. */
const hugetlbCounts: ReadonlySet<string> = new Set(['HugePages_Total', 'HugePages_Free', 'HugePages_Rsvd', 'HugePages_Surp']);

/**
 * One line. kB values start at column 16 in both files; a hugetlb page count starts at `countLabelWidth`
 * (19 in /proc/meminfo, 17 after the `Node N ` prefix of the node file).
 */
function meminfoLine(name: string, value: number, countLabelWidth: number): string {
  return hugetlbCounts.has(name)
    ? `${`${name}:`.padEnd(countLabelWidth)}${dec(value, 5)}\n`
    : `${`${name}:`.padEnd(16)}${dec(value, 8)} kB\n`;
}

/** The text of /proc/meminfo. Values in kB (HugePages_* in pages); a missing field prints 0. */
export function formatMeminfo(f: Partial<Record<MeminfoField, number>>): string {
  return meminfoFields.map((name) => meminfoLine(name, f[name] ?? 0, 19)).join('');
}

/** The text of /sys/devices/system/node/node`node`/meminfo. Values in kB (HugePages_* in pages). */
export function formatNodeMeminfo(node: number, f: Partial<Record<NodeMeminfoField, number>>): string {
  const prefix = `Node ${dec(node)} `;
  return nodeMeminfoFields.map((name) => prefix + meminfoLine(name, f[name] ?? 0, 17)).join('');
}
