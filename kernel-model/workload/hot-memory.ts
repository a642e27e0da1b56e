/**
 * Hot memory and its THP coverage: evaluation-only ground truth (no real kernel knows which pages are
 * hot). A page of a process is *hot* when its modelled access rate — the sum of pageAccessRate over every
 * access stream of the process — is at least a threshold (default 1 access/s per 4 KiB page). For each
 * process this reports how much memory is hot and how the page tables map it right now: by a PMD-mapped
 * THP (on the task's home node or not), swapped out, or not present; plus the THPs that hold no hot page
 * at all (bloat) and the share of the access mass that THPs serve.
 *
 * Two halves, so that ~1000 processes can be measured every few seconds of simulated time:
 *
 *   layout (cached)  per 2 MiB region met by a stream's hot subset: its hot-page count, its access rate
 *                    and which stream alone covers it (or "several"). A function of the stream specs and
 *                    the threshold only; specs are immutable values (a phase change installs a new spec
 *                    object), so it is cached per process, keyed by the identities of the current specs
 *                    and the threshold, and rebuilt only when they change. A rebuild reuses what belongs
 *                    to the specs that did not change, from caches tied to each spec object's lifetime
 *                    (WeakMaps keyed by spec, so nothing outlives the spec it describes):
 *                      per spec and threshold (at most 4 thresholds per spec): the spec's own hot-page
 *                        count in each region its hot subset meets (2 bytes a region), from its runs in
 *                        forEachPageRunAtLeast — O(1) per stream for uniform, sequential and strides
 *                        that divide 4096; O(C + log H) per zipf stream (one run per chunk, C ≤ 65536);
 *                        O(pages) for other strides — paid once per spec, not once per rebuild;
 *                      per spec: its region masses (regionMasses), so a region's rate is one product.
 *                    A rebuild cuts the regions the hot subsets meet into segments met by the same
 *                    streams (O(streams) segments, O(streams²) checks, then O(1) per region): a region
 *                    met by one stream copies that stream's cached count and rate; a region where several
 *                    streams' hot subsets overlap sums their rates in stream order and finds its hot pages:
 *                      when all but one give the whole region one rate (uniform or sequential spanning
 *                        it), the runs of the remaining stream at the threshold less those rates (a JVM's
 *                        young generation over its zipf old generation, met again at every move of the
 *                        young one): O(1 + 512/Q) for zipf, cached per (remaining spec, residual threshold,
 *                        region) — at most 4 residual thresholds per spec, each holding at most one entry
 *                        (≤ 1 KiB of runs) per region of that spec's hot subset, so a young generation
 *                        cycling over the same positions at the same rate finds its overlaps cached; a
 *                        residual ≤ 0 makes the whole region hot at no cost;
 *                      else a per-page sum of their rates (addPageAccessRates, in stream order: the very
 *                        sum a brute-force scan of pageAccessRate makes), 512 × streams, not cached.
 *                    An overlap region stores its hot pages as runs (offsets in the region) when some but
 *                    not all 512 are hot. So the counts are exact: they equal a per-page comparison of
 *                    pageAccessRate sums (up to a rounding of the subtraction for a page whose rate sum
 *                    equals the threshold), and a layout rebuilt from cached parts equals a fresh build.
 *   sample           O(regions): one `mm.pmd` lookup per region. A PMD-mapped region counts whole. A
 *                    PTE-mapped region with hot pages is counted exactly: an empty table means every hot
 *                    page is absent, a full table in an mm without swap entries means all are present (both
 *                    O(1)); otherwise the PTEs of the hot pages are read (≤ 512: all of them when all are
 *                    hot, else the runs re-derived from the stream in O(1 + 512/Q) for zipf, or the cached
 *                    runs of an overlap region).
 *
 * Conventions: the huge zero page mapped by a PMD counts as THP-mapped (accesses to it take a 2 MiB TLB
 * entry, as the stream driver's cost split counts it) but never as bloat (it costs no memory). Hot pages
 * in a range that was unmapped after the stream was declared count as absent. Bloat (`coldThpBytes`) is
 * every PMD-mapped THP of the process (`mm.thpPmdMapped`) minus those holding a hot page, so THPs outside
 * every stream count as cold. An exited pid, or one without streams, gives all zeros.
 */
import { HPAGE_PMD_NR, PAGE_SIZE } from '../mm/constants.js';
import { PTRS_PER_PTE } from '../mm/pgtable.js';
import { addPageAccessRates, forEachPageRunAtLeast, hotSubset, pageAccessRate, regionMasses, type AccessStreamSpec } from './access-pattern.js';
import type { Kernel } from '../kernel.js';

