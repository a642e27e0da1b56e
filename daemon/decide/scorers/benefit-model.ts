/**
 * The daemon's own estimate of what collapsing one 2 MiB region is worth and what it costs. It sees only
 * what a real kernel shows (sampled access rates, pagemap counts, free 2 MiB blocks), never the
 * simulator's internals; its figures come from the project's calibration notes (calibration.md, "what THPs
 * are worth on a real machine", measured on the project's VM) and, where those have none, from the typical
 * figure named beside the constant.
 *
 *   benefit (ns saved per s) = region accesses/s          accessRate × 512
 *                            × P(TLB miss with 4 KiB)     1 − TLB reach / hot set   (0 while the hot set fits)
 *                            × walk time saved per miss   WALK_SAVED_MAX_NS × H / (H + WALK_SAVED_HALF_BYTES)
 *
 *   cost (ns, once)          = (fixed + copy × present + (zero + bloat) × none + swap-in × swapped)
 *                            / P(success)                 from the target node's free 2 MiB blocks
 *
 * Why the walk time grows with the hot set: a 4 KiB page walk is cheap while the page tables of the hot set
 * stay in the caches and costly once they do not. The calibration table shows it: at 32–128 MiB a random
 * read is only 1.05–1.25x faster with 2 MiB pages although nearly every access misses the TLB, at 512 MiB
 * ~5–20 ns faster, at 4 GiB 2–3x (4 KiB 65–139 ns against 2 MiB 28–36 ns). A constant walk time would rate
 * a 128 MiB hot set almost as high as a 4 GiB one. The model gives ~1 ns saved per access at 32 MiB, 5 at
 * 128 MiB, 18 at 512 MiB, 60 at 4 GiB (≈ 92 ns against 32 ns: 2.9x).
 *
 * Invariants: benefit ≥ 0, and 0 for a region already huge or a hot set within the TLB's reach; cost ≥
 * COLLAPSE_FIXED_NS and finite (P(success) ≥ SUCCESS_FLOOR).
 */
import { PAGES_PER_REGION, type Candidate, type MachineView, type RegionFacts } from '../candidate.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Bytes the TLB covers with 4 KiB pages: a 1536-entry second-level TLB (Intel Skylake and later server
 * cores) × 4 KiB = 6 MiB; calibration.md: "a few MiB of STLB reach".
 */
export const TLB_REACH_4K_BYTES = 6 * MiB;
/**
 * The most a 2 MiB mapping saves on one access that misses the TLB, for a hot set far larger than the
 * caches (ns). Fitted with WALK_SAVED_HALF_BYTES to calibration.md's random-read rows: 4 GiB 65–139 ns
 * with 4 KiB pages against 28–36 ns with 2 MiB (≈ 60 saved of a typical ~90), 512 MiB ~5–20 ns saved.
 */
export const WALK_SAVED_MAX_NS = 90;
/** The hot set at which a miss saves half of WALK_SAVED_MAX_NS (fitted as above). */
export const WALK_SAVED_HALF_BYTES = 2 * GiB;

/**
 * Fixed part of one collapse (ns): the syscall, mmap lock, huge page allocation, PMD install and TLB flush.
 * calibration.md: "copying dominates" the 0.5–1.5 ms of a full region, so this is a small share of it.
 */
export const COLLAPSE_FIXED_NS = 100_000;
/**
 * Copying one present 4 KiB page into the huge page (ns): calibration.md's 0.5–1.5 ms per fully populated
 * 2 MiB region, midpoint 1 ms, less the fixed part, over 512 pages.
 */
export const COPY_NS_PER_PAGE = 1_750;
/** Zero-filling one absent page of the huge page (ns): about half a copy (writes only, no source to read). */
export const ZERO_NS_PER_PAGE = 900;
/**
 * What a zero-filled page costs besides the zeroing (ns): 4 KiB of memory the process never used (bloat),
 * taken from whoever needs it next, priced at what that owner pays to fault a page back in: calibration.md
 * "faulting 4 KiB pages on first touch of host memory: 7–12 µs per page". It is why a fuller region is the
 * cheaper collapse, as Ingens (90% used), jemalloc (95%) and tcmalloc (< 64 unbacked pages) all decide.
 */
export const BLOAT_NS_PER_PAGE = 9_500;
/**
 * Swapping one page back in (ns): a major fault reading 4 KiB from an SSD, ~80 µs (device read latency and
 * the fault path; calibration.md has no swap figure: a typical NVMe/SATA SSD value).
 */
