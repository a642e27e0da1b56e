/**
 * The MMU cost model: what one access of a stream costs, given how the memory it touches is mapped.
 *
 * Time is counted in cycles of a fixed notional 1 GHz clock, so a cycle is a nanosecond; the kernel turns
 * cycles into simulated time and charges them to the process. The model is analytic (no per-access
 * simulation) and pure: a function of the stream's shape, its mapping split and `MmuCostParams`.
 *
 *   cycles/access = Σ_c w_c · (D + m_c · W_c)  +  swapped · majorFaultCycles
 *   w_c           = local_c + remote_c · distance / 10          (remote data and walks cost d/10 as much)
 *
 * over the two translation classes c ∈ {4 KiB, 2 MiB}, where m_c is the STLB misses per access of the
 * class, W_c the cycles of one page walk and D the cycles of the data access itself.
 *
 * Working set and classes
 * -----------------------
 * The stream's working set of S bytes is split between the classes in proportion to the access mass each
 * one receives (exact for uniform streams and sweeps; for zipf streams the layout of access-pattern.ts
 * scatters ranks over the hot subset, so mass and bytes stay proportional on average). A class holds
 * N_c = S_c / page_c translations, or S_c / σ when a stride σ skips whole pages.
 *
 * STLB misses (m_c): Che's approximation for LRU
 * --------------------------------------------
 * 4 KiB and 2 MiB translations share one second-level TLB of E entries (1536: Skylake to Cascade Lake).
 * Under the independent reference model an entry referenced at rate p stays cached with probability
 * 1 − e^(−pT), where the characteristic time T solves Σ_i (1 − e^(−p_i·T)) = E; the miss ratio of a class
 * is Σ_i p_i e^(−p_i T) / Σ_i p_i. For one uniform class this is exactly 1 − E/N (N > E), and with both
 * classes it says how many of the shared entries each one keeps. Popularity is uniform over a class,
 * except for the 4 KiB pages of a zipf stream (p_k ∝ k^−θ, summed by zipfRankQuadrature); 2 MiB pages
 * of a zipf stream aggregate 512 scattered ranks each and are treated as uniform (conservative).
 * Sweeps reference a translation once per page visit: a page of P bytes gets max(1, P/σ) accesses, so
 * m_c = (miss ratio of page visits) / max(1, P/σ) — one walk per 64 accesses of a 4 KiB page when
 * sequential. (A cyclic sweep under true LRU misses everything once N > E; real STLBs are not true LRU,
 * and the IRM figure 1 − E/N is the smooth version of that cliff.)
 *
 * Caches: the same approximation over the LLC
 * ------------------------------------------
 * The LLC (the VM's effective share, llcBytes) holds data lines and the page-table lines walks read. Che
 * is solved again over: data lines (uniform, or zipf pages of 64 lines each), and the leaf page-table
 * lines of each class — N_c / 8 lines (eight 8-byte entries per line), referenced m_c times per access.
 * A 4 KiB leaf table is 1/512 of the working set (8 MiB of PTEs for 4 GiB) and competes with data; a
 * 2 MiB leaf table is 1/262144 of it and always stays cached. The data miss ratio gives
 *
 *   D = hit · llcHitCycles + miss · dramCycles                 (random, or strides beyond the prefetcher)
 *   D = streamLineCycles · min(1, σ / 64)                       (sequential and prefetchable strides)
 *
 * Page walks (W_c)
 * ----------------
 *   W_c = walkHitCycles + upperMiss_c · walkUpperCycles + leafMiss_c · walkMemoryCycles + nested(S)
 *
 * - walkHitCycles: a walk whose upper levels hit the paging-structure caches and whose leaf entry hits
 *   the cache: one guest reference plus its (cached) nested translation.
 * - upperMiss_c = max(0, 1 − reach_c / S_c): the paging-structure caches above the leaf stop covering the
 *   class's memory (PDE cache: 32 entries × 2 MiB for 4 KiB pages; PDPTE cache: 4 × 1 GiB for 2 MiB).
 * - leafMiss_c: the leaf entry's line is not in the LLC (from the cache solve above): a DRAM reference.
 * - nested(S) = nestedWalkCycles · x^k / (1 + x^k), x = S / nestedReachBytes: the host half of a
 *   two-dimensional walk. In a VM every guest walk reference, and the final guest-physical address, is
 *   translated through the host's EPT; its caches hold those translations until the footprint outgrows
 *   them, then each walk pays host walks too. The Hill function is a smooth stand-in for that capacity
 *   cliff (k sets its sharpness). It is what makes THPs worth 2–3x at 4 GiB but only 1.3–1.8x at 8 GiB
 *   on the calibration machine: beyond the 3 GiB reach of 1536 2 MiB entries, THP walks pay it as well.
 *   Set nestedWalkCycles to 0 for bare metal.
 * Sweeps reuse what a walk loads: consecutive pages share a leaf line (eight entries) and an upper entry
 * and a nested translation (512 pages), so with d = max(1, σ / P) pages between touches the leaf term is
 * divided by max(1, 8/d) and the upper and nested terms by max(1, 512/d).
 *
 * Faults are separate events, not part of W: the kernel charges minor and THP faults when it installs
 * pages, and an access that hits a swapped-out page (the `swapped` share of the mass) pays a swap-in.
 *
 * Calibration (calibration.md: random reads, 4 KiB vs 2 MiB pages; the test `mmu-cost.test.ts` holds it)
 * -----------
 *   working set   4 KiB   THP    speed-up   measured speed-up   sequential 4K / THP
 *   32 MiB        16.9    15.3   1.11x      1.05–1.25x          2.53 / 2.50
 *   128 MiB       24.2    20.3   1.19x      1.05–1.25x          2.55 / 2.50
 *   512 MiB       27.1    21.6   1.25x      1.0–2.0x            2.56 / 2.50
 *   2 GiB         35.8    21.9   1.64x      0.7–2.3x            2.57 / 2.50
 *   4 GiB         75.7    32.4   2.34x      2.0–4.8x (2–3 typ.) 2.57 / 2.50
 *   8 GiB         85.1    51.9   1.64x      1.3–1.8x            2.57 / 2.50
 * (the test prints the exact table). Where the absolute bands conflict the ratios win: the data cost is
 * flat once the set outgrows the LLC, so THP at 512 MiB (≈21.6 ns, band 14–21) and at 2 GiB (≈22 ns, band
 * 25–62) sit between two bands that a flat curve cannot both meet, and 4 KiB at 128 MiB (≈24 ns) is just
 * above its 14–23 band; the 2 GiB band (0.7–2.3x) is the noisiest and the model follows the instruction
 * that 512 MiB–2 GiB lie between the small sets and 4 GiB.
 */
