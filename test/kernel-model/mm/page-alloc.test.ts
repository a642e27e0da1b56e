// The buddy allocator (kernel-model/mm/page-alloc.ts) on its own: PageFrames, Zones and the
// BuddyAllocator, no Kernel. Property tests drive random allocations and frees and check the free lists'
// invariants after every step; a model-based test compares it with a deliberately simple bitmap
// allocator; unit tests pin down fallback, pageblock claiming and the watermarks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_ORDER, MigrateType, NR_MIGRATETYPES, PAGEBLOCK_NR_PAGES, PageKind } from '../../../kernel-model/mm/constants.js';
import { BuddyAllocator, FPI_SKIP_REPORT_NOTIFY, FPI_TO_TAIL, WMARK_HIGH, WMARK_LOW, WMARK_MIN, Zone } from '../../../kernel-model/mm/page-alloc.js';
import { PageFrames, PG } from '../../../kernel-model/mm/page-flags.js';

const MAX_BLOCK = 1 << MAX_ORDER;
/** What each allocatable migratetype's pages are (Unmovable, Movable, Reclaimable). */
const KIND_OF_MT: readonly PageKind[] = [PageKind.KernelUnmovable, PageKind.Anon, PageKind.SlabReclaimable];

interface Machine {
  readonly frames: PageFrames;
  readonly zones: readonly Zone[];
  readonly buddy: BuddyAllocator;
}

interface Allocation {
  readonly pfn: number;
  readonly order: number;
}

/** Zones of the given numbers of max-order blocks, laid out one after the other from PFN 0. */
function makeMachine(blocksPerZone: readonly number[]): Machine {
  let start = 0;
  const zones = blocksPerZone.map((blocks, node) => {
    const zone = new Zone(node, start, start + blocks * MAX_BLOCK);
    start += blocks * MAX_BLOCK;
    return zone;
  });
  const frames = new PageFrames(start);
  return { frames, zones, buddy: new BuddyAllocator(frames, zones) };
}

/** rmqueue plus what prep_new_page does to the frames; returns the allocation or undefined. */
function allocate(m: Machine, zone: Zone, order: number, mt: MigrateType): Allocation | undefined {
  const pfn = m.buddy.rmqueue(zone, order, mt);
  if (pfn < 0) return undefined;
  for (let p = pfn; p < pfn + (1 << order); p++) m.frames.initAllocated(p, KIND_OF_MT[mt]);
  return { pfn, order };
}

/** Allocates every frame of `zone` as `mt` in max-order blocks. */
function fillZone(m: Machine, zone: Zone, mt: MigrateType): void {
  while (allocate(m, zone, MAX_ORDER, mt) !== undefined);
  assert.equal(zone.nrFree, 0);
}

/** Sets a pageblock's migratetype and moves its free pages to that type's lists. */
function setBlockType(m: Machine, zone: Zone, blockStart: number, mt: MigrateType): void {
  m.buddy.setPageblockMt(zone, blockStart, mt);
  m.buddy.moveFreePagesBlock(zone, blockStart, mt);
}

function freePagesOfType(zone: Zone, mt: MigrateType): number {
  let n = 0;
  for (let order = 0; order <= MAX_ORDER; order++) n += zone.blocks(order, mt) << order;
  return n;
}

/**
 * The free lists' invariants for one zone, given every live allocation in it:
 *  - each list is a well-formed doubly linked list whose length is its freeCount;
 *  - each free block lies inside the zone, is aligned to its order, and its head carries PG_buddy, its
 *    order and (in the mapcount slot) the list's migratetype;
 *  - free blocks and allocations never overlap, and together they cover the whole zone;
 *  - nrFree = Σ 2^order over the listed blocks, and no frame carries PG_buddy unless it heads one;
 *  - each list's tail is its last block, and nrReported = Σ 2^order over the blocks marked Reported;
 *  - no two free buddies of the same order coexist.
 */