export const SWAP_IN_NS_PER_PAGE = 80_000;

/**
 * P(success) with no free 2 MiB block on the target node: the allocation then relies on direct compaction
 * or reclaim, which MADV_COLLAPSE may enter and which often fails on a fragmented node (an assumption).
 */
export const SUCCESS_FLOOR = 0.1;
/**
 * Free blocks over which the chance that none is left when the collapse allocates falls by e: a reading is
 * a snapshot and other allocations race for the blocks. 8 makes the guards' default margin (32 blocks) ~98%.
 */
export const SUCCESS_FREE_BLOCKS_SCALE = 8;
/** P(success) when the machine view has no reading for the node the huge page would come from. */
export const SUCCESS_PRIOR = 0.9;
/**
 * The pages of a region not yet inspected: fully present, nothing swapped. Sampling found it hot, so it is
 * touched; a full copy is also the dearest ordinary collapse, so the prior does not flatter it.
 */
export const PRIOR_FACTS: RegionFacts = { present: PAGES_PER_REGION, none: 0, swapped: 0, shared: 0, huge: false, nodePages: [] };

const pages = (n: number): number => (n > 0 ? Math.min(n, PAGES_PER_REGION) : 0);

/** Probability that a uniformly random access to a hot set of `hotBytes` misses the 4 KiB TLB. */
export function tlbMissProbability(hotBytes: number): number {
  return hotBytes > TLB_REACH_4K_BYTES ? 1 - TLB_REACH_4K_BYTES / hotBytes : 0;
}

/** Time a 2 MiB mapping saves on one TLB miss, for a hot set of `hotBytes` (ns). */
export function walkNsSavedPerMiss(hotBytes: number): number {
  if (!(hotBytes > 0)) return 0;
  if (hotBytes === Infinity) return WALK_SAVED_MAX_NS;
  return (WALK_SAVED_MAX_NS * hotBytes) / (hotBytes + WALK_SAVED_HALF_BYTES);
}

/** Expected MMU time per 4 KiB access that a 2 MiB mapping would save, for a hot set of `hotBytes` (ns). */
export function mmuNsSavedPerAccess(hotBytes: number): number {
  return tlbMissProbability(hotBytes) * walkNsSavedPerMiss(hotBytes);
}

/** Modelled MMU time the collapse of the candidate's region saves per second (ns/s); 0 if already huge. */
export function benefitNsPerSec(c: Candidate): number {
  if (c.facts?.huge || !(c.accessRate > 0)) return 0;
  return c.accessRate * PAGES_PER_REGION * mmuNsSavedPerAccess(c.process.hotBytes);
}

/** The node holding most of the region's present pages (MADV_COLLAPSE's choice), if the facts say. */
function majorityNode(facts: RegionFacts | undefined): number | undefined {
  if (!facts) return undefined;
  let best: number | undefined;
  facts.nodePages.forEach((n, node) => {
    if (n > 0 && (best === undefined || n > facts.nodePages[best])) best = node;
  });
  return best;
}

/**
 * Probability that the collapse gets its huge page, from the free 2 MiB blocks of the node it comes from:
 * the candidate's target node, else the facts' majority node, else the process's home node (where first
 * touch put its pages); SUCCESS_PRIOR when the machine view has no reading for that node.
 */
export function collapseSuccessProbability(c: Candidate, machine: MachineView): number {
  const node = c.targetNode ?? majorityNode(c.facts) ?? c.process.homeNode;
  const free = machine.freeHugeBlocks[node];
  if (free === undefined || Number.isNaN(free)) return SUCCESS_PRIOR;
  return 1 - (1 - SUCCESS_FLOOR) * Math.exp(-Math.max(0, free) / SUCCESS_FREE_BLOCKS_SCALE);
}

/** Expected one-off work of collapsing the candidate's region (ns), failures included; PRIOR_FACTS if not inspected. */
export function collapseCostNs(c: Candidate, machine: MachineView): number {
  const f = c.facts ?? PRIOR_FACTS;
  const work =
    COLLAPSE_FIXED_NS +
    COPY_NS_PER_PAGE * pages(f.present) +
    (ZERO_NS_PER_PAGE + BLOAT_NS_PER_PAGE) * pages(f.none) +
    SWAP_IN_NS_PER_PAGE * pages(f.swapped);
  return work / collapseSuccessProbability(c, machine);
}
