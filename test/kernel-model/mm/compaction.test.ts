// Compaction (kernel-model/mm/compaction.ts) on a small machine built without the Kernel: PageFrames,
// one Zone, the BuddyAllocator, and a migration stand-in that copies a page's state into the target
// compaction hands it and frees the source. Every page carries a unique content value, so a test can
// tell that compaction moved pages without losing or duplicating any.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Engine } from '../../../kernel-model/engine/engine.js';
import { Prng } from '../../../kernel-model/engine/prng.js';
import {
  COMPACT_MAX_DEFER_SHIFT,
  Compaction,
  HPAGE_FRAG_CHECK_INTERVAL_MS,
  fragmentationScoreWmark,
  type CompactionHost,
  type CompactionMigrateResult,
  type CompactionMigrator,
  type CompactionPsi,
} from '../../../kernel-model/mm/compaction.js';
import { MAX_ORDER, MigrateType, PAGEBLOCK_NR_PAGES, PageKind } from '../../../kernel-model/mm/constants.js';
import { Cost } from '../../../kernel-model/mm/costs.js';
import { defaultPolicy } from '../../../kernel-model/mm/mempolicy.js';
import { MmStruct, StallCause, Task } from '../../../kernel-model/mm/mm-types.js';
import { BuddyAllocator, Zone } from '../../../kernel-model/mm/page-alloc.js';
import { PageFrames, PG } from '../../../kernel-model/mm/page-flags.js';
import { Vm, VmStat } from '../../../kernel-model/mm/vmstat.js';

const THP_ORDER = 9;

// ---- the rig ---------------------------------------------------------------------------------------

/** Migration stand-in: copies flags and content into the target, frees the source, never moves a THP. */
class CopyingMigration implements CompactionMigrator {
  migrated = 0;
  /** PFNs compaction asked to migrate that could not be (it should have known better). */
  readonly refused: number[] = [];

  constructor(
    private readonly frames: PageFrames,
    private readonly buddy: BuddyAllocator,
  ) {}

  isMovable(pfn: number): boolean {
    const f = this.frames;
    const kind = f.kind(pfn);
    return (kind === PageKind.Anon || kind === PageKind.PageCache) && !f.has(pfn, PG.pinned) && !f.has(pfn, PG.isolated);
  }

  migratePage(pfn: number, allocTarget: (order: number) => number): CompactionMigrateResult {
    const f = this.frames;
    if (f.has(pfn, PG.head) || f.has(pfn, PG.tail)) throw new Error(`compaction tried to migrate THP frame ${pfn}`);
    if (!this.isMovable(pfn)) {
      this.refused.push(pfn);
      return { ok: false, reason: f.has(pfn, PG.pinned) ? 'pinned' : 'unmovable', costMs: Cost.migrateFixed };
    }
    const target = allocTarget(0);
    if (target < 0) return { ok: false, reason: 'nomem', costMs: Cost.migrateFixed };
    if (f.has(target, PG.buddy) || f.kind(target) !== PageKind.Free) throw new Error(`target ${target} is not an isolated free frame`);
    f.flags[target] = f.flags[pfn];
    f.order[target] = 0;
    f.link1[target] = f.link1[pfn];
    this.buddy.freePages(pfn, 0);
    this.migrated++;
    return { ok: true, costMs: Cost.migrateFixed + Cost.copyPage };
  }
}

/** Records every memstall call. */
class RecordingPsi implements CompactionPsi {
  readonly calls: { task: Task | undefined; ms: number; full: boolean }[] = [];

  memstall(task: Task | undefined, ms: number, full: boolean): void {
    this.calls.push({ task, ms, full });
  }
}

interface Rig {
  readonly frames: PageFrames;
  /** Node 0's zone. */
  readonly zone: Zone;
  readonly zones: readonly Zone[];
  readonly buddy: BuddyAllocator;
  readonly vmstat: VmStat;
  readonly engine: Engine;
  readonly tunables: { compactionProactiveness: number; extfragThreshold: number };
  readonly migration: CopyingMigration;
  readonly psi: RecordingPsi;
  readonly compaction: Compaction;
}