function checkZone(m: Machine, zone: Zone, allocations: readonly Allocation[]): void {
  const f = m.frames;
  const size = zone.endPfn - zone.startPfn;
  const owner = new Uint8Array(size);
  const FREE = 1;
  const USED = 2;
  let freePages = 0;
  let reportedPages = 0;
  let heads = 0;
  const blocks: Allocation[] = [];
  for (let order = 0; order <= MAX_ORDER; order++) {
    for (let mt = 0; mt < NR_MIGRATETYPES; mt++) {
      let length = 0;
      let prev = -1;
      for (let pfn = zone.freeHead[order * NR_MIGRATETYPES + mt]; pfn >= 0; prev = pfn, pfn = f.link0[pfn]) {
        assert.ok(++length <= size, `list (${order}, ${mt}) loops`);
        assert.ok(zone.contains(pfn) && pfn + (1 << order) <= zone.endPfn, `free block ${pfn} order ${order} outside its zone`);
        assert.equal((pfn - zone.startPfn) % (1 << order), 0, `free block ${pfn} not aligned to order ${order}`);
        assert.ok(f.has(pfn, PG.buddy), `listed block ${pfn} lacks PG_buddy`);
        assert.equal(f.order[pfn], order, `block ${pfn} on the order-${order} list says order ${f.order[pfn]}`);
        assert.equal(f.mapcount[pfn], mt, `block ${pfn} on list ${mt} records list ${f.mapcount[pfn]}`);
        assert.equal(f.link1[pfn], prev, `block ${pfn}: broken prev link`);
        for (let i = 0; i < 1 << order; i++) {
          assert.equal(owner[pfn - zone.startPfn + i], 0, `frame ${pfn + i} is in two free blocks`);
          owner[pfn - zone.startPfn + i] = FREE;
        }
        freePages += 1 << order;
        if (f.has(pfn, PG.reported)) reportedPages += 1 << order;
        blocks.push({ pfn, order });
      }
      assert.equal(length, zone.blocks(order, mt), `freeCount of list (${order}, ${mt})`);
      assert.equal(zone.freeTail[order * NR_MIGRATETYPES + mt], prev, `tail of list (${order}, ${mt})`);
    }
  }
  assert.equal(freePages, zone.nrFree, 'nrFree disagrees with the lists');
  assert.equal(reportedPages, zone.nrReported, 'nrReported disagrees with the Reported marks');
  for (let pfn = zone.startPfn; pfn < zone.endPfn; pfn++) if (f.has(pfn, PG.buddy)) heads++;
  assert.equal(heads, blocks.length, 'a frame carries PG_buddy without heading a listed block');
  for (const a of allocations) {
    if (!zone.contains(a.pfn)) continue;
    for (let i = 0; i < 1 << a.order; i++) {
      assert.equal(owner[a.pfn - zone.startPfn + i], 0, `allocated frame ${a.pfn + i} is also free or allocated twice`);
      owner[a.pfn - zone.startPfn + i] = USED;
    }
  }
  const lost = owner.indexOf(0);
  assert.equal(lost, -1, `frame ${zone.startPfn + lost} is neither free nor allocated`);
  for (const { pfn, order } of blocks) {
    if (order === MAX_ORDER) continue;
    const buddy = zone.startPfn + ((pfn - zone.startPfn) ^ (1 << order));
    const unmerged = f.has(buddy, PG.buddy) && f.order[buddy] === order;
    assert.ok(!unmerged, `free buddies ${pfn} and ${buddy} of order ${order} were not merged`);
  }
}

/** Every in-use range of a zone as order-0 allocations (for checking invariants after raw rmqueues). */
function allocatedRanges(m: Machine, zone: Zone): Allocation[] {
  const out: Allocation[] = [];
  for (let p = zone.startPfn; p < zone.endPfn; p++) {
    if (m.frames.has(p, PG.buddy)) p += (1 << m.frames.order[p]) - 1;
    else if (m.frames.kind(p) !== PageKind.Free) out.push({ pfn: p, order: 0 });
  }
  return out;
}

function checkMachine(m: Machine, allocations: readonly Allocation[]): void {
  for (const zone of m.zones) checkZone(m, zone, allocations);
}

