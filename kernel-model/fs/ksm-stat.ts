/**
 * /proc/PID/ksm_stat (fs/proc/base.c `proc_pid_ksm_stat`): the KSM accounting of one process.
 *
 *   ksm_rmap_items 0
 *   ksm_zero_pages 0
 *   ksm_merging_pages 0
 *   ksm_process_profit 0
 *   ksm_merge_any: no
 *   ksm_mergeable: no
 *
 * The profit is computed when read, as mm/ksm.c `ksm_process_profit` does: the pages KSM saved (merged
 * pages and pages replaced by the zero page) minus the memory its reverse-map items cost.
 */
import { dec } from './seq-file.js';

/** Bytes per page. */
const PAGE_SIZE = 4096;

/** `sizeof(struct ksm_rmap_item)` on x86-64. */
export const KSM_RMAP_ITEM_SIZE = 64;

/** One process's KSM state. */
export interface KsmStat {
  /** Reverse-map items KSM holds for the process's scanned pages (`mm->ksm_rmap_items`). */
  readonly rmapItems: number;
  /** Pages replaced by the zero page under use_zero_pages. */
  readonly zeroPages: number;
  /** Pages of the process merged into KSM pages (`mm->ksm_merging_pages`). */
  readonly mergingPages: number;
  /** prctl(PR_SET_MEMORY_MERGE) made every VMA of the process mergeable (MMF_VM_MERGE_ANY). */
  readonly mergeAny: boolean;
  /** Some VMA of the process has VM_MERGEABLE. */
  readonly mergeable: boolean;
}

/** mm/ksm.c `ksm_process_profit`, in bytes (may be negative). */
export function ksmProcessProfit(s: KsmStat): number {
  return (s.mergingPages + s.zeroPages) * PAGE_SIZE - s.rmapItems * KSM_RMAP_ITEM_SIZE;
}

/** The text of /proc/PID/ksm_stat. */
export function formatKsmStat(s: KsmStat): string {
  return (
    `ksm_rmap_items ${dec(s.rmapItems)}\n` +
    `ksm_zero_pages ${dec(s.zeroPages)}\n` +
    `ksm_merging_pages ${dec(s.mergingPages)}\n` +
    `ksm_process_profit ${dec(ksmProcessProfit(s))}\n` +
    `ksm_merge_any: ${s.mergeAny ? 'yes' : 'no'}\n` +
    `ksm_mergeable: ${s.mergeable ? 'yes' : 'no'}\n`
  );
}
