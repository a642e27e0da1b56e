/**
 * The seed thread's figure (Arcangeli, 2016, on the KSM sharing limit): migrating one page whose content
 * many other pages share costs one rmap-walk step per mapping of its KSM page, so without a cap on the
 * sharing (max_page_sharing effectively unlimited) it costs in proportion to the sharers, and at the
 * default 256 a bounded few milliseconds. Measured in simulated time, as the seed program does it: a
 * process's one mergeable page of 0xff, `sharers` identical pages elsewhere, ksmd merges them, then
 * migrate_pages() moves the process to the other node; the figure is the caller's migration stall. The
 * result is deterministic (no wall clock is read here); the wall time to compute it is a few seconds.
 */
import { SimKernel } from '../../kernel-model/index.js';

/** What the KSM rmap-walk benchmark measured. */
export interface KsmRmapWalkResult {
  /** Simulated cost of the migration without a sharing cap, over its cost at max_page_sharing 256. */
  ratio: number;
  unlimitedMs: number;
  cappedMs: number;
  sharers: number;
}

const PAGE = 4096;
const KSM = '/sys/kernel/mm/ksm';

/** The seed program's machine after ksmd merged it: the seed page, and the `sharers` guests' pages. */
export interface KsmSeedMachine {
  readonly k: SimKernel;
  readonly seed: number;
  readonly p: number;
  readonly guests: number;
  readonly g: number;
}

/**
 * Builds the seed program: one mergeable page of 0xff in process `seed`, `sharers` identical mergeable
 * pages in `guests`, `max_page_sharing` set, and ksmd run for two full scans. Also used by the KSM tests.
 */
export function buildKsmSeed(sharers: number, maxPageSharing: number): KsmSeedMachine {
  const k = new SimKernel({ nodes: [{ memoryMiB: Math.ceil((sharers * PAGE) / 2 ** 20) + 512 }, { memoryMiB: 256 }] });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'never');
  k.writeFile(`${KSM}/max_page_sharing`, String(maxPageSharing));
  k.writeFile(`${KSM}/pages_to_scan`, String(4 * (sharers + 1)));
  const guests = k.spawn({ comm: 'guests' });
  const g = k.mmap(guests, sharers * PAGE);
  k.touch(guests, g, sharers * PAGE, { fill: 0xffffffff });
  k.madvise(guests, g, sharers * PAGE, 'MADV_MERGEABLE');
  const seed = k.spawn({ comm: 'seed' });
  const p = k.mmap(seed, PAGE);
  k.madvise(seed, p, PAGE, 'MADV_MERGEABLE');
  k.touch(seed, p, PAGE, { fill: 0xffffffff }); // memset(p, 0xff, page_size)
  k.writeFile(`${KSM}/run`, '1');
  for (let i = 0; Number(k.readFile(`${KSM}/full_scans`)) < 2; i++) {
    if (i > 10_000) throw new Error('ksm seed: ksmd did not complete two full scans');
    k.advance(20);
  }
  return { k, seed, p, guests, g };
}

/** The migration stall of the seed program's page, with `sharers` identical pages, at `maxPageSharing`. */
function seedMigrationMs(sharers: number, maxPageSharing: number): number {
  const { k, seed } = buildKsmSeed(sharers, maxPageSharing);
  const before = k.stallTime(seed).migration;
  if (k.migratePages(seed, [0], [1]) !== 0) throw new Error('ksm benchmark: the seed page did not move');
  return k.stallTime(seed).migration - before;
}

/**
 * The ratio for `sharers` sharers (default 100 095: with the seed page, 391 KSM pages of exactly 256
 * mappings at the default cap, so the seed's page is a full one).
 */
export function ksmRmapWalkRatio(sharers = 100_095): KsmRmapWalkResult {
  const unlimitedMs = seedMigrationMs(sharers, 2 ** 31 - 1);
  const cappedMs = seedMigrationMs(sharers, 256);
  return { ratio: unlimitedMs / cappedMs, unlimitedMs, cappedMs, sharers };
}
