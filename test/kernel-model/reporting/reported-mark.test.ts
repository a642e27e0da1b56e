// The Reported mark in the buddy allocator (kernel-model/mm/page-alloc.ts), on a bare zone: a block
// carries it while it stays on its free list and loses it when taken, merged or isolated; FPI_TO_TAIL
// puts a block behind the others, so allocations take unreported memory first; FPI_SKIP_REPORT_NOTIFY
// frees without waking reporting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ORDER, MigrateType, PageKind } from '../../../kernel-model/mm/constants.js';
import { BuddyAllocator, FPI_SKIP_REPORT_NOTIFY, FPI_TO_TAIL, Zone } from '../../../kernel-model/mm/page-alloc.js';
import { PageFrames, PG } from '../../../kernel-model/mm/page-flags.js';

/** One zone of `blocks` max-order blocks, all allocated as movable pages. */
function fullZone(blocks: number) {
  const frames = new PageFrames(blocks << MAX_ORDER);
  const zone = new Zone(0, 0, blocks << MAX_ORDER);
  const buddy = new BuddyAllocator(frames, [zone]);
  const take = (order: number): number => {
    const pfn = buddy.rmqueue(zone, order, MigrateType.Movable);
    for (let p = pfn; p >= 0 && p < pfn + (1 << order); p++) frames.initAllocated(p, PageKind.Anon);
    return pfn;
  };
  const all: number[] = [];
  for (let i = 0; i < blocks; i++) all.push(take(MAX_ORDER));
  return { frames, zone, buddy, take, all };
}

test('a Reported block keeps its mark on the list and loses it when allocated', () => {
  const { frames, zone, buddy, take, all } = fullZone(2);
  buddy.freePages(all[0], MAX_ORDER);
  buddy.setReported(zone, all[0]);
  assert.ok(frames.has(all[0], PG.reported));
  assert.equal(zone.nrReported, 1 << MAX_ORDER);
  const pfn = take(0);
  assert.equal(pfn, all[0]);
  assert.equal(zone.nrReported, 0, 'the split halves are not Reported');
  for (let p = all[0]; p < all[0] + (1 << MAX_ORDER); p++) assert.ok(!frames.has(p, PG.reported), `frame ${p}`);
});

test('merging with a freed buddy drops the mark', () => {
  const { frames, zone, buddy, take, all } = fullZone(1);
  buddy.freePages(all[0], MAX_ORDER);
  const a = take(9);
  const b = take(9);
  buddy.freePages(a, 9);
  buddy.setReported(zone, a);
  assert.equal(zone.nrReported, 512);
  buddy.freePages(b, 9);
  assert.equal(zone.nrReported, 0);
  assert.ok(frames.has(Math.min(a, b), PG.buddy) && frames.order[Math.min(a, b)] === MAX_ORDER);
  assert.ok(!frames.has(Math.min(a, b), PG.reported));
});

test('isolating a block (compaction\'s free scanner, reporting) drops the mark', () => {
  const { zone, buddy, all } = fullZone(1);
  buddy.freePages(all[0], MAX_ORDER);
  buddy.setReported(zone, all[0]);
  assert.equal(buddy.isolateFreeBlock(all[0]), MAX_ORDER);
  assert.equal(zone.nrReported, 0);
});

test('FPI_TO_TAIL puts a block behind the others: allocation takes the unreported one first', () => {
  const { zone, buddy, take, all } = fullZone(3);
  buddy.freePages(all[0], MAX_ORDER, FPI_TO_TAIL | FPI_SKIP_REPORT_NOTIFY);
  buddy.setReported(zone, all[0]);
  buddy.freePages(all[1], MAX_ORDER, FPI_TO_TAIL | FPI_SKIP_REPORT_NOTIFY);
  buddy.setReported(zone, all[1]);
  buddy.freePages(all[2], MAX_ORDER);
  assert.equal(take(MAX_ORDER), all[2]);
  assert.equal(take(MAX_ORDER), all[0]);
  assert.equal(take(MAX_ORDER), all[1]);
  assert.equal(zone.nrReported, 0);
});

test('a free of a block of page_reporting_order or more notifies reporting, unless FPI_SKIP_REPORT_NOTIFY', () => {
  const { buddy, take, all } = fullZone(2);
  let notified = 0;
  buddy.reportingOrder = 9;
  buddy.onReportableFree = () => notified++;
  buddy.freePages(all[0], MAX_ORDER, FPI_SKIP_REPORT_NOTIFY);
  assert.equal(notified, 0);
  buddy.freePages(all[1], MAX_ORDER);
  assert.equal(notified, 1);
  const p = take(0);
  const q = take(0);
  buddy.freePages(p, 0);
  assert.equal(notified, 1, 'an order-0 free that merges no further does not qualify');
  buddy.freePages(q, 0);
  assert.equal(notified, 2, 'the free that merges the block back to order 10 qualifies');
});
