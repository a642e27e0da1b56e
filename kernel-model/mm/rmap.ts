/**
 * The reverse map (Linux mm/rmap.c): from a frame to the page-table entries that map it, so reclaim,
 * migration and compaction can find and rewrite them. A frame mapped once (the common case) keeps its
 * one PTE slot in the frame array (`link0`); further mappings (after fork) sit in a side map. PMD
 * mappings of THPs are kept per head frame as (pid, PMD index) pairs.
 *
 * Invariant (property-tested): a frame's mapcount equals the number of PTE slots recorded for it, and
 * every recorded slot holds a present PTE pointing at that frame.
 */
import type { PageFrames } from './page-flags.js';

/** A PMD mapping of a THP. */
export interface PmdMapping {
  readonly pid: number;
  readonly pmdIndex: number;
}

/** The reverse map. */
export class Rmap {
  private readonly extra = new Map<number, number[]>();
  private readonly pmdMappers = new Map<number, PmdMapping[]>();

  constructor(private readonly frames: PageFrames) {}

  /** Records that PTE `slot` maps `pfn` (page_add_anon_rmap); mapcount + 1. */
  addPte(pfn: number, slot: number): void {
    const f = this.frames;
    const count = f.getMapcount(pfn);
    if (count === 0) f.link0[pfn] = slot;
    else {
      const list = this.extra.get(pfn);
      if (list) list.push(slot);
      else this.extra.set(pfn, [slot]);
    }
    f.setMapcount(pfn, count + 1);
  }

  /** Forgets PTE `slot` of `pfn`; returns the new mapcount. */
  removePte(pfn: number, slot: number): number {
    const f = this.frames;
    const count = f.getMapcount(pfn);
    const list = this.extra.get(pfn);
    if (f.link0[pfn] === slot) {
      if (list && list.length > 0) {
        f.link0[pfn] = list.pop()!;
        if (list.length === 0) this.extra.delete(pfn);
      } else f.link0[pfn] = -1;
    } else if (list) {
      const i = list.indexOf(slot);
      if (i < 0) throw new Error(`rmap: slot ${slot} does not map pfn ${pfn}`);
      list[i] = list[list.length - 1]!;
      list.pop();
      if (list.length === 0) this.extra.delete(pfn);
    } else throw new Error(`rmap: slot ${slot} does not map pfn ${pfn}`);
    f.setMapcount(pfn, count - 1);
    return count - 1;
  }

  /** Every PTE slot mapping `pfn`. */
  ptesOf(pfn: number): number[] {
    if (this.frames.getMapcount(pfn) === 0) return [];
    const first = this.frames.link0[pfn];
    const rest = this.extra.get(pfn);
    return rest ? [first, ...rest] : [first];
  }

  /** Moves every PTE record of `from` to `to` (migration: the caller rewrites the PTEs). */
  moveAll(from: number, to: number): void {
    const f = this.frames;
    f.link0[to] = f.link0[from]!;
    f.setMapcount(to, f.getMapcount(from));
    const rest = this.extra.get(from);
    if (rest) {
      this.extra.delete(from);
      this.extra.set(to, rest);
    }
    const pmds = this.pmdMappers.get(from);
    if (pmds) {
      this.pmdMappers.delete(from);
      this.pmdMappers.set(to, pmds);
    }
    f.link0[from] = -1;
    f.setMapcount(from, 0);
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