/** After everything is freed, each zone is whole max-order blocks again, as at boot. */
function assertPristine(m: Machine): void {
  for (const zone of m.zones) {
    assert.equal(zone.nrFree, zone.managed);
    let maxBlocks = 0;
    for (let mt = 0; mt < NR_MIGRATETYPES; mt++) {
      maxBlocks += zone.blocks(MAX_ORDER, mt);
      for (let order = 0; order < MAX_ORDER; order++) assert.equal(zone.blocks(order, mt), 0, `order-${order} blocks left`);
    }
    assert.equal(maxBlocks, zone.managed / MAX_BLOCK);
  }
}

// ---- property tests --------------------------------------------------------------------------------

type Op = { op: 'alloc'; zone: number; order: number; mt: MigrateType } | { op: 'free'; index: number; tail: boolean; report: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('alloc' as const),
    zone: fc.nat(1),
    order: fc.integer({ min: 0, max: MAX_ORDER }),
    mt: fc.constantFrom(MigrateType.Unmovable, MigrateType.Movable, MigrateType.Reclaimable),
  }),
  // Frees may go to the tail of their list and be marked Reported, as free page reporting's are.
  fc.record({ op: fc.constant('free' as const), index: fc.nat(), tail: fc.boolean(), report: fc.boolean() }),
);

test('property: after any allocations and frees the free lists are consistent, and freeing all restores boot', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 20, maxLength: 150, size: 'max' }), (ops) => {
      const m = makeMachine([2, 1]);
      const live: Allocation[] = [];
      for (const op of ops) {
        if (op.op === 'alloc') {
          const a = allocate(m, m.zones[op.zone], op.order, op.mt);
          if (a) {
            assert.ok(m.zones[op.zone].contains(a.pfn), 'allocated from the wrong zone');
            live.push(a);
          }
        } else if (live.length > 0) {
          const [a] = live.splice(op.index % live.length, 1);
          m.buddy.freePages(a.pfn, a.order, op.tail ? FPI_TO_TAIL | FPI_SKIP_REPORT_NOTIFY : 0);
          if (op.report) m.buddy.setReported(m.buddy.zoneOf(a.pfn), a.pfn);
        }
        checkMachine(m, live);
      }
      for (const a of live.splice(0)) m.buddy.freePages(a.pfn, a.order);
      checkMachine(m, live);
      assertPristine(m);
    }),
    { numRuns: 100 },
  );
});

test('property: fragmenting with order-0 pages and freeing in any order merges back to max-order blocks', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 1, max: 1023 }), (seed, keepEvery) => {
      const m = makeMachine([2]);
      const zone = m.zones[0];
      const live: Allocation[] = [];
      for (let a = allocate(m, zone, 0, MigrateType.Movable); a; a = allocate(m, zone, 0, MigrateType.Movable)) live.push(a);
      // Free all but every keepEvery-th page, in a seeded shuffled order, then the rest.
      const order = live.map((a, i) => ({ a, key: Math.imul(i + 1, seed) >>> 0 })).sort((x, y) => x.key - y.key);
      const kept = order.filter((_, i) => i % keepEvery === 0).map((x) => x.a);
      for (const { a } of order.filter((_, i) => i % keepEvery !== 0)) m.buddy.freePages(a.pfn, a.order);
      checkMachine(m, kept);
      for (const a of kept) m.buddy.freePages(a.pfn, a.order);
      assertPristine(m);
    }),
    { numRuns: 50 },
  );
});

// ---- model-based test against a bitmap allocator ---------------------------------------------------

/**
 * The reference: a bitmap of allocated frames and a free count. It knows nothing of orders or lists; it
 * only checks that what the buddy allocator hands out is inside the zone, aligned, and disjoint from
 * everything live, and that an allocation fails only when no aligned free range of its size exists.
 */
class BitmapModel {
  readonly used: Uint8Array;
  free: number;
  readonly live: Allocation[] = [];

  constructor(
    readonly start: number,
    readonly size: number,
  ) {
    this.used = new Uint8Array(size);
    this.free = size;
  }

  isFree(pfn: number, n: number): boolean {
    for (let i = 0; i < n; i++) if (this.used[pfn - this.start + i] !== 0) return false;
    return true;
  }

  hasAlignedFreeRange(n: number): boolean {
    for (let pfn = this.start; pfn + n <= this.start + this.size; pfn += n) if (this.isFree(pfn, n)) return true;
    return false;
  }

