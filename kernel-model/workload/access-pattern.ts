/**
 * Access streams: how a simulated process touches its memory, as analytic rates and as sampled pages.
 *
 * A process declares streams over ranges of its address space. A stream is a Poisson process of
 * `ratePerSec` accesses (uniform, zipf) or a deterministic sweep at that rate (sequential, strided),
 * confined to a *hot subset* of its range. The kernel needs three things from it, at three costs:
 *
 *   pageAccessRate(spec, page)             λ_p, accesses/s on one 4 KiB page            O(1)
 *   regionAccessMass(spec, first, count)   Σ λ_p / rate over a page range (2 MiB regions) O(1)
 *   sampleTouchedPages(spec, window, ...)  the distinct pages touched in a window          O(maxPages)
 *
 * Evaluation (hot-memory.ts) needs one more: forEachPageRunAtLeast(spec, threshold, ...), the runs of
 * pages with λ_p ≥ a threshold (hot memory): O(1) for uniform, sequential and strides dividing 4096, one
 * run per chunk for zipf (the hot ranks of a chunk are a prefix of its slots, see below), per page otherwise.
 *
 * Pages are virtual page numbers (address / 4096) throughout.
 *
 * The hot subset
 * --------------
 * With T = length / 4096 pages in the range, the stream confines its accesses to
 *     H  = clamp(round(hotFraction · T), 1, T)          pages, starting at
 *     h0 = start/4096 + round(hotOffset · (T − H))
 * so hotOffset 0 puts the hot subset at the start of the range and 1 at its end; a phase change that
 * moves the hot set is a new spec with another hotOffset. Outside [h0, h0 + H) every rate is zero.
 *
 * Patterns (q = page − h0 is the offset in the hot subset, σ the stride in bytes)
 * --------
 *   uniform     λ_q = rate / H
 *   zipf        λ_q = rate · (r(q) + 1)^−θ / H_{H,θ}, with r(q) the page's popularity rank (0 = hottest)
 *               and H_{n,θ} = Σ_{k=1..n} k^−θ the generalized harmonic number
 *   sequential  a sweep with σ = 64 (one cache line per access, 64 accesses per page): λ_q = rate / H
 *   strided     a sweep with σ = strideBytes: access points at byte offsets k·σ, k ∈ [0, n),
 *               n = ⌈H·4096 / σ⌉, and λ_q = rate · (points in page q) / n, where the points in pages
 *               [q1, q2) number ⌈q2·4096/σ⌉ − ⌈q1·4096/σ⌉.
 *
 * The zipf layout (where the hot pages are)
 * ---------------
 * Putting rank r at offset r would make the first pages of the hot subset the hottest, which no real
 * heap does (hot keys of a hash table are scattered over it). The layout scatters ranks deterministically
 * while keeping the mass of any page range computable in O(1):
 *
 *   C chunks of Q pages (Q ≥ 16, C ≤ 65536, C·Q ≤ H; the R = H − C·Q < C coldest ranks form a tail)
 *   rank r < C·Q  →  residue ρ = r mod C, slot j = ⌊r / C⌋, chunk position P = ρ·g mod C,
 *                    offset q = P·Q + j
 *   rank r ≥ C·Q  →  offset q = r  (the tail, in rank order at the end of the hot subset)
 *
 * with g the integer nearest C/φ (φ the golden ratio) that is coprime to C, so consecutive residues land
 * far apart. The C hottest pages are each the first page of a different chunk, spread over the whole hot
 * subset in golden-ratio order; within a chunk, hotness falls with the slot. A chunk at position P holds
 * the arithmetic progression of ranks ρ, ρ + C, ρ + 2C, ..., so the weight of its slots [j1, j2) is a
 * partial Hurwitz zeta sum:
 *
 *     Σ_{j=j1}^{j2−1} (ρ + 1 + jC)^−θ = C^−θ · Σ_{j=j1}^{j2−1} (j + a)^−θ,   a = (ρ + 1)/C.
 *
 * A page range is at most two partial chunks, a run of whole chunks (a prefix sum over chunk positions,
 * built once per (H, θ) and shared by every stream of that shape) and a contiguous piece of the tail
 * (a difference of generalized harmonic numbers): O(1) per query after an O(C) set-up.
 *
 * Partial Hurwitz sums: the first terms (while j + a < 12, and every term of short sums) are added
 * exactly; the rest by Euler–Maclaurin to the B4 term,
 *
 *     Σ_{j=m}^{n−1} f(j) ≈ ∫_m^n f + (f(m) − f(n))/2 + (f′(n) − f′(m))/12 − (f‴(n) − f‴(m))/720,
 *
 * f(x) = (x + a)^−θ. f is completely monotone, so the error is below the first omitted term,
 * |R| ≤ θ(θ+1)(θ+2)(θ+3)(θ+4)·(m + a)^−θ−5 / 30240 with m + a ≥ 12: relative to the sum, below 2·10^−8
 * for θ ≤ 1 and below 3·10^−6 for θ ≤ 5 (the largest θ accepted).
 *
 * Sampling touched pages
 * ----------------------
 * For the Poisson patterns a page with rate λ is touched in a window of w seconds with probability
 * p = 1 − e^(−λw), independently of the other pages, so the expected number of distinct pages is
 * Σ_p (1 − e^(−λ_p w)) (`expectedTouchedPages`). The sampler draws that set exactly: uniform pages by
 * geometric skips over the hot subset from a random starting page; zipf ranks hottest first, in blocks
 * of doubling size, by geometric skips at the block's largest probability thinned to each rank's own
 * (work O(pages returned + log H)). When more than maxPages pages are expected, every page is kept with
 * probability f = maxPages / expected (a uniform thinning, reported as `sampledFraction`) and the list is
 * cut at maxPages. A touched page was written when at least one of its accesses in the window was a
 * write: probability (1 − e^(−λ·w·writeFraction)) / (1 − e^(−λw)).
 *
 * Sweeps are deterministic: a `StreamCursor` keeps the next access point and the fraction of an access
 * carried between windows; a window makes ⌊rate·w + carry⌋ accesses from the cursor, wrapping at the end
 * of the hot subset, and touches the pages under them. When those exceed maxPages, every k-th page is
 * reported from a random phase. A page swept by a accesses was written with probability
 * 1 − (1 − writeFraction)^a. The expected number of pages per window is 1 + (a − 1)/m for a ≥ 1
 * accesses and m access points per touched page (exact when σ divides 4096, and averaged over the
 * cursor's phase).
 *
 * Specs are values: the first call validates a spec and caches its resolved form by object identity,
 * so a spec must not be mutated after use (build a new one for a phase change).
 */

