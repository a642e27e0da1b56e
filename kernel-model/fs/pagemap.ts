/**
 * The binary procfs files: /proc/PID/pagemap (one little-endian u64 per virtual page) and
 * /proc/kpageflags (one u64 per physical frame), with Linux's bit layout
 * (Documentation/admin-guide/mm/pagemap.rst). A daemon counts populated, swapped and shared pages of a
 * 2 MiB region from pagemap, and THP/KSM/zero pages from kpageflags, as tcmalloc does on Linux.
 */
import { HPAGE_PMD_NR, PAGE_SIZE, PageKind } from '../mm/constants.js';
import { VM, type Task, type Vma } from '../mm/mm-types.js';
import { PG } from '../mm/page-flags.js';
import { PTRS_PER_PTE, ptePfn, pteSwapSlot } from '../mm/pgtable.js';
import type { Kernel } from '../kernel.js';

/** pagemap bits (as bit numbers of the 64-bit entry). */
export const PM = { present: 63, swapped: 62, fileOrSharedAnon: 61, exclusive: 56 } as const;
/** kpageflags bit numbers. */
export const KPF = {
  REFERENCED: 2, DIRTY: 4, LRU: 5, ACTIVE: 6, SLAB: 7, BUDDY: 10, MMAP: 11, ANON: 12, SWAPBACKED: 14,
  COMPOUND_HEAD: 15, COMPOUND_TAIL: 16, UNEVICTABLE: 18, NOPAGE: 20, KSM: 21, THP: 22, ZERO_PAGE: 24, PGTABLE: 26,
} as const;

/** Writes one little-endian u64 entry: the flag `bits` set, and `low` in bits 0–54. */
function put(view: DataView, at: number, bits: readonly number[], low: number): void {
  let hi = Math.floor(low / 2 ** 32) & 0x7fffff;
  let lo = low >>> 0;
  for (const b of bits) {
    if (b >= 32) hi |= 1 << (b - 32);
    else lo |= 1 << b;
  }
  view.setUint32(at, lo >>> 0, true);
  view.setUint32(at + 4, hi >>> 0, true);
}

/** The pagemap flag bits as bits of an entry's high 32-bit word. */
const HI = { present: 1 << (PM.present - 32), swapped: 1 << (PM.swapped - 32), fileOrSharedAnon: 1 << (PM.fileOrSharedAnon - 32), exclusive: 1 << (PM.exclusive - 32) } as const;

/**
 * /proc/PID/pagemap from byte `offset`, `length` bytes. PFNs are shown only to a reader with
 * CAP_SYS_ADMIN (`showPfn`), as since Linux 4.2. The PMD entry and the VMA are looked up once per run
 * of pages they cover, and entries are written without allocating (a daemon reads 4 KiB per region).
 */
export function readPagemap(k: Kernel, task: Task, offset: number, length: number, showPfn: boolean): Uint8Array {
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  const ptes = k.pgtables.entries;
  let pmdIndex = -1;
  let e: number | undefined;
  let vma: Vma | undefined;
  for (let at = 0; at + 8 <= length; at += 8) {
    const vpn = (offset + at) / 8;
    const index = vpn % PTRS_PER_PTE;
    if (pmdIndex !== (vpn - index) / PTRS_PER_PTE) {
      pmdIndex = (vpn - index) / PTRS_PER_PTE;
      e = task.mm.pmd.get(pmdIndex);
    }
    if (e === undefined) continue;
    let flags: number;
    let low: number;
    if (e < 0) {
      const head = -e - 1;
      low = head + index;
      flags = HI.present | (head !== k.huge.hugeZeroPfn && k.rmap.pmdMapcount(head) === 1 ? HI.exclusive : 0);
    } else {
      const pte = ptes[e * PTRS_PER_PTE + index];
      if (pte === 0) continue;
      if (pte < 0) {
        // Swap type 0 in bits 0–4, the offset in bits 5–54; shown to every reader.
        putEntry(view, at, HI.swapped, pteSwapSlot(pte) * 32);
        continue;
      }
      low = ptePfn(pte);
      const vaddr = vpn * PAGE_SIZE;
      if (vma === undefined || vaddr < vma.start || vaddr >= vma.end) vma = task.mm.findVma(vaddr);
      flags = HI.present;
      if (vma && vma.flags & VM.SHARED) flags |= HI.fileOrSharedAnon;
      if (low !== k.zeroPfn && k.frames.getMapcount(low) === 1 && k.rmap.pmdMapcount(k.frames.compoundHead(low)) === 0) flags |= HI.exclusive;
    }
    putEntry(view, at, flags, showPfn ? low : 0);
  }
  return out;
}

