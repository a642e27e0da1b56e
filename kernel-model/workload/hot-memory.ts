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
 *                    and the threshold, and rebuilt only when they change. Building it:
 *                      a region covered by one stream: its hot pages come as runs from
 *                        forEachPageRunAtLeast — O(1) per stream for uniform, sequential and strides that
 *                        divide 4096; O(C + log H) per zipf stream (one run per chunk, C ≤ 65536);
 *                        O(pages) for other strides;
 *                      a region where several streams' hot subsets overlap: when all but one give the
 *                        whole region one rate (uniform or sequential spanning it), the runs of the
 *                        remaining stream at the threshold less those rates (a JVM's young generation over
 *                        its zipf old generation, rebuilt at every move of the young one); else a per-page
 *                        sum of their rates (addPageAccessRates, in stream order: the very sum a
 *                        brute-force scan of pageAccessRate makes), 512 × streams.
 *                    So the counts are exact: they equal a per-page comparison of pageAccessRate sums (up
 *                    to a rounding of the subtraction for a page whose rate sum equals the threshold).
 *   sample           O(regions): one `mm.pmd` lookup per region. A PMD-mapped region counts whole. A
 *                    PTE-mapped region with hot pages is counted exactly: an empty table means every hot
 *                    page is absent, a full table in an mm without swap entries means all are present (both
 *                    O(1)); otherwise the PTEs of the hot pages are read (≤ 512, the runs re-derived from
 *                    the stream in O(1 + 512/Q) for zipf, or from the cached per-page flags of an
 *                    overlap region).
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
  /** Per-page hot flags of the MIXED regions that have hot pages, by region index. */
  readonly mixedHot: Map<number, Uint8Array>;
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
      if (owner === MIXED) {
        const flags = layout.mixedHot.get(r)!;
        for (let i = 0; i < HPAGE_PMD_NR; i++) if (flags[i]) countPtes(base, i, i + 1);
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

/** Accesses/s of a stream on 2 MiB region `pmdIdx` (the stream's cached region masses; 0 outside its range). */
function regionRate(spec: AccessStreamSpec, pmdIdx: number): number {
  const i = pmdIdx - Math.floor(spec.start / PAGE_SIZE / HPAGE_PMD_NR);
  const masses = regionMasses(spec);
  return i >= 0 && i < masses.length ? spec.ratePerSec * masses[i] : 0;
}

/**
 * Which pages of the region at `first` are hot when several streams cover it. When all but at most one
 * of them give every page of the region the same rate (a uniform or sequential stream whose hot subset
 * spans the region), the hot pages are those where the remaining stream's rate reaches the threshold
 * less the constant rates: its runs, O(runs). Otherwise the rates are summed page by page.
 */
function mixedHotFlags(specs: readonly AccessStreamSpec[], first: number, threshold: number): Uint8Array {
  const flags = new Uint8Array(HPAGE_PMD_NR);
  const end = first + HPAGE_PMD_NR;
  let constant = 0;
  let varying: AccessStreamSpec | undefined;
  let simple = true;
  for (const spec of specs) {
    if (spec.ratePerSec <= 0) continue;
    const { firstPage, pages } = hotSubset(spec);
    if (firstPage >= end || firstPage + pages <= first) continue;
    const uniform = spec.pattern === 'uniform' || spec.pattern === 'sequential';
    if (uniform && firstPage <= first && firstPage + pages >= end) constant += pageAccessRate(spec, first);
    else if (varying === undefined) varying = spec;
    else simple = false;
  }
  if (simple) {
    const rest = threshold - constant;
    if (rest <= 0) flags.fill(1);
    else if (varying) forEachPageRunAtLeast(varying, rest, first, end, (a, b) => flags.fill(1, a - first, b - first));
    return flags;
  }
  const sums = new Float64Array(HPAGE_PMD_NR);
  for (const spec of specs) if (spec.ratePerSec > 0) addPageAccessRates(spec, first, sums);
  for (let i = 0; i < HPAGE_PMD_NR; i++) if (sums[i] >= threshold) flags[i] = 1;
  return flags;
}

/** Builds the per-region hot counts of a set of streams (see the file comment for the cost). */
function buildLayout(specs: readonly AccessStreamSpec[], threshold: number): HotLayout {
  const owners = new Map<number, number>();
  specs.forEach((spec, i) => {
    if (spec.ratePerSec === 0) return;
    const { firstPage, pages } = hotSubset(spec);
    for (let p = Math.floor(firstPage / HPAGE_PMD_NR); p * HPAGE_PMD_NR < firstPage + pages; p++) {
      const o = owners.get(p);
      owners.set(p, o === undefined || o === i ? i : MIXED);
    }
  });
  const keys = [...owners.keys()].sort((a, b) => a - b);
  const n = keys.length;
  const indexOf = new Map<number, number>();
  const layout: HotLayout = {
    threshold,
    pmdIdx: Float64Array.from(keys),
    hotPages: new Uint16Array(n),
    rate: new Float64Array(n),
    owner: Int32Array.from(keys, (p) => owners.get(p)!),
    mixedHot: new Map(),
    accessRate: specs.reduce((sum, s) => sum + s.ratePerSec, 0),
  };
  keys.forEach((p, r) => indexOf.set(p, r));

  specs.forEach((spec, i) => {
    if (spec.ratePerSec === 0) return;
    const { firstPage, pages } = hotSubset(spec);
    forEachPageRunAtLeast(spec, threshold, firstPage, firstPage + pages, (a, b) => {
      for (let p = Math.floor(a / HPAGE_PMD_NR); p * HPAGE_PMD_NR < b; p++) {
        const r = indexOf.get(p)!;
        if (layout.owner[r] !== i) continue;
        layout.hotPages[r] += Math.min(b, (p + 1) * HPAGE_PMD_NR) - Math.max(a, p * HPAGE_PMD_NR);
      }
    });
  });

  for (let r = 0; r < n; r++) {
    const first = keys[r] * HPAGE_PMD_NR;
    const owner = layout.owner[r];
    if (owner !== MIXED) {
      layout.rate[r] = regionRate(specs[owner], keys[r]);
      continue;
    }
    let rate = 0;
    for (const spec of specs) if (spec.ratePerSec > 0) rate += regionRate(spec, keys[r]);
    layout.rate[r] = rate;
    const flags = mixedHotFlags(specs, first, threshold);
    let count = 0;
    for (let i = 0; i < HPAGE_PMD_NR; i++) count += flags[i];
    layout.hotPages[r] = count;
    if (count > 0) layout.mixedHot.set(r, flags);
  }
  return layout;
}
