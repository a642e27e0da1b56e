/**
 * Machine-wide invariants of the simulated kernel, checked by walking every page table and every frame
 * (slow: for tests only).
 *  - a frame is never both free (in a buddy block) and mapped;
 *  - every mapped frame's mapcount equals the number of PTEs pointing at it, and rmap lists exactly those;
 *  - the zone's free count equals the pages in its free blocks, its Reported count the pages in the
 *    blocks marked Reported (free page reporting);
 *  - each process's RSS counters match its page tables;
 *  - only in-use anonymous pages are charged to a memcg, and each memcg's usage (memory.current) equals
 *    the pages charged to it and its descendants; its THP count equals the THP heads charged to it;
 *  - the page cache holds exactly the frames of kind PageCache, each once, each frame's `link0` its
 *    index, and nr_file_pages counts them per node.
 */
import assert from 'node:assert/strict';
import type { Kernel } from '../../kernel-model/evaluation.js';
import { PageKind } from '../../kernel-model/mm/constants.js';
import { Vm } from '../../kernel-model/mm/vmstat.js';

const BUDDY = 1;
const HEAD = 2;
const REPORTED = 1 << 10;

/** Throws an AssertionError naming the first broken invariant. */
export function checkKernelInvariants(k: Kernel): void {
  const f = k.frames;
  const free = new Uint8Array(f.count);
  for (const z of k.zones) {
    let counted = 0;
    let reported = 0;
    for (let p = z.startPfn; p < z.endPfn; p++) {
      if (f.flags[p] & BUDDY) {
        const n = 1 << f.order[p];
        for (let i = 0; i < n; i++) free[p + i] = 1;
        counted += n;
        if (f.flags[p] & REPORTED) reported += n;
        p += n - 1;
      } else assert.equal(f.flags[p] & REPORTED, 0, `pfn ${p}: Reported but not a free block`);
    }
    assert.equal(counted, z.nrFree, `node ${z.node}: nrFree ${z.nrFree} but free blocks hold ${counted}`);
    assert.equal(reported, z.nrReported, `node ${z.node}: nrReported ${z.nrReported} but Reported blocks hold ${reported}`);
  }
  const ptesTo = new Map<number, number[]>();
  for (const t of k.tasks.values()) {
    if (!t.alive) continue;
    let anon = 0;
    let thp = 0;
    let swap = 0;
    for (const [pmdIdx, e] of t.mm.pmd) {
      if (e < 0) {
        const head = -e - 1;
        assert.equal(free[head], 0, `pid ${t.pid}: PMD ${pmdIdx} maps free frame ${head}`);
        if (head !== k.huge.hugeZeroPfn) {
          thp++;
          assert.ok(f.flags[head] & HEAD, `pid ${t.pid}: PMD ${pmdIdx} maps ${head}, which is not a THP head`);
          assert.ok(k.rmap.pmdsOf(head).some((m) => m.pid === t.pid && m.pmdIndex === pmdIdx), `rmap lacks PMD mapping ${t.pid}/${pmdIdx}`);
        }
        continue;
      }
      for (let i = 0; i < 512; i++) {
        const slot = e * 512 + i;
        const pte = k.pgtables.entries[slot];
        if (pte === 0) continue;
        if (pte < 0) {
          swap++;
          continue;
        }
        const pfn = pte - 1;
        assert.equal(free[pfn], 0, `pid ${t.pid}: PTE slot ${slot} maps free frame ${pfn}`);
        if (pfn !== k.zeroPfn) anon++;
        const list = ptesTo.get(pfn);
        if (list) list.push(slot);
        else ptesTo.set(pfn, [slot]);
      }
    }
    assert.equal(t.mm.anonPtePages, anon, `pid ${t.pid}: anonPtePages ${t.mm.anonPtePages}, page tables map ${anon}`);
    assert.equal(t.mm.thpPmdMapped, thp, `pid ${t.pid}: thpPmdMapped ${t.mm.thpPmdMapped}, page tables map ${thp}`);
    assert.equal(t.mm.swapEntries, swap, `pid ${t.pid}: swapEntries ${t.mm.swapEntries}, page tables hold ${swap}`);
  }
  for (let p = 0; p < f.count; p++) {
    if (free[p] === 0 && !ptesTo.has(p)) assert.equal(f.getMapcount(p), 0, `pfn ${p}: mapcount ${f.getMapcount(p)} but no PTE maps it`);
  }
  for (const [pfn, slots] of ptesTo) {
    assert.equal(f.getMapcount(pfn), slots.length, `pfn ${pfn}: mapcount ${f.getMapcount(pfn)} but ${slots.length} PTEs map it`);
    assert.deepEqual([...k.rmap.ptesOf(pfn)].sort((a, b) => a - b), slots.sort((a, b) => a - b), `pfn ${pfn}: rmap disagrees with the page tables`);
  }
  checkMemcgInvariants(k, free);
  checkPageCacheInvariants(k, free);
}

/** The page cache's array and the frames agree, and nr_file_pages counts its pages per node. */
function checkPageCacheInvariants(k: Kernel, free: Uint8Array): void {
  const f = k.frames;
  const pc = k.pageCache;
  const perNode = new Float64Array(k.zones.length);
  for (let i = 0; i < pc.size; i++) {
    const pfn = pc.pageAt(i);
    assert.equal(free[pfn], 0, `page cache index ${i}: frame ${pfn} is free`);
    assert.equal(f.kind(pfn), PageKind.PageCache, `page cache index ${i}: frame ${pfn} is of kind ${f.kind(pfn)}`);
    assert.equal(f.link0[pfn], i, `page cache index ${i}: frame ${pfn} has link0 ${f.link0[pfn]}`);
    perNode[k.nodeOfPfn(pfn)]++;
  }
  let frames = 0;
  for (let p = 0; p < f.count; p++) if (free[p] === 0 && f.kind(p) === PageKind.PageCache) frames++;
  assert.equal(frames, pc.size, `${frames} frames of kind PageCache but the page cache holds ${pc.size}`);
  for (const z of k.zones) {
    assert.equal(k.vmstat.node(z.node, Vm.nr_file_pages), perNode[z.node], `node ${z.node}: nr_file_pages disagrees with the page cache`);
  }
}

/** memory.current of each memcg = pages charged to its subtree; only in-use anonymous pages are charged. */
function checkMemcgInvariants(k: Kernel, free: Uint8Array): void {
  const f = k.frames;
  const mc = k.memcg;
  const charged = new Float64Array(256);
  const thpHeads = new Float64Array(256);
  for (let p = 0; p < f.count; p++) {
    const id = mc.ids[p];
    if (id === 0) continue;
    assert.equal(free[p], 0, `pfn ${p}: free but charged to memcg ${id}`);
    assert.equal(f.kind(p), PageKind.Anon, `pfn ${p}: charged to memcg ${id} but of kind ${f.kind(p)}`);
    assert.ok(mc.byIdOf(id), `pfn ${p}: charged to memcg id ${id}, which no memcg holds`);
    charged[id]++;
    if (f.flags[p] & HEAD) thpHeads[id]++;
  }
  for (const cg of mc.all()) {
    let subtree = 0;
    for (const c of mc.all()) if (c.isDescendantOf(cg)) subtree += charged[c.id];
    assert.equal(cg.usage, subtree, `memcg ${cg.path}: usage ${cg.usage} pages but ${subtree} pages are charged to its subtree`);
    assert.equal(cg.localThps, thpHeads[cg.id], `memcg ${cg.path}: ${cg.localThps} THPs counted, ${thpHeads[cg.id]} charged`);
  }
}