import {
  type AccessPattern,
  CACHE_LINE_BYTES,
  DEFAULT_ZIPF_THETA,
  MAX_ZIPF_THETA,
  PAGE_BYTES,
  generalizedHarmonic,
  zipfRankQuadrature,
} from './access-pattern.js';

/** Bytes in a transparent huge page. */
export const HUGE_PAGE_BYTES = 2 * 1024 * 1024;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Page-table entries per 64-byte cache line. */
const ENTRIES_PER_LINE = CACHE_LINE_BYTES / 8;
/** Pages one upper-level entry (a PMD/PDE) spans. */
const PAGES_PER_UPPER_ENTRY = 512;

/** Every constant of the model, in cycles of the notional 1 GHz clock (1 cycle = 1 ns) or bytes. */
export interface MmuCostParams {
  /** Second-level TLB entries, shared by 4 KiB and 2 MiB translations (Skylake to Cascade Lake: 1536). */
  readonly stlbEntries: number;
  /** PDE-cache entries: each lets a 4 KiB walk skip to the leaf for 2 MiB of address space (Intel: 32). */
  readonly pdeCacheEntries: number;
  /** PDPTE-cache entries: each lets a 2 MiB walk skip to the leaf for 1 GiB (Intel: 4). */
  readonly pdpteCacheEntries: number;
  /** The VM's effective share of the last-level cache on a shared host (fitted: 12 MiB). */
  readonly llcBytes: number;
  /** A random read that hits the LLC, with the memory-level parallelism of independent loads. */
  readonly llcHitCycles: number;
  /** A random read from DRAM, overlapped with other misses (the 4 KiB/THP curves level out near 22 ns). */
  readonly dramCycles: number;
  /** A prefetched cache line of a sequential stream (calibration: 2–3 ns per line either way). */
  readonly streamLineCycles: number;
  /** Largest stride the hardware prefetchers follow within a page (the IP stride prefetcher: 2 KiB). */
  readonly prefetchStrideLimitBytes: number;
  /** A page walk whose upper levels hit the paging-structure caches and whose leaf entry hits the cache. */
  readonly walkHitCycles: number;
  /** Extra cycles when the upper-level paging-structure caches miss (one more level, plus its nested step). */
  readonly walkUpperCycles: number;
  /** Extra cycles when the leaf entry's line comes from DRAM (overlapped like data misses). */
  readonly walkMemoryCycles: number;
  /** The host (EPT) half of a two-dimensional walk once the footprint outgrows the host's caches; 0 = bare metal. */
  readonly nestedWalkCycles: number;
  /** Guest-physical footprint at which half of nestedWalkCycles is paid (fitted: 2.75 GiB). */
  readonly nestedReachBytes: number;
  /** Sharpness of that capacity cliff (Hill exponent; fitted: 6). */
  readonly nestedCliffExponent: number;
  /** Minor fault on a 4 KiB page the host already backs: trap, allocate, zero, set the PTE (~1.5 µs). */
  readonly minorFaultCycles: number;
  /** Minor fault on a 4 KiB page first touched in the VM: the host's EPT fault dominates (7–12 µs measured). */
  readonly minorFaultFirstTouchCycles: number;
  /** THP fault the host already backs: allocate and zero 2 MiB at ~12 GB/s (~0.18 ms). */
  readonly thpFaultCycles: number;
  /** THP fault on first touch of host memory: zeroing plus 512 host faults (5–6 ms measured). */
  readonly thpFaultFirstTouchCycles: number;
  /** Major fault: swap-in of one 4 KiB page from an SSD-backed swap device, with the fault path (~80 µs). */
  readonly majorFaultCycles: number;
}

