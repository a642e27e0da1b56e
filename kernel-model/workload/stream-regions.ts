/**
 * What an access stream knows of each 2 MiB region it covers, kept up to date at the cost of what
 * changed (the driver and the scheme are described in streams.ts):
 *
 *   classification  how the region is mapped — no entry, a PMD-mapped THP (local or remote), or a PTE
 *                   table whose local, remote and swapped shares are estimated from 8 sampled entries —
 *                   weighted by the region's access mass and added into running sums, so the stream's
 *                   mapping split is read in O(1). A region is reclassified only when the kernel reports
 *                   a change in it (`changed`).
 *   marking         the schedule of accessed-bit marking: started when the stream first sees the region
 *                   and restarted when its bits are cleared (`cleared`), then at τ = 1, 2, 4, ... ticks, up to the
 *                   expected number of distinct pages touched in τ ticks, until saturation. The pending
 *                   marks sit in a wheel keyed by tick, so a tick visits only the regions due.
 *
 * A region's pages are those of the stream's range inside it (the first and last regions may be partial).
 */
import { HPAGE_PMD_NR, PAGE_SIZE } from '../mm/constants.js';
import type { Task } from '../mm/mm-types.js';
import { PG } from '../mm/page-flags.js';
import { PTRS_PER_PTE, ptePfn } from '../mm/pgtable.js';
import { regionMasses, type AccessStreamSpec } from './access-pattern.js';
import type { MappingSplit } from './mmu-cost.js';
import type { Kernel } from '../kernel.js';

/** Expected accesses per page (a·τ/n) after which a region is marked no more: 1 − e^−2 ≈ 86% young. */
const MARK_SATURATION = 2;
/** Ticks after which a region too cold to reach one touched page is no longer scheduled. */
const MARK_HORIZON_TICKS = 2 ** 24;
/** PTEs sampled per small-page region to classify it. */
const PTE_SAMPLES = 8;
/** Running sums are recomputed exactly after this many incremental updates (floating-point drift). */
const EXACT_SUM_EVERY = 4096;
/** Mass shares below this are rounding residue of the running sums, not memory. */
const MASS_EPSILON = 1e-12;
/** The distance reported when no access is remote (a local access, as in node_distance). */
const LOCAL_DISTANCE = 20;

/** What the kernel reported of a region: its mapping changed, its accessed bits were cleared. */
const CHANGED = 1;
const CLEARED = 2;

/** Fields of a region's mapping fractions; the running sums hold each weighted by the regions' masses. */
const enum Sum {
  thpLocal,
  thpRemote,
  smallLocal,
  smallRemote,
  swapped,
  /** The remote share (THP and small). */
  remoteMass,
  /** The remote share times its mean node distance. */
  remoteDistance,
}
const FRAC_FIELDS = 7;

/** The stream's accesses split by mapping, as the MMU cost model takes it. */
export interface RegionSplit {
  readonly mapping: MappingSplit;
  /** Mean node distance of the remote accesses (20 when none is remote). */
  readonly remoteDistance: number;
  /** Every region with access mass is populated by present pages (none absent, swapped or zero). */
  readonly allPresent: boolean;
}

/** Per-region state of one stream's spec, on the node its task runs on. */
export class RegionState {
  /** PMD index of the first region. */
  readonly firstPmd: number;
  /** Regions covered. */
  readonly count: number;
  private masses: Float64Array;
  private readonly firstPage: number;
  private readonly endPage: number;
  /** Per region, how it is mapped (FRAC_FIELDS fractions) and whether it is incomplete (see RegionSplit.allPresent). */
  private readonly frac: Float64Array;
  private readonly incomplete: Uint8Array;
  /** Σ mass × fraction over the regions, and the number of incomplete regions with mass. */
  private readonly sums = new Float64Array(FRAC_FIELDS);
  private incompleteCount = 0;
  private updatesSinceExact = 0;
  /** Tick at which each region's marking restarted, pages marked since, and the tick of its next mark. */
  private readonly epoch: Float64Array;
  private readonly marked: Float64Array;
  private readonly due: Float64Array;
  /** Where each region's marking order starts in this round (see markPtes). */
  private readonly markOffset: Uint16Array;
  private readonly wheel = new Map<number, number[]>();
  /** Per region, what the kernel reported since the last update (CHANGED | CLEARED), and the regions reported. */
  private readonly pending: Uint8Array;
  private dirty: number[];

