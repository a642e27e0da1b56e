/**
 * What the daemon knows about a candidate: one 2 MiB-aligned region of one process's address space that
 * access sampling found hot enough and that is not yet mapped by a huge page, with the facts its cheap
 * and (for the best candidates) expensive observations gave. Scorers (scorers/) and the eligibility
 * checks read these; nothing here is simulation-only — every field comes from files and calls a real
 * Linux kernel offers.
 */
import type { PolicyClass } from '../config/policy-schema.js';
import type { CgroupHierarchy } from './classes.js';

/** Pages of 4 KiB in a 2 MiB region. */
export const PAGES_PER_REGION = 512;
/** Bytes in a 2 MiB region. */
export const REGION_BYTES = 2 * 1024 * 1024;

/**
 * A region's pages as /proc/PID/pagemap and /proc/kpageflags show them (read only for candidates).
 * Counts are of the 512 pages of the region; `nodePages[n]` counts its present pages on node n.
 */
export interface RegionFacts {
  /** Pages mapped in memory. */
  readonly present: number;
  /** Pages neither present nor swapped: a collapse fills them with zeroes. */
  readonly none: number;
  /** Pages swapped out: a collapse swaps them in. */
  readonly swapped: number;
  /**
   * Present pages not exclusively mapped by this process (fork sharing, KSM, the zero page). Exact up to
   * the `sharedLimit` the reader was given; beyond it, a count of more than that many (the reader stops
   * reading frames once the region is known to hold more shared pages than its class allows).
   */
  readonly shared: number;
  /** The region is already mapped by one huge page: nothing to collapse. */
  readonly huge: boolean;
  /** Present pages per node (index = node id). */
  readonly nodePages: readonly number[];
}

/** The process a candidate belongs to, as the daemon sees it this cycle. */
export interface ProcessView {
  readonly pid: number;
  readonly comm: string;
  readonly cls: PolicyClass;
  /** Its memory cgroup, a path in `cgroupHierarchy` (classes.ts). */
  readonly cgroup: string;
  readonly cgroupHierarchy: CgroupHierarchy;
  /** The node the process runs on (from the CPU it last ran on). */
  readonly homeNode: number;
  /** Resident anonymous bytes (smaps_rollup Anonymous). */
  readonly anonBytes: number;
  /** Anonymous bytes mapped by huge pages now (smaps_rollup AnonHugePages). */
  readonly hugeBytes: number;
  /** Bytes of the process's memory that sampling finds hot (per-page access rate ≥ the class's minimum). */
  readonly hotBytes: number;
  /** Of the hot bytes, those mapped by huge pages (from the regions the daemon has inspected or collapsed). */
  readonly hotHugeBytes: number;
  /** Accesses per second sampling attributes to the process's hot memory on 4 KiB pages. */
  readonly smallPageAccessesPerSec: number;
}

/** One 2 MiB region that may be collapsed. */
export interface Candidate {
  readonly process: ProcessView;
  /** Start address (2 MiB aligned). */
  readonly region: number;
  /** Smoothed accesses per second per 4 KiB page of the region, from access sampling. */
  readonly accessRate: number;
  /** How long (ms) sampling has seen the region at about this access frequency. */
  readonly ageMs: number;
  /** The pages, once inspected (pagemap and kpageflags); undefined before. */
  readonly facts?: RegionFacts;
  /** The node MADV_COLLAPSE would take its huge page from: the one holding most of the present pages. */
  readonly targetNode?: number;
}

/** Machine state a score may depend on (the guards' last reading). */
export interface MachineView {
  /** Free 2 MiB blocks per node (index = node id). */
  readonly freeHugeBlocks: readonly number[];
  /** Total memory per node, in 2 MiB blocks. */
  readonly totalHugeBlocks: readonly number[];
}