/** Bytes in a base page. */
export const PAGE_BYTES = 4096;

/** Bytes in a cache line: the step of a sequential stream, so 64 accesses cover a 4 KiB page. */
export const CACHE_LINE_BYTES = 64;

/** The zipf exponent used when a spec gives none (the YCSB default). */
export const DEFAULT_ZIPF_THETA = 0.99;

/** The largest zipf exponent accepted (at θ = 5 the hottest page already takes 96 % of the accesses). */
export const MAX_ZIPF_THETA = 5;

/** How a stream picks the address of each access. */
export type AccessPattern = 'uniform' | 'zipf' | 'sequential' | 'strided';

/** One access stream of a process: a rate of accesses over a range of its address space. */
export interface AccessStreamSpec {
  /** First byte of the range; a multiple of 4096. */
  readonly start: number;
  /** Bytes in the range; a positive multiple of 4096. */
  readonly length: number;
  /** Accesses per second (Poisson for uniform and zipf, a steady sweep otherwise). */
  readonly ratePerSec: number;
  /** How addresses are chosen. */
  readonly pattern: AccessPattern;
  /** Zipf exponent θ in (0, 5]; default 0.99. Only for `zipf`. */
  readonly theta?: number;
  /** Bytes between successive accesses of a `strided` stream (required there, positive integer). */
  readonly strideBytes?: number;
  /** Fraction of the range the accesses are confined to, in (0, 1]; default 1. */
  readonly hotFraction?: number;
  /** Where the hot subset sits, in [0, 1]: 0 at the start of the range, 1 at its end; default 0. */
  readonly hotOffset?: number;
  /** Fraction of the accesses that are writes, in [0, 1]. */
  readonly writeFraction: number;
}

/** The seeded PRNG the kernel passes in (structurally the engine's `Prng`). */
export interface RandomSource {
  /** A uniform float in [0, 1). */
  next(): number;
  /** A uniform integer in [0, n). */
  nextInt(n: number): number;
}

/** Where a sweep (sequential or strided stream) is: carried from one window to the next. */
export interface StreamCursor {
  /** Index of the next access point in the hot subset (taken modulo the point count). */
  nextPoint: number;
  /** Fraction of an access carried over from the previous window, in [0, 1). */
  carry: number;
}

/** The distinct pages a stream touched in one window. */
export interface TouchedPages {
  /** Virtual page numbers, without repeats, in the sampler's deterministic order. */
  readonly pages: number[];
  /** Whether each page (same index) was written in the window. */
  readonly written: boolean[];
  /** Probability with which a touched page was reported: 1 unless maxPages forced a thinning. */
  readonly sampledFraction: number;
}

// ---------------------------------------------------------------------------------------------------
// Validation and resolution

interface ZipfLayout {
  readonly pages: number;
  readonly theta: number;
  readonly chunks: number;
  readonly chunkPages: number;
  readonly scatter: number;
  readonly scatterInverse: number;
  readonly totalWeight: number;
  /** Weight of the chunks at positions [0, P), built on first need. */
  prefix: Float64Array | undefined;
}

interface ResolvedStream {
  readonly spec: AccessStreamSpec;
  readonly hotFirstPage: number;
  readonly hotPages: number;
  /** Bytes between access points of a sweep (0 for the Poisson patterns). */
  readonly stride: number;
  /** Access points of a sweep over the hot subset (0 for the Poisson patterns). */
  readonly points: number;
  readonly zipf: ZipfLayout | undefined;
}

const resolvedStreams = new WeakMap<AccessStreamSpec, ResolvedStream>();

