/**
 * Access sampling without DAMON: the page-table accessed bits, through procfs.
 *
 *   start      write `1` to /proc/PID/clear_refs: the kernel clears the accessed (young) bit of every
 *              page the process maps, and PG_referenced (fs/proc/task_mmu.c, CLEAR_REFS_ALL)
 *   regions    once an aggregation interval has passed since the last clearing: read /proc/PID/smaps —
 *              `Referenced` per VMA is the bytes whose accessed bit the MMU set again since — then clear
 *              again, so each reading covers one window
 *
 * Granularity is the VMA: smaps sums per VMA, and nothing else in procfs shows the hardware accessed bit
 * per page (kpageflags' REFERENCED is PG_referenced, which the LRU sets, not the MMU). Splitting a VMA
 * into 2 MiB pieces would invent a uniform spread the data does not show, so each VMA is one region and
 * a VMA that is part hot part cold reads lukewarm. /sys/kernel/mm/page_idle (idle page tracking) would
 * give per-page bits, but it is absent on kernels built without CONFIG_IDLE_PAGE_TRACKING and costs a
 * pagemap plus a bitmap walk per region; it is not implemented.
 *
 * Scaling: a fraction f of a VMA's pages referenced within a window of length T means, for pages of a
 * uniform rate λ, f = 1 − e^(−λT). DAMON would have found such a region accessed in a share
 * 1 − e^(−λw) of its checks w apart, so nrAccesses = S·(1 − (1 − f)^(w/T)) with S = aggr / sample: the
 * count DAMON would give, and hot-map.ts's estimate −ln(1 − n/S)/w recovers λ from it.
 *
 * Cost and side effect: each reading walks the process's page tables twice (smaps, clear_refs). Clearing
 * accessed bits also hides recent use from reclaim's aging for pages not touched again before reclaim
 * looks; DAMON's vaddr sampling clears the bits of the pages it checks in the same way.
 */
import { KernelPortError, type AccessRegion, type SamplingAttrs } from '../kernel-port.js';
import { parseSmaps } from '../procfs-parsers.js';
import { nextAge, type AccessSampler } from './access-sampler.js';
import type { FileAccess } from './file-access.js';

const KiB = 1024;

interface Sampled {
  readonly attrs: SamplingAttrs;
  /** Port time the current window began (the last clearing). */
  windowStart: number;
  /** The last complete window's regions. */
  regions: AccessRegion[];
}

/** The expected DAMON count of a region a fraction `f` of whose pages were referenced in a window of `windowMs`. */
export function referencedToAccesses(f: number, windowMs: number, attrs: SamplingAttrs): number {
  const checks = attrs.aggrIntervalMs / attrs.sampleIntervalMs;
  const share = Math.min(Math.max(f, 0), 1);
  return checks * (1 - (1 - share) ** (attrs.sampleIntervalMs / Math.max(windowMs, attrs.sampleIntervalMs)));
}

export class ReferencedSampler implements AccessSampler {
  readonly mechanism = 'clear-refs';
  private readonly sampled = new Map<number, Sampled>();

  constructor(
    private readonly files: FileAccess,
    private readonly now: () => number,
  ) {}

  start(pid: number, attrs: SamplingAttrs): void {
    if (this.sampled.has(pid)) throw new KernelPortError('EBUSY', 'sampling_start', `pid ${pid} is sampled already`);
    this.clear(pid);
    this.sampled.set(pid, { attrs, windowStart: this.now(), regions: [] });
  }

  stop(pid: number): void {
    this.sampled.delete(pid);
  }

  regions(pid: number): AccessRegion[] {
    const s = this.sampled.get(pid);
    if (s === undefined) throw new KernelPortError('EINVAL', 'sampling_regions', `pid ${pid} is not sampled`);
    const now = this.now();
    const windowMs = now - s.windowStart;
    if (windowMs < s.attrs.aggrIntervalMs) return s.regions;
    const vmas = parseSmaps(this.files.readFile(`/proc/${pid}/smaps`));
    this.clear(pid);
    s.windowStart = now;
    const before = new Map(s.regions.map((r) => [`${r.start}-${r.end}`, r]));
    s.regions = vmas
      .filter((v) => v.end > v.start)
      .map((v) => {
        const referenced = (v.fields.get('Referenced') ?? 0) * KiB;
        const nrAccesses = referencedToAccesses(referenced / (v.end - v.start), windowMs, s.attrs);
        return { start: v.start, end: v.end, nrAccesses, age: nextAge(before.get(`${v.start}-${v.end}`), nrAccesses, s.attrs) };
      });
    return s.regions;
  }

  close(): Promise<void> {
    // Nothing stays behind in the kernel: cleared bits are the MMU's to set again.
    this.sampled.clear();
    return Promise.resolve();
  }

  private clear(pid: number): void {
    this.files.writeFile(`/proc/${pid}/clear_refs`, '1');
  }
}