interface RigOptions {
  /** Pageblocks per node (64). */
  readonly pageblocks?: number;
  /** Nodes, one zone each (1). */
  readonly nodes?: number;
  readonly minFreeKbytes?: number;
  readonly proactiveness?: number;
}

/**
 * `nodes` nodes of one zone of `pageblocks` pageblocks each, everything free; watermarks from
 * `minFreeKbytes` (1024: min 256, low 320, high 384 pages on one node of 64 pageblocks).
 */
function makeRig(opts: RigOptions = {}): Rig {
  const nodePages = (opts.pageblocks ?? 64) * PAGEBLOCK_NR_PAGES;
  const nodes = opts.nodes ?? 1;
  const frames = new PageFrames(nodePages * nodes);
  const zones = Array.from({ length: nodes }, (_, node) => new Zone(node, node * nodePages, (node + 1) * nodePages));
  const buddy = new BuddyAllocator(frames, zones);
  buddy.setupWatermarks((opts.minFreeKbytes ?? 1024) * nodes, 10);
  const vmstat = new VmStat(nodes);
  const engine = new Engine();
  const tunables = { compactionProactiveness: opts.proactiveness ?? 0, extfragThreshold: 500 };
  const migration = new CopyingMigration(frames, buddy);
  const psi = new RecordingPsi();
  const host: CompactionHost = { frames, zones, buddy, vmstat, tunables, migration, engine, psi };
  return { frames, zone: zones[0], zones, buddy, vmstat, engine, tunables, migration, psi, compaction: new Compaction(host) };
}

/** Allocates every frame of every zone as a movable anonymous LRU page whose content is its PFN + 1. */
function fillMovable(rig: Rig): void {
  const { frames, buddy } = rig;
  for (const zone of rig.zones) {
    for (let pfn = buddy.rmqueue(zone, MAX_ORDER, MigrateType.Movable); pfn >= 0; pfn = buddy.rmqueue(zone, MAX_ORDER, MigrateType.Movable)) {
      for (let p = pfn; p < pfn + (1 << MAX_ORDER); p++) {
        frames.initAllocated(p, PageKind.Anon);
        frames.set(p, PG.lru);
        frames.setContent(p, p + 1);
      }
    }
    assert.equal(zone.nrFree, 0);
  }
}

/** Frees every frame `free(pfn)` selects. */
function freeWhere(rig: Rig, free: (pfn: number) => boolean): void {
  for (let pfn = 0; pfn < rig.frames.count; pfn++) if (free(pfn)) rig.buddy.freePages(pfn, 0);
}

/** The classic fragmented zone: all movable, every odd page free, so no free block above order 0. */
function fragmentedRig(opts: RigOptions = {}): Rig {
  const rig = makeRig(opts);
  fillMovable(rig);
  freeWhere(rig, (pfn) => pfn % 2 === 1);
  return rig;
}

/** Turns an allocated frame into an unmovable kernel page. */
function makeUnmovable(rig: Rig, pfn: number): void {
  rig.frames.initAllocated(pfn, PageKind.KernelUnmovable);
  rig.frames.setContent(pfn, pfn + 1);
}

/** Sets a pageblock's migratetype and moves its free pages to that type's lists. */
function setBlockType(rig: Rig, block: number, mt: MigrateType): void {
  const start = rig.zone.startPfn + block * PAGEBLOCK_NR_PAGES;
  rig.buddy.setPageblockMt(rig.zone, start, mt);
  rig.buddy.moveFreePagesBlock(rig.zone, start, mt);
}

function newTask(): Task {
  return new Task(100, 1, 'allocator', 0, new Set(), true, 0, defaultPolicy, '/', new MmStruct(), 0);
}

function event(rig: Rig, item: number, node = 0): number {
  return rig.vmstat.node(node, item);
}