  mark(pfn: number, n: number, value: 0 | 1): void {
    this.used.fill(value, pfn - this.start, pfn - this.start + n);
    this.free += value === 1 ? -n : n;
  }
}

class AllocCommand implements fc.Command<BitmapModel, Machine> {
  constructor(
    readonly order: number,
    readonly mt: MigrateType,
  ) {}

  check(): boolean {
    return true;
  }

  run(model: BitmapModel, real: Machine): void {
    const n = 1 << this.order;
    const a = allocate(real, real.zones[0], this.order, this.mt);
    if (a === undefined) {
      assert.equal(model.hasAlignedFreeRange(n), false, `order-${this.order} allocation failed with an aligned free range left`);
    } else {
      assert.ok(a.pfn >= model.start && a.pfn + n <= model.start + model.size, `block ${a.pfn} outside the zone`);
      assert.equal((a.pfn - model.start) % n, 0, `block ${a.pfn} not aligned to order ${this.order}`);
      assert.ok(model.isFree(a.pfn, n), `block ${a.pfn} overlaps a live allocation`);
      model.mark(a.pfn, n, 1);
      model.live.push(a);
    }
    assert.equal(real.zones[0].nrFree, model.free);
  }

  toString(): string {
    return `alloc(order ${this.order}, mt ${this.mt})`;
  }
}

class FreeCommand implements fc.Command<BitmapModel, Machine> {
  constructor(readonly index: number) {}

  check(model: Readonly<BitmapModel>): boolean {
    return model.live.length > 0;
  }

  run(model: BitmapModel, real: Machine): void {
    const [a] = model.live.splice(this.index % model.live.length, 1);
    real.buddy.freePages(a.pfn, a.order);
    model.mark(a.pfn, 1 << a.order, 0);
    assert.equal(real.zones[0].nrFree, model.free);
  }

  toString(): string {
    return `free(#${this.index})`;
  }
}

test('model-based: the buddy allocator agrees with a bitmap allocator on placement and free counts', () => {
  const commands = [
    fc
      .record({ order: fc.integer({ min: 0, max: MAX_ORDER }), mt: fc.constantFrom(MigrateType.Unmovable, MigrateType.Movable, MigrateType.Reclaimable) })
      .map(({ order, mt }) => new AllocCommand(order, mt)),
    fc.nat().map((i) => new FreeCommand(i)),
  ];
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 300, size: 'max' }), (cmds) => {
      // A zone that does not start at PFN 0, so relative and absolute alignment differ if mixed up.
      const m = makeMachine([1, 2]);
      const zone = m.zones[1];
      const real: Machine = { frames: m.frames, zones: [zone], buddy: m.buddy };
      fc.modelRun(() => ({ model: new BitmapModel(zone.startPfn, zone.managed), real }), cmds);
    }),
    { numRuns: 100 },
  );
});

// ---- fallback and pageblock claiming ---------------------------------------------------------------

test('an unmovable allocation in a fragmented all-movable zone claims a pageblock and boosts the watermark', () => {
  const m = makeMachine([2]);
  const zone = m.zones[0];
  m.buddy.setupWatermarks(1024, 10);
  const boosts: number[] = [];
  m.buddy.onBoost = (node) => boosts.push(node);
  fillZone(m, zone, MigrateType.Movable);
  // Free 300 pages of pageblock 2: more than half of it is free, none of it is a whole free pageblock.
  const block = 2 * PAGEBLOCK_NR_PAGES;
  for (let p = block; p < block + 300; p++) m.buddy.freePages(p, 0);

  const a = allocate(m, zone, 0, MigrateType.Unmovable);

  assert.ok(a !== undefined && a.pfn >= block && a.pfn < block + PAGEBLOCK_NR_PAGES, 'not served from the claimed block');
  assert.equal(zone.blockMt(block), MigrateType.Unmovable);
  assert.equal(freePagesOfType(zone, MigrateType.Movable), 0, 'free pages of the claimed block stayed on movable lists');
  assert.equal(freePagesOfType(zone, MigrateType.Unmovable), 299);
  assert.equal(zone.watermarkBoost, PAGEBLOCK_NR_PAGES);
  assert.equal(zone.wmark(WMARK_LOW), zone.watermark[WMARK_LOW] + PAGEBLOCK_NR_PAGES);
  assert.deepEqual(boosts, [0], 'kswapd was not asked to wake');
  for (const mt of [0, 1, 3]) assert.equal(zone.blockMt(mt * PAGEBLOCK_NR_PAGES), MigrateType.Movable);
});

