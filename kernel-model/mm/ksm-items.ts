/**
 * KSM's reverse-map items (mm/ksm.c `struct ksm_rmap_item`): one per anonymous page of a mergeable VMA
 * that ksmd has scanned, keyed by (mm, address). They live in a pool of typed arrays, a struct of arrays
 * indexed by item id, so that a million scanned pages cost a million array slots and no JavaScript
 * object each:
 *
 *   mm          i32  id of the owning mm slot
 *   address     f64  the page-aligned virtual address
 *   flags       u16  SEQNR_MASK (low 8 bits of the scan that put it in the unstable tree)
 *                    | UNSTABLE_FLAG | STABLE_FLAG, as Linux keeps them in the address's low bits
 *   oldChecksum f64  the page's checksum at the last visit (NO_CHECKSUM before the first)
 *   age, skips  u8   smart scan: visits without merging, and visits still to skip
 *   next        i32  the mm's list of items, by address (rmap_list); the free list for free items
 *   head        i32  STABLE: its stable node | UNSTABLE: the unstable tree (node id) it sits in
 *   hnext/hprev i32  the stable node's list of items (hlist)
 *
 * 40 bytes per item (Linux: 64, `sizeof(struct ksm_rmap_item)`, which is what ksm_stat and
 * general_profit charge). The checksum is the page's content value (see PageFrames.content): equal
 * content, equal checksum. Linux zero-fills a new item, so its first checksum compare fails unless the
 * hash happens to be 0; the model cannot start at 0 (the checksum of a zero-filled page), hence
 * NO_CHECKSUM.
 */

/** Low bits of the unstable tree's sequence number (`SEQNR_MASK`). */
export const SEQNR_MASK = 0xff;
/** The item is a node of the unstable tree. */
export const UNSTABLE_FLAG = 0x100;
/** The item is listed from a stable node. */
export const STABLE_FLAG = 0x200;
/** oldChecksum of an item whose page was never checksummed. */
export const NO_CHECKSUM = -1;

/** The pool of rmap items. */
export class RmapItems {
  mm: Int32Array;
  address: Float64Array;
  flags: Uint16Array;
  oldChecksum: Float64Array;
  age: Uint8Array;
  skips: Uint8Array;
  next: Int32Array;
  head: Int32Array;
  hnext: Int32Array;
  hprev: Int32Array;
  /** Items in use (`ksm_rmap_items`). */
  live = 0;
  private capacity: number;
  private top = 0;
  private freeList = -1;

  /** Bytes per item. */
  static readonly bytesPerItem = 4 + 8 + 2 + 8 + 1 + 1 + 4 + 4 + 4 + 4;

  constructor(initial = 1024) {
    this.capacity = initial;
    this.mm = new Int32Array(initial);
    this.address = new Float64Array(initial);
    this.flags = new Uint16Array(initial);
    this.oldChecksum = new Float64Array(initial);
    this.age = new Uint8Array(initial);
    this.skips = new Uint8Array(initial);
    this.next = new Int32Array(initial);
    this.head = new Int32Array(initial);
    this.hnext = new Int32Array(initial);
    this.hprev = new Int32Array(initial);
  }

  /** Bytes the pool holds. */
  get bytes(): number {
    return this.capacity * RmapItems.bytesPerItem;
  }

  /** A fresh item of mm slot `mm` at `address` (alloc_rmap_item: zeroed, no checksum yet). */
  alloc(mm: number, address: number): number {
    let id = this.freeList;
    if (id >= 0) this.freeList = this.next[id];
    else {
      if (this.top === this.capacity) this.grow();
      id = this.top++;
    }
    this.mm[id] = mm;
    this.address[id] = address;
    this.flags[id] = 0;
    this.oldChecksum[id] = NO_CHECKSUM;
    this.age[id] = 0;
    this.skips[id] = 0;
    this.next[id] = -1;
    this.head[id] = -1;
    this.hnext[id] = -1;
    this.hprev[id] = -1;
    this.live++;
    return id;
  }

  /** Returns an item (already out of every tree and list) to the pool. */
  free(id: number): void {
    this.mm[id] = -1;
    this.next[id] = this.freeList;
    this.freeList = id;
    this.live--;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const grow = <T extends Int32Array | Float64Array | Uint16Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.mm = grow(this.mm);
    this.address = grow(this.address);
    this.flags = grow(this.flags);
    this.oldChecksum = grow(this.oldChecksum);
    this.age = grow(this.age);
    this.skips = grow(this.skips);
    this.next = grow(this.next);
    this.head = grow(this.head);
    this.hnext = grow(this.hnext);
    this.hprev = grow(this.hprev);
    this.capacity = cap;
  }
}
