/**
 * DAMON: region-based access monitoring of one process's virtual address space (mm/damon/core.c,
 * mm/damon/vaddr.c), on simulated time.
 *
 * What DAMON does
 * ---------------
 * The monitored ranges are tiled by regions [start, end), each with nr_accesses, age and
 * last_nr_accesses. Every sampling interval (5 ms) kdamond picks one random address per region,
 * clears its PTE's Accessed bit, and one interval later checks whether it was set again: if so the
 * region's nr_accesses grows by one. Every aggregation interval (100 ms, so S = 20 samples and
 * nr_accesses ∈ [0, S]) it
 *
 *   1. merges adjacent regions whose nr_accesses differ by ≤ thres = ⌊max nr_accesses / 10⌋ and whose
 *      combined size stays ≤ sz_limit = total size / min_nr_regions (the merged region gets the
 *      size-weighted averages of nr_accesses and age); on the way each region's age is reset to 0 when
 *      its nr_accesses moved by more than thres from last_nr_accesses, or crossed zero, and grows by one
 *      otherwise. While there are more than max_nr_regions regions it merges again with the threshold
 *      doubled (at least 1), up to S;                                       (kdamond_merge_regions)
 *   2. resets: last_nr_accesses ← nr_accesses, nr_accesses ← 0;          (kdamond_reset_aggregated)
 *   3. splits, if there are at most max_nr_regions / 2 regions, every region in two at a random point
 *      10–90 % into it (page aligned) — in three (the left part split again) when the count did not
 *      change since the last split and is below max_nr_regions / 3. The new pieces inherit nr_accesses,
 *      age and last_nr_accesses.                                         (kdamond_split_regions)
 *
 * Every regions-update interval (1 s here, as in DAMON before 6.x made it ops_update_interval) the
 * regions are fitted to the current target ranges (damon_set_regions): regions outside every range are
 * dropped, the first and last regions inside a range are stretched to its ends, and holes are filled
 * with fresh regions; sz_limit is recomputed. Initially each range is evenly split into pieces of about
 * total / min_nr_regions bytes (damon_va_evenly_split_region).
 *
 * Targets: the ranges given — the process's VMAs, say — are monitored exactly, and gaps between them
 * not at all (simpler than vaddr's "three regions", which drops only the two largest gaps). Touching or
 * overlapping ranges are merged. A region straddling a gap after an update is clipped into each range.
 *
 * How one aggregation is simulated
 * --------------------------------
 * Simulating each 5 ms sample of each region over hours of simulated time would cost S checks per
 * region per aggregation. Instead the kernel answers an `AccessOracle`: the probability that the page
 * at an address is accessed within a window, 1 − e^(−λ·window) for Poisson streams. A sample of a region
 * is then a Bernoulli trial with success probability p(U) for the address U it picked, independent
 * across samples (fresh U, Poisson accesses in disjoint windows). With U uniform over the region each
 * trial succeeds with probability p̄ = E[p(U)], so nr_accesses ~ Binomial(S, p̄): one binomial draw per
 * region is equivalent in distribution to DAMON's S checks.
 *
 * p̄ is the mean of p over the region, which the oracle does not give; it is taken at random addresses.
 * With `probesPerRegion` = k the S samples are split into k groups of ~S/k sharing one random address:
 *
 *     nr_accesses = Σ_g Binomial(S_g, p(U_g)),   E = S·p̄,   Var = S·p̄(1 − p̄) + Σ_g S_g(S_g − 1)·Var[p(U)]
 *
 * k = S is exactly DAMON (one address per sample; S oracle calls per region per aggregation, i.e.
 * samples × regions: 20 000 per aggregation at 1000 regions); k = 1, the default, costs one oracle call
 * and one binomial draw per region, keeps the mean, and adds variance only where p varies inside a
 * region — which is what DAMON's adaptive splitting and merging work to remove.
 *
 * The counters keep what the real kernel would pay: `checksPerformed` grows by S per region per
 * aggregation, whatever k is, and the per-check costs are exported for the kernel to charge.
 *
 * The reset and split of step 2–3 run at the start of the next `aggregate` call, so that between calls
 * `regions()` shows the aggregation just finished (DAMON's users read it at the same point, before the
 * reset). The sequence of operations is DAMON's.
 */
import { PAGE_BYTES, type RandomSource } from './access-pattern.js';