/** Throws a RangeError naming the first field of `spec` that is out of range. */
export function validateAccessStreamSpec(spec: AccessStreamSpec): void {
  const fail = (field: string, rule: string, value: unknown): never => {
    throw new RangeError(`AccessStreamSpec.${field} must be ${rule} (got ${String(value)})`);
  };
  if (!isPageMultiple(spec.start)) fail('start', 'a non-negative multiple of 4096', spec.start);
  if (!isPageMultiple(spec.length) || spec.length === 0) {
    fail('length', 'a positive multiple of 4096', spec.length);
  }
  if (!Number.isSafeInteger(spec.start + spec.length)) {
    fail('length', 'such that start + length is a safe integer', spec.length);
  }
  if (!(Number.isFinite(spec.ratePerSec) && spec.ratePerSec >= 0)) {
    fail('ratePerSec', 'a finite number ≥ 0', spec.ratePerSec);
  }
  if (!['uniform', 'zipf', 'sequential', 'strided'].includes(spec.pattern)) {
    fail('pattern', "'uniform', 'zipf', 'sequential' or 'strided'", spec.pattern);
  }
  if (spec.theta !== undefined && !(spec.theta > 0 && spec.theta <= MAX_ZIPF_THETA)) {
    fail('theta', `in (0, ${MAX_ZIPF_THETA}]`, spec.theta);
  }
  if (spec.pattern === 'strided' && spec.strideBytes === undefined) {
    fail('strideBytes', 'given for a strided stream', undefined);
  }
  if (spec.strideBytes !== undefined && !(Number.isSafeInteger(spec.strideBytes) && spec.strideBytes > 0)) {
    fail('strideBytes', 'a positive integer', spec.strideBytes);
  }
  if (spec.hotFraction !== undefined && !(spec.hotFraction > 0 && spec.hotFraction <= 1)) {
    fail('hotFraction', 'in (0, 1]', spec.hotFraction);
  }
  if (spec.hotOffset !== undefined && !(spec.hotOffset >= 0 && spec.hotOffset <= 1)) {
    fail('hotOffset', 'in [0, 1]', spec.hotOffset);
  }
  if (!(spec.writeFraction >= 0 && spec.writeFraction <= 1)) fail('writeFraction', 'in [0, 1]', spec.writeFraction);
}

function isPageMultiple(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0 && x % PAGE_BYTES === 0;
}

function resolveStream(spec: AccessStreamSpec): ResolvedStream {
  const cached = resolvedStreams.get(spec);
  if (cached) return cached;
  validateAccessStreamSpec(spec);
  const totalPages = spec.length / PAGE_BYTES;
  const hotPages = Math.min(totalPages, Math.max(1, Math.round((spec.hotFraction ?? 1) * totalPages)));
  const hotFirstPage = spec.start / PAGE_BYTES + Math.round((spec.hotOffset ?? 0) * (totalPages - hotPages));
  const stride = sweepStride(spec);
  const resolved: ResolvedStream = {
    spec,
    hotFirstPage,
    hotPages,
    stride,
    points: stride === 0 ? 0 : Math.ceil((hotPages * PAGE_BYTES) / stride),
    zipf: spec.pattern === 'zipf' ? zipfLayout(hotPages, spec.theta ?? DEFAULT_ZIPF_THETA) : undefined,
  };
  resolvedStreams.set(spec, resolved);
  return resolved;
}

