/**
 * The per-frame state of the machine ("struct page"), in typed arrays indexed by PFN. Nothing here is a
 * JavaScript object per page. Fields are unions, as in Linux's struct page: what `link0`/`link1` mean
 * depends on whether the frame is free.
 *
 *   flags   u16  PG_* bits below, plus the page kind in the top three bits
 *   order   u8   order of a free block (on its first frame) or of a compound page (on its head)
 *   mapcnt  u16  in use: number of PTE mappings (saturates into an overflow map for KSM-scale sharing)
 *                free: the migratetype of the free list the block is on
 *   link0   i32  free: next block in its free list | mapped: first PTE slot (rmap) | -1
 *   link1   i32  free: previous block              | in use: the page's 32-bit content value
 *
 * 13 bytes per 4 KiB frame, plus one byte per pageblock for its migratetype and one for its node.
 */
import { type PageKind } from './constants.js';

/** Page flag bits (a subset of Linux's PG_* and the buddy's PageBuddy). */
export const PG = {
  /** First frame of a free buddy block (PageBuddy). */
  buddy: 1 << 0,
  /** Head of a compound (THP) page. */
  head: 1 << 1,
  /** Tail of a compound page. */
  tail: 1 << 2,
  /** On an LRU list (for a THP: the head only). */
  lru: 1 << 3,
  /** On the active list. */
  active: 1 << 4,
  /** PG_referenced: seen referenced once by reclaim. */
  referenced: 1 << 5,
  /** The accessed (young) bit of the PTE/PMD mapping it. */
  young: 1 << 6,
  /** Dirty: must be written back (page cache) or swapped (anon) before it can be freed. */
  dirty: 1 << 7,
  /** Mapped by an mlocked VMA: unevictable. */
  mlocked: 1 << 8,
  /** Long-term pinned (FOLL_LONGTERM): cannot migrate, refcount ≠ mapcount. */
  pinned: 1 << 9,
  /** A free block reported to the hypervisor (free page reporting). */
  reported: 1 << 10,
  /** A KSM page. */
  ksm: 1 << 11,
  /** Isolated by compaction or reclaim. */
  isolated: 1 << 12,
} as const;

const KIND_SHIFT = 13;
const KIND_MASK = 0b111 << KIND_SHIFT;

/** Frame state arrays of the whole machine. */
export class PageFrames {
  readonly flags: Uint16Array;
  readonly order: Uint8Array;
  readonly mapcount: Uint16Array;
  readonly link0: Int32Array;
  readonly link1: Int32Array;
  /**
   * While set, every mapped frame (or THP head) whose accessed (young) bit is cleared is appended here:
   * the access streams set it while they run and drain it each tick, to re-mark only the regions whose
   * bits were cleared.
   */
  youngLog: number[] | undefined = undefined;
  /** Mapcounts of 0xffff or more live here (KSM pages shared by many). */
  private readonly bigMapcount = new Map<number, number>();

  constructor(readonly count: number) {
    this.flags = new Uint16Array(count);
    this.order = new Uint8Array(count);
    this.mapcount = new Uint16Array(count);
    this.link0 = new Int32Array(count).fill(-1);
    this.link1 = new Int32Array(count).fill(-1);
  }

  /** Bytes of state per frame (for the bench's bytes-per-frame figure). */
  static readonly bytesPerFrame = 2 + 1 + 2 + 4 + 4;

  kind(pfn: number): PageKind {
    return ((this.flags[pfn] & KIND_MASK) >> KIND_SHIFT) as PageKind;
  }

  setKind(pfn: number, kind: PageKind): void {
    this.flags[pfn] = (this.flags[pfn] & ~KIND_MASK) | (kind << KIND_SHIFT);
  }

  has(pfn: number, bit: number): boolean {
    return (this.flags[pfn] & bit) !== 0;
  }

  set(pfn: number, bit: number): void {
    this.flags[pfn] |= bit;
  }

  clear(pfn: number, bit: number): void {
    if (bit & PG.young && this.flags[pfn] & PG.young && this.youngLog !== undefined && (this.mapcount[pfn] !== 0 || this.flags[pfn] & PG.head)) {
      this.youngLog.push(pfn);
    }
    this.flags[pfn] &= ~bit;
  }

  /** The page's content value (meaningful only while the frame is in use). */
  content(pfn: number): number {
    return this.link1[pfn] >>> 0;
  }

  setContent(pfn: number, value: number): void {
    this.link1[pfn] = value | 0;
  }

  getMapcount(pfn: number): number {
    const m = this.mapcount[pfn];
    return m === 0xffff ? this.bigMapcount.get(pfn)! : m;
  }

  setMapcount(pfn: number, value: number): void {
    if (value >= 0xffff) {
      this.mapcount[pfn] = 0xffff;
      this.bigMapcount.set(pfn, value);
    } else {
      if (this.mapcount[pfn] === 0xffff) this.bigMapcount.delete(pfn);
      this.mapcount[pfn] = value;
    }
  }

  /** Resets a frame to the state of a fresh allocation of `kind`. */
  initAllocated(pfn: number, kind: PageKind): void {
    this.flags[pfn] = kind << KIND_SHIFT;
    this.order[pfn] = 0;
    this.setMapcount(pfn, 0);
    this.link0[pfn] = -1;
    this.link1[pfn] = 0;
  }

  /** The head PFN of the compound page `pfn` belongs to (itself when not compound). */
  compoundHead(pfn: number): number {
    if (!this.has(pfn, PG.tail)) return pfn;
    return pfn - (pfn & ((1 << 9) - 1));
  }
}