/**
 * kdamond CPU time per check (one region, one sample: pick an address, walk to its PTE, clear the
 * Accessed bit through the MMU notifier, then walk again one interval later to read it). Two page-table
 * walks under the mmap lock at ~100–150 ns each; this agrees with DAMON's published overhead — under 1 %
 * of one CPU at default settings, i.e. ≤ 10 ms/s over the 20–40 thousand checks/s of a few hundred regions.
 */
export const DAMON_KDAMOND_NS_PER_CHECK = 300;

/**
 * What a check costs the monitored process: the cleared Accessed bit must be set again by the page
 * walker on the next TLB miss to that page (a locked update of the PTE), and architectures whose
 * ptep_clear_flush_young flushes the TLB (x86 does not) make the next access walk. An expectation of
 * ~50 ns per check matches DAMON's reported ~1 % slowdown of monitored workloads.
 */
export const DAMON_TARGET_NS_PER_CHECK = 50;

/** DAMON's monitoring attributes, in milliseconds and region counts. */
export interface DamonAttrs {
  /** Sampling interval (DAMON default 5 ms). */
  readonly sampleIntervalMs: number;
  /** Aggregation interval (default 100 ms); nr_accesses counts up to aggr / sample samples. */
  readonly aggrIntervalMs: number;
  /** Regions update interval: how often the target ranges are re-read (default 1 s). */
  readonly updateIntervalMs: number;
  /** Lower bound on the number of regions, through the region size limit (default 10). */
  readonly minNrRegions: number;
  /** Upper bound on the number of regions (default 1000). */
  readonly maxNrRegions: number;
  /** Random addresses probed per region per aggregation, 1 ≤ k ≤ samples (default 1; see the file comment). */
  readonly probesPerRegion: number;
}

/** The defaults of mm/damon/core.c (with the 1 s regions update interval of the original design). */
export const defaultDamonAttrs: Readonly<DamonAttrs> = Object.freeze({
  sampleIntervalMs: 5,
  aggrIntervalMs: 100,
  updateIntervalMs: 1000,
  minNrRegions: 10,
  maxNrRegions: 1000,
  probesPerRegion: 1,
});

/** A half-open range of virtual addresses [start, end). */
export interface AddressRange {
  readonly start: number;
  readonly end: number;
}

/** One monitoring region and its statistics (struct damon_region). */
export interface DamonRegion {
  /** First byte, page aligned. */
  readonly start: number;
  /** One past the last byte, page aligned. */
  readonly end: number;
  /** Samples of the last aggregation interval that found the region accessed, in [0, aggr / sample]. */
  readonly nrAccesses: number;
  /** Aggregation intervals the region's access frequency has stayed about the same. */
  readonly age: number;
  /** nr_accesses of the aggregation interval before. */
  readonly lastNrAccesses: number;
}