/** Sorted content values of every in-use page: the multiset compaction must preserve. */
function contents(rig: Rig): number[] {
  const out: number[] = [];
  for (let p = 0; p < rig.frames.count; p++) if (rig.frames.kind(p) !== PageKind.Free) out.push(rig.frames.content(p));
  return out.sort((a, b) => a - b);
}

/**
 * Every frame is either inside exactly one free buddy block or in use; the free blocks add up to nrFree.
 * A frame that is neither was isolated by compaction and never given back.
 */
function assertFramesConsistent(rig: Rig): void {
  for (const zone of rig.zones) assertZoneConsistent(rig.frames, zone);
}

function assertZoneConsistent(f: PageFrames, zone: Zone): void {
  let free = 0;
  for (let p = zone.startPfn; p < zone.endPfn; p++) {
    if (f.has(p, PG.buddy)) {
      const n = 1 << f.order[p];
      assert.equal((p - zone.startPfn) % n, 0, `free block at ${p} is not aligned to its order`);
      for (let i = 1; i < n; i++) assert.equal(f.kind(p + i), PageKind.Free, `frame ${p + i} is both free and in use`);
      free += n;
      p += n - 1;
      continue;
    }
    assert.notEqual(f.kind(p), PageKind.Free, `frame ${p} is neither free nor in use (leaked)`);
  }
  assert.equal(free, zone.nrFree, 'nrFree disagrees with the free blocks');
}

/** The free block (head PFN) covering `pfn`, or −1. */
function freeBlockCovering(rig: Rig, pfn: number): { head: number; order: number } | undefined {
  const f = rig.frames;
  for (let order = 0; order <= MAX_ORDER; order++) {
    const head = pfn - ((pfn - rig.zone.startPfn) % (1 << order));
    if (f.has(head, PG.buddy) && f.order[head] === order) return { head, order };
  }
  return undefined;
}

// ---- direct compaction -----------------------------------------------------------------------------

test('async direct compaction turns a fragmented zone into an order-9 free block, and charges the task', () => {
  const rig = fragmentedRig();
  const before = contents(rig);
  assert.equal(rig.buddy.hasFreeBlock(rig.zone, THP_ORDER), false);
  const task = newTask();

  assert.equal(rig.compaction.tryDirect([0], THP_ORDER, 'async', task), 'success');

  assert.ok(rig.buddy.hasFreeBlock(rig.zone, THP_ORDER), 'no order-9 block after compaction');
  assert.equal(event(rig, Vm.compact_stall), 1);
  assert.equal(event(rig, Vm.compact_success), 1);
  assert.equal(event(rig, Vm.compact_fail), 0);
  assert.ok(event(rig, Vm.compact_migrate_scanned) >= 256, 'migration scanner counted too little');
  assert.ok(event(rig, Vm.compact_free_scanned) > 0);
  // 256 movable pages of one pageblock were isolated, and at least as many free target pages.
  assert.ok(event(rig, Vm.compact_isolated) >= 512);
  assert.ok(rig.migration.migrated >= 256);
  const stall = task.stallMs[StallCause.directCompaction];
  assert.ok(stall > 0, 'the task was not charged');
  assert.deepEqual(rig.psi.calls, [{ task, ms: stall, full: true }]);
  assert.deepEqual(contents(rig), before, 'compaction lost or duplicated a page');
  assertFramesConsistent(rig);
});

test('direct compaction is skipped when free memory is short, and counts no stall', () => {
  const rig = makeRig();
  fillMovable(rig);
  freeWhere(rig, (pfn) => pfn % 64 === 1); // 512 free pages: below low watermark + 1024
  assert.equal(rig.compaction.compactionSuitable(rig.zone, THP_ORDER), false);
  assert.equal(rig.compaction.tryDirect([0], THP_ORDER, 'sync-light', newTask()), 'skipped');
  assert.equal(event(rig, Vm.compact_stall), 0);
  assert.equal(rig.migration.migrated, 0);
});

