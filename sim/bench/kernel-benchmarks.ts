/**
 * Benchmarks of the simulated kernel (the kernel keys of `uhugepaged bench`). Each figure is the median
 * of several runs of wall-clock time; the machine running them is reported with the results, since the
 * figures mean nothing without it.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { SimKernel } from '../../kernel-model/index.js';
import { kernelOf } from '../../kernel-model/evaluation.js';
import { ksmRmapWalkRatio } from './ksm-benchmark.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

/** What the kernel benchmarks measure. */
export interface KernelBenchResults {
  /** 4 KiB anonymous pages faulted in per second of wall time. */
  faultPagesPerSec: number;
  /** Bytes of state per 4 KiB frame that scale with physical memory. */
  bytesPerFrame: number;
  /** Frames of a 16 GiB node compacted per second (manual compaction of a 90% full, holed node). */
  compactionFramesPerSec: number;
  /** Wall time to boot a two-node 256 GiB machine. */
  boot256GiBMs: number;
  /** RSS growth of this process while booting it, MiB. */
  boot256GiBRssMiB: number;
  /** Wall time of the 16 GiB node's compaction, ms. */
  compact16GiBMs: number;
  /**
   * Simulated cost of migrating one page merged by KSM with 100 095 identical pages, without a sharing
   * cap over at max_page_sharing 256 (the seed's rmap walk; deterministic, not a wall-clock figure).
   */
  ksmRmapWalkRatio: number;
  /** Those two migrations' simulated costs, ms. */
  ksmMigrateUnlimitedMs: number;
  ksmMigrateCapped256Ms: number;
}

/** Progress callback: a short line per step. */
export type Progress = (message: string) => void;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Faulting 1 GiB of small pages into a fresh machine. */
function benchFaults(): number {
  const k = new SimKernel({ nodes: [{ memoryMiB: 2048 }] });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'never');
  const pid = k.spawn({ comm: 'bench' });
  const len = 1 * GiB;
  const a = k.mmap(pid, len);
  const ms = time(() => k.touch(pid, a, len));
  return (len / 4096 / ms) * 1000;
}

/**
 * A 16 GiB node filled with small movable pages, then holed so that 10% is free, the holes spread over
 * every other pageblock (so no free 2 MiB block is left); then a full manual compaction.
 */
function benchCompaction(): { ms: number; frames: number } {
  const k = new SimKernel({ nodes: [{ memoryMiB: 16384 }] });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'never');
  const pid = k.spawn({ comm: 'filler' });
  const km = kernelOf(k);
  const zone = km.zones[0];
  const wmark = zone.watermark[2];
  const len = Math.floor(((zone.managed - wmark - 4096) * 4096) / (2 * MiB)) * 2 * MiB;
  const a = k.mmap(pid, len);
  k.touch(pid, a, len);
  const blockBytes = 2 * MiB;
  const holePages = Math.floor(512 * 0.2);
  for (let off = 0; off < len; off += 2 * blockBytes) {
    for (let p = 0; p < holePages; p++) k.madvise(pid, a + off + p * 2 * 4096, 4096, 'MADV_DONTNEED');
  }
  const ms = time(() => k.writeFile('/proc/sys/vm/compact_memory', '1'));
  return { ms, frames: zone.managed };
}

function benchBoot(): { ms: number; rssMiB: number } {
  const rss0 = process.memoryUsage().rss;
  let k: SimKernel | undefined;
  const ms = time(() => {
    k = new SimKernel({ nodes: [{ memoryMiB: 131072 }, { memoryMiB: 131072 }] });
  });
  const rssMiB = (process.memoryUsage().rss - rss0) / MiB;
  if (k === undefined) throw new Error('boot failed');
  return { ms, rssMiB };
}

/** Runs every kernel benchmark `runs` times and reports medians. */
export function runKernelBenchmarks(runs: number, progress: Progress): KernelBenchResults {
  const faults: number[] = [];
  const compaction: { ms: number; frames: number }[] = [];
  const boots: { ms: number; rssMiB: number }[] = [];
  // The JIT needs a couple of runs to reach steady state on the fault path; they are not counted.
  for (let i = 1; i <= 2; i++) {
    progress(`warm-up ${i}/2 (not counted): fault-in of 1 GiB`);
    benchFaults();
  }
  for (let i = 0; i < runs; i++) {
    progress(`run ${i + 1}/${runs}: fault-in of 1 GiB of 4 KiB pages`);
    faults.push(benchFaults());
    progress(`run ${i + 1}/${runs}: compaction of a 16 GiB node`);
    compaction.push(benchCompaction());
    progress(`run ${i + 1}/${runs}: boot of a 256 GiB two-node machine`);
    boots.push(benchBoot());
  }
  progress('KSM rmap walk: one page shared by 100 095 pages, uncapped and at max_page_sharing 256 (simulated time)');
  const ksm = ksmRmapWalkRatio();
  const sizing = new SimKernel({ nodes: [{ memoryMiB: 1024 }] });
  const km = kernelOf(sizing);
  const compactMs = median(compaction.map((c) => c.ms));
  return {
    faultPagesPerSec: Math.round(median(faults)),
    bytesPerFrame: Math.round((km.physicalStateBytes() / km.frames.count) * 100) / 100,
    compactionFramesPerSec: Math.round((compaction[0].frames / compactMs) * 1000),
    boot256GiBMs: Math.round(median(boots.map((b) => b.ms))),
    boot256GiBRssMiB: Math.round(median(boots.map((b) => b.rssMiB))),
    compact16GiBMs: Math.round(compactMs),
    ksmRmapWalkRatio: Math.round(ksm.ratio),
    ksmMigrateUnlimitedMs: Math.round(ksm.unlimitedMs),
    ksmMigrateCapped256Ms: Math.round(ksm.cappedMs * 100) / 100,
  };
}

/** The machine the benchmarks ran on. */
export function machineInfo(): { cores: number; cpu: string; node: string; memoryGiB: number } {
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    memoryGiB: Math.round(os.totalmem() / GiB),
  };
}
