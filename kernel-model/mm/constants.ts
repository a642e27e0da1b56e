/** Sizes, orders and enumerations shared by the memory-management mechanisms (Linux x86-64 values). */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** Order of a PMD-mapped huge page: 2 MiB = 512 × 4 KiB. */
export const HPAGE_PMD_ORDER = 9;
export const HPAGE_PMD_NR = 512;
export const HPAGE_PMD_SIZE = PAGE_SIZE * HPAGE_PMD_NR;
/** Highest buddy order (MAX_PAGE_ORDER): blocks of 4 MiB. */
export const MAX_ORDER = 10;
export const NR_ORDERS = MAX_ORDER + 1;
/** A pageblock is order 9 on x86-64 with THP. */
export const PAGEBLOCK_ORDER = 9;
export const PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER;
/** Orders above this are "costly" (PAGE_ALLOC_COSTLY_ORDER). */
export const PAGE_ALLOC_COSTLY_ORDER = 3;

/** Migratetypes of free lists and pageblocks, in /proc/pagetypeinfo's order. */
export const MigrateType = { Unmovable: 0, Movable: 1, Reclaimable: 2, HighAtomic: 3, Isolate: 4 } as const;
export type MigrateType = (typeof MigrateType)[keyof typeof MigrateType];
/** The count sentinel of {@link MigrateType}. */
export const NR_MIGRATETYPES = 5;
/** Names as /proc/pagetypeinfo prints them. */
export const migrateTypeNames = ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'Isolate'] as const;
/** Migratetypes a page allocation may ask for (MIGRATE_PCPTYPES). */
export const MIGRATE_PCPTYPES = 3;

/**
 * What a frame holds. The kind decides how it may be reclaimed or moved: anonymous and page-cache pages
 * are movable, reclaimable slab is reclaimable, kernel and page-table pages are unmovable.
 */
export const PageKind = {
  Free: 0,
  Anon: 1,
  PageCache: 2,
  SlabReclaimable: 3,
  KernelUnmovable: 4,
  PageTable: 5,
  ZeroPage: 6,
} as const;
export type PageKind = (typeof PageKind)[keyof typeof PageKind];

/** The migratetype an allocation of each kind asks for (GFP_MOVABLE, __GFP_RECLAIMABLE, default). */
export function migrateTypeOfKind(kind: PageKind): MigrateType {
  switch (kind) {
    case PageKind.Anon:
    case PageKind.PageCache:
      return MigrateType.Movable;
    case PageKind.SlabReclaimable:
      return MigrateType.Reclaimable;
    default:
      return MigrateType.Unmovable;
  }
}

/** 2 MiB index of an address (the PMD it falls in). */
export function pmdIndexOf(addr: number): number {
  return Math.floor(addr / HPAGE_PMD_SIZE);
}

/** 4 KiB page number of an address. */
export function pageNumberOf(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}