test('direct compaction tries the zones of the request in order and stops at the first that succeeds', () => {
  const rig = makeRig({ nodes: 3, pageblocks: 16 });
  fillMovable(rig);
  // Node 0: full, nothing to compact with. Nodes 1 and 2: fragmented into lone free pages.
  freeWhere(rig, (pfn) => pfn >= rig.zones[1].startPfn && pfn % 2 === 1);

  assert.equal(rig.compaction.tryDirect([0, 1, 2], THP_ORDER, 'async', newTask()), 'success');

  assert.equal(event(rig, Vm.compact_migrate_scanned, 0), 0, 'node 0 was not suitable');
  assert.ok(event(rig, Vm.compact_migrate_scanned, 1) > 0);
  assert.equal(event(rig, Vm.compact_migrate_scanned, 2), 0, 'node 2 need not be compacted');
  assert.ok(rig.buddy.hasFreeBlock(rig.zones[1], THP_ORDER));
  // The machine-wide events land on the request's first node.
  assert.equal(event(rig, Vm.compact_stall, 0), 1);
  assert.equal(event(rig, Vm.compact_success, 0), 1);
  assertFramesConsistent(rig);
});

test('async direct compaction only migrates from MOVABLE pageblocks; sync-light takes any', () => {
  // Lower half: RECLAIMABLE pageblocks of movable pages. Upper half: MOVABLE pageblocks, each pinned in
  // place by an unmovable page at its start, so async compaction finds no source it can empty.
  const rig = fragmentedRig();
  const half = 32;
  for (let block = 0; block < half; block++) setBlockType(rig, block, MigrateType.Reclaimable);
  for (let block = half; block < 64; block++) makeUnmovable(rig, block * PAGEBLOCK_NR_PAGES);
  const before = contents(rig);

  assert.equal(rig.compaction.tryDirect([0], THP_ORDER, 'async', newTask()), 'fail');
  assert.equal(rig.migration.migrated, 0);
  assert.equal(event(rig, Vm.compact_isolated), 0);

  assert.equal(rig.compaction.tryDirect([0], THP_ORDER, 'sync-light', newTask()), 'success');
  const freed = freeBlockCovering(rig, 0);
  assert.ok(freed !== undefined && freed.order >= THP_ORDER, 'the first RECLAIMABLE pageblock was not emptied');
  assert.deepEqual(contents(rig), before);
  assertFramesConsistent(rig);
});

test('a pageblock holding an unmovable page is never freed, and pinned pages stay put', () => {
  const rig = fragmentedRig();
  const unmovable = 5 * PAGEBLOCK_NR_PAGES + 100;
  const pinned = 7 * PAGEBLOCK_NR_PAGES + 200;
  makeUnmovable(rig, unmovable);
  rig.frames.set(pinned, PG.pinned);
  const pinnedContent = rig.frames.content(pinned);

  rig.compaction.compactMemory();

  assert.deepEqual(rig.migration.refused, [], 'compaction tried to migrate a page it should not isolate');
  assert.equal(rig.frames.kind(unmovable), PageKind.KernelUnmovable);
  assert.equal(rig.frames.content(unmovable), unmovable + 1);
  assert.equal(rig.frames.kind(pinned), PageKind.Anon);
  assert.equal(rig.frames.content(pinned), pinnedContent);
  for (const pfn of [unmovable, pinned]) {
    const block = pfn - (pfn % PAGEBLOCK_NR_PAGES);
    const biggest = Math.max(...[block, block + 256].map((p) => freeBlockCovering(rig, p)?.order ?? -1));
    assert.ok(biggest < THP_ORDER, `pageblock of ${pfn} became free`);
  }
  // Its neighbours, below the scanners' meeting point, were emptied.
  assert.ok((freeBlockCovering(rig, 4 * PAGEBLOCK_NR_PAGES)?.order ?? 0) >= THP_ORDER);
  assertFramesConsistent(rig);
});