/**
 * The calibrated defaults (the fit is described in the file comment). The fault costs agree with
 * kernel-model/mm/costs.ts (fault4k, faultThp, swapIn) and with calibration.md for first touches.
 */
export const defaultMmuCostParams: Readonly<MmuCostParams> = Object.freeze({
  stlbEntries: 1536,
  pdeCacheEntries: 32,
  pdpteCacheEntries: 4,
  llcBytes: 12 * MiB,
  llcHitCycles: 4,
  dramCycles: 22,
  streamLineCycles: 2.5,
  prefetchStrideLimitBytes: 2048,
  walkHitCycles: 2,
  walkUpperCycles: 4,
  walkMemoryCycles: 20,
  nestedWalkCycles: 44,
  nestedReachBytes: 2.75 * GiB,
  nestedCliffExponent: 6,
  minorFaultCycles: 1_500,
  minorFaultFirstTouchCycles: 9_500,
  thpFaultCycles: 180_000,
  thpFaultFirstTouchCycles: 5_500_000,
  majorFaultCycles: 80_000,
});

/** How one stream's accesses are split by mapping; the fractions sum to 1. */
export interface MappingSplit {
  /** Accesses to THP-mapped memory on the accessing CPU's node. */
  readonly thpLocal: number;
  /** Accesses to THP-mapped memory on another node. */
  readonly thpRemote: number;
  /** Accesses to 4 KiB-mapped memory on the local node. */
  readonly smallLocal: number;
  /** Accesses to 4 KiB-mapped memory on another node. */
  readonly smallRemote: number;
  /** Accesses that hit a swapped-out page and pay a major fault (default 0). */
  readonly swapped?: number;
}

/** One stream, as the cost model sees it. */
export interface MmuCostInput {
  /** How the stream's accesses are mapped. */
  readonly mapping: MappingSplit;
  /** SLIT distance to the remote memory (10 = local, 20 = a typical second socket). */
  readonly remoteDistance: number;
  /** Bytes the stream touches (its hot subset). */
  readonly workingSetBytes: number;
  /** The stream's access pattern. */
  readonly pattern: AccessPattern;
  /** Zipf exponent (zipf only; default 0.99). */
  readonly theta?: number;
  /** Stride in bytes (strided only; required there). */
  readonly strideBytes?: number;
}

/** The modelled cost of one access of a stream, in cycles (= ns). */
export interface MmuCost {
  /** Everything: data, page walks and swap-ins. */
  readonly cyclesPerAccess: number;
  /** The page-walk part: STLB misses per access times the walk cost. */
  readonly walkCyclesPerAccess: number;
  /** The data-access part. */
  readonly dataCyclesPerAccess: number;
  /** The swap-in part (swapped share × majorFaultCycles). */
  readonly faultCyclesPerAccess: number;
  /** STLB misses per access. */
  readonly stlbMissesPerAccess: number;
}

