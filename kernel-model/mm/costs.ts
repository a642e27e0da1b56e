/**
 * What each kernel operation costs in simulated time, in milliseconds, and who pays is decided by the
 * mechanism that charges it (the faulting task, the caller, a kernel thread). The figures are bare-metal
 * server orders of magnitude, cross-checked with the measurements in the project's calibration notes
 * (docs/linux-semantics.md): copying a 2 MiB region for MADV_COLLAPSE costs 0.5–1.5 ms, a migration's
 * rmap walk costs ~60 ns per mapping, except a KSM page's, whose walk costs ~20 µs per mapping (a page
 * shared a million times took over 60 s to migrate: see ksmRmapItem).
 */
export const Cost = {
  /** Minor fault on a 4 KiB anonymous page: trap, allocate, zero 4 KiB, set the PTE. */
  fault4k: 0.0015,
  /** THP fault: allocate and zero 2 MiB (~12 GB/s) and set the PMD. */
  faultThp: 0.18,
  /** A read fault mapping the (huge) zero page. */
  faultZero: 0.0008,
  /** Copying one 4 KiB page (COW, collapse, migration). */
  copyPage: 0.0015,
  /** Visiting one mapping of a page during an rmap walk (unmap/remap for migration, reclaim, KSM). */
  rmapPerMapping: 0.00006,
  /** Fixed cost of migrating one page besides the copy and the rmap walk (isolate, allocate, remap). */
  migrateFixed: 0.001,
  /** Reclaim: examining one page on the LRU (scan cost). */
  scanPage: 0.0001,
  /** Writing one 4 KiB page to swap (the reclaimer waits for submission, not the I/O). */
  swapOutSubmit: 0.004,
  /** A major fault: reading one 4 KiB page back from swap (SSD latency). */
  swapIn: 0.08,
  /** Writing back a dirty page-cache page before it can be dropped. */
  writeback: 0.01,
  /** Compaction's migration scanner examining one page. */
  compactScanPage: 0.00005,
  /** Compaction's free scanner examining one page. */
  compactFreeScanPage: 0.00002,
  /** Splitting a THP into 512 small pages (remapping the PTEs). */
  splitThp: 0.03,
  /** Unmapping and freeing one 4 KiB page (munmap, DONTNEED). */
  zapPage: 0.0002,
  /** Allocating and freeing one page of a page table. */
  pageTable: 0.001,
  /** A syscall's fixed entry cost. */
  syscall: 0.0002,
  /** Reading a procfs file: fixed part. */
  procfsRead: 0.005,
  /** Walking one mapped page in smaps / pagemap / clear_refs. */
  procfsPerPage: 0.00002,
  /** A NUMA hinting fault: trap on the PROT_NONE entry, restore it, decide (migration costs apart). */
  numaHintFault: 0.001,
  /** task_numa_work: making one PTE (or one PMD) PROT_NONE for NUMA hinting. */
  numaScanPte: 0.00001,
  /**
   * The host faulting a 4 KiB page back in when the guest reuses memory it had reported free (an EPT
   * violation and the host's page fault and zeroing): 7–12 µs on the project's VM (calibration notes).
   */
  hostRefault: 0.0095,
  /** One page-reporting request of up to 32 blocks to the balloon device (the kworker's share). */
  reportBatch: 0.005,
  /** ksmd examining one page: the page-table walk, a checksum of 4 KiB and a tree lookup (~1% CPU at the defaults). */
  ksmScanPage: 0.002,
  /** ksmd merging one page: write-protect it (a TLB flush), compare it with the KSM page, replace the PTE. */
  ksmMergePage: 0.005,
  /**
   * One rmap_item of a KSM page's rmap walk (rmap_walk_ksm: the anon_vma lock, the VMA lookup, the PTE
   * cleared and restored with its TLB and MMU-notifier flushes), for migration, reclaim and compaction.
   * Calibrated on the seed thread (Arcangeli, 2016): migrating one page shared by millions of mappings took
   * over 60 s, a few ms once max_page_sharing capped each KSM page at 256 — 20 µs per mapping, against
   * rmapPerMapping's 60 ns for the short anon_vma walks of ordinary pages.
   */
  ksmRmapItem: 0.02,
} as const;
