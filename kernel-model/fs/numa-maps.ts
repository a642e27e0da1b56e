/**
 * /proc/PID/numa_maps (fs/proc/task_mmu.c `show_numa_map`): one line per VMA,
 *
 *   7fe686400000 default anon=2048 dirty=2048 active=0 N0=2048 kernelpagesize_kB=4
 *
 * `"%08lx "`, the memory policy (`mpol_to_str`: `default`, `prefer:1`, `bind:0-1`, ...), then
 * ` file=PATH` (path with newline, tab, `=` and space escaped as `\ooo`), ` heap` or ` stack`. A VMA with
 * no resident page ends there. Otherwise the counters follow, each printed only when Linux prints it:
 * anon and dirty when non-zero, mapped when the page count differs from both anon and dirty, mapmax when
 * above 1, swapcache when non-zero, active when below the page count, writeback when non-zero, then
 * `N<node>=pages` for each node holding pages, and kernelpagesize_kB.
 *
 * The model has no hugetlb, so the ` huge` marker never appears and the page size is 4 kB.
 */
import { dec, hex, manglePath } from './seq-file.js';

/** One VMA's NUMA placement. Counts are in pages. */
export interface NumaMapsVma {
  /** First address. */
  readonly start: number;
  /** The VMA's memory policy as mpol_to_str prints it (`default` when none is set). */
  readonly policy: string;
  /** Path of the mapped file, if any. */
  readonly file?: string;
  /** For anonymous memory: the process's initial heap or stack (ignored when `file` is set). */
  readonly special?: 'heap' | 'stack';
  /** Resident pages counted by the walk (`md->pages`). */
  readonly pages: number;
  /** Anonymous pages. */
  readonly anon: number;
  /** Dirty pages. */
  readonly dirty: number;
  /** Highest mapcount of any page (`md->mapcount_max`). */
  readonly mapmax: number;
  /** Pages in the swap cache. */
  readonly swapcache: number;
  /** Pages on an active LRU list or referenced. */
  readonly active: number;
  /** Pages under writeback. */
  readonly writeback: number;
  /** Pages per node id (index = node id); zero entries are not printed. */
  readonly nodes: ArrayLike<number>;
}

/** Kernel page size of every VMA in the model. */
const KERNEL_PAGE_SIZE_KB = 4;

/** ` file=...`, ` heap`, ` stack` or nothing. */
function backing(v: NumaMapsVma): string {
  if (v.file !== undefined) return ` file=${manglePath(v.file, '\n\t= ')}`;
  return v.special === undefined ? '' : ` ${v.special}`;
}

/** The counters after the backing, with Linux's rules for which to print. */
function counters(v: NumaMapsVma): string {
  const shown: [string, number, boolean][] = [
    ['anon', v.anon, v.anon !== 0],
    ['dirty', v.dirty, v.dirty !== 0],
    ['mapped', v.pages, v.pages !== v.anon && v.pages !== v.dirty],
    ['mapmax', v.mapmax, v.mapmax > 1],
    ['swapcache', v.swapcache, v.swapcache !== 0],
    ['active', v.active, v.active < v.pages],
    ['writeback', v.writeback, v.writeback !== 0],
  ];
  const perNode = Array.from(v.nodes, (n, node): [string, number, boolean] => [`N${node}`, n, n !== 0]);
  return [...shown, ...perNode, ['kernelpagesize_kB', KERNEL_PAGE_SIZE_KB, true] as const]
    .filter(([, , printed]) => printed)
    .map(([name, n]) => ` ${name}=${dec(n)}`)
    .join('');
}

/** The numa_maps line of one VMA. */
export function formatNumaMapsVma(v: NumaMapsVma): string {
  return `${hex(v.start, 8)} ${v.policy}${backing(v)}${v.pages === 0 ? '' : counters(v)}\n`;
}

/** The text of /proc/PID/numa_maps for `vmas` in address order. */
export function formatNumaMaps(vmas: readonly NumaMapsVma[]): string {
  return vmas.map(formatNumaMapsVma).join('');
}