function sweepStride(spec: AccessStreamSpec): number {
  if (spec.pattern === 'sequential') return CACHE_LINE_BYTES;
  if (spec.pattern === 'strided') return spec.strideBytes ?? 0;
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// Analytic rates

/** Modelled accesses per second on the 4 KiB page with virtual page number `page` (0 outside the hot subset). */
export function pageAccessRate(spec: AccessStreamSpec, page: number): number {
  requireInteger('page', page);
  const s = resolveStream(spec);
  const q = page - s.hotFirstPage;
  if (q < 0 || q >= s.hotPages) return 0;
  return spec.ratePerSec * offsetsShare(s, q, q + 1);
}

/**
 * Fraction of the stream's accesses that fall in the pages [firstPage, firstPage + pageCount), in [0, 1];
 * the range may extend beyond the stream's. O(1) (zipf: after a one-off O(C) set-up per hot-subset shape).
 */
export function regionAccessMass(spec: AccessStreamSpec, firstPage: number, pageCount: number): number {
  requireInteger('firstPage', firstPage);
  requireInteger('pageCount', pageCount, 0);
  const s = resolveStream(spec);
  const q1 = Math.max(0, firstPage - s.hotFirstPage);
  const q2 = Math.min(s.hotPages, firstPage + pageCount - s.hotFirstPage);
  return q2 > q1 ? offsetsShare(s, q1, q2) : 0;
}

// ---------------------------------------------------------------------------------------------------
// Hot pages (for evaluation: which memory is hot)

/** The hot subset of a stream: every page outside [firstPage, firstPage + pages) has rate 0. */
export function hotSubset(spec: AccessStreamSpec): { readonly firstPage: number; readonly pages: number } {
  const s = resolveStream(spec);
  return { firstPage: s.hotFirstPage, pages: s.hotPages };
}

/**
 * Calls visit(first, end) for disjoint, non-adjacent runs of pages, in increasing order, that together
 * are exactly the pages of [firstPage, endPage) whose pageAccessRate is ≥ thresholdPerSec (> 0); the
 * rates compared are pageAccessRate's own numbers, so the answer agrees with a per-page scan.
 *
 *   uniform, sequential, strided with σ dividing 4096: every hot-subset page has the same rate: one run, O(1)
 *   zipf: the rate falls with the rank, so the hot pages are the ranks below a cutoff R* (a binary search
 *         over ranks, cached per spec and threshold: O(log H) once). With R* = a·C + b (b < C), the chunk
 *         whose residue is ρ holds ranks ρ + jC, so its hot slots are the prefix j < a + [ρ < b]; the tail
 *         holds rank = offset, hot below R*. One run per chunk met: O(1 + (endPage − firstPage)/Q)
 *   strided otherwise: a scan of the pages, O(endPage − firstPage)
 */
export function forEachPageRunAtLeast(
  spec: AccessStreamSpec,
  thresholdPerSec: number,
  firstPage: number,
  endPage: number,
  visit: (first: number, end: number) => void,
): void {
  if (!(thresholdPerSec > 0)) throw new RangeError(`thresholdPerSec must be > 0 (got ${thresholdPerSec})`);
  const s = resolveStream(spec);
  const h0 = s.hotFirstPage;
  const q1 = Math.max(firstPage, h0) - h0;
  const q2 = Math.min(endPage, h0 + s.hotPages) - h0;
  if (q2 <= q1) return;
  const runs = new RunMerger(h0, visit);
  if (s.zipf) zipfRunsAtLeast(s, s.zipf, thresholdPerSec, q1, q2, runs);
  else if (s.stride === 0 || PAGE_BYTES % s.stride === 0) {
    if (spec.ratePerSec * offsetsShare(s, 0, 1) >= thresholdPerSec) runs.add(q1, q2);
  } else {
    for (let q = q1; q < q2; q++) if (spec.ratePerSec * offsetsShare(s, q, q + 1) >= thresholdPerSec) runs.add(q, q + 1);
  }
  runs.flush();
}

/**
 * Adds pageAccessRate(spec, firstPage + i) to out[i] for every i < out.length: the same numbers as one
 * call per page, without the per-call checks (O(out.length), one power per page for zipf).
 */
export function addPageAccessRates(spec: AccessStreamSpec, firstPage: number, out: Float64Array): void {
  requireInteger('firstPage', firstPage);
  const s = resolveStream(spec);
  const h0 = s.hotFirstPage;
  const q1 = Math.max(0, firstPage - h0);
  const q2 = Math.min(s.hotPages, firstPage + out.length - h0);
  const shift = h0 - firstPage;
  if (s.zipf || (s.stride > 0 && PAGE_BYTES % s.stride !== 0)) {
    for (let q = q1; q < q2; q++) out[q + shift] += spec.ratePerSec * offsetsShare(s, q, q + 1);
  } else if (q2 > q1) {
    const rate = spec.ratePerSec * offsetsShare(s, 0, 1);
    for (let q = q1; q < q2; q++) out[q + shift] += rate;
  }
}

/** Joins adjacent hot-subset offset runs and reports them as pages. */
class RunMerger {
  private first = 0;
  private end = 0;

  constructor(
    private readonly h0: number,
    private readonly visit: (first: number, end: number) => void,
  ) {}

  add(q1: number, q2: number): void {
    if (q2 <= q1) return;
    if (q1 === this.end && this.end > this.first) {
      this.end = q2;
      return;
    }
    this.flush();
    [this.first, this.end] = [q1, q2];
  }

  flush(): void {
    if (this.end > this.first) this.visit(this.h0 + this.first, this.h0 + this.end);
    this.first = this.end = 0;
  }
}

const hotRankCutoffs = new WeakMap<ResolvedStream, { readonly threshold: number; readonly ranks: number }>();

/** Number of zipf ranks whose page rate is ≥ threshold (rates fall with the rank). */
function zipfHotRanks(s: ResolvedStream, z: ZipfLayout, threshold: number): number {
  const cached = hotRankCutoffs.get(s);
  if (cached?.threshold === threshold) return cached.ranks;
  const hot = (r: number): boolean => {
    const q = zipfOffsetOfRank(z, r);
    return s.spec.ratePerSec * offsetsShare(s, q, q + 1) >= threshold;
  };
  let lo = 0;
  let hi = z.pages;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (hot(mid)) lo = mid + 1;
    else hi = mid;
  }
  hotRankCutoffs.set(s, { threshold, ranks: lo });
  return lo;
}

function zipfRunsAtLeast(s: ResolvedStream, z: ZipfLayout, threshold: number, q1: number, q2: number, runs: RunMerger): void {
  const cutoff = zipfHotRanks(s, z, threshold);
  const chunked = z.chunks * z.chunkPages;
  if (cutoff >= chunked) {
    runs.add(q1, Math.min(q2, cutoff));
    return;
  }
  const a = Math.floor(cutoff / z.chunks);
  const b = cutoff % z.chunks;
  const end = Math.min(q2, chunked);
  for (let p = Math.floor(q1 / z.chunkPages); p * z.chunkPages < end; p++) {
    const residue = (p * z.scatterInverse) % z.chunks;
    const from = p * z.chunkPages;
    runs.add(Math.max(q1, from), Math.min(end, from + a + (residue < b ? 1 : 0)));
  }
}

