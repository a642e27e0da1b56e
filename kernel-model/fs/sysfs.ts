/**
 * The knob files: /sys/kernel/mm/transparent_hugepage/ and /proc/sys/vm/ (and the mTHP stats), mapped
 * onto the model's Tunables and counters. Writes are validated exactly as Linux's store handlers do
 * (fs/sysfs-knob.ts describes each file) and a rejected write throws EINVAL without changing anything.
 *
 * /sys/kernel/mm/ksm/ is KSM's own (fs/ksm-sysfs.ts). Files Linux has but the model gives no meaning
 * (shmem_enabled, mTHP sizes other than 2 MiB: out of scope) keep what is written, as the kernel would,
 * and affect nothing.
 */
import { THP_KNOB_DIR, formatKnob, parseKnobWrite, thpKnobs, type KnobSpec } from './sysfs-knob.js';
import type { MthpStats } from '../mm/huge-memory.js';
import type { Task } from '../mm/mm-types.js';
import type { NumaFaultPolicy, ThpDefrag, ThpEnabled } from '../mm/tunables.js';
import { Vm } from '../mm/vmstat.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** A binding of a knob file to model state. */
interface Binding {
  get(): string | number;
  set(v: string | number): void;
}

/** The THP sysfs directory. */
export class ThpSysfs {
  private readonly specs = new Map<string, KnobSpec>();
  private readonly inert = new Map<string, string | number>();
  private readonly bindings: Record<string, Binding>;

  constructor(private readonly k: Kernel) {
    for (const spec of thpKnobs) {
      this.specs.set(spec.path, spec);
      this.inert.set(spec.path, spec.default);
    }
    const t = k.tunables;
    this.bindings = {
      enabled: { get: () => t.thpEnabled, set: (v) => void (t.thpEnabled = v as ThpEnabled) },
      defrag: { get: () => t.thpDefrag, set: (v) => void (t.thpDefrag = v as ThpDefrag) },
      use_zero_page: { get: () => (t.useZeroPage ? 1 : 0), set: (v) => void (t.useZeroPage = v === 1) },
      shrink_underused: { get: () => (t.shrinkUnderused ? 1 : 0), set: (v) => void (t.shrinkUnderused = v === 1) },
      numa_fault_policy: { get: () => t.numaFaultPolicy, set: (v) => void (t.numaFaultPolicy = v as NumaFaultPolicy) },
      'hugepages-2048kB/enabled': { get: () => t.thpPmdEnabled, set: (v) => void (t.thpPmdEnabled = v as ThpEnabled) },
      'khugepaged/defrag': { get: () => (t.khugepagedDefrag ? 1 : 0), set: (v) => void (t.khugepagedDefrag = v === 1) },
      'khugepaged/max_ptes_none': { get: () => t.khugepagedMaxPtesNone, set: (v) => void (t.khugepagedMaxPtesNone = Number(v)) },
      'khugepaged/max_ptes_swap': { get: () => t.khugepagedMaxPtesSwap, set: (v) => void (t.khugepagedMaxPtesSwap = Number(v)) },
      'khugepaged/max_ptes_shared': { get: () => t.khugepagedMaxPtesShared, set: (v) => void (t.khugepagedMaxPtesShared = Number(v)) },
      'khugepaged/pages_to_scan': { get: () => t.khugepagedPagesToScan, set: (v) => void (t.khugepagedPagesToScan = Number(v)) },
      'khugepaged/scan_sleep_millisecs': {
        get: () => t.khugepagedScanSleepMs,
        set: (v) => {
          t.khugepagedScanSleepMs = Number(v);
          k.khugepaged.sleepChanged();
        },
      },
      'khugepaged/alloc_sleep_millisecs': {
        get: () => t.khugepagedAllocSleepMs,
        set: (v) => {
          t.khugepagedAllocSleepMs = Number(v);
          k.khugepaged.sleepChanged();
        },
      },
      'khugepaged/pages_collapsed': { get: () => k.khugepaged.pagesCollapsed, set: () => undefined },
      'khugepaged/full_scans': { get: () => k.khugepaged.fullScans, set: () => undefined },
    };
  }

  /** Paths (relative to the THP directory) of every file present. */
  files(): string[] {
    return [...this.specs.keys()];
  }

  has(rel: string): boolean {
    return this.specs.has(rel);
  }

  read(rel: string): string {
    const spec = this.specs.get(rel);
    if (!spec) throw new SyscallError('ENOENT', 'open', `${THP_KNOB_DIR}/${rel}`);
    return formatKnob(spec, this.value(rel));
  }

  private value(rel: string): string | number {
    const binding = this.bindings[rel];
    if (binding) return binding.get();
    const stat = /^hugepages-2048kB\/stats\/(\w+)$/.exec(rel)?.[1];
    if (stat !== undefined) return (this.k.huge.stats as unknown as Record<string, number>)[stat as keyof MthpStats] ?? 0;
    return this.inert.get(rel)!;
  }

