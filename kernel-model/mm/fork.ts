/**
 * fork(2) for anonymous memory (Linux kernel/fork.c dup_mmap + mm/memory.c copy_page_range): the child
 * gets copies of the VMAs and of the page tables, mapping the same pages copy-on-write. A PMD-mapped
 * THP stays PMD-mapped and shared (its entire mapcount grows); a later write splits the writer's PMD
 * mapping and copies one subpage. Swap entries are shared by counting. mlock is not inherited.
 */
import { HPAGE_PMD_NR, PageKind } from './constants.js';
import { Cost } from './costs.js';
import { GFP_KERNEL } from './gfp.js';
import { MmStruct, Task, VM } from './mm-types.js';
import { PTRS_PER_PTE, ptePfn, pteSwapSlot } from './pgtable.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

let forkAnonVmaIds = 1_000_000_000;

/** Copies `parent` into a new task with pid `pid`; returns the child. */
export function copyProcess(k: Kernel, parent: Task, pid: number): Task {
  const mm = new MmStruct();
  mm.shareCowWith(parent.mm);
  mm.vmas = parent.mm.vmas.map((v) => ({
    ...v,
    flags: v.flags & ~VM.LOCKED,
    anonVma: v.anonVma === 0 ? 0 : forkAnonVmaIds++,
  }));
  const child = new Task(pid, parent.pid, parent.comm, parent.uid, parent.caps, parent.dumpable, parent.node, parent.mempolicy, parent.cgroup, mm, k.engine.now);
  child.thpDisable = parent.thpDisable;
  child.memoryMerge = parent.memoryMerge;
  k.tasks.set(pid, child);
  let copied = 0;
  for (const [pmdIdx, e] of parent.mm.pmd) {
    if (e < 0) copied += copyHugePmd(k, child, pmdIdx, -e - 1);
    else copied += copyPteTable(k, child, pmdIdx, e);
  }
  mm.updateHiwater();
  k.khugepaged.fork(parent, child);
  k.ksm.fork(parent, child);
  parent.chargeSys(Cost.syscall + copied * Cost.rmapPerMapping);
  return child;
}

function copyHugePmd(k: Kernel, child: Task, pmdIdx: number, head: number): number {
  if (!k.huge.depositFor(child, pmdIdx)) throw new Error('fork: no memory for a page table');
  child.mm.pmd.set(pmdIdx, -head - 1);
  if (head === k.huge.hugeZeroPfn) return 1;
  k.rmap.addPmd(head, { pid: child.pid, pmdIndex: pmdIdx });
  child.mm.thpPmdMapped++;
  return 1;
}

function copyPteTable(k: Kernel, child: Task, pmdIdx: number, src: number): number {
  const pfn = k.allocator.allocPages({ order: 0, kind: PageKind.PageTable, gfp: GFP_KERNEL, nodes: [child.node], task: child });
  if (pfn < 0) throw new Error('fork: no memory for a page table');
  const t = k.pgtables.alloc(child.pid, pmdIdx, pfn);
  child.mm.pmd.set(pmdIdx, t);
  child.mm.ptePages++;
  k.vmstat.modNodeState(k.nodeOfPfn(pfn), Vm.nr_page_table_pages, 1);
  let copied = 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pte = k.pgtables.entries[src * PTRS_PER_PTE + i];
    if (pte === 0) continue;
    const slot = t * PTRS_PER_PTE + i;
    k.pgtables.set(slot, pte);
    if (pte < 0) {
      k.swap.dup(pteSwapSlot(pte));
      child.mm.swapEntries++;
    } else {
      const page = ptePfn(pte);
      k.rmap.addPte(page, slot);
      if (page !== k.zeroPfn) child.mm.anonPtePages++;
    }
    copied++;
  }
  return copied;
}