function requireWindow(windowMs: number): void {
  if (!(Number.isFinite(windowMs) && windowMs >= 0)) {
    throw new RangeError(`windowMs must be a finite number ≥ 0 (got ${windowMs})`);
  }
}

function requireInteger(name: string, value: number, min = -Infinity): void {
  if (!(Number.isSafeInteger(value) && value >= min)) {
    throw new RangeError(`${name} must be an integer${min > -Infinity ? ` ≥ ${min}` : ''} (got ${value})`);
  }
}

/** Share of the stream's accesses landing on hot-subset offsets [q1, q2). */
function offsetsShare(s: ResolvedStream, q1: number, q2: number): number {
  if (s.zipf) return zipfOffsetsWeight(s.zipf, q1, q2) / s.zipf.totalWeight;
  if (s.stride > 0) return sweepPointsIn(s, q1, q2) / s.points;
  return (q2 - q1) / s.hotPages;
}

/** Access points of a sweep in hot-subset offsets [q1, q2). */
function sweepPointsIn(s: ResolvedStream, q1: number, q2: number): number {
  return Math.ceil((q2 * PAGE_BYTES) / s.stride) - Math.ceil((q1 * PAGE_BYTES) / s.stride);
}

/**
 * Expected number of distinct pages the stream touches in a window of `windowMs` milliseconds:
 * Σ (1 − e^(−λ_p·w)) for uniform and zipf, the pages under the window's accesses for sweeps.
 */
export function expectedTouchedPages(spec: AccessStreamSpec, windowMs: number): number {
  requireWindow(windowMs);
  const s = resolveStream(spec);
  const accesses = (spec.ratePerSec * windowMs) / 1000;
  if (s.zipf) {
    const z = s.zipf;
    return sumOverZipfRanks(z.pages, (k) => -Math.expm1((-accesses * k ** -z.theta) / z.totalWeight));
  }
  if (s.stride === 0) return s.hotPages * -Math.expm1(-accesses / s.hotPages);
  const pagesWithPoints = Math.min(s.hotPages, s.points);
  if (accesses >= s.points) return pagesWithPoints;
  const pointsPerPage = s.points / pagesWithPoints;
  return accesses < 1 ? accesses : Math.min(pagesWithPoints, 1 + (accesses - 1) / pointsPerPage);
}

// ---------------------------------------------------------------------------------------------------
// Sampling

/** A cursor at the start of a sweep. */
export function createStreamCursor(): StreamCursor {
  return { nextPoint: 0, carry: 0 };
}

/**
 * The distinct pages the stream touches in a window of `windowMs` ms, at most `maxPages` of them, each
 * with whether it was written. Deterministic given the rng's state. Sequential and strided streams need
 * their `cursor`, which this advances; the Poisson patterns ignore it.
 */
export function sampleTouchedPages(
  spec: AccessStreamSpec,
  windowMs: number,
  rng: RandomSource,
  maxPages: number,
  cursor?: StreamCursor,
): TouchedPages {
  requireWindow(windowMs);
  requireInteger('maxPages', maxPages, 0);
  const s = resolveStream(spec);
  const seconds = windowMs / 1000;
  if (s.stride > 0) {
    if (!cursor) throw new RangeError(`a ${spec.pattern} stream needs its StreamCursor`);
    return sampleSweep(s, seconds, rng, maxPages, cursor);
  }
  const keep = thinning(expectedTouchedPages(spec, windowMs), maxPages);
  const out = new PageCollector(maxPages);
  if (s.zipf) sampleZipf(s, s.zipf, seconds, keep, rng, out);
  else sampleUniform(s, seconds, keep, rng, out);
  return out.result(keep);
}

/** Probability of keeping each touched page so that about maxPages are reported. */
function thinning(expected: number, maxPages: number): number {
  return expected > maxPages ? maxPages / expected : 1;
}

/** Accumulates the reported pages up to the cap. */
class PageCollector {
  readonly pages: number[] = [];
  readonly written: boolean[] = [];

  constructor(readonly maxPages: number) {}

  get full(): boolean {
    return this.pages.length >= this.maxPages;
  }

  add(page: number, written: boolean): void {
    this.pages.push(page);
    this.written.push(written);
  }

  result(sampledFraction: number): TouchedPages {
    return { pages: this.pages, written: this.written, sampledFraction };
  }
}

/** Trials up to and including the first success of probability q (Infinity when q is 0). */
function geometricTrials(q: number, rng: RandomSource): number {
  if (q >= 1) return 1;
  if (q <= 0) return Infinity;
  return 1 + Math.floor(Math.log1p(-rng.next()) / Math.log1p(-q));
}

/** Probability that a page touched in the window (rate λ, w seconds) was written at least once. */
function writtenGivenTouched(lambdaW: number, writeFraction: number): number {
  const touched = -Math.expm1(-lambdaW);
  return touched > 0 ? -Math.expm1(-lambdaW * writeFraction) / touched : 0;
}