  constructor(
    public spec: AccessStreamSpec,
    readonly node: number,
    readonly tickSec: number,
  ) {
    this.masses = regionMasses(spec);
    this.count = this.masses.length;
    this.firstPage = spec.start / PAGE_SIZE;
    this.endPage = this.firstPage + spec.length / PAGE_SIZE;
    this.firstPmd = Math.floor(this.firstPage / HPAGE_PMD_NR);
    this.frac = new Float64Array(this.count * FRAC_FIELDS);
    this.incomplete = new Uint8Array(this.count);
    this.epoch = new Float64Array(this.count);
    this.marked = new Float64Array(this.count);
    this.due = new Float64Array(this.count).fill(Infinity);
    this.markOffset = new Uint16Array(this.count);
    // Nothing is known yet: every region is looked at on the first update.
    this.pending = new Uint8Array(this.count).fill(CHANGED | CLEARED);
    this.dirty = Array.from({ length: this.count }, (_, r) => r);
  }

  /** First virtual page of region r inside the stream's range. */
  firstPageOf(r: number): number {
    return Math.max(this.firstPage, (this.firstPmd + r) * HPAGE_PMD_NR);
  }

  /** Pages of region r inside the stream's range. */
  pagesOf(r: number): number {
    return Math.min(this.endPage, (this.firstPmd + r + 1) * HPAGE_PMD_NR) - this.firstPageOf(r);
  }

  /** Expected accesses per tick on region r. */
  accessesPerTick(r: number): number {
    return this.spec.ratePerSec * this.masses[r] * this.tickSec;
  }

  /** Whether `spec` covers the same range, so that retarget can keep what is known of the regions. */
  sameRange(spec: AccessStreamSpec): boolean {
    return spec.start === this.spec.start && spec.length === this.spec.length;
  }

  /**
   * A new spec over the same range (a phase: the hot set moves, the rate changes). How the regions are
   * mapped does not depend on the spec, so only the sums are reweighted; the regions whose access rate
   * changed restart their marking at `tick` (the next update marks them).
   */
  retarget(spec: AccessStreamSpec, tick: number): void {
    const old = this.masses;
    const oldRate = this.spec.ratePerSec;
    this.spec = spec;
    this.masses = regionMasses(spec);
    for (let r = 0; r < this.count; r++) {
      const mass = this.masses[r];
      if (mass === 0 || mass * spec.ratePerSec === old[r] * oldRate) continue;
      this.epoch[r] = tick;
      this.marked[r] = 0;
      this.schedule(r, tick);
    }
    this.exactSums();
  }

  /**
   * Whether the region holding virtual page `page` had every page present at the last update and has
   * not been reported changed since: a fault-path access there would find the page present.
   */
  settled(page: number): boolean {
    const r = Math.floor(page / HPAGE_PMD_NR) - this.firstPmd;
    return this.incomplete[r] === 0 && this.pending[r] === 0;
  }

  /** The kernel reported a change of the mapping at PMD index `pmdIdx`: the region (if ours) is reclassified. */
  changed(pmdIdx: number): void {
    this.note(pmdIdx - this.firstPmd, CHANGED);
  }

  /** The kernel reported accessed bits cleared at PMD index `pmdIdx`: the region's marking restarts. */
  cleared(pmdIdx: number): void {
    this.note(pmdIdx - this.firstPmd, CLEARED);
  }

  private note(r: number, what: number): void {
    if (r < 0 || r >= this.count) return;
    if (this.pending[r] === 0) this.dirty.push(r);
    this.pending[r] |= what;
  }

  /**
   * Acts on what the kernel reported, then makes the marks due at `tick`. A changed region is
   * reclassified; its accessed bits need no new marking, because every path that maps a page in the
   * model sets the frame's bit (a fault, a copy-on-write copy, population) or carries it over (fork,
   * migration, split, collapse) — except a THP, whose head is marked if the stream touches it. A region
   * whose bits were cleared starts marking again from τ = 1.
   */
  update(k: Kernel, task: Task, tick: number): void {
    const list = this.dirty;
    if (list.length > 0) {
      this.dirty = [];
      for (const r of list) {
        const what = this.pending[r];
        this.pending[r] = 0;
        if (what & CHANGED) this.reclassify(k, task, r);
        if (what & CLEARED) {
          this.epoch[r] = tick;
          this.marked[r] = 0;
          this.mark(k, task, r, tick);
        } else if ((task.mm.pmd.get(this.firstPmd + r) ?? 0) < 0) this.mark(k, task, r, tick);
      }
    }
    const due = this.wheel.get(tick);
    if (due === undefined) return;
    this.wheel.delete(tick);
    for (const r of due) if (this.due[r] === tick) this.mark(k, task, r, tick);
  }

