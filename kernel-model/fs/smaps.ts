/**
 * /proc/PID/smaps and /proc/PID/smaps_rollup (fs/proc/task_mmu.c `show_smap`, `show_smaps_rollup`).
 *
 * Each VMA starts with its /proc/PID/maps line (`show_smap` calls `show_map_vma`; formatted by maps.ts),
 *
 *   558391736000-558391737000 r--p 00000000 fe:00 2146385                    /usr/local/bin/victim
 *
 * Then Size, KernelPageSize and MMUPageSize, the `__show_smap` fields, THPeligible and VmFlags. Every kB
 * line is `SEQ_PUT_DEC`: a label padded to 16 columns and the value in 8 columns, except
 * Private_Hugetlb, whose label is 17 wide and value 7 (so wide values shift differently). VmFlags lists
 * the two-letter mnemonics in bit order, each followed by a space. smaps_rollup prints its own header
 * (`---p 00000000 00:00 0` and `[rollup]`) and the same fields with Pss_Anon, Pss_File and Pss_Shmem
 * after Pss_Dirty, and no page sizes, THPeligible or VmFlags.
 *
 * The model has no hugetlb and no protection keys: page sizes are 4 kB and no ProtectionKey line is
 * printed (x86-64 prints it only when the CPU has pkeys enabled).
 */
import { formatMapsVma, formatVmaHeader, type MapsVma, type VmaHeader } from './maps.js';
import { dec } from './seq-file.js';

/** The kB fields of a VMA's smaps entry after MMUPageSize, in Linux 6.18's order. */
export const smapsFields = [
  'Rss', 'Pss', 'Pss_Dirty', 'Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty',
  'Referenced', 'Anonymous', 'KSM', 'LazyFree', 'AnonHugePages', 'ShmemPmdMapped', 'FilePmdMapped',
  'Shared_Hugetlb', 'Private_Hugetlb', 'Swap', 'SwapPss', 'Locked',
] as const;

/** The kB fields of smaps_rollup, in Linux 6.18's order. */
export const smapsRollupFields = [
  'Rss', 'Pss', 'Pss_Dirty', 'Pss_Anon', 'Pss_File', 'Pss_Shmem', 'Shared_Clean', 'Shared_Dirty',
  'Private_Clean', 'Private_Dirty', 'Referenced', 'Anonymous', 'KSM', 'LazyFree', 'AnonHugePages',
  'ShmemPmdMapped', 'FilePmdMapped', 'Shared_Hugetlb', 'Private_Hugetlb', 'Swap', 'SwapPss', 'Locked',
] as const;

/** A per-VMA smaps kB field. */
export type SmapsField = (typeof smapsFields)[number];

/** A smaps_rollup kB field. */
export type SmapsRollupField = (typeof smapsRollupFields)[number];

/**
 * VmFlags mnemonics in vm_flags bit order on x86-64 (`show_smap_vma_flags`): rd=VM_READ bit 0 ... mg=VM_MERGEABLE
 * bit 31, then the high bits (ss shadow stack, ui uffd minor, dp droppable, sl sealed). `hg` is
 * VM_HUGEPAGE (MADV_HUGEPAGE), `nh` VM_NOHUGEPAGE, `mg` VM_MERGEABLE (MADV_MERGEABLE).
 */
export const vmFlagMnemonics = [
  'rd', 'wr', 'ex', 'sh', 'mr', 'mw', 'me', 'ms', 'gd', 'um', 'pf', 'uw', 'lo', 'io', 'sr', 'rr', 'dc', 'de',
  'lf', 'ac', 'nr', 'ht', 'sf', 'ar', 'wf', 'dd', 'sd', 'mm', 'hg', 'nh', 'mg', 'ss', 'ui', 'dp', 'sl',
] as const;

/** A VmFlags mnemonic. */
export type VmFlag = (typeof vmFlagMnemonics)[number];

/** Kernel and MMU page size of every VMA in the model (no hugetlb). */
const PAGE_SIZE_KB = 4;

/** One VMA's smaps entry. */
export interface SmapsVma extends MapsVma {
  /** The kB fields; a missing one prints 0. Size comes from the address range. */
  readonly kb: Partial<Record<SmapsField, number>>;
  /** Whether a THP may back this VMA (`thp_vma_allowable_orders` with the sysfs knobs). */
  readonly thpEligible: boolean;
}

/** smaps_rollup: the sums over every VMA of the process. */
export interface SmapsRollup {
  /** Start of the first VMA. */
  readonly start: number;
  /** End of the last VMA. */
  readonly end: number;
  /** The summed kB fields; a missing one prints 0. */
  readonly kb: Partial<Record<SmapsRollupField, number>>;
}

/** A `SEQ_PUT_DEC` line (Private_Hugetlb has its own widths). */
function kbLine(name: string, value: number): string {
  return name === 'Private_Hugetlb'
    ? `${name}: ${dec(value, 7)} kB\n`
    : `${`${name}:`.padEnd(16)}${dec(value, 8)} kB\n`;
}

/** The kB lines of `fields`, missing values as 0. */
function kbLines<F extends string>(fields: readonly F[], kb: Partial<Record<F, number>>): string {
  return fields.map((name) => kbLine(name, kb[name] ?? 0)).join('');
}

/** The text of one VMA's entry in /proc/PID/smaps. */
export function formatSmapsVma(v: SmapsVma): string {
  const flags = new Set(v.vmFlags);
  return (
    formatMapsVma(v) +
    kbLine('Size', (v.end - v.start) / 1024) +
    kbLine('KernelPageSize', PAGE_SIZE_KB) +
    kbLine('MMUPageSize', PAGE_SIZE_KB) +
    kbLines(smapsFields, v.kb) +
    `THPeligible:    ${dec(v.thpEligible ? 1 : 0, 8)}\n` +
    `VmFlags: ${vmFlagMnemonics.filter((f) => flags.has(f)).map((f) => `${f} `).join('')}\n`
  );
}

/** The text of /proc/PID/smaps_rollup. */
export function formatSmapsRollup(r: SmapsRollup): string {
  const header: VmaHeader = { start: r.start, end: r.end, offset: 0, major: 0, minor: 0, inode: 0, name: '[rollup]' };
  return formatVmaHeader(header, '---p') + kbLines(smapsRollupFields, r.kb);
}
