/**
 * Ageing a freshly booted machine into the state days of uptime leave it in: long-lived kernel
 * allocations (slab, page tables of long-gone processes, network buffers) scattered over many
 * pageblocks, and page cache filling what is left.
 *
 * How Linux gets there: the allocator groups unmovable allocations into their own pageblocks while
 * free pageblocks exist; once memory is full of movable pages with small holes between them (a busy
 * server), an unmovable request falls back to a movable pageblock and takes whatever small free block
 * it finds, without claiming the pageblock (mm/page_alloc.c: steal_suitable_fallback claims a pageblock
 * only when enough of it is free). Each such page pins its pageblock against compaction.
 *
 * The model replays that: per node, a transient process fills the free memory with huge pages, punches
 * holes of a few pages into a chosen share of them (MADV_DONTNEED, then the deferred-split shrinker
 * that memory pressure would run frees the holes), the kernel allocations are made then — they can only
 * land in those holes — and the process exits. The page cache is read last. All of it goes through the
 * model's own allocator, so the result is read back from the kernel, not assumed (`pageblockPollution`).
 * (Filling with huge pages rather than 4 KiB pages costs one fault per 2 MiB: ageing a 512 GiB machine
 * takes seconds, not minutes.)
 */
import type { SimKernel } from '../../kernel-model/index.js';
import { kernelOf, PageKind, type Kernel } from '../../kernel-model/evaluation.js';
import type { MachineSpec } from './schema.js';

const PAGE = 4096;
const PAGEBLOCK_PAGES = 512;
/** Default ratio of polluted pageblocks to the kernel's share of memory. */
const DEFAULT_SPREAD = 16;
/** Simulated time given to kswapd and kcompactd to settle after ageing. */
const SETTLE_MS = 10_000;

type AgeSpec = NonNullable<MachineSpec['age']>;

const ENABLED = '/sys/kernel/mm/transparent_hugepage/enabled';
const MIN_FREE = '/proc/sys/vm/min_free_kbytes';
const SCALE = '/proc/sys/vm/watermark_scale_factor';
const BOOST = '/proc/sys/vm/watermark_boost_factor';
/** Index of the high watermark (enum zone_watermarks). */
const WMARK_HIGH = 2;

/** Ages the machine (see the file comment); advances simulated time by the settle period. */
export function ageMachine(sim: SimKernel, age: AgeSpec): void {
  const k = kernelOf(sim);
  const kernelShare = (age.unmovable ?? 0) + (age.reclaimable ?? 0);
  if (kernelShare > 0) {
    // The filler uses huge pages (fast); the scenario's knob is restored after.
    const enabled = /\[(\w+)\]/.exec(sim.readFile(ENABLED))?.[1] ?? 'always';
    sim.writeFile(ENABLED, 'always');
    const spread = age.pollutedBlocks ?? Math.min(1, kernelShare * DEFAULT_SPREAD);
    // Days of uptime leave no large free blocks for the kernel allocations to take instead of the holes;
    // the model gets there by lowering the watermarks while the filler runs, then restoring them.
    const minFree = sim.readFile(MIN_FREE).trim();
    const scale = sim.readFile(SCALE).trim();
    const boost = sim.readFile(BOOST).trim();
    const userSet = k.userSetMinFree;
    sim.writeFile(MIN_FREE, '128');
    sim.writeFile(SCALE, '1');
    sim.writeFile(BOOST, '0');
    for (const zone of k.zones) if (aged(age, zone.node)) pollute(sim, zone.node, age, spread);
    sim.writeFile(BOOST, boost);
    sim.writeFile(SCALE, scale);
    sim.writeFile(MIN_FREE, minFree);
    k.userSetMinFree = userSet;
    sim.writeFile(ENABLED, enabled);
  }
  const cache = age.pageCache ?? 0;
  if (cache > 0) for (const zone of k.zones) if (aged(age, zone.node)) sim.pageCacheAdd(zone.node, Math.floor(zone.managed * cache));
  sim.advance(SETTLE_MS);
}

function aged(age: AgeSpec, node: number): boolean {
  return age.nodes === undefined || age.nodes.includes(node);
}