test('a THP is stepped over whole and never migrated', () => {
  const rig = makeRig();
  fillMovable(rig);
  const head = 3 * PAGEBLOCK_NR_PAGES;
  const f = rig.frames;
  for (let p = head; p < head + PAGEBLOCK_NR_PAGES; p++) f.set(p, p === head ? PG.head : PG.tail);
  for (let p = head + 1; p < head + PAGEBLOCK_NR_PAGES; p++) f.clear(p, PG.lru);
  f.order[head] = THP_ORDER;
  freeWhere(rig, (p) => p % 2 === 1 && (p < head || p >= head + PAGEBLOCK_NR_PAGES));
  const before = contents(rig);
  rig.compaction.compactMemory(); // CopyingMigration throws if asked to move a THP frame
  assert.ok(f.has(head, PG.head));
  assert.equal(f.content(head), head + 1);
  assert.ok(rig.migration.migrated > 0);
  assert.deepEqual(contents(rig), before);
  assertFramesConsistent(rig);
});

test('failed synchronous compaction defers the zone by 2^defer_shift attempts, up to 64; success resets', () => {
  // Every pageblock has an unmovable first page: no order-9 block can ever be made.
  const rig = fragmentedRig();
  for (let block = 0; block < 64; block++) makeUnmovable(rig, block * PAGEBLOCK_NR_PAGES);
  const attempt = (): string => rig.compaction.tryDirect([0], THP_ORDER, 'sync-light', newTask());

  assert.equal(attempt(), 'fail');
  assert.deepEqual(rig.compaction.deferState(rig.zone), { considered: 0, deferShift: 1, orderFailed: 0 });
  let calls = 1;
  for (let shift = 1; shift <= COMPACT_MAX_DEFER_SHIFT + 1; shift++) {
    const expectedShift = Math.min(shift, COMPACT_MAX_DEFER_SHIFT);
    for (let i = 1; i < 1 << expectedShift; i++, calls++) assert.equal(attempt(), 'deferred', `shift ${expectedShift}, skip ${i}`);
    assert.equal(attempt(), 'fail', `shift ${expectedShift}: compaction should run again`);
    calls++;
    assert.equal(rig.compaction.deferState(rig.zone).deferShift, Math.min(shift + 1, COMPACT_MAX_DEFER_SHIFT));
  }
  // Deferred attempts still count as stalls and failures, as in __alloc_pages_direct_compact.
  assert.equal(event(rig, Vm.compact_stall), calls);
  assert.equal(event(rig, Vm.compact_fail), calls);

  // Memory freed elsewhere: the next attempt finds the allocation can succeed and resets the deferral.
  for (let p = 10 * PAGEBLOCK_NR_PAGES; p < 11 * PAGEBLOCK_NR_PAGES; p++) if (rig.frames.kind(p) !== PageKind.Free) rig.buddy.freePages(p, 0);
  assert.equal(attempt(), 'success');
  assert.deepEqual(rig.compaction.deferState(rig.zone), { considered: 0, deferShift: 0, orderFailed: THP_ORDER + 1 });
  assert.equal(event(rig, Vm.compact_success), 1);
  assertFramesConsistent(rig);
});

test('skip hints set by a failed pass are flushed when kswapd goes to sleep, where a sample finds use', () => {
  const rig = fragmentedRig();
  for (let block = 0; block < 64; block++) makeUnmovable(rig, block * PAGEBLOCK_NR_PAGES);
  assert.equal(rig.compaction.tryDirect([0], THP_ORDER, 'sync-light', newTask()), 'fail');
  const skipped = (from: number, to: number): number => {
    let n = 0;
    for (let block = from; block < to; block++) if (rig.compaction.isPageblockSkipped(block * PAGEBLOCK_NR_PAGES)) n++;
    return n;
  };
  // The lower half was emptied down to its unmovable pages, the upper half filled: all marked but the
  // block where the scanners met.
  assert.ok(skipped(0, 64) >= 62, `only ${skipped(0, 64)} pageblocks marked`);
  // The next direct attempt (after its deferral) finds nothing to scan.
  assert.equal(rig.compaction.tryDirect([0], THP_ORDER, 'sync-light', newTask()), 'deferred');

  // A page frees up in the top pageblock; then kswapd goes to sleep (reset_isolation_suitable).
  const topBlock = 63 * PAGEBLOCK_NR_PAGES;
  rig.buddy.freePages(topBlock + 8, 0);
  rig.compaction.wakeKcompactd(0, THP_ORDER);
  // Walking down from the top, the first block with a free page restarts the free scanner; every block
  // below it with free or LRU pages is cleared. Walking up from the bottom, blocks left with nothing but
  // their unmovable page are no migration source: they stay marked.
  assert.equal(skipped(32, 64), 0);
  for (let block = 0; block < 32; block++) {
    let inUse = 0;
    for (let p = block * PAGEBLOCK_NR_PAGES; p < (block + 1) * PAGEBLOCK_NR_PAGES; p++) if (rig.frames.kind(p) !== PageKind.Free) inUse++;
    if (inUse === 1) assert.ok(rig.compaction.isPageblockSkipped(block * PAGEBLOCK_NR_PAGES), `block ${block} was cleared`);
  }
  assert.ok(skipped(0, 32) >= 30);
});

