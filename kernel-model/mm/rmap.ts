/**
 * The reverse map (Linux mm/rmap.c): from a frame to the page-table entries that map it, so reclaim,
 * migration and compaction can find and rewrite them. A frame mapped once (the common case) keeps its
 * one PTE slot in the frame array (`link0`); the second (after a fork) sits in an integer hash map and
 * the rest in a map of lists, so that a fork's parent-and-child sharing allocates nothing per page. PMD
 * mappings of THPs are kept per head frame as (pid, PMD index) pairs.
 *
 * A KSM page is one frame mapped by up to millions of PTEs across processes: once a frame's side list
 * grows past RMAP_INDEX_MIN entries it also gets a slot → position index, so that removing one mapping
 * (a sharer's copy-on-write, unmap or unmerge) stays O(1) instead of a search of the list. The index costs
 * a Map entry (~50 bytes) per mapping, and only for such widely shared frames.
 *
 * Invariant (property-tested): a frame's mapcount equals the number of PTE slots recorded for it, and
 * every recorded slot holds a present PTE pointing at that frame.
 */
import { Cost } from './costs.js';
import { IntMap } from './int-map.js';
import { PG, type PageFrames } from './page-flags.js';

/** Side-list length from which a frame's mappings are indexed by slot. */
const RMAP_INDEX_MIN = 64;

/** A PMD mapping of a THP. */
export interface PmdMapping {
  readonly pid: number;
  readonly pmdIndex: number;
}

/** The reverse map. */
export class Rmap {
  /** The second mapping of frames mapped at least twice (the common fork case: parent and child). */
  private readonly second = new IntMap();
  /** The third mapping onward. */
  private readonly extra = new Map<number, number[]>();
  private readonly pmdMappers = new Map<number, PmdMapping[]>();
  /** For frames with long side lists: slot → its position in `extra`. */
  private readonly index = new Map<number, Map<number, number>>();

  constructor(private readonly frames: PageFrames) {}

  /** Records that PTE `slot` maps `pfn` (page_add_anon_rmap); mapcount + 1. */
  addPte(pfn: number, slot: number): void {
    const f = this.frames;
    const count = f.getMapcount(pfn);
    if (count === 0) f.link0[pfn] = slot;
    else if (count === 1) this.second.set(pfn, slot);
    else {
      const list = this.extra.get(pfn);
      if (list) {
        list.push(slot);
        const pos = this.index.size > 0 ? this.index.get(pfn) : undefined;
        if (pos) pos.set(slot, list.length - 1);
        else if (list.length >= RMAP_INDEX_MIN) this.index.set(pfn, new Map(list.map((s, i) => [s, i])));
      } else this.extra.set(pfn, [slot]);
    }
    f.setMapcount(pfn, count + 1);
  }

  /** Forgets PTE `slot` of `pfn`; returns the new mapcount. */
  removePte(pfn: number, slot: number): number {
    const f = this.frames;
    const count = f.getMapcount(pfn);
    if (f.link0[pfn] === slot) f.link0[pfn] = count > 1 ? this.takeSecond(pfn) : -1;
    else if (count > 1 && this.second.get(pfn) === slot) this.takeSecond(pfn);
    else this.removeExtra(pfn, slot);
    f.setMapcount(pfn, count - 1);
    return count - 1;
  }

  /** Removes and returns the second mapping of `pfn`, moving one of the rest (if any) into its place. */
  private takeSecond(pfn: number): number {
    const slot = this.second.get(pfn);
    const list = this.extra.get(pfn);
    if (list === undefined) {
      this.second.delete(pfn);
      return slot;
    }
    const moved = list.pop()!;
    this.second.set(pfn, moved);
    const pos = this.index.size > 0 ? this.index.get(pfn) : undefined;
    pos?.delete(moved);
    if (list.length === 0) {
      this.extra.delete(pfn);
      this.index.delete(pfn);
    }
    return slot;
  }

  private removeExtra(pfn: number, slot: number): void {
    const list = this.extra.get(pfn);
    if (list === undefined) throw new Error(`rmap: slot ${slot} does not map pfn ${pfn}`);
    const pos = this.index.size > 0 ? this.index.get(pfn) : undefined;
    const i = pos ? (pos.get(slot) ?? -1) : list.indexOf(slot);
    if (i < 0) throw new Error(`rmap: slot ${slot} does not map pfn ${pfn}`);
    const last = list.pop()!;
    if (i < list.length) {
      list[i] = last;
      pos?.set(last, i);
    }
    pos?.delete(slot);
    if (list.length === 0) {
      this.extra.delete(pfn);
      this.index.delete(pfn);
    }
  }

  /** Every PTE slot mapping `pfn`. */
  ptesOf(pfn: number): number[] {
    const count = this.frames.getMapcount(pfn);
    if (count === 0) return [];
    const first = this.frames.link0[pfn];
    if (count === 1) return [first];
    const rest = this.extra.get(pfn);
    return rest ? [first, this.second.get(pfn), ...rest] : [first, this.second.get(pfn)];
  }

  /** Moves every PTE record of `from` to `to` (migration: the caller rewrites the PTEs). */
  moveAll(from: number, to: number): void {
    const f = this.frames;
    f.link0[to] = f.link0[from]!;
    f.setMapcount(to, f.getMapcount(from));
    const second = this.second.get(from);
    if (second >= 0) {
      this.second.delete(from);
      this.second.set(to, second);
    }
    const rest = this.extra.get(from);
    if (rest) {
      this.extra.delete(from);
      this.extra.set(to, rest);
    }
    const pos = this.index.get(from);
    if (pos) {
      this.index.delete(from);
      this.index.set(to, pos);
    }
    const pmds = this.pmdMappers.get(from);
    if (pmds) {
      this.pmdMappers.delete(from);
      this.pmdMappers.set(to, pmds);
    }
    f.link0[from] = -1;
    f.setMapcount(from, 0);
  }

  /**
   * CPU time (ms) of one rmap walk over `mappings` mappings of the page at `pfn` (try_to_unmap,
   * try_to_migrate and remove_migration_ptes pay it). A KSM page's walk visits its stable node's
   * rmap_items one by one (rmap_walk_ksm), each dearer than an anon_vma walk's step; see Cost.
   */
  walkCostMs(pfn: number, mappings = this.frames.getMapcount(pfn)): number {
    return mappings * (this.frames.has(pfn, PG.ksm) ? Cost.ksmRmapItem : Cost.rmapPerMapping);
  }

  addPmd(head: number, mapping: PmdMapping): void {
    const list = this.pmdMappers.get(head);
    if (list) list.push(mapping);
    else this.pmdMappers.set(head, [mapping]);
  }

  removePmd(head: number, pid: number, pmdIndex: number): number {
    const list = this.pmdMappers.get(head);
    const i = list ? list.findIndex((m) => m.pid === pid && m.pmdIndex === pmdIndex) : -1;
    if (!list || i < 0) throw new Error(`rmap: pid ${pid} pmd ${pmdIndex} does not map THP ${head}`);
    list.splice(i, 1);
    if (list.length === 0) this.pmdMappers.delete(head);
    return list.length;
  }

  /** PMD mappings of the THP headed by `head`. */
  pmdsOf(head: number): readonly PmdMapping[] {
    return this.pmdMappers.get(head) ?? [];
  }

  /** Number of PMD mappings of a THP (its entire mapcount). */
  pmdMapcount(head: number): number {
    return this.pmdMappers.get(head)?.length ?? 0;
  }
}