/** The kernel's answer to "was this address accessed": from the access streams, 1 − e^(−λ·window). */
export interface AccessOracle {
  /** Probability that the page holding `addr` is accessed at least once in a window of `windowMs`. */
  probabilityAccessed(addr: number, windowMs: number): number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** DAMON monitoring one target (one process's address ranges). */
export class DamonMonitor {
  private readonly attrs: DamonAttrs;
  private list: DamonRegion[];
  private ranges: AddressRange[];
  private pendingRanges: AddressRange[] | undefined;
  private sizeLimit: number;
  private lastSplitNrRegions = 0;
  private aggregationsDone = 0;
  private checks = 0;
  private nextUpdateMs: number;

  /** Starts monitoring `targets` with DAMON's initial even split into about minNrRegions regions. */
  constructor(targets: readonly AddressRange[], attrs: Partial<DamonAttrs> = {}) {
    this.attrs = validateDamonAttrs({ ...defaultDamonAttrs, ...attrs });
    this.ranges = normalizeRanges(targets);
    this.list = damonInitRegions(this.ranges, this.attrs.minNrRegions);
    this.sizeLimit = regionSizeLimit(this.list, this.attrs.minNrRegions);
    this.nextUpdateMs = this.attrs.updateIntervalMs;
  }

  /** Samples per aggregation interval: the largest possible nr_accesses. */
  get samplesPerAggregation(): number {
    return Math.floor(this.attrs.aggrIntervalMs / this.attrs.sampleIntervalMs);
  }

  /** Access checks (one region, one sample) DAMON would have made so far, for the kernel to charge. */
  get checksPerformed(): number {
    return this.checks;
  }

  /** Aggregation intervals completed. */
  get aggregations(): number {
    return this.aggregationsDone;
  }

  /** The target ranges monitored now (normalized: sorted, page aligned, disjoint). */
  targets(): AddressRange[] {
    return this.ranges.map((r) => ({ ...r }));
  }

  /**
   * Whether the next aggregation starts with a regions update (and so applies the targets set before
   * it): a caller need only read the VMAs then.
   */
  get updateDue(): boolean {
    return this.aggregationsDone > 0 && this.aggregationsDone * this.attrs.aggrIntervalMs >= this.nextUpdateMs;
  }

  /** New target ranges (the process's VMAs), applied at the next regions update, as DAMON reads them. */
  setTargets(targets: readonly AddressRange[]): void {
    this.pendingRanges = normalizeRanges(targets);
  }

  /** A snapshot of the regions, in address order. */
  regions(): DamonRegion[] {
    return this.list.map((r) => ({ ...r }));
  }

  /** One aggregation interval of kdamond: (reset, split, update,) sample, merge. */
  aggregate(rng: RandomSource, oracle: AccessOracle): void {
    if (this.aggregationsDone > 0) this.startNextInterval(rng);
    const maxNrAccesses = this.sample(rng, oracle);
    this.list = damonMergeRegions(
      this.list,
      Math.floor(maxNrAccesses / 10),
      this.sizeLimit,
      this.attrs.maxNrRegions,
      this.samplesPerAggregation,
    );
    this.aggregationsDone++;
  }

  /** DAMON's end of the previous interval: reset the counts, split, and apply a due regions update. */
  private startNextInterval(rng: RandomSource): void {
    // The list's regions are this monitor's own (regions() hands out copies): updated in place.
    for (const r of this.list as Mutable<DamonRegion>[]) {
      r.lastNrAccesses = r.nrAccesses;
      r.nrAccesses = 0;
    }
    this.split(rng);
    if (this.aggregationsDone * this.attrs.aggrIntervalMs < this.nextUpdateMs) return;
    this.nextUpdateMs += this.attrs.updateIntervalMs;
    if (this.pendingRanges) {
      this.ranges = this.pendingRanges;
      this.pendingRanges = undefined;
      this.list = damonSetRegions(this.list, this.ranges);
    }
    this.sizeLimit = regionSizeLimit(this.list, this.attrs.minNrRegions);
  }

  /** kdamond_split_regions. */
  private split(rng: RandomSource): void {
    const count = this.list.length;
    if (count > Math.floor(this.attrs.maxNrRegions / 2)) return;
    const pieces = this.lastSplitNrRegions === count && count < Math.floor(this.attrs.maxNrRegions / 3) ? 3 : 2;
    this.list = damonSplitRegions(this.list, pieces, rng);
    this.lastSplitNrRegions = count;
  }

  /** Draws every region's nr_accesses for one aggregation interval; returns the largest. */
  private sample(rng: RandomSource, oracle: AccessOracle): number {
    const samples = this.samplesPerAggregation;
    const probes = Math.min(this.attrs.probesPerRegion, samples);
    let max = 0;
    for (const r of this.list as Mutable<DamonRegion>[]) {
      let nrAccesses = 0;
      for (let g = 0; g < probes; g++) {
        const groupSamples = Math.floor((samples * (g + 1)) / probes) - Math.floor((samples * g) / probes);
        const addr = r.start + Math.floor(rng.next() * ((r.end - r.start) / PAGE_BYTES)) * PAGE_BYTES;
        const p = Math.min(1, Math.max(0, oracle.probabilityAccessed(addr, this.attrs.sampleIntervalMs)));
        nrAccesses += drawBinomial(groupSamples, p, rng);
      }
      max = Math.max(max, nrAccesses);
      r.nrAccesses = nrAccesses;
    }
    this.checks += samples * this.list.length;
    return max;
  }
}

function validateDamonAttrs(a: DamonAttrs): DamonAttrs {
  const fail = (rule: string): never => {
    throw new RangeError(`DamonAttrs: ${rule} (got ${JSON.stringify(a)})`);
  };
  if (!(a.sampleIntervalMs > 0)) fail('sampleIntervalMs must be > 0');
  if (!(a.aggrIntervalMs >= a.sampleIntervalMs)) fail('aggrIntervalMs must be ≥ sampleIntervalMs');
  if (!(a.updateIntervalMs >= a.aggrIntervalMs)) fail('updateIntervalMs must be ≥ aggrIntervalMs');
  if (!(Number.isSafeInteger(a.minNrRegions) && a.minNrRegions >= 3)) fail('minNrRegions must be an integer ≥ 3');
  if (!(Number.isSafeInteger(a.maxNrRegions) && a.maxNrRegions >= a.minNrRegions)) {
    fail('maxNrRegions must be an integer ≥ minNrRegions');
  }
  if (!(Number.isSafeInteger(a.probesPerRegion) && a.probesPerRegion >= 1)) fail('probesPerRegion must be an integer ≥ 1');
  return a;
}

// ---------------------------------------------------------------------------------------------------
// Regions: the operations of mm/damon/core.c and vaddr.c on an address-ordered list

function pages(r: AddressRange): number {
  return (r.end - r.start) / PAGE_BYTES;
}

function newRegion(start: number, end: number): DamonRegion {
  return { start, end, nrAccesses: 0, age: 0, lastNrAccesses: 0 };
}

/** Sorts, page-aligns (start down, end up) and merges touching or overlapping ranges. */
export function normalizeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const aligned = ranges.map((r) => {
    if (!(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && 0 <= r.start && r.start < r.end)) {
      throw new RangeError(`a target range needs integers 0 ≤ start < end (got [${r.start}, ${r.end}))`);
    }
    return { start: r.start - (r.start % PAGE_BYTES), end: Math.ceil(r.end / PAGE_BYTES) * PAGE_BYTES };
  });
  aligned.sort((a, b) => a.start - b.start);
  const out: AddressRange[] = [];
  for (const r of aligned) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}

/**
 * The initial regions (damon_va_init): each range split into pieces of ⌊size / ⌊total / min⌋⌋ equal,
 * page-aligned parts, the last absorbing the remainder (damon_va_evenly_split_region).
 */
export function damonInitRegions(ranges: readonly AddressRange[], minNrRegions: number): DamonRegion[] {
  const total = ranges.reduce((s, r) => s + (r.end - r.start), 0);
  const target = Math.max(PAGE_BYTES, Math.floor(total / minNrRegions));
  return ranges.flatMap((r) => evenlySplit(r, Math.floor((r.end - r.start) / target)));
}

function evenlySplit(r: AddressRange, nrPieces: number): DamonRegion[] {
  const piece = Math.floor((r.end - r.start) / Math.max(1, nrPieces) / PAGE_BYTES) * PAGE_BYTES;
  if (nrPieces <= 1 || piece === 0) return [newRegion(r.start, r.end)];
  const out: DamonRegion[] = [];
  for (let start = r.start; start + piece <= r.end; start += piece) out.push(newRegion(start, start + piece));
  const last = out[out.length - 1];
  out[out.length - 1] = { ...last, end: r.end };
  return out;
}

/** damon_region_sz_limit: the largest region a merge may make, total size / minNrRegions (≥ a page). */
export function regionSizeLimit(regions: readonly DamonRegion[], minNrRegions: number): number {
  const total = regions.reduce((s, r) => s + (r.end - r.start), 0);
  return Math.max(PAGE_BYTES, Math.floor(total / minNrRegions));
}

/**
 * damon_set_regions: fits the regions to new ranges. Regions outside every range are dropped; those
 * inside a range are clipped to it, the first and last stretched to its ends and the holes between them
 * filled with fresh regions; a range no region touches becomes one fresh region.
 */
export function damonSetRegions(regions: readonly DamonRegion[], ranges: readonly AddressRange[]): DamonRegion[] {
  return ranges.flatMap((range) => {
    const inside = regions
      .filter((r) => r.start < range.end && range.start < r.end)
      .map((r) => ({ ...r, start: Math.max(r.start, range.start), end: Math.min(r.end, range.end) }));
    if (inside.length === 0) return [newRegion(range.start, range.end)];
    inside[0] = { ...inside[0], start: range.start };
    inside[inside.length - 1] = { ...inside[inside.length - 1], end: range.end };
    const out: DamonRegion[] = [];
    for (const r of inside) {
      const prev = out[out.length - 1];
      if (prev && prev.end < r.start) out.push(newRegion(prev.end, r.start));
      out.push(r);
    }
    return out;
  });
}

/**
 * kdamond_merge_regions: one damon_merge_regions_of pass with `threshold`, then passes with the threshold
 * doubled (at least 1) while more than maxNrRegions regions remain and the new threshold / 2 is below
 * maxThreshold (aggr / sample).
 */
export function damonMergeRegions(
  regions: readonly DamonRegion[],
  threshold: number,
  sizeLimit: number,
  maxNrRegions: number,
  maxThreshold: number,
): DamonRegion[] {
  let out = damonMergeRegionsOf(regions, threshold, sizeLimit);
  for (let next = Math.max(1, threshold * 2); out.length > maxNrRegions && Math.floor(next / 2) < maxThreshold; next *= 2) {
    out = damonMergeRegionsOf(out, next, sizeLimit);
  }
  return out;
}

/**
 * damon_merge_regions_of: updates each region's age (0 when nr_accesses moved by more than `threshold`
 * from last_nr_accesses or crossed zero, +1 otherwise) and merges it into the previous region when they
 * touch, their nr_accesses differ by ≤ threshold and the result is ≤ sizeLimit bytes.
 */
export function damonMergeRegionsOf(regions: readonly DamonRegion[], threshold: number, sizeLimit: number): DamonRegion[] {
  const out: DamonRegion[] = [];
  for (const region of regions) {
    const r = { ...region, age: nextAge(region, threshold) };
    const prev = out[out.length - 1];
    const mergeable =
      prev !== undefined &&
      prev.end === r.start &&
      Math.abs(prev.nrAccesses - r.nrAccesses) <= threshold &&
      r.end - prev.start <= sizeLimit;
    if (mergeable) out[out.length - 1] = mergeTwo(prev, r);
    else out.push(r);
  }
  return out;
}

function nextAge(r: DamonRegion, threshold: number): number {
  if (Math.abs(r.nrAccesses - r.lastNrAccesses) > threshold) return 0;
  if ((r.nrAccesses === 0) !== (r.lastNrAccesses === 0)) return 0;
  return r.age + 1;
}

/** damon_merge_two_regions: size-weighted (integer) averages of nr_accesses and age; l keeps its last_nr_accesses. */
function mergeTwo(l: DamonRegion, r: DamonRegion): DamonRegion {
  const sl = pages(l);
  const sr = pages(r);
  return {
    start: l.start,
    end: r.end,
    nrAccesses: Math.floor((l.nrAccesses * sl + r.nrAccesses * sr) / (sl + sr)),
    age: Math.floor((l.age * sl + r.age * sr) / (sl + sr)),
    lastNrAccesses: l.lastNrAccesses,
  };
}

/**
 * damon_split_regions_of: splits every region into up to `pieces` regions. Each split cuts the current
 * left part at a random 10 %–90 % point (page aligned) while it is larger than two pages; the pieces
 * inherit the region's statistics.
 */
export function damonSplitRegions(regions: readonly DamonRegion[], pieces: number, rng: RandomSource): DamonRegion[] {
  const out: DamonRegion[] = [];
  for (const region of regions) {
    let left = region;
    const rights: DamonRegion[] = [];
    for (let i = 0; i < pieces - 1 && pages(left) > 2; i++) {
      const leftPages = Math.floor(((1 + Math.floor(rng.next() * 9)) * pages(left)) / 10);
      if (leftPages === 0 || leftPages >= pages(left)) continue;
      const cut = left.start + leftPages * PAGE_BYTES;
      rights.push({ ...left, start: cut });
      left = { ...left, end: cut };
    }
    out.push(left, ...rights.reverse());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Binomial draws

const BINOMIAL_INVERSION_LIMIT = 30;

/**
 * A Binomial(n, p) draw: by inversion of the CDF (one uniform) while n·min(p, 1 − p) < 30, else by the
 * normal approximation with continuity rounding (two uniforms, Box–Muller), which is accurate there
 * (n·p·(1 − p) ≥ 15).
 */
export function drawBinomial(n: number, p: number, rng: RandomSource): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const q = Math.min(p, 1 - p);
  const k = n * q < BINOMIAL_INVERSION_LIMIT ? binomialByInversion(n, q, rng) : binomialByNormal(n, q, rng);
  return p > 0.5 ? n - k : k;
}

function binomialByInversion(n: number, q: number, rng: RandomSource): number {
  const u = rng.next();
  const ratio = q / (1 - q);
  let probability = Math.exp(n * Math.log1p(-q));
  let cdf = probability;
  let k = 0;
  while (u >= cdf && k < n) {
    probability *= ((n - k) / (k + 1)) * ratio;
    cdf += probability;
    k++;
  }
  return k;
}

function binomialByNormal(n: number, q: number, rng: RandomSource): number {
  const z = Math.sqrt(-2 * Math.log1p(-rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return Math.min(n, Math.max(0, Math.round(n * q + Math.sqrt(n * q * (1 - q)) * z)));
}