// ---- indices and suitability -----------------------------------------------------------------------

test('fragmentation, unusable and extfrag indices match hand-computed values', () => {
  const rig = makeRig({ pageblocks: 2 });
  fillMovable(rig);
  const { compaction, zone } = rig;
  assert.equal(compaction.fragmentationIndex(zone, THP_ORDER), 0, 'nothing free');
  assert.equal(compaction.unusableIndex(zone, THP_ORDER), 1000, 'nothing free');
  // Free: three lone pages, two order-2 blocks, one order-5 block = 43 pages in 6 blocks.
  freeWhere(rig, (p) => p === 1 || p === 3 || p === 5 || (p >= 16 && p < 20) || (p >= 24 && p < 28) || (p >= 64 && p < 96));
  assert.equal(zone.nrFree, 43);
  // 1000 - (1000 + 43000/512) / 6 = 1000 - 1083/6 = 820
  assert.equal(compaction.fragmentationIndex(zone, 9), 820);
  // 1000 - (1000 + 43000/64) / 6 = 1000 - 1671/6 = 722
  assert.equal(compaction.fragmentationIndex(zone, 6), 722);
  assert.equal(compaction.fragmentationIndex(zone, 5), -1000, 'an order-5 block is free');
  assert.equal(compaction.fragmentationIndex(zone, 0), -1000);
  assert.equal(compaction.unusableIndex(zone, 9), 1000);
  // order 2: 2 + 8 usable blocks of 4 pages = 40 of 43 pages → 3000/43 = 69
  assert.equal(compaction.unusableIndex(zone, 2), 69);
  assert.equal(compaction.unusableIndex(zone, 0), 0);
  // Zone score 100 (no free block of order 9), weighted by 1024 / 1025 pages.
  assert.equal(compaction.extfragScore(0), 99);
});

test('compaction_suitable needs low watermark + 2^(order+1) free and a fragmentation index above the threshold', () => {
  // Fragmented into lone pages: index 998 → suitable.
  const lone = fragmentedRig();
  assert.equal(lone.compaction.fragmentationIndex(lone.zone, THP_ORDER), 998);
  assert.equal(lone.compaction.compactionSuitable(lone.zone, THP_ORDER), true);

  // Free memory in order-8 blocks only: index 469 ≤ extfrag_threshold 500 → reclaim is the answer.
  const halves = makeRig();
  fillMovable(halves);
  freeWhere(halves, (p) => p % 1024 >= 256 && p % 1024 < 512);
  assert.equal(halves.compaction.fragmentationIndex(halves.zone, THP_ORDER), 469);
  assert.equal(halves.compaction.compactionSuitable(halves.zone, THP_ORDER), false);
  halves.tunables.extfragThreshold = 400;
  assert.equal(halves.compaction.compactionSuitable(halves.zone, THP_ORDER), true);
  // Non-costly orders ignore the index.
  halves.tunables.extfragThreshold = 1000;
  assert.equal(halves.compaction.compactionSuitable(halves.zone, THP_ORDER), false);
  assert.equal(halves.compaction.compactionSuitable(halves.zone, 3), true);

  // The watermark: min 256, low 320 (min_free_kbytes 1024 on 32768 pages) → order 9 needs > 1344 free.
  const exact = makeRig();
  fillMovable(exact);
  let freed = 0;
  freeWhere(exact, (p) => p % 2 === 1 && freed++ < 1344);
  assert.equal(exact.compaction.compactionSuitable(exact.zone, THP_ORDER), false);
  exact.buddy.freePages(exact.zone.endPfn - 2, 0);
  assert.equal(exact.compaction.compactionSuitable(exact.zone, THP_ORDER), true);
});