test('a claim fails when under half of the pageblock is free or compatible; the watermark is boosted anyway', () => {
  const m = makeMachine([2]);
  const zone = m.zones[0];
  m.buddy.setupWatermarks(1024, 10);
  fillZone(m, zone, MigrateType.Movable);
  const block = 2 * PAGEBLOCK_NR_PAGES;
  for (let p = block; p < block + 100; p++) m.buddy.freePages(p, 0);

  const a = allocate(m, zone, 0, MigrateType.Unmovable);

  assert.ok(a !== undefined && a.pfn >= block && a.pfn < block + 100);
  assert.equal(zone.blockMt(block), MigrateType.Movable, 'the pageblock changed type');
  assert.ok(zone.watermarkBoost >= PAGEBLOCK_NR_PAGES);
  checkZone(m, zone, allocatedRanges(m, zone));
});

/** A zone of two max-order blocks whose four pageblocks are all UNMOVABLE, with watermarks. */
function unmovableMachine(): Machine {
  const m = makeMachine([2]);
  m.buddy.setupWatermarks(1024, 10);
  for (let b = 0; b < 4; b++) setBlockType(m, m.zones[0], b * PAGEBLOCK_NR_PAGES, MigrateType.Unmovable);
  return m;
}

test('a movable order-0 request steals from another type without claiming or boosting', () => {
  const m = unmovableMachine();
  const zone = m.zones[0];

  const a = allocate(m, zone, 0, MigrateType.Movable);

  assert.ok(a !== undefined);
  for (let b = 0; b < 4; b++) assert.equal(zone.blockMt(b * PAGEBLOCK_NR_PAGES), MigrateType.Unmovable);
  assert.equal(zone.watermarkBoost, 0);
  assert.equal(freePagesOfType(zone, MigrateType.Movable), 0, 'the split halves went to movable lists');
  assert.equal(freePagesOfType(zone, MigrateType.Unmovable), 2 * MAX_BLOCK - 1);
});

/** A movable request of `order` in an all-UNMOVABLE zone claims a whole max-order block. */
function assertClaimsWholeBlock(order: number): void {
  const m = unmovableMachine();
  const zone = m.zones[0];
  const a = allocate(m, zone, order, MigrateType.Movable);
  assert.ok(a !== undefined);
  const first = a.pfn - (a.pfn % MAX_BLOCK);
  assert.equal(zone.blockMt(first), MigrateType.Movable, 'the pageblocks were not claimed');
  assert.equal(zone.blockMt(first + PAGEBLOCK_NR_PAGES), MigrateType.Movable);
  assert.equal(freePagesOfType(zone, MigrateType.Movable), MAX_BLOCK - (1 << order));
  assert.equal(zone.watermarkBoost, 0, 'taking a whole block does not boost');
}

test('a movable request of order 5 takes a whole foreign max-order block and retypes its pageblocks', () => {
  assertClaimsWholeBlock(5);
});

test('a movable request of order 4 (= pageblock_order / 2) claims too', () => {
  assertClaimsWholeBlock(4);
});

// ---- watermarks ------------------------------------------------------------------------------------

test('watermarks: min is shared by managed pages, low and high add max(min/4, managed × scale/10000)', () => {
  const m = makeMachine([16, 48]); // 16384 and 49152 pages
  const [small, large] = m.zones;
  const marks = (z: Zone): number[] => [z.watermark[WMARK_MIN], z.watermark[WMARK_LOW], z.watermark[WMARK_HIGH]];

  m.buddy.setupWatermarks(4096, 10); // 1024 pages of min, 1/4 and 3/4 of it per zone
  assert.deepEqual(marks(small), [256, 320, 384]); // step = max(64, 16)
  assert.deepEqual(marks(large), [768, 960, 1152]); // step = max(192, 49)

  m.buddy.setupWatermarks(4096, 1000); // a 10% scale factor dominates
  assert.deepEqual(marks(small), [256, 256 + 1638, 256 + 2 * 1638]);
  assert.deepEqual(marks(large), [768, 768 + 4915, 768 + 2 * 4915]);

  small.watermarkBoost = 100;
  assert.equal(small.wmark(WMARK_MIN), 356);
  assert.equal(small.wmark(WMARK_HIGH), 256 + 2 * 1638 + 100);
});