/** Free pages the filler may take: all but the high watermark and a few pages for its page tables. */
function spare(zone: Kernel['zones'][number]): number {
  return zone.nrFree - zone.wmark(WMARK_HIGH) - 64;
}

function pollute(sim: SimKernel, node: number, age: AgeSpec, spread: number): void {
  const zone = kernelOf(sim).zones[node];
  const managedPages = zone.managed;
  const unmovable = Math.round(managedPages * (age.unmovable ?? 0));
  const reclaimable = Math.round(managedPages * (age.reclaimable ?? 0));
  const kernelPages = unmovable + reclaimable;
  if (kernelPages === 0) return;
  // Filling stops at the high watermark, so that it wakes no reclaim. The filler's own page tables take
  // one page per 512 it maps (deposited with each huge page).
  const fillPages = Math.floor((spare(zone) * 512) / 513);
  const blocks = Math.floor(fillPages / PAGEBLOCK_PAGES);
  if (blocks <= 0) return;
  const polluted = Math.max(1, Math.min(blocks, Math.round((managedPages / PAGEBLOCK_PAGES) * spread)));
  const perBlock = Math.ceil(kernelPages / polluted);
  const pid = sim.spawn({ comm: 'ageing', node });
  sim.setMempolicy(pid, 'bind', [node]);
  const addr = sim.mmap(pid, blocks * PAGEBLOCK_PAGES * PAGE, { align: PAGEBLOCK_PAGES * PAGE });
  // One write per 2 MiB faults in each huge page (its other subpages stay zero-filled).
  for (let b = 0; b < blocks; b++) sim.touch(pid, addr + b * PAGEBLOCK_PAGES * PAGE, PAGE);
  // What is left over, less than a pageblock, is filled with small pages: left free, it would take the
  // first kernel allocations before the holes do (an unmovable fallback claims the largest free block).
  const rest = spare(zone);
  if (rest > 0) {
    const small = sim.mmap(pid, rest * PAGE);
    sim.madvise(pid, small, rest * PAGE, 'MADV_NOHUGEPAGE');
    sim.touch(pid, small, rest * PAGE);
  }
  const prng = kernelOf(sim).prng;
  let left = kernelPages;
  for (let i = 0; i < polluted && left > 0; i++) {
    const block = Math.floor((i * blocks) / polluted);
    const run = Math.min(perBlock, left, PAGEBLOCK_PAGES);
    const offset = prng.nextInt(PAGEBLOCK_PAGES - run + 1);
    sim.madvise(pid, addr + (block * PAGEBLOCK_PAGES + offset) * PAGE, run * PAGE, 'MADV_DONTNEED');
    left -= run;
  }
  // The holes are in huge pages that are now partially mapped: the deferred-split shrinker splits them
  // and frees the unmapped subpages, as it would under the memory pressure the filler makes.
  kernelOf(sim).huge.deferredSplitScan(node);
  if (unmovable > 0) sim.kernelAlloc(node, unmovable, 'unmovable');
  if (reclaimable > 0) sim.kernelAlloc(node, reclaimable, 'reclaimable');
  sim.exit(pid);
}

/** Pageblocks holding at least one unmovable or reclaimable kernel page, per node (ground truth). */
export function pageblockPollution(sim: SimKernel): { node: number; pageblocks: number; polluted: number }[] {
  const k = kernelOf(sim);
  return k.zones.map((zone) => {
    const blocks = Math.ceil(zone.managed / PAGEBLOCK_PAGES);
    let polluted = 0;
    for (let b = 0; b < blocks; b++) {
      const start = zone.startPfn + b * PAGEBLOCK_PAGES;
      const end = Math.min(zone.endPfn, start + PAGEBLOCK_PAGES);
      for (let pfn = start; pfn < end; pfn++) {
        const kind = k.frames.kind(pfn);
        if (kind === PageKind.SlabReclaimable || kind === PageKind.KernelUnmovable || kind === PageKind.PageTable) {
          polluted++;
          break;
        }
      }
    }
    return { node: zone.node, pageblocks: blocks, polluted };
  });
}