// ---- kcompactd, proactive and manual compaction ----------------------------------------------------

test('kcompactd, woken by kswapd for order 9, compacts the node in its own time', () => {
  const rig = fragmentedRig();
  rig.compaction.wakeKcompactd(0, THP_ORDER);
  assert.equal(rig.migration.migrated, 0, 'kcompactd must run as its own event, not inside kswapd');
  rig.engine.runUntil(0);
  assert.equal(event(rig, Vm.compact_daemon_wake), 1);
  assert.ok(rig.buddy.hasFreeBlock(rig.zone, THP_ORDER));
  assert.ok(event(rig, Vm.compact_daemon_migrate_scanned) > 0);
  assert.ok(event(rig, Vm.compact_daemon_free_scanned) > 0);
  assert.equal(event(rig, Vm.compact_stall), 0, 'kcompactd is not a direct compactor');
  assert.ok(rig.compaction.kcompactdCpuMs(0) > 0);
  assert.ok(rig.psi.calls.every((c) => c.task === undefined && !c.full));
});

test('proactive compaction runs every 500 ms until the fragmentation score is under the mark', () => {
  const rig = fragmentedRig({ proactiveness: 20 });
  const high = fragmentationScoreWmark(20, false);
  const low = fragmentationScoreWmark(20, true);
  assert.deepEqual([low, high], [80, 90]);
  assert.equal(rig.compaction.extfragScore(0), 99);
  rig.engine.runUntil(HPAGE_FRAG_CHECK_INTERVAL_MS - 1);
  assert.equal(rig.migration.migrated, 0, 'too early');
  rig.engine.runUntil(HPAGE_FRAG_CHECK_INTERVAL_MS);
  const score = rig.compaction.extfragScore(0);
  assert.ok(score <= low, `score ${score} is above the low mark ${low}`);
  assert.ok(score > 0, 'proactive compaction should stop at the low mark, not compact everything');
  assert.ok(event(rig, Vm.compact_daemon_migrate_scanned) > 0);
  assert.ok(rig.compaction.kcompactdCpuMs(0) > 0);
  // Under the mark, later checks do nothing.
  const migrated = rig.migration.migrated;
  rig.engine.runUntil(10 * HPAGE_FRAG_CHECK_INTERVAL_MS);
  assert.equal(rig.migration.migrated, migrated);
  assertFramesConsistent(rig);
});

test('compaction_proactiveness 0 turns proactive compaction off; writing it back on runs a check at once', () => {
  const rig = fragmentedRig({ proactiveness: 0 });
  rig.engine.runUntil(10 * HPAGE_FRAG_CHECK_INTERVAL_MS);
  assert.equal(rig.migration.migrated, 0);
  rig.tunables.compactionProactiveness = 20;
  rig.compaction.proactivenessChanged();
  rig.engine.runUntil(rig.engine.now);
  assert.ok(rig.compaction.extfragScore(0) <= fragmentationScoreWmark(20, true));
});

test('compact_memory leaves free memory in high-order blocks', () => {
  const rig = fragmentedRig();
  const free = rig.zone.nrFree;
  const before = contents(rig);
  const costMs = rig.compaction.compactMemory();
  assert.ok(costMs > 0);
  assert.equal(rig.zone.nrFree, free);
  const inBlocks = rig.buddy.freePagesInBlocks(rig.zone);
  assert.ok(inBlocks / free >= 0.95, `only ${inBlocks} of ${free} free pages are in pageblock-sized blocks`);
  assert.ok(rig.compaction.unusableIndex(rig.zone, THP_ORDER) <= 50);
  assert.deepEqual(contents(rig), before);
  assertFramesConsistent(rig);
});