function sampleUniform(s: ResolvedStream, seconds: number, keep: number, rng: RandomSource, out: PageCollector): void {
  const lambdaW = (s.spec.ratePerSec * seconds) / s.hotPages;
  const q = keep * -Math.expm1(-lambdaW);
  const pWritten = writtenGivenTouched(lambdaW, s.spec.writeFraction);
  const first = Math.floor(rng.next() * s.hotPages);
  for (let i = geometricTrials(q, rng) - 1; i < s.hotPages && !out.full; i += geometricTrials(q, rng)) {
    out.add(s.hotFirstPage + ((first + i) % s.hotPages), rng.next() < pWritten);
  }
}

function sampleZipf(
  s: ResolvedStream,
  z: ZipfLayout,
  seconds: number,
  keep: number,
  rng: RandomSource,
  out: PageCollector,
): void {
  const scale = (s.spec.ratePerSec * seconds) / z.totalWeight;
  const touchProbability = (rank: number): number => keep * -Math.expm1(-scale * (rank + 1) ** -z.theta);
  for (let lo = 0, hi = 1; lo < z.pages && !out.full; lo = hi, hi = Math.min(z.pages, 2 * hi)) {
    const qMax = touchProbability(lo);
    for (let r = lo - 1 + geometricTrials(qMax, rng); r < hi && !out.full; r += geometricTrials(qMax, rng)) {
      if (rng.next() * qMax >= touchProbability(r)) continue;
      const lambdaW = scale * (r + 1) ** -z.theta;
      out.add(s.hotFirstPage + zipfOffsetOfRank(z, r), rng.next() < writtenGivenTouched(lambdaW, s.spec.writeFraction));
    }
  }
}

/** A window of a sweep: `passes` full passes plus the point run [from, from + extra) (wrapping). */
interface SweepWindow {
  readonly passes: number;
  readonly from: number;
  readonly extra: number;
}

function sampleSweep(
  s: ResolvedStream,
  seconds: number,
  rng: RandomSource,
  maxPages: number,
  cursor: StreamCursor,
): TouchedPages {
  const due = s.spec.ratePerSec * seconds + cursor.carry;
  const accesses = Math.floor(due);
  const from = cursor.nextPoint % s.points;
  cursor.carry = due - accesses;
  cursor.nextPoint = (from + accesses) % s.points;
  const window: SweepWindow = { passes: Math.floor(accesses / s.points), from, extra: accesses % s.points };
  const runs = accesses === 0 ? [] : sweepItemRuns(s, window);
  const total = runs.reduce((n, [a, b]) => n + b - a, 0);
  const step = Math.max(1, Math.ceil(total / Math.max(1, maxPages)));
  const out = new PageCollector(maxPages);
  let index = Math.floor(rng.next() * step);
  for (const [a, b] of runs) {
    for (; index < b - a && !out.full; index += step) {
      const q = sweepItemPage(s, a + index);
      const written = rng.next() < -Math.expm1(sweepAccessesOn(s, window, q) * Math.log1p(-s.spec.writeFraction));
      out.add(s.hotFirstPage + q, written);
    }
    index -= b - a;
  }
  return out.result(total === 0 ? 1 : out.pages.length / total);
}

/**
 * The items a sweep window covers, as disjoint half-open runs in cursor order. Items are hot-subset
 * page offsets when σ ≤ 4096 (consecutive points share pages) and access points when σ > 4096 (every
 * point lies on a page of its own), so a run is always O(1) to describe.
 */
function sweepItemRuns(s: ResolvedStream, w: SweepWindow): [number, number][] {
  const end = w.from + w.extra;
  if (s.stride > PAGE_BYTES) {
    if (w.passes > 0) return [[0, s.points]];
    return end <= s.points ? [[w.from, end]] : [[w.from, s.points], [0, end - s.points]];
  }
  if (w.passes > 0) return [[0, s.hotPages]];
  const pageOf = (k: number): number => Math.floor((k * s.stride) / PAGE_BYTES);
  if (end <= s.points) return [[pageOf(w.from), pageOf(end - 1) + 1]];
  const tail: [number, number] = [pageOf(w.from), s.hotPages];
  const head: [number, number] = [0, pageOf(end - s.points - 1) + 1];
  return head[1] > tail[0] ? [[0, s.hotPages]] : [tail, head];
}

/** Hot-subset page offset of a sweep item (see sweepItemRuns). */
function sweepItemPage(s: ResolvedStream, item: number): number {
  return s.stride > PAGE_BYTES ? Math.floor((item * s.stride) / PAGE_BYTES) : item;
}

/** Accesses a sweep window made on hot-subset offset q. */
function sweepAccessesOn(s: ResolvedStream, w: SweepWindow, q: number): number {
  const firstPoint = Math.ceil((q * PAGE_BYTES) / s.stride);
  const endPoint = Math.min(s.points, Math.ceil(((q + 1) * PAGE_BYTES) / s.stride));
  const overlap = (a: number, b: number): number => Math.max(0, Math.min(b, endPoint) - Math.max(a, firstPoint));
  const end = w.from + w.extra;
  const extra = overlap(w.from, Math.min(end, s.points)) + overlap(0, end - s.points);
  return w.passes * (endPoint - firstPoint) + extra;
}