  /** The current split of the stream's access mass by mapping. */
  split(): RegionSplit {
    const s = this.sums;
    const share = (i: Sum): number => (s[i] > MASS_EPSILON ? s[i] : 0);
    const parts = [share(Sum.thpLocal), share(Sum.thpRemote), share(Sum.smallLocal), share(Sum.smallRemote), share(Sum.swapped)];
    const total = parts[0] + parts[1] + parts[2] + parts[3] + parts[4] || 1;
    const remoteMass = share(Sum.remoteMass);
    return {
      mapping: { thpLocal: parts[0] / total, thpRemote: parts[1] / total, smallLocal: parts[2] / total, smallRemote: parts[3] / total, swapped: parts[4] / total },
      remoteDistance: remoteMass > 0 ? s[Sum.remoteDistance] / remoteMass : LOCAL_DISTANCE,
      allPresent: this.incompleteCount === 0,
    };
  }

  // ---- classification ------------------------------------------------------------------------------

  private reclassify(k: Kernel, task: Task, r: number): void {
    const base = r * FRAC_FIELDS;
    const mass = this.masses[r];
    this.addRegion(r, -mass);
    this.classify(k, task, r, base);
    this.addRegion(r, mass);
    if (++this.updatesSinceExact >= EXACT_SUM_EVERY) this.exactSums();
  }

  /** Adds region r's fractions, weighted by `weight` (its mass, or minus it to take it out), to the sums. */
  private addRegion(r: number, weight: number): void {
    if (weight === 0) return;
    const f = this.frac;
    const base = r * FRAC_FIELDS;
    for (let i = 0; i < FRAC_FIELDS; i++) this.sums[i] += weight * f[base + i];
    if (this.incomplete[r] !== 0) this.incompleteCount += weight > 0 ? 1 : -1;
  }

  /** The fractions of region r mapped each way (sampled for a PTE table), mass aside. */
  private classify(k: Kernel, task: Task, r: number, base: number): void {
    const f = this.frac;
    f.fill(0, base, base + FRAC_FIELDS);
    this.incomplete[r] = 0;
    const e = task.mm.pmd.get(this.firstPmd + r);
    if (e === undefined) {
      f[base + Sum.smallLocal] = 1;
      this.incomplete[r] = 1;
      return;
    }
    if (e < 0) {
      const head = -e - 1;
      if (head === k.huge.hugeZeroPfn) this.incomplete[r] = 1;
      const node = k.nodeOfPfn(head);
      if (node === task.node) f[base + Sum.thpLocal] = 1;
      else {
        f[base + Sum.thpRemote] = 1;
        f[base + Sum.remoteMass] = 1;
        f[base + Sum.remoteDistance] = k.distances[task.node][node];
      }
      return;
    }
    const first = this.firstPageOf(r) % PTRS_PER_PTE;
    const pages = this.pagesOf(r);
    let local = 0;
    let remote = 0;
    let swapped = 0;
    let distance = 0;
    const samples = Math.min(PTE_SAMPLES, pages);
    for (let i = 0; i < samples; i++) {
      const pte = k.pgtables.entries[e * PTRS_PER_PTE + first + Math.floor(((i + 0.5) * pages) / samples)];
      if (pte < 0) swapped++;
      else if (pte === 0) local++;
      else {
        const node = k.nodeOfPfn(ptePfn(pte));
        if (node === task.node) local++;
        else {
          remote++;
          distance += k.distances[task.node][node];
        }
      }
    }
    f[base + Sum.smallLocal] = local / samples;
    f[base + Sum.smallRemote] = remote / samples;
    f[base + Sum.swapped] = swapped / samples;
    f[base + Sum.remoteMass] = remote / samples;
    f[base + Sum.remoteDistance] = distance / samples;
    if (!ptesComplete(k, e, first, pages)) this.incomplete[r] = 1;
  }

  private exactSums(): void {
    this.sums.fill(0);
    this.incompleteCount = 0;
    for (let r = 0; r < this.count; r++) this.addRegion(r, this.masses[r]);
    this.updatesSinceExact = 0;
  }

  // ---- swap-in -------------------------------------------------------------------------------------