test('property: any compaction of any fragmented zone conserves pages and keeps the buddy lists whole', () => {
  const scenario = fc.record({
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    freePercent: fc.integer({ min: 5, max: 95 }),
    unmovable: fc.integer({ min: 0, max: 40 }),
    pinned: fc.integer({ min: 0, max: 40 }),
    reclaimableBlocks: fc.integer({ min: 0, max: 8 }),
    how: fc.constantFrom('memory', 'async', 'sync-light', 'kcompactd', 'proactive'),
  });
  fc.assert(
    fc.property(scenario, (s) => {
      const rig = makeRig({ pageblocks: 16, minFreeKbytes: 256, proactiveness: s.how === 'proactive' ? 20 : 0 });
      fillMovable(rig);
      const prng = new Prng(s.seed);
      freeWhere(rig, () => prng.nextInt(100) < s.freePercent);
      const inUse: number[] = [];
      for (let p = 0; p < rig.zone.endPfn; p++) if (rig.frames.kind(p) !== PageKind.Free) inUse.push(p);
      const fixed = new Map<number, number>();
      for (let i = 0; i < s.unmovable + s.pinned && inUse.length > 0; i++) {
        const pfn = inUse[prng.nextInt(inUse.length)];
        if (i < s.unmovable) makeUnmovable(rig, pfn);
        else rig.frames.set(pfn, PG.pinned);
        fixed.set(pfn, rig.frames.content(pfn));
      }
      for (let b = 0; b < s.reclaimableBlocks; b++) setBlockType(rig, prng.nextInt(16), MigrateType.Reclaimable);
      const before = contents(rig);
      const free = rig.zone.nrFree;

      if (s.how === 'memory') rig.compaction.compactMemory();
      else if (s.how === 'async' || s.how === 'sync-light') rig.compaction.tryDirect([0], THP_ORDER, s.how, newTask());
      else if (s.how === 'kcompactd') {
        rig.compaction.wakeKcompactd(0, THP_ORDER);
        rig.engine.runUntil(0);
      } else rig.engine.runUntil(HPAGE_FRAG_CHECK_INTERVAL_MS);

      assert.equal(rig.zone.nrFree, free);
      assert.deepEqual(contents(rig), before);
      assert.deepEqual(rig.migration.refused, []);
      for (const [pfn, content] of fixed) assert.equal(rig.frames.content(pfn), content, `fixed page ${pfn} moved`);
      assertFramesConsistent(rig);
    }),
    { numRuns: 40 },
  );
});

// ---- performance -----------------------------------------------------------------------------------

test('compact_memory of a 16 GiB node 90% full of scattered movable pages takes well under a second', (t) => {
  // Slow-ish: building the 4 Mi-frame machine takes about half a second before the timed part.
  const pageblocks = (16 * 2 ** 30) / (PAGEBLOCK_NR_PAGES * 4096); // 8192 pageblocks = 4 Mi frames
  const rig = makeRig({ pageblocks, minFreeKbytes: 67584 });
  fillMovable(rig);
  const prng = new Prng(42);
  freeWhere(rig, () => prng.nextInt(10) === 0);
  assert.equal(rig.buddy.hasFreeBlock(rig.zone, THP_ORDER), false);
  const free = rig.zone.nrFree;

  const start = performance.now();
  rig.compaction.compactMemory();
  const wallMs = performance.now() - start;

  t.diagnostic(`16 GiB compact_memory: ${wallMs.toFixed(0)} ms wall, ${rig.migration.migrated} pages migrated`);
  assert.equal(rig.zone.nrFree, free);
  assert.ok(rig.buddy.freePagesInBlocks(rig.zone) / free > 0.9);
  assert.ok(wallMs < 1000, `compaction took ${wallMs.toFixed(0)} ms`);
});