// ---------------------------------------------------------------------------------------------------
// Zipf layout

const ZIPF_MIN_CHUNK_PAGES = 16;
const ZIPF_MAX_CHUNKS = 65536;
const ZIPF_PREFIX_MIN_CHUNKS = 8;
const ZIPF_LAYOUT_CACHE_SIZE = 32;
const zipfLayouts = new Map<string, ZipfLayout>();

function zipfLayout(pages: number, theta: number): ZipfLayout {
  const key = `${pages}:${theta}`;
  const cached = zipfLayouts.get(key);
  if (cached) return cached;
  const minChunkPages = Math.max(ZIPF_MIN_CHUNK_PAGES, Math.ceil(pages / ZIPF_MAX_CHUNKS));
  const chunks = Math.max(1, Math.floor(pages / minChunkPages));
  const scatter = goldenCoprime(chunks);
  const layout: ZipfLayout = {
    pages,
    theta,
    chunks,
    chunkPages: Math.floor(pages / chunks),
    scatter,
    scatterInverse: modularInverse(scatter, chunks),
    totalWeight: generalizedHarmonic(pages, theta),
    prefix: undefined,
  };
  if (zipfLayouts.size >= ZIPF_LAYOUT_CACHE_SIZE) zipfLayouts.delete(zipfLayouts.keys().next().value as string);
  zipfLayouts.set(key, layout);
  return layout;
}

