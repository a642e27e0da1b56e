/**
 * The swap device (Linux mm/swapfile.c, reduced): a fixed number of 4 KiB slots, each holding the
 * content value of the page swapped into it and a count of the swap PTEs referring to it (fork shares
 * swap entries, as swap_duplicate does). Free slots are a stack, so allocation is O(1).
 */

/** A swap device. */
export class SwapDevice {
  private readonly content: Int32Array;
  private readonly refs: Uint16Array;
  private readonly freeSlots: Int32Array;
  private nrFree: number;

  constructor(readonly totalSlots: number) {
    this.content = new Int32Array(totalSlots);
    this.refs = new Uint16Array(totalSlots);
    this.freeSlots = new Int32Array(totalSlots);
    for (let i = 0; i < totalSlots; i++) this.freeSlots[i] = totalSlots - 1 - i;
    this.nrFree = totalSlots;
  }

  get free(): number {
    return this.nrFree;
  }

  get used(): number {
    return this.totalSlots - this.nrFree;
  }

  /** Takes a slot for a page with `content`; -1 when the device is full. */
  alloc(content: number): number {
    if (this.nrFree === 0) return -1;
    const slot = this.freeSlots[--this.nrFree];
    this.content[slot] = content | 0;
    this.refs[slot] = 1;
    return slot;
  }

  /** One more swap PTE refers to the slot (fork). */
  dup(slot: number): void {
    this.refs[slot]++;
  }

  /** The content stored in a slot. */
  read(slot: number): number {
    return this.content[slot] >>> 0;
  }

  /** One swap PTE stops referring to the slot; the slot is freed with the last. */
  release(slot: number): void {
    if (--this.refs[slot] === 0) this.freeSlots[this.nrFree++] = slot;
  }
}