/** Throws a RangeError naming the first field of `input` that is out of range. */
export function validateMmuCostInput(input: MmuCostInput): void {
  const m = input.mapping;
  const parts = [m.thpLocal, m.thpRemote, m.smallLocal, m.smallRemote, m.swapped ?? 0];
  if (!parts.every((x) => Number.isFinite(x) && x >= 0)) {
    throw new RangeError(`mapping fractions must be finite and ≥ 0 (got ${parts.join(', ')})`);
  }
  const sum = parts.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) throw new RangeError(`mapping fractions must sum to 1 (got ${sum})`);
  if (!(Number.isFinite(input.remoteDistance) && input.remoteDistance >= 10)) {
    throw new RangeError(`remoteDistance must be a SLIT distance ≥ 10 (got ${input.remoteDistance})`);
  }
  if (!(Number.isFinite(input.workingSetBytes) && input.workingSetBytes > 0)) {
    throw new RangeError(`workingSetBytes must be a positive number (got ${input.workingSetBytes})`);
  }
  if (input.theta !== undefined && !(input.theta > 0 && input.theta <= MAX_ZIPF_THETA)) {
    throw new RangeError(`theta must be in (0, ${MAX_ZIPF_THETA}] (got ${input.theta})`);
  }
  if (input.pattern === 'strided' && !(Number.isFinite(input.strideBytes) && (input.strideBytes ?? 0) > 0)) {
    throw new RangeError(`a strided stream needs a positive strideBytes (got ${input.strideBytes})`);
  }
}

/** The modelled cost of one access of the stream described by `input`. */
export function mmuCostPerAccess(input: MmuCostInput, params: MmuCostParams = defaultMmuCostParams): MmuCost {
  validateMmuCostInput(input);
  const faultCycles = (input.mapping.swapped ?? 0) * params.majorFaultCycles;
  const classes = translationClasses(input, params);
  if (classes.length === 0) {
    return {
      cyclesPerAccess: faultCycles,
      walkCyclesPerAccess: 0,
      dataCyclesPerAccess: 0,
      faultCyclesPerAccess: faultCycles,
      stlbMissesPerAccess: 0,
    };
  }
  const shape = streamShape(input);
  const misses = stlbMissesPerAccess(classes, shape, params);
  const cache = cacheMissRatios(classes, misses, shape, input.workingSetBytes, params);
  const data = dataCycles(shape, cache.data, params);
  let walk = 0;
  let dataTotal = 0;
  classes.forEach((c, i) => {
    const weight = c.local + (c.remote * input.remoteDistance) / 10;
    walk += weight * misses[i] * walkCycles(c, shape, cache.leaves[i], input.workingSetBytes, params);
    dataTotal += weight * data;
  });
  return {
    cyclesPerAccess: dataTotal + walk + faultCycles,
    walkCyclesPerAccess: walk,
    dataCyclesPerAccess: dataTotal,
    faultCyclesPerAccess: faultCycles,
    stlbMissesPerAccess: classes.reduce((s, c, i) => s + c.mass * misses[i], 0),
  };
}

// ---------------------------------------------------------------------------------------------------
// Shapes

/** The memory mapped with one page size. */
interface TranslationClass {
  readonly pageBytes: number;
  readonly local: number;
  readonly remote: number;
  /** local + remote: the share of all accesses. */
  readonly mass: number;
  /** Bytes of the working set mapped this way. */
  readonly bytes: number;
  /** Address space the paging-structure caches above the leaf cover. */
  readonly upperReach: number;
}

/** The pattern reduced to what the model needs: the stride of a sweep (0 = random) and the zipf θ. */
interface StreamShape {
  readonly stride: number;
  readonly theta: number;
}

function translationClasses(input: MmuCostInput, p: MmuCostParams): TranslationClass[] {
  const m = input.mapping;
  const resident = m.thpLocal + m.thpRemote + m.smallLocal + m.smallRemote;
  const make = (pageBytes: number, local: number, remote: number, upperReach: number): TranslationClass => ({
    pageBytes,
    local,
    remote,
    mass: local + remote,
    bytes: (input.workingSetBytes * (local + remote)) / resident,
    upperReach,
  });
  return [
    make(PAGE_BYTES, m.smallLocal, m.smallRemote, p.pdeCacheEntries * HUGE_PAGE_BYTES),
    make(HUGE_PAGE_BYTES, m.thpLocal, m.thpRemote, p.pdpteCacheEntries * GiB),
  ].filter((c) => c.mass > 0);
}

