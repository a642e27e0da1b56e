/**
 * A hash map from non-negative 32-bit integer keys to 32-bit integer values, in two typed arrays
 * (open addressing, linear probing, tombstones). For maps with hundreds of thousands of entries that
 * come and go in bursts — a fork shares every page of a process and its child's exit unshares them —
 * where a JavaScript Map spends most of the time in its own bookkeeping and the collector.
 */

const EMPTY = -1;
const DELETED = -2;
const MIN_CAPACITY = 1024;

export class IntMap {
  private keys: Int32Array;
  private values: Int32Array;
  private mask: number;
  /** Live entries. */
  private live = 0;
  /** Live entries plus tombstones: what probing walks through. */
  private occupied = 0;

  constructor(capacity = MIN_CAPACITY) {
    const size = 1 << Math.ceil(Math.log2(Math.max(MIN_CAPACITY, capacity)));
    this.keys = new Int32Array(size).fill(EMPTY);
    this.values = new Int32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.live;
  }

  /** The value of `key`, or `missing` when it has none. */
  get(key: number, missing = -1): number {
    const keys = this.keys;
    for (let i = hash(key) & this.mask; ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key) return this.values[i];
      if (k === EMPTY) return missing;
    }
  }

  has(key: number): boolean {
    return this.slotOf(key) >= 0;
  }

  set(key: number, value: number): void {
    if (key < 0 || !Number.isInteger(key) || key > 0x7fffffff) throw new RangeError(`IntMap key must be a non-negative int32 (got ${key})`);
    const keys = this.keys;
    let tomb = -1;
    let i = hash(key) & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key) {
        this.values[i] = value;
        return;
      }
      if (k === EMPTY) break;
      if (k === DELETED && tomb < 0) tomb = i;
    }
    if (tomb >= 0) i = tomb;
    else this.occupied++;
    keys[i] = key;
    this.values[i] = value;
    this.live++;
    if (this.occupied * 2 > keys.length) this.rehash(this.live * 4 > keys.length ? keys.length * 2 : keys.length);
  }

  delete(key: number): boolean {
    const i = this.slotOf(key);
    if (i < 0) return false;
    this.keys[i] = DELETED;
    this.live--;
    return true;
  }

  private slotOf(key: number): number {
    const keys = this.keys;
    for (let i = hash(key) & this.mask; ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key) return i;
      if (k === EMPTY) return -1;
    }
  }

  /** Rebuilds the table at `size` slots without its tombstones. */
  private rehash(size: number): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Int32Array(size).fill(EMPTY);
    this.values = new Int32Array(size);
    this.mask = size - 1;
    this.occupied = this.live;
    for (let j = 0; j < oldKeys.length; j++) {
      const key = oldKeys[j];
      if (key < 0) continue;
      let i = hash(key) & this.mask;
      while (this.keys[i] !== EMPTY) i = (i + 1) & this.mask;
      this.keys[i] = key;
      this.values[i] = oldValues[j];
    }
  }
}

/** Fibonacci hashing: consecutive keys (neighbouring frames) land far apart. */
function hash(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 7;
}