/** The default hot threshold: 1 access per second on a 4 KiB page. */
export const DEFAULT_HOT_THRESHOLD_PER_SEC = 1;

/** A process's hot memory and how it is mapped (bytes; 4 KiB per page). */
export interface HotMemory {
  /** Bytes of pages with rate ≥ threshold. */
  hotBytes: number;
  /** Of those, mapped by a PMD-mapped THP. */
  hotThpBytes: number;
  /** Of hotThpBytes, THPs on a node other than the task's home node. */
  hotThpRemoteBytes: number;
  /** Hot pages swapped out. */
  hotSwappedBytes: number;
  /** Hot pages not present (never faulted, discarded, or unmapped). */
  hotAbsentBytes: number;
  /** Total accesses/s of the process's streams. */
  accessRate: number;
  /** Share (0..1) of the process's access mass that lands on PMD-mapped THPs. */
  hotAccessThpShare: number;
  /** Bloat: bytes of PMD-mapped THPs (the huge zero page excepted) none of whose pages is hot. */
  coldThpBytes: number;
}

const zeroHotMemory = (): HotMemory => ({
  hotBytes: 0,
  hotThpBytes: 0,
  hotThpRemoteBytes: 0,
  hotSwappedBytes: 0,
  hotAbsentBytes: 0,
  accessRate: 0,
  hotAccessThpShare: 0,
  coldThpBytes: 0,
});

/**
 * Hot pages per 2 MiB region of `pid` (PMD index → hot 4 KiB pages, regions without a hot page left out):
 * the cached layout measureHotMemory counts from, so the two always agree. Empty for an exited or
 * streamless pid.
 */
export function hotPagesByRegion(k: Kernel, pid: number, thresholdPerSec = DEFAULT_HOT_THRESHOLD_PER_SEC): Map<number, number> {
  if (!(thresholdPerSec > 0)) throw new RangeError(`thresholdPerSec must be > 0 (got ${thresholdPerSec})`);
  const out = new Map<number, number>();
  const specs = k.task(pid) ? k.streams.streamsOf(pid) : [];
  if (specs.length === 0) return out;
  const layout = layoutFor(k, cacheOf(k), pid, specs, thresholdPerSec);
  for (let r = 0; r < layout.pmdIdx.length; r++) if (layout.hotPages[r] > 0) out.set(layout.pmdIdx[r], layout.hotPages[r]);
  return out;
}

/** `owner` of a region whose hot pages come from more than one stream. */
const MIXED = -1;
/** Layouts kept per process (one per threshold asked for). */
const MAX_THRESHOLDS_PER_PID = 4;
/** Cached processes before the first sweep of exited ones. */
const MIN_SWEEP_AT = 256;

/** The hot pages of a process per 2 MiB region, for one set of specs and one threshold. */
interface HotLayout {
  readonly threshold: number;
  /** PMD index (address / 2 MiB) of each region met by a stream's hot subset, ascending. */
  readonly pmdIdx: Float64Array;
  /** Hot pages in the region (0..512). */
  readonly hotPages: Uint16Array;
  /** Accesses/s landing in the region. */
  readonly rate: Float64Array;
  /** Index (in the specs) of the one stream whose hot subset meets the region, or MIXED. */
  readonly owner: Int32Array;
  /** The hot runs (OverlapHot.runs) of the MIXED regions with some but not all pages hot, by region index. */
  readonly mixedHot: Map<number, Uint16Array>;
  readonly accessRate: number;
}

interface PidEntry {
  readonly specs: readonly AccessStreamSpec[];
  readonly layouts: HotLayout[];
}

interface Cache {
  readonly byPid: Map<number, PidEntry>;
  sweepAt: number;
}

const caches = new WeakMap<Kernel, Cache>();

/**
 * The hot memory of `pid` now, at `thresholdPerSec` accesses/s per page (> 0). O(regions of its streams)
 * per call once its layout is cached (see the file comment); all zeros for an exited or streamless pid.
 */