function streamShape(input: MmuCostInput): StreamShape {
  const theta = input.pattern === 'zipf' ? (input.theta ?? DEFAULT_ZIPF_THETA) : 0;
  if (input.pattern === 'sequential') return { stride: CACHE_LINE_BYTES, theta };
  return { stride: input.pattern === 'strided' ? (input.strideBytes ?? 0) : 0, theta };
}

/** Accesses a sweep makes to one page of the class before moving on (1 for random access). */
function accessesPerPage(c: TranslationClass, shape: StreamShape): number {
  return shape.stride > 0 ? Math.max(1, c.pageBytes / shape.stride) : 1;
}

/** Pages of the class between two consecutive pages a sweep touches (1 for random access). */
function pagesBetweenTouches(c: TranslationClass, shape: StreamShape): number {
  return Math.max(1, shape.stride / c.pageBytes);
}

// ---------------------------------------------------------------------------------------------------
// STLB and LLC

function stlbMissesPerAccess(classes: readonly TranslationClass[], shape: StreamShape, p: MmuCostParams): number[] {
  const entries = classes.map((c): PopularityClass => {
    const visitsPerAccess = 1 / accessesPerPage(c, shape);
    return {
      items: c.bytes / (c.pageBytes * pagesBetweenTouches(c, shape)),
      mass: c.mass * visitsPerAccess,
      theta: c.pageBytes === PAGE_BYTES ? shape.theta : 0,
      linesPerItem: 1,
    };
  });
  return cheMissRatios(entries, p.stlbEntries).map((miss, i) => miss / accessesPerPage(classes[i], shape));
}

interface CacheMisses {
  /** Miss ratio of data accesses in the LLC. */
  readonly data: number;
  /** Miss ratio of each class's leaf page-table lines. */
  readonly leaves: number[];
}

function cacheMissRatios(
  classes: readonly TranslationClass[],
  stlbMisses: readonly number[],
  shape: StreamShape,
  workingSetBytes: number,
  p: MmuCostParams,
): CacheMisses {
  const resident = classes.reduce((s, c) => s + c.mass, 0);
  const linesPerPage = PAGE_BYTES / CACHE_LINE_BYTES;
  const data: PopularityClass =
    shape.stride > 0
      ? { items: workingSetBytes / Math.max(shape.stride, CACHE_LINE_BYTES), mass: resident, theta: 0, linesPerItem: 1 }
      : { items: workingSetBytes / PAGE_BYTES, mass: resident, theta: shape.theta, linesPerItem: linesPerPage };
  const leaves = classes.map((c, i): PopularityClass => ({
    items: c.bytes / c.pageBytes / ENTRIES_PER_LINE,
    mass: c.mass * stlbMisses[i],
    theta: 0,
    linesPerItem: 1,
  }));
  const [dataMiss, ...leafMisses] = cheMissRatios([data, ...leaves], p.llcBytes / CACHE_LINE_BYTES);
  return { data: dataMiss, leaves: leafMisses };
}

// ---------------------------------------------------------------------------------------------------
// Cycles

function dataCycles(shape: StreamShape, missRatio: number, p: MmuCostParams): number {
  if (shape.stride > 0 && shape.stride <= p.prefetchStrideLimitBytes) {
    return p.streamLineCycles * Math.min(1, shape.stride / CACHE_LINE_BYTES);
  }
  return (1 - missRatio) * p.llcHitCycles + missRatio * p.dramCycles;
}

function walkCycles(
  c: TranslationClass,
  shape: StreamShape,
  leafMiss: number,
  workingSetBytes: number,
  p: MmuCostParams,
): number {
  const upperMiss = Math.max(0, 1 - c.upperReach / c.bytes);
  const x = (workingSetBytes / p.nestedReachBytes) ** p.nestedCliffExponent;
  const nested = (p.nestedWalkCycles * x) / (1 + x);
  const reuse = walkReuse(c, shape);
  const leaf = (leafMiss * p.walkMemoryCycles) / reuse.leaf;
  return p.walkHitCycles + leaf + (upperMiss * p.walkUpperCycles + nested) / reuse.upper;
}

