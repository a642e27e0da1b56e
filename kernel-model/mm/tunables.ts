/**
 * Every knob the model honours, with its Linux 6.18 default, in one typed object. The procfs/sysfs
 * layer maps file paths onto these fields and validates writes; mechanisms read the fields directly.
 */

/** THP `enabled` values. */
export type ThpEnabled = 'always' | 'madvise' | 'never';
/** THP `defrag` values. */
export type ThpDefrag = 'always' | 'defer' | 'defer+madvise' | 'madvise' | 'never';
/** The model-only knob: where a THP fault may place its huge page (see docs/linux-semantics.md §6). */
export type NumaFaultPolicy = 'thisnode' | 'remote' | 'local-first';

/** The knobs. */
export interface Tunables {
  thpEnabled: ThpEnabled;
  /** hugepages-2048kB/enabled: `inherit` follows `thpEnabled`. */
  thpPmdEnabled: ThpEnabled | 'inherit';
  thpDefrag: ThpDefrag;
  useZeroPage: boolean;
  shrinkUnderused: boolean;
  numaFaultPolicy: NumaFaultPolicy;
  khugepagedDefrag: boolean;
  khugepagedPagesToScan: number;
  khugepagedScanSleepMs: number;
  khugepagedAllocSleepMs: number;
  khugepagedMaxPtesNone: number;
  khugepagedMaxPtesSwap: number;
  khugepagedMaxPtesShared: number;
  minFreeKbytes: number;
  watermarkScaleFactor: number;
  watermarkBoostFactor: number;
  compactionProactiveness: number;
  extfragThreshold: number;
  zoneReclaimMode: number;
  swappiness: number;
  numaBalancing: number;
  overcommitMemory: number;
}

/**
 * Linux's default min_free_kbytes for `lowmemKbytes` of memory (int_sqrt(lowmem × 16), clamped to
 * [128, 262144]), raised as khugepaged does when THP is enabled: (2 + 3 × 3) pageblocks per zone, capped
 * at 5% of memory (set_recommended_min_free_kbytes).
 */
export function defaultMinFreeKbytes(lowmemKbytes: number, zones: number, thpEnabled: boolean): number {
  let min = Math.min(262144, Math.max(128, Math.floor(Math.sqrt(lowmemKbytes * 16))));
  if (thpEnabled) {
    const pageblockKb = 2048;
    const recommended = Math.min(pageblockKb * zones * 11, Math.floor(lowmemKbytes / 20));
    min = Math.max(min, recommended);
  }
  return min;
}

/** The `enabled` mode in force for 2 MiB THPs. */
export function effectiveThpEnabled(t: Tunables): ThpEnabled {
  return t.thpPmdEnabled === 'inherit' ? t.thpEnabled : t.thpPmdEnabled;
}

/** The defaults for a machine of `totalKbytes` in `zones` zones. */
export function defaultTunables(totalKbytes: number, zones: number): Tunables {
  return {
    thpEnabled: 'madvise',
    thpPmdEnabled: 'inherit',
    thpDefrag: 'madvise',
    useZeroPage: true,
    shrinkUnderused: true,
    numaFaultPolicy: 'local-first',
    khugepagedDefrag: true,
    khugepagedPagesToScan: 4096,
    khugepagedScanSleepMs: 10000,
    khugepagedAllocSleepMs: 60000,
    khugepagedMaxPtesNone: 511,
    khugepagedMaxPtesSwap: 64,
    khugepagedMaxPtesShared: 256,
    minFreeKbytes: defaultMinFreeKbytes(totalKbytes, zones, true),
    watermarkScaleFactor: 10,
    watermarkBoostFactor: 15000,
    compactionProactiveness: 20,
    extfragThreshold: 500,
    zoneReclaimMode: 0,
    swappiness: 60,
    numaBalancing: 0,
    overcommitMemory: 0,
  };
}