export function measureHotMemory(k: Kernel, pid: number, thresholdPerSec = DEFAULT_HOT_THRESHOLD_PER_SEC): HotMemory {
  if (!(thresholdPerSec > 0)) throw new RangeError(`thresholdPerSec must be > 0 (got ${thresholdPerSec})`);
  const cache = cacheOf(k);
  const task = k.task(pid);
  const specs = task ? k.streams.streamsOf(pid) : [];
  if (!task || specs.length === 0) {
    cache.byPid.delete(pid);
    return zeroHotMemory();
  }
  const layout = layoutFor(k, cache, pid, specs, thresholdPerSec);
  const mm = task.mm;
  const pgtables = k.pgtables;
  const entries = pgtables.entries;
  const hugeZero = k.huge.hugeZeroPfn;
  const noSwap = mm.swapEntries === 0;
  let hot = 0;
  let thp = 0;
  let thpRemote = 0;
  let absent = 0;
  let swapped = 0;
  let thpRate = 0;
  let hotThps = 0;
  const countPtes = (base: number, from: number, to: number): void => {
    const packed = countNotPresent(entries, base + from, base + to);
    swapped += Math.floor(packed / PACK);
    absent += packed % PACK;
  };
  for (let r = 0; r < layout.pmdIdx.length; r++) {
    const h = layout.hotPages[r];
    hot += h;
    const e = mm.pmd.get(layout.pmdIdx[r]);
    if (e === undefined) {
      absent += h;
      continue;
    }
    if (e < 0) {
      thp += h;
      thpRate += layout.rate[r];
      if (h === 0) continue;
      const head = -e - 1;
      if (k.nodeOfPfn(head) !== task.node) thpRemote += h;
      if (head !== hugeZero) hotThps++;
      continue;
    }
    if (h === 0) continue;
    const used = pgtables.usedEntries(e);
    if (used === 0) absent += h;
    else if (used < PTRS_PER_PTE || !noSwap) {
      const base = e * PTRS_PER_PTE;
      const owner = layout.owner[r];
      if (h === HPAGE_PMD_NR) countPtes(base, 0, HPAGE_PMD_NR);
      else if (owner === MIXED) {
        const runs = layout.mixedHot.get(r)!;
        for (let i = 0; i < runs.length; i += 2) countPtes(base, runs[i], runs[i + 1]);
      } else {
        const first = layout.pmdIdx[r] * HPAGE_PMD_NR;
        forEachPageRunAtLeast(specs[owner], thresholdPerSec, first, first + HPAGE_PMD_NR, (a, b) => countPtes(base, a - first, b - first));
      }
    }
  }
  return {
    hotBytes: hot * PAGE_SIZE,
    hotThpBytes: thp * PAGE_SIZE,
    hotThpRemoteBytes: thpRemote * PAGE_SIZE,
    hotSwappedBytes: swapped * PAGE_SIZE,
    hotAbsentBytes: absent * PAGE_SIZE,
    accessRate: layout.accessRate,
    hotAccessThpShare: layout.accessRate > 0 ? Math.min(1, thpRate / layout.accessRate) : 0,
    coldThpBytes: Math.max(0, mm.thpPmdMapped - hotThps) * HPAGE_PMD_NR * PAGE_SIZE,
  };
}

/** countNotPresent packs (swapped, none) as swapped · PACK + none. */
const PACK = 1 << 20;

/** Swap and none entries among entries[from, to) (at most 512), packed: a tight loop over locals. */
function countNotPresent(entries: Int32Array, from: number, to: number): number {
  let swapped = 0;
  let none = 0;
  for (let i = from; i < to; i++) {
    const pte = entries[i];
    swapped += pte >>> 31;
    none += pte === 0 ? 1 : 0;
  }
  return swapped * PACK + none;
}

function cacheOf(k: Kernel): Cache {
  let cache = caches.get(k);
  if (!cache) caches.set(k, (cache = { byPid: new Map(), sweepAt: MIN_SWEEP_AT }));
  return cache;
}

/** The cached layout of `pid` for these specs and threshold, built if they changed. */
function layoutFor(k: Kernel, cache: Cache, pid: number, specs: readonly AccessStreamSpec[], threshold: number): HotLayout {
  let entry = cache.byPid.get(pid);
  if (!entry || !sameSpecs(entry.specs, specs)) {
    entry = { specs, layouts: [] };
    cache.byPid.set(pid, entry);
    if (cache.byPid.size > cache.sweepAt) sweepExited(k, cache);
  }
  let layout = entry.layouts.find((l) => l.threshold === threshold);
  if (!layout) {
    layout = buildLayout(specs, threshold);
    entry.layouts.push(layout);
    if (entry.layouts.length > MAX_THRESHOLDS_PER_PID) entry.layouts.shift();
  }
  return layout;
}