/** Writes one little-endian u64 entry: `hiFlags` in the high word, `low` in bits 0–54. */
function putEntry(view: DataView, at: number, hiFlags: number, low: number): void {
  view.setUint32(at, low >>> 0, true);
  view.setUint32(at + 4, (hiFlags | (Math.floor(low / 2 ** 32) & 0x7fffff)) >>> 0, true);
}

/** /proc/kpageflags from byte `offset`, `length` bytes. */
export function readKpageflags(k: Kernel, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  const f = k.frames;
  for (let at = 0; at + 8 <= length; at += 8) {
    const pfn = (offset + at) / 8;
    if (pfn >= f.count) {
      put(view, at, [KPF.NOPAGE], 0);
      continue;
    }
    put(view, at, kpageflagBits(k, pfn), 0);
  }
  return out;
}

/**
 * The flags of one frame (fs/proc/page.c `stable_page_flags`). The huge zero page is a compound folio in
 * Linux (folio_alloc) with no rmap: each of its frames reads ZERO_PAGE and THP, COMPOUND_HEAD or
 * COMPOUND_TAIL, and no MMAP however many PMDs map it. The model allocates it as a plain order-9 block,
 * so its frames are recognised by their range here.
 */
function kpageflagBits(k: Kernel, pfn: number): number[] {
  const f = k.frames;
  if (f.has(pfn, PG.buddy)) return [KPF.BUDDY];
  const hugeZero = k.huge.hugeZeroPfn;
  if (hugeZero >= 0 && pfn >= hugeZero && pfn < hugeZero + HPAGE_PMD_NR) {
    return [KPF.ZERO_PAGE, KPF.THP, pfn === hugeZero ? KPF.COMPOUND_HEAD : KPF.COMPOUND_TAIL];
  }
  const head = f.compoundHead(pfn);
  const bits: number[] = [];
  const kind = f.kind(head);
  if (pfn === k.zeroPfn) bits.push(KPF.ZERO_PAGE);
  if (kind === PageKind.Anon) bits.push(KPF.ANON, KPF.SWAPBACKED);
  if (kind === PageKind.SlabReclaimable || kind === PageKind.KernelUnmovable) bits.push(KPF.SLAB);
  if (kind === PageKind.PageTable) bits.push(KPF.PGTABLE);
  if (f.has(head, PG.head)) {
    bits.push(pfn === head ? KPF.COMPOUND_HEAD : KPF.COMPOUND_TAIL);
    if (kind === PageKind.Anon) bits.push(KPF.THP);
  }
  if (f.getMapcount(pfn) > 0 || k.rmap.pmdMapcount(head) > 0) bits.push(KPF.MMAP);
  if (f.has(head, PG.lru)) bits.push(KPF.LRU);
  if (f.has(head, PG.active)) bits.push(KPF.ACTIVE);
  if (f.has(head, PG.referenced)) bits.push(KPF.REFERENCED);
  if (f.has(head, PG.dirty)) bits.push(KPF.DIRTY);
  if (f.has(head, PG.mlocked)) bits.push(KPF.UNEVICTABLE);
  if (f.has(head, PG.ksm)) bits.push(KPF.KSM);
  return bits;
}