test('watermarkOk: free pages minus the request must exceed the mark, and a large enough block must exist', () => {
  const m = makeMachine([16]);
  const zone = m.zones[0];
  assert.equal(m.buddy.watermarkOk(zone, 0, 16383), true);
  assert.equal(m.buddy.watermarkOk(zone, 0, 16384), false, 'free ≤ mark');
  assert.equal(m.buddy.watermarkOk(zone, 9, 16384 - 512), true);
  assert.equal(m.buddy.watermarkOk(zone, 9, 16384 - 511), false, 'the request itself does not count');

  fillZone(m, zone, MigrateType.Movable);
  for (let p = 1; p < zone.endPfn; p += 2) m.buddy.freePages(p, 0);
  assert.equal(zone.nrFree, 8192);
  assert.equal(m.buddy.watermarkOk(zone, 0, 100), true);
  assert.equal(m.buddy.watermarkOk(zone, 1, 100), false, 'plenty free, but no order-1 block');
  assert.equal(m.buddy.hasFreeBlock(zone, 1), false);
});

// ---- the bulk path ------------------------------------------------------------------------------------

/** Everything the buddy allocator keeps, as plain arrays, for comparing two machines. */
function buddyState(m: Machine): unknown {
  const f = m.frames;
  return {
    frames: [f.flags, f.order, f.mapcount, f.link0, f.link1].map((a) => Array.from(a)),
    zones: m.zones.map((z) => ({ head: Array.from(z.freeHead), tail: Array.from(z.freeTail), count: Array.from(z.freeCount), nrFree: z.nrFree, blockFree: Array.from(z.blockFree), nrReported: z.nrReported })),
  };
}

test('property: rmqueueBulk takes the pages, and leaves the lists, exactly as as many order-0 rmqueue calls', () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { minLength: 10, maxLength: 80, size: 'max' }),
      fc.constantFrom(MigrateType.Unmovable, MigrateType.Movable, MigrateType.Reclaimable),
      fc.integer({ min: 1, max: 2 * MAX_BLOCK }),
      (ops, mt, max) => {
        const [a, b] = [makeMachine([2]), makeMachine([2])];
        for (const m of [a, b]) {
          const live: Allocation[] = [];
          for (const op of ops) {
            if (op.op === 'alloc') {
              const got = allocate(m, m.zones[0], op.order, op.mt);
              if (got) live.push(got);
            } else if (live.length > 0) {
              const [x] = live.splice(op.index % live.length, 1);
              m.buddy.freePages(x.pfn, x.order, op.tail ? FPI_TO_TAIL | FPI_SKIP_REPORT_NOTIFY : 0);
              if (op.report) m.buddy.setReported(m.buddy.zoneOf(x.pfn), x.pfn);
            }
          }
        }
        const out = new Int32Array(max);
        const n = a.buddy.rmqueueBulk(a.zones[0], mt, max, out, 0);
        const oneByOne: number[] = [];
        for (let i = 0; i < n; i++) oneByOne.push(b.buddy.rmqueue(b.zones[0], 0, mt));
        assert.deepEqual(Array.from(out.subarray(0, n)), oneByOne);
        // A page's frame holds leftovers of the free lists until prep_new_page initialises it, as
        // allocBulk does for every page it takes: compare what the allocator leaves after that.
        for (const [m, pages] of [[a, Array.from(out.subarray(0, n))], [b, oneByOne]] as const) for (const p of pages) m.frames.initAllocated(p, KIND_OF_MT[mt]);
        assert.deepEqual(buddyState(a), buddyState(b));
        if (n === 0) assert.ok(b.zones[0].freeHead.every((_, list) => list % NR_MIGRATETYPES !== mt || b.zones[0].freeHead[list] < 0));
      },
    ),
    { numRuns: 150 },
  );
});