function sameSpecs(a: readonly AccessStreamSpec[], b: readonly AccessStreamSpec[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Drops the layouts of processes that exited (or lost their streams) without being asked about again. */
function sweepExited(k: Kernel, cache: Cache): void {
  for (const pid of [...cache.byPid.keys()]) if (!k.task(pid)) cache.byPid.delete(pid);
  cache.sweepAt = Math.max(MIN_SWEEP_AT, 2 * cache.byPid.size);
}

/**
 * Accesses/s of a stream on each 2 MiB region of its range: at(pmdIdx) is ratePerSec times the stream's
 * cached region mass (0 outside its range).
 */
class RegionRates {
  private readonly masses: Float64Array;
  private readonly base: number;

  constructor(private readonly spec: AccessStreamSpec) {
    this.masses = regionMasses(spec);
    this.base = Math.floor(spec.start / PAGE_SIZE / HPAGE_PMD_NR);
  }

  at(pmdIdx: number): number {
    const i = pmdIdx - this.base;
    return i >= 0 && i < this.masses.length ? this.spec.ratePerSec * this.masses[i] : 0;
  }
}

/** The 2 MiB regions [lo, hi) (PMD indices) that a stream's hot subset meets. */
function hotRegions(spec: AccessStreamSpec): { readonly lo: number; readonly hi: number } {
  const { firstPage, pages } = hotSubset(spec);
  return { lo: Math.floor(firstPage / HPAGE_PMD_NR), hi: Math.ceil((firstPage + pages) / HPAGE_PMD_NR) };
}

/** Per-stream hot-page counts at one threshold: element i is region hotRegions(spec).lo + i. */
interface StreamHotPages {
  readonly threshold: number;
  readonly hotPages: Uint16Array;
}

/** Thresholds whose per-region counts are kept per stream spec (oldest dropped first). */
const MAX_THRESHOLDS_PER_SPEC = 4;
const streamHotPages = new WeakMap<AccessStreamSpec, StreamHotPages[]>();

/**
 * The hot pages (pageAccessRate ≥ threshold) of one stream alone in each region its hot subset meets:
 * its runs from forEachPageRunAtLeast, computed once per spec and threshold (see the file comment).
 */
function hotPagesOf(spec: AccessStreamSpec, threshold: number): Uint16Array {
  let list = streamHotPages.get(spec);
  if (!list) streamHotPages.set(spec, (list = []));
  for (const e of list) if (e.threshold === threshold) return e.hotPages;
  const { firstPage, pages } = hotSubset(spec);
  const { lo, hi } = hotRegions(spec);
  const hot = new Uint16Array(hi - lo);
  forEachPageRunAtLeast(spec, threshold, firstPage, firstPage + pages, (a, b) => {
    for (let p = Math.floor(a / HPAGE_PMD_NR); p * HPAGE_PMD_NR < b; p++) {
      hot[p - lo] += Math.min(b, (p + 1) * HPAGE_PMD_NR) - Math.max(a, p * HPAGE_PMD_NR);
    }
  });
  list.push({ threshold, hotPages: hot });
  if (list.length > MAX_THRESHOLDS_PER_SPEC) list.shift();
  return hot;
}

/**
 * The hot pages of a region where several streams meet: their count and, when some but not all of the
 * 512 are hot, the hot runs as offsets in the region, [from0, to0, from1, to1, ...] ascending.
 */
interface OverlapHot {
  readonly count: number;
  readonly runs: Uint16Array | undefined;
}

const NONE_HOT: OverlapHot = { count: 0, runs: undefined };
const ALL_HOT: OverlapHot = { count: HPAGE_PMD_NR, runs: undefined };

/** Residual thresholds whose overlap regions are kept per varying stream spec (oldest dropped first). */
const MAX_RESIDUALS_PER_SPEC = 4;
/** Per varying spec: residual threshold → PMD index → the region's hot pages. */
const overlapCaches = new WeakMap<AccessStreamSpec, Map<number, Map<number, OverlapHot>>>();

/**
 * Which pages of region `pmdIdx` are hot when the streams `covering` (those whose hot subsets meet it, in
 * stream order) overlap there. When all but at most one of them give every page of the region the same
 * rate (a uniform or sequential stream whose hot subset spans the region), the hot pages are those where
 * the remaining stream's rate reaches the threshold less the constant rates: its runs, O(runs), cached
 * per (that stream's spec, that residual threshold, region). Otherwise the rates are summed page by page.
 */
function overlapHot(covering: readonly AccessStreamSpec[], pmdIdx: number, threshold: number): OverlapHot {
  const first = pmdIdx * HPAGE_PMD_NR;
  const end = first + HPAGE_PMD_NR;
  let constant = 0;
  let varying: AccessStreamSpec | undefined;
  let simple = true;
  for (const spec of covering) {
    const { firstPage, pages } = hotSubset(spec);
    const uniform = spec.pattern === 'uniform' || spec.pattern === 'sequential';
    if (uniform && firstPage <= first && firstPage + pages >= end) constant += pageAccessRate(spec, first);
    else if (varying === undefined) varying = spec;
    else simple = false;
  }
  if (simple) {
    const rest = threshold - constant;
    if (rest <= 0) return ALL_HOT;
    if (!varying) return NONE_HOT;
    let byRest = overlapCaches.get(varying);
    if (!byRest) overlapCaches.set(varying, (byRest = new Map<number, Map<number, OverlapHot>>()));
    let byRegion = byRest.get(rest);
    if (!byRegion) {
      if (byRest.size >= MAX_RESIDUALS_PER_SPEC) byRest.delete(byRest.keys().next().value as number);
      byRest.set(rest, (byRegion = new Map<number, OverlapHot>()));
    }
    let hot = byRegion.get(pmdIdx);
    if (!hot) {
      const runs: number[] = [];
      forEachPageRunAtLeast(varying, rest, first, end, (a, b) => runs.push(a - first, b - first));
      byRegion.set(pmdIdx, (hot = fromRuns(runs)));
    }
    return hot;
  }
  const sums = new Float64Array(HPAGE_PMD_NR);
  for (const spec of covering) addPageAccessRates(spec, first, sums);
  const runs: number[] = [];
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    if (sums[i] < threshold) continue;
    if (runs.length > 0 && runs[runs.length - 1] === i) runs[runs.length - 1] = i + 1;
    else runs.push(i, i + 1);
  }
  return fromRuns(runs);
}

function fromRuns(runs: readonly number[]): OverlapHot {
  let count = 0;
  for (let i = 0; i < runs.length; i += 2) count += runs[i + 1] - runs[i];
  if (count === 0) return NONE_HOT;
  if (count === HPAGE_PMD_NR) return ALL_HOT;
  return { count, runs: Uint16Array.from(runs) };
}

/**
 * Builds the per-region hot counts of a set of streams (see the file comment for the cost): the regions
 * the streams' hot subsets meet are cut into segments, each met by the same streams; a segment met by
 * one stream copies that stream's cached counts, one met by several resolves each region by overlapHot.
 */
function buildLayout(specs: readonly AccessStreamSpec[], threshold: number): HotLayout {
  const active: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  const cuts: number[] = [];
  specs.forEach((spec, i) => {
    if (spec.ratePerSec === 0) return;
    const r = hotRegions(spec);
    active.push(i);
    lo.push(r.lo);
    hi.push(r.hi);
    cuts.push(r.lo, r.hi);
  });
  cuts.sort((a, b) => a - b);
  /** Segments [from, to) met by a stream, with the positions (in `active`) of the streams meeting them. */
  const segments: { readonly from: number; readonly to: number; readonly meeting: number[] }[] = [];
  let n = 0;
  for (let c = 0; c + 1 < cuts.length; c++) {
    const from = cuts[c];
    const to = cuts[c + 1];
    if (to === from) continue;
    const meeting: number[] = [];
    for (let j = 0; j < active.length; j++) if (lo[j] <= from && hi[j] >= to) meeting.push(j);
    if (meeting.length === 0) continue;
    segments.push({ from, to, meeting });
    n += to - from;
  }
  const layout: HotLayout = {
    threshold,
    pmdIdx: new Float64Array(n),
    hotPages: new Uint16Array(n),
    rate: new Float64Array(n),
    owner: new Int32Array(n),
    mixedHot: new Map(),
    accessRate: specs.reduce((sum, s) => sum + s.ratePerSec, 0),
  };
  let r = 0;
  for (const { from, to, meeting } of segments) {
    if (meeting.length === 1) {
      const j = meeting[0];
      const spec = specs[active[j]];
      const hot = hotPagesOf(spec, threshold);
      const rates = new RegionRates(spec);
      for (let p = from; p < to; p++, r++) {
        layout.pmdIdx[r] = p;
        layout.owner[r] = active[j];
        layout.hotPages[r] = hot[p - lo[j]];
        layout.rate[r] = rates.at(p);
      }
      continue;
    }
    const covering = meeting.map((j) => specs[active[j]]);
    const rates = covering.map((spec) => new RegionRates(spec));
    for (let p = from; p < to; p++, r++) {
      layout.pmdIdx[r] = p;
      layout.owner[r] = MIXED;
      let rate = 0;
      for (const rr of rates) rate += rr.at(p);
      layout.rate[r] = rate;
      const hot = overlapHot(covering, p, threshold);
      layout.hotPages[r] = hot.count;
      if (hot.runs) layout.mixedHot.set(r, hot.runs);
    }
  }
  return layout;
}
