/**
 * /proc/PID/maps (fs/proc/task_mmu.c `show_map_vma`), one line per VMA — the same line that starts each
 * VMA's entry in /proc/PID/smaps, which is why smaps.ts builds its headers here:
 *
 *   558391736000-558391737000 r--p 00000000 fe:00 2146385                    /usr/local/bin/victim
 *   7f0000000000-7f0000400000 rw-p 00000000 00:00 0 
 *
 * `show_vma_header_prefix` prints `"%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "` (start, end, the
 * permission letters, the file offset, device major:minor, inode) after `seq_setwidth(m, 25 + 6 *
 * sizeof(void *) - 1)`; when the mapping has a name, `seq_pad(m, ' ')` fills the line with spaces up to
 * column 72 and adds one more before the name (`seq_file_path` with `\n` escaped). An anonymous mapping
 * without a name ends the line with the prefix's own trailing space. The permission letters come from
 * the VMA flags: VM_READ `r`, VM_WRITE `w`, VM_EXEC `x`, and `s` for VM_MAYSHARE (`ms`), else `p`.
 *
 * Linux opens maps (mode 0444) only with PTRACE_MODE_READ_FSCREDS on the target (`proc_maps_open` →
 * `proc_mem_open`); it walks no page tables, so reading it is cheap.
 */
import { dec, hex, manglePath } from './seq-file.js';
import type { VmFlag } from './smaps.js';

/** Column where a mapping's name starts, minus the separating space (`25 + 6 * sizeof(void *) - 1`). */
const NAME_COLUMN = 25 + 6 * 8 - 1;

/** The fields of the /proc/PID/maps header of a VMA. */
export interface VmaHeader {
  /** First address. */
  readonly start: number;
  /** End address (exclusive). */
  readonly end: number;
  /** Offset in the mapped file, in bytes (0 for anonymous memory). */
  readonly offset: number;
  /** Device major number of the mapped file (0 for anonymous memory). */
  readonly major: number;
  /** Device minor number. */
  readonly minor: number;
  /** Inode of the mapped file (0 for anonymous memory). */
  readonly inode: number;
  /** File path, or `[heap]`, `[stack]`, `[vdso]`, `[anon:name]`...; absent for unnamed anonymous memory. */
  readonly name?: string;
}

/** One VMA of /proc/PID/maps: its header fields and the flags its permission letters come from. */
export interface MapsVma extends VmaHeader {
  /** The VMA's flags, in any order (only rd, wr, ex and ms matter here). */
  readonly vmFlags: readonly VmFlag[];
}

/** The `rwxp` column, from the flags as `show_vma_header_prefix` computes it. */
export function vmaPermissions(flags: ReadonlySet<VmFlag>): string {
  return (
    (flags.has('rd') ? 'r' : '-') +
    (flags.has('wr') ? 'w' : '-') +
    (flags.has('ex') ? 'x' : '-') +
    (flags.has('ms') ? 's' : 'p')
  );
}

/** The header line of a VMA with the given permission letters (smaps_rollup passes its own `---p`). */
export function formatVmaHeader(h: VmaHeader, perms: string): string {
  const prefix =
    `${hex(h.start, 8)}-${hex(h.end, 8)} ${perms} ${hex(h.offset, 8)} ` +
    `${hex(h.major, 2)}:${hex(h.minor, 2)} ${dec(h.inode)} `;
  return h.name === undefined ? `${prefix}\n` : `${prefix.padEnd(NAME_COLUMN)} ${manglePath(h.name, '\n')}\n`;
}

/** One VMA's line of /proc/PID/maps (`show_map_vma`). */
export function formatMapsVma(v: MapsVma): string {
  return formatVmaHeader(v, vmaPermissions(new Set(v.vmFlags)));
}

/** The text of /proc/PID/maps: the VMAs' lines in address order, as given. */
export function formatMaps(vmas: readonly MapsVma[]): string {
  return vmas.map(formatMapsVma).join('');
}