  write(rel: string, text: string): void {
    const spec = this.specs.get(rel);
    if (!spec) throw new SyscallError('ENOENT', 'open', `${THP_KNOB_DIR}/${rel}`);
    if (!spec.writable) throw new SyscallError('EACCES', 'open', `${THP_KNOB_DIR}/${rel} is read-only`);
    const v = parseKnobWrite(spec, text);
    if (v === undefined) throw new SyscallError('EINVAL', 'write', `${THP_KNOB_DIR}/${rel}: ${JSON.stringify(text)}`);
    const binding = this.bindings[rel];
    if (binding) binding.set(v);
    else this.inert.set(rel, v);
    if (rel === 'enabled' || rel === 'hugepages-2048kB/enabled') {
      this.k.onThpEnabledChanged();
      this.k.khugepaged.enabledChanged();
    }
  }
}

/** One /proc/sys/vm (or kernel) integer knob. */
interface SysctlKnob {
  readonly min: number;
  readonly max: number;
  readonly readable: boolean;
  get(): number;
  set(v: number): void;
}

/** /proc/sys/vm/*. */
export class VmSysctl {
  private readonly knobs: Record<string, SysctlKnob>;

  constructor(private readonly k: Kernel) {
    const t = k.tunables;
    const rw = (min: number, max: number, get: () => number, set: (v: number) => void): SysctlKnob => ({ min, max, readable: true, get, set });
    const INT_MAX = 2 ** 31 - 1;
    this.knobs = {
      min_free_kbytes: rw(0, INT_MAX, () => t.minFreeKbytes, (v) => {
        t.minFreeKbytes = v;
        k.userSetMinFree = true;
        k.applyWatermarks();
      }),
      watermark_scale_factor: rw(1, 3000, () => t.watermarkScaleFactor, (v) => {
        t.watermarkScaleFactor = v;
        k.applyWatermarks();
      }),
      watermark_boost_factor: rw(0, INT_MAX, () => t.watermarkBoostFactor, (v) => {
        t.watermarkBoostFactor = v;
        k.applyWatermarks();
      }),
      compaction_proactiveness: rw(0, 100, () => t.compactionProactiveness, (v) => {
        t.compactionProactiveness = v;
        k.compaction.proactivenessChanged();
      }),
      extfrag_threshold: rw(0, 1000, () => t.extfragThreshold, (v) => void (t.extfragThreshold = v)),
      zone_reclaim_mode: rw(0, INT_MAX, () => t.zoneReclaimMode, (v) => void (t.zoneReclaimMode = v)),
      swappiness: rw(0, 200, () => t.swappiness, (v) => void (t.swappiness = v)),
      overcommit_memory: rw(0, 2, () => t.overcommitMemory, (v) => void (t.overcommitMemory = v)),
      compact_memory: {
        min: 1,
        max: 1,
        readable: false,
        get: () => 0,
        set: () => {
          const ms = k.compaction.compactMemory();
          this.writer?.chargeSys(ms);
        },
      },
      drop_caches: { min: 1, max: 4, readable: false, get: () => 0, set: (v) => this.dropCaches(v) },
    };
  }

  files(): string[] {
    return Object.keys(this.knobs);
  }

  has(name: string): boolean {
    return name in this.knobs;
  }

  read(name: string): string {
    const knob = this.knobs[name];
    if (!knob) throw new SyscallError('ENOENT', 'open', `/proc/sys/vm/${name}`);
    if (!knob.readable) throw new SyscallError('EACCES', 'open', `/proc/sys/vm/${name} is write-only`);
    return `${knob.get()}\n`;
  }

  /** The task writing right now (it pays for compact_memory). */
  private writer: Task | undefined;

  /** proc_dointvec_minmax: optional blanks, an optional sign, digits, optional blanks and newline. */
  write(name: string, text: string, writer?: Task): void {
    const knob = this.knobs[name];
    if (!knob) throw new SyscallError('ENOENT', 'open', `/proc/sys/vm/${name}`);
    const m = /^\s*([+-]?\d+)\s*$/.exec(text);
    const v = m ? Number(m[1]) : NaN;
    const lenient = name === 'compact_memory';
    if (!Number.isInteger(v) || (!lenient && (v < knob.min || v > knob.max))) {
      throw new SyscallError('EINVAL', 'write', `/proc/sys/vm/${name}: ${JSON.stringify(text)}`);
    }
    this.writer = writer;
    try {
      knob.set(v);
    } finally {
      this.writer = undefined;
    }
  }

  /** drop_caches: 1 page cache, 2 reclaimable slab, 3 both (4 only silences the message). */
  private dropCaches(v: number): void {
    const k = this.k;
    if (v & 1) {
      k.pageCache.drop(Number.MAX_SAFE_INTEGER, true);
      k.vmstat.countVmEvent(0, Vm.drop_pagecache);
    }
    if (v & 2) {
      for (const z of k.zones) k.kernelAllocs.shrinkReclaimable(z.node, Number.MAX_SAFE_INTEGER);
      k.vmstat.countVmEvent(0, Vm.drop_slab);
    }
  }
}