/** How many walks of a sweep share one leaf line and one upper entry (and nested translation). */
function walkReuse(c: TranslationClass, shape: StreamShape): { leaf: number; upper: number } {
  if (shape.stride === 0) return { leaf: 1, upper: 1 };
  const between = pagesBetweenTouches(c, shape);
  return { leaf: Math.max(1, ENTRIES_PER_LINE / between), upper: Math.max(1, PAGES_PER_UPPER_ENTRY / between) };
}

// ---------------------------------------------------------------------------------------------------
// Che's approximation

/** Items of equal or zipf popularity competing for a cache; each item is `linesPerItem` equally hot lines. */
interface PopularityClass {
  readonly items: number;
  /** References per access to the whole class. */
  readonly mass: number;
  /** 0 for uniform popularity, else the zipf exponent over the items. */
  readonly theta: number;
  readonly linesPerItem: number;
}

/**
 * A class ready for repeated evaluation: references per access of each (quadrature) node and how many
 * items the node stands for. A uniform class is one node of `items` items.
 */
interface PopularityTable {
  readonly class: PopularityClass;
  /** References per access to one line of a node's items. */
  readonly lineRates: Float64Array;
  /** Lines a node stands for. */
  readonly lines: Float64Array;
}

const CHE_MAX_NEWTON_STEPS = 200;
const CHE_RELATIVE_TOLERANCE = 1e-12;

function popularityTable(c: PopularityClass): PopularityTable {
  if (c.theta === 0) {
    const lines = c.items * c.linesPerItem;
    return { class: c, lineRates: Float64Array.of(c.mass / lines), lines: Float64Array.of(lines) };
  }
  const n = Math.max(1, Math.round(c.items));
  const { ranks, weights } = zipfRankQuadrature(n);
  const scale = c.mass / (generalizedHarmonic(n, c.theta) * c.linesPerItem);
  return {
    class: c,
    lineRates: ranks.map((k) => scale * k ** -c.theta),
    lines: weights.map((w) => w * c.linesPerItem),
  };
}

/**
 * T with Σ occupancy(T) = capacity, or Infinity when every line fits. Occupancy is increasing and
 * concave in T, so Newton's method from T = 0 approaches the root from below without overshooting.
 */
function cheCharacteristicTime(tables: readonly PopularityTable[], capacity: number): number {
  if (tables.reduce((s, t) => s + t.class.items * t.class.linesPerItem, 0) <= capacity) return Infinity;
  let time = 0;
  for (let i = 0; i < CHE_MAX_NEWTON_STEPS; i++) {
    let occupancy = 0;
    let slope = 0;
    for (const t of tables) [occupancy, slope] = addOccupancy(t, time, occupancy, slope);
    if (occupancy >= capacity) break;
    const step = (capacity - occupancy) / slope;
    time += step;
    if (!(step > time * CHE_RELATIVE_TOLERANCE)) break;
  }
  return time;
}

/** Adds the class's expected lines in the cache, Σ lines·(1 − e^(−rate·T)), and its derivative in T. */
function addOccupancy(t: PopularityTable, time: number, occupancy: number, slope: number): [number, number] {
  for (let i = 0; i < t.lines.length; i++) {
    const stay = Math.exp(-t.lineRates[i] * time);
    occupancy += t.lines[i] * (1 - stay);
    slope += t.lines[i] * t.lineRates[i] * stay;
  }
  return [occupancy, slope];
}

/** Fraction of the class's references that miss at characteristic time T: Σ lines · rate · e^(−rate·T) / mass. */
function cheMissRatio(t: PopularityTable, time: number): number {
  if (time === Infinity) return 0;
  let sum = 0;
  for (let i = 0; i < t.lines.length; i++) sum += t.lines[i] * t.lineRates[i] * Math.exp(-t.lineRates[i] * time);
  return sum / t.class.mass;
}

/** The Che solution for a set of classes sharing a cache of `capacity` lines: each class's miss ratio. */
function cheMissRatios(classes: readonly PopularityClass[], capacity: number): number[] {
  const live = classes.map((c) => (c.mass > 0 && c.items > 0 ? popularityTable(c) : undefined));
  const time = cheCharacteristicTime(live.filter((t) => t !== undefined), capacity);
  return live.map((t) => (t === undefined ? 0 : cheMissRatio(t, time)));
}