  /**
   * The major faults the stream's accesses take in one tick, and the swap-ins they do. An access that
   * finds its page swapped out faults it back in, and the accesses after it find it present: a region's
   * swapped pages cost one swap-in each for the distinct ones touched in the tick, swapped × (1 − e^(−a/n))
   * in expectation, not one per access. The swapped count per region is estimated from its sample, as
   * its mapping split is. Those faults are made through `fault` (at most `budget` of them, what a task can
   * wait for in a tick: beyond that the accesses are still waiting, and pay again next tick), so that
   * touched pages come back as they do on Linux rather than only when the fault path's bounded sample of
   * the stream's pages happens to hit one. Returns the expected faults of the tick (the accesses' cost).
   */
  swapInTouched(k: Kernel, task: Task, budget: number, fault: (addr: number) => void): number {
    const f = this.frac;
    let expected = 0;
    let carry = 0;
    for (let r = 0; r < this.count; r++) {
      const share = f[r * FRAC_FIELDS + Sum.swapped];
      if (share === 0 || this.masses[r] === 0) continue;
      const pages = this.pagesOf(r);
      const touched = share * pages * -Math.expm1(-this.accessesPerTick(r) / pages);
      expected += touched;
      carry += touched;
      const want = Math.min(Math.floor(carry), budget);
      carry -= Math.floor(carry);
      if (want === 0) continue;
      const t = task.mm.pmd.get(this.firstPmd + r);
      if (t === undefined || t < 0) continue;
      const firstPage = this.firstPageOf(r);
      const base = t * PTRS_PER_PTE + (firstPage % PTRS_PER_PTE);
      let done = 0;
      for (let i = 0; i < pages && done < want && task.alive; i++) {
        if (k.pgtables.entries[base + i] >= 0) continue;
        fault((firstPage + i) * PAGE_SIZE);
        done++;
      }
      budget -= done;
    }
    return expected;
  }

  // ---- marking -------------------------------------------------------------------------------------

  /** Marks region r as of `tick` (τ = tick − epoch + 1 ticks of accesses) and schedules its next mark. */
  private mark(k: Kernel, task: Task, r: number, tick: number): void {
    this.due[r] = Infinity;
    const e = task.mm.pmd.get(this.firstPmd + r);
    const a = this.accessesPerTick(r);
    if (e === undefined || a <= 0) return;
    const pages = this.pagesOf(r);
    const tau = tick - this.epoch[r] + 1;
    const touched = Math.round(pages * -Math.expm1((-a * tau) / pages));
    if (e < 0) {
      const head = -e - 1;
      if (touched > 0) {
        if (head !== k.huge.hugeZeroPfn) k.frames.set(head, PG.young);
        return;
      }
    } else if (touched > this.marked[r]) {
      if (this.marked[r] === 0) this.markOffset[r] = k.prng.nextInt(pages);
      markPtes(k, e, this.firstPageOf(r) % PTRS_PER_PTE, pages, this.markOffset[r], this.marked[r], touched);
      this.marked[r] = touched;
    }
    if ((a * tau) / pages >= MARK_SATURATION) return;
    const next = touched > 0 ? 2 * tau : Math.max(2 * tau, firstTouchTicks(a, pages));
    if (next > MARK_HORIZON_TICKS) return;
    this.schedule(r, this.epoch[r] + next - 1);
  }

  private schedule(r: number, tick: number): void {
    this.due[r] = tick;
    const slot = this.wheel.get(tick);
    if (slot) slot.push(r);
    else this.wheel.set(tick, [r]);
  }
}

/** The first τ at which a region of `pages` pages with `a` accesses per tick has one page touched (rounded). */
function firstTouchTicks(a: number, pages: number): number {
  return Math.ceil((-pages / a) * Math.log1p(-0.5 / pages));
}

/**
 * Sets the accessed bits of the pages at positions [from, to) of the region's marking order: page
 * (offset + i·g) mod count for the i-th, with g coprime to count near count/φ, so that any prefix of the
 * order is spread evenly over the region and a later, longer prefix contains the earlier one (marking
 * rounds add pages rather than redraw them).
 */
function markPtes(k: Kernel, t: number, first: number, count: number, offset: number, from: number, to: number): void {
  const g = goldenStride(count);
  const base = t * PTRS_PER_PTE + first;
  const entries = k.pgtables.entries;
  const flags = k.frames.flags;
  for (let i = from, at = (offset + from * g) % count; i < to; i++) {
    const pte = entries[base + at];
    if (pte > 0) flags[ptePfn(pte)] |= PG.young;
    at += g;
    if (at >= count) at -= count;
  }
}

const strides = new Map<number, number>();

/** The integer nearest n/φ that is coprime to n (1 for n ≤ 2). */
function goldenStride(n: number): number {
  let g = strides.get(n);
  if (g !== undefined) return g;
  g = Math.max(1, Math.round(n / 1.618033988749895));
  while (gcd(g, n) !== 1) g++;
  strides.set(n, g);
  return g;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Whether entries [first, first + count) of PTE table `t` all map a present page other than the zero page. */
function ptesComplete(k: Kernel, t: number, first: number, count: number): boolean {
  if (k.pgtables.usedEntries(t) < count) return false;
  const entries = k.pgtables.entries;
  const zero = k.zeroPfn;
  for (let i = t * PTRS_PER_PTE + first, end = i + count; i < end; i++) {
    const pte = entries[i];
    if (pte <= 0 || ptePfn(pte) === zero) return false;
  }
  return true;
}
