/**
 * Allocation flags (Linux include/linux/gfp_types.h, the subset that decides how hard an allocation
 * tries) and the request an allocation carries.
 */
import type { PageKind } from './constants.js';
import type { Task } from './mm-types.js';

/** GFP bits. */
export const GFP = {
  /** May enter direct reclaim and direct compaction (sleeps). */
  DIRECT_RECLAIM: 1 << 0,
  /** May wake kswapd (and through it kcompactd). */
  KSWAPD_RECLAIM: 1 << 1,
  /** Only the first node of the request; no fallback. */
  THISNODE: 1 << 2,
  /** Give up early: one round of reclaim and compaction at most, never OOM. */
  NORETRY: 1 << 3,
  /** Retry hard but fail rather than OOM. */
  RETRY_MAYFAIL: 1 << 4,
  /** A compound page. */
  COMP: 1 << 5,
  /** Movable allocation (__GFP_MOVABLE). */
  MOVABLE: 1 << 6,
} as const;

export const GFP_KERNEL = GFP.DIRECT_RECLAIM | GFP.KSWAPD_RECLAIM;
export const GFP_HIGHUSER_MOVABLE = GFP_KERNEL | GFP.MOVABLE;
/** THP without any reclaim or kswapd wake-up. */
export const GFP_TRANSHUGE_LIGHT = GFP.COMP | GFP.MOVABLE;
/** THP with direct reclaim and compaction. */
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | GFP.DIRECT_RECLAIM;

/** One allocation request. */
export interface AllocRequest {
  readonly order: number;
  readonly kind: PageKind;
  readonly gfp: number;
  /** Nodes to try, in order (from the memory policy); with THISNODE only the first. */
  readonly nodes: readonly number[];
  /** The task that allocates and pays for stalls (absent for kernel threads). */
  readonly task?: Task | undefined;
  /** Whether other nodes than `nodes` may be used when these are exhausted (not for bind). */
  readonly mayFallBack?: boolean;
}
