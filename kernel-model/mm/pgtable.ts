/**
 * PTE tables of every process, in one pool of typed arrays. A table has 512 entries (4 bytes each) and is
 * backed by a real frame of the machine (an unmovable page-table page, as in Linux, which is one of the
 * ways page tables fragment memory). A *slot* is `table × 512 + index` and names one PTE machine-wide;
 * the reverse map stores slots.
 *
 * PTE encoding:   0 = none   |   > 0 = present, frame (entry − 1)   |   < 0 = swap entry, slot (−entry − 1)
 * (the zero page is a present entry pointing at the zero-page frame).
 */
import { HPAGE_PMD_NR } from './constants.js';

/** Entries per table. */
export const PTRS_PER_PTE = HPAGE_PMD_NR;

/** Encodes a present PTE. */
export const ptePresent = (pfn: number): number => pfn + 1;
/** Encodes a swap PTE. */
export const pteSwap = (swapSlot: number): number => -swapSlot - 1;
/** The frame of a present PTE. */
export const ptePfn = (pte: number): number => pte - 1;
/** The swap slot of a swap PTE. */
export const pteSwapSlot = (pte: number): number => -pte - 1;

/** The pool of PTE tables. */
export class PageTables {
  entries: Int32Array;
  /** Owner pid, PMD index and backing frame of each table. */
  private owner: Int32Array;
  private pmdIdx: Float64Array;
  private backing: Int32Array;
  /** Non-none entries per table. */
  private used: Uint16Array;
  /** Bumped on every change of a table's entries (and on its reuse): lets readers cache what they derived. */
  private version: Uint32Array;
  /** 1 while a table is listed in `changed`. */
  private changedMark: Uint8Array;
  /** Tables whose entries changed (or that were allocated or released) since the last drainChanged, each once. */
  private changed: number[] = [];
  private capacity: number;
  private readonly freeTables: number[] = [];
  private next = 0;
  /** Tables in use. */
  live = 0;

  constructor(initialTables = 1024) {
    this.capacity = initialTables;
    this.entries = new Int32Array(initialTables * PTRS_PER_PTE);
    this.owner = new Int32Array(initialTables);
    this.pmdIdx = new Float64Array(initialTables);
    this.backing = new Int32Array(initialTables);
    this.used = new Uint16Array(initialTables);
    this.version = new Uint32Array(initialTables);
    this.changedMark = new Uint8Array(initialTables);
  }

  /** Bytes held by the pool (for the bench). */
  get bytes(): number {
    return this.capacity * (PTRS_PER_PTE * 4 + 4 + 8 + 4 + 2 + 4 + 1);
  }

  /** A new, empty table of `pid` at `pmdIndex`, backed by frame `pfn`. */
  alloc(pid: number, pmdIndex: number, pfn: number): number {
    let t = this.freeTables.pop();
    if (t === undefined) {
      if (this.next === this.capacity) this.grow();
      t = this.next++;
    }
    this.owner[t] = pid;
    this.pmdIdx[t] = pmdIndex;
    this.backing[t] = pfn;
    this.used[t] = 0;
    this.version[t]++;
    this.noteChange(t);
    this.entries.fill(0, t * PTRS_PER_PTE, (t + 1) * PTRS_PER_PTE);
    this.live++;
    return t;
  }

  /** Returns a table to the pool; its entries must all be none. */
  release(t: number): void {
    this.owner[t] = -1;
    this.version[t]++;
    this.noteChange(t);
    this.freeTables.push(t);
    this.live--;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const grow = <T extends Int32Array | Float64Array | Uint8Array | Uint16Array | Uint32Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.entries = grow(this.entries, cap * PTRS_PER_PTE);
    this.owner = grow(this.owner, cap);
    this.pmdIdx = grow(this.pmdIdx, cap);
    this.backing = grow(this.backing, cap);
    this.used = grow(this.used, cap);
    this.version = grow(this.version, cap);
    this.changedMark = grow(this.changedMark, cap);
    this.capacity = cap;
  }

  get(slot: number): number {
    return this.entries[slot];
  }

  /** Sets an entry, keeping the table's used count. */
  set(slot: number, value: number): void {
    const t = Math.floor(slot / PTRS_PER_PTE);
    const old = this.entries[slot];
    if (old === 0 && value !== 0) this.used[t]++;
    else if (old !== 0 && value === 0) this.used[t]--;
    this.entries[slot] = value;
    this.version[t]++;
    this.noteChange(t);
  }

  private noteChange(t: number): void {
    if (this.changedMark[t] !== 0) return;
    this.changedMark[t] = 1;
    this.changed.push(t);
  }

  /**
   * Calls visit(t) once for every table changed since the last call (entries set, allocated or released;
   * a released table's owner is −1) and forgets them. One consumer (the access streams) drains the list;
   * it holds each table at most once, so it stays bounded when nobody drains it.
   */
  drainChanged(visit: (t: number) => void): void {
    const list = this.changed;
    if (list.length === 0) return;
    this.changed = [];
    for (const t of list) {
      this.changedMark[t] = 0;
      visit(t);
    }
  }

  /** A number that changes whenever table `t`'s entries change. */
  versionOf(t: number): number {
    return this.version[t];
  }

  ownerOf(t: number): number {
    return this.owner[t];
  }

  pmdIndexOf(t: number): number {
    return this.pmdIdx[t];
  }

  backingFrame(t: number): number {
    return this.backing[t];
  }

  /** Points the table at a new backing frame (after compaction migrated the page-table page). */
  setBackingFrame(t: number, pfn: number): void {
    this.backing[t] = pfn;
  }

  usedEntries(t: number): number {
    return this.used[t];
  }

  /** The virtual address a slot maps. */
  addressOf(slot: number): number {
    const t = Math.floor(slot / PTRS_PER_PTE);
    return (this.pmdIdx[t] * PTRS_PER_PTE + (slot % PTRS_PER_PTE)) * 4096;
  }
}