/** The integer nearest n/φ that is coprime to n (0 for n = 1). */
function goldenCoprime(n: number): number {
  if (n === 1) return 0;
  let g = Math.max(1, Math.round(n / 1.618033988749895));
  while (gcd(g, n) !== 1) g++;
  return g;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** x such that a·x ≡ 1 (mod n), for a coprime to n (0 for n = 1). */
function modularInverse(a: number, n: number): number {
  if (n === 1) return 0;
  let [r0, r1, t0, t1] = [n, a, 0, 1];
  while (r1 !== 0) {
    const quotient = Math.floor(r0 / r1);
    [r0, r1, t0, t1] = [r1, r0 - quotient * r1, t1, t0 - quotient * t1];
  }
  return ((t0 % n) + n) % n;
}

function zipfOffsetOfRank(z: ZipfLayout, rank: number): number {
  if (rank >= z.chunks * z.chunkPages) return rank;
  const position = ((rank % z.chunks) * z.scatter) % z.chunks;
  return position * z.chunkPages + Math.floor(rank / z.chunks);
}

/** Weight Σ (r + 1)^−θ of the ranks on hot-subset offsets [q1, q2). */
function zipfOffsetsWeight(z: ZipfLayout, q1: number, q2: number): number {
  const chunked = z.chunks * z.chunkPages;
  const tail = q2 > chunked ? hurwitzPartialSum(z.theta, 1, Math.max(q1, chunked), q2) : 0;
  const end = Math.min(q2, chunked);
  if (q1 >= end) return tail;
  const p1 = Math.floor(q1 / z.chunkPages);
  const p2 = Math.floor((end - 1) / z.chunkPages);
  if (p1 === p2) return tail + chunkSlotsWeight(z, p1, q1 - p1 * z.chunkPages, end - p1 * z.chunkPages);
  const head = chunkSlotsWeight(z, p1, q1 - p1 * z.chunkPages, z.chunkPages);
  const last = chunkSlotsWeight(z, p2, 0, end - p2 * z.chunkPages);
  return tail + head + wholeChunksWeight(z, p1 + 1, p2) + last;
}

/** Weight of slots [j1, j2) of the chunk at position p: C^−θ · Σ (j + (ρ + 1)/C)^−θ. */
function chunkSlotsWeight(z: ZipfLayout, p: number, j1: number, j2: number): number {
  const residue = (p * z.scatterInverse) % z.chunks;
  return z.chunks ** -z.theta * hurwitzPartialSum(z.theta, (residue + 1) / z.chunks, j1, j2);
}

/** Weight of the whole chunks at positions [p1, p2). */
function wholeChunksWeight(z: ZipfLayout, p1: number, p2: number): number {
  if (p2 - p1 < ZIPF_PREFIX_MIN_CHUNKS) {
    let sum = 0;
    for (let p = p1; p < p2; p++) sum += chunkSlotsWeight(z, p, 0, z.chunkPages);
    return sum;
  }
  z.prefix ??= chunkPrefix(z);
  return z.prefix[p2] - z.prefix[p1];
}

function chunkPrefix(z: ZipfLayout): Float64Array {
  const prefix = new Float64Array(z.chunks + 1);
  for (let p = 0; p < z.chunks; p++) prefix[p + 1] = prefix[p] + chunkSlotsWeight(z, p, 0, z.chunkPages);
  return prefix;
}

// ---------------------------------------------------------------------------------------------------
// Zipf arithmetic

const HURWITZ_EXACT_BELOW = 12;
const HURWITZ_SHORT_SUM = 32;

/**
 * Σ_{j=from}^{to−1} (j + a)^−θ for a > 0 and integers 0 ≤ from ≤ to: exact for the first terms,
 * Euler–Maclaurin for the rest, relative error below 3·10^−6 for θ ≤ 5 (see the file comment).
 */
export function hurwitzPartialSum(theta: number, a: number, from: number, to: number): number {
  let sum = 0;
  let j = from;
  for (; j < to && (j + a < HURWITZ_EXACT_BELOW || to - j <= HURWITZ_SHORT_SUM); j++) sum += (j + a) ** -theta;
  return j < to ? sum + eulerMaclaurinTail(theta, a, j, to) : sum;
}

function eulerMaclaurinTail(theta: number, a: number, m: number, n: number): number {
  const xm = m + a;
  const xn = n + a;
  const f = (x: number): number => x ** -theta;
  const d1 = (x: number): number => -theta * x ** (-theta - 1);
  const d3 = (x: number): number => -theta * (theta + 1) * (theta + 2) * x ** (-theta - 3);
  const integral = powerIntegral(theta, xm, xn);
  return integral + (f(xm) - f(xn)) / 2 + (d1(xn) - d1(xm)) / 12 - (d3(xn) - d3(xm)) / 720;
}

/** ∫_{x1}^{x2} x^−θ dx, stable near θ = 1. */
function powerIntegral(theta: number, x1: number, x2: number): number {
  const logRatio = Math.log(x2 / x1);
  const e = 1 - theta;
  return e === 0 ? logRatio : (x1 ** e * Math.expm1(e * logRatio)) / e;
}

/** The generalized harmonic number H_{n,θ} = Σ_{k=1}^{n} k^−θ. */
export function generalizedHarmonic(n: number, theta: number): number {
  return hurwitzPartialSum(theta, 1, 0, n);
}

const RANK_SUM_EXACT_TERMS = 64;
const RANK_SUM_PANELS = 64;

/** Nodes and weights of a quadrature rule over the ranks 1..n: Σ_k fn(k) ≈ Σ_i weights[i] · fn(ranks[i]). */
export interface RankQuadrature {
  readonly ranks: Float64Array;
  readonly weights: Float64Array;
}

/**
 * The rule behind sumOverZipfRanks, for callers that evaluate many functions of the same ranks (they can
 * precompute k^−θ once): the first 64 ranks with weight 1, then ∫_{64.5}^{n+0.5} by Simpson's rule over
 * ln x with 64 panels (65 nodes, weights h/3·{1,4,2,...,4,1}·x).
 */
export function zipfRankQuadrature(n: number): RankQuadrature {
  const exact = Math.min(n, RANK_SUM_EXACT_TERMS);
  const nodes = n > exact ? RANK_SUM_PANELS + 1 : 0;
  const ranks = new Float64Array(exact + nodes);
  const weights = new Float64Array(exact + nodes);
  for (let k = 1; k <= exact; k++) [ranks[k - 1], weights[k - 1]] = [k, 1];
  const lo = Math.log(exact + 0.5);
  const h = (Math.log(n + 0.5) - lo) / RANK_SUM_PANELS;
  for (let i = 0; i < nodes; i++) {
    const x = Math.exp(lo + i * h);
    const simpson = i === 0 || i === RANK_SUM_PANELS ? 1 : i % 2 === 1 ? 4 : 2;
    [ranks[exact + i], weights[exact + i]] = [x, ((simpson * h) / 3) * x];
  }
  return { ranks, weights };
}

/**
 * Σ_{k=1}^{n} fn(k) for a smooth, monotone fn of the rank: the first 64 terms exactly, the rest as
 * ∫_{64.5}^{n+0.5} fn (midpoint rule per rank, error ~fn″/24 per term) by Simpson's rule over ln x.
 * Relative error below 10^−3 for the rank functions the model uses (tested against plain sums).
 */
export function sumOverZipfRanks(n: number, fn: (k: number) => number): number {
  const { ranks, weights } = zipfRankQuadrature(n);
  let sum = 0;
  for (let i = 0; i < ranks.length; i++) sum += weights[i] * fn(ranks[i]);
  return sum;
}

/** 4 KiB pages in a 2 MiB region. */
const PAGES_PER_HUGE_PAGE = 512;

const massCache = new WeakMap<AccessStreamSpec, Float64Array>();

/**
 * The access mass of each 2 MiB region a stream covers, in address order: element i is region
 * ⌊start / 2 MiB⌋ + i (the first and last may be partial, which changes nothing: pages outside the range
 * have no mass). A spec is an immutable value, so the masses are computed once per spec and reused every tick.
 */
export function regionMasses(spec: AccessStreamSpec): Float64Array {
  let masses = massCache.get(spec);
  if (masses) return masses;
  const firstPage = spec.start / PAGE_BYTES;
  const endPage = firstPage + spec.length / PAGE_BYTES;
  const regions = Math.ceil(endPage / PAGES_PER_HUGE_PAGE) - Math.floor(firstPage / PAGES_PER_HUGE_PAGE);
  masses = new Float64Array(regions);
  for (let page = firstPage, r = 0; page < endPage; r++) {
    const regionEnd = Math.min(endPage, (Math.floor(page / PAGES_PER_HUGE_PAGE) + 1) * PAGES_PER_HUGE_PAGE);
    masses[r] = regionAccessMass(spec, page, regionEnd - page);
    page = regionEnd;
  }
  massCache.set(spec, masses);
  return masses;
}
