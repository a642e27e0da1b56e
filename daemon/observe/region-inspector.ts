/**
 * What a candidate's 2 MiB region holds, page by page, from the two binary files Linux offers for it
 * (Documentation/admin-guide/mm/pagemap.rst) — the way tcmalloc counts its hugepage coverage:
 *
 *   /proc/PID/pagemap   a u64 per virtual page: bit 63 present, 62 swapped, 56 exclusively mapped
 *                       (mapped once, by this process), bits 0–54 the PFN of a present page
 *   /proc/kpageflags    a u64 per physical frame: 15 COMPOUND_HEAD, 21 KSM, 22 THP, 24 ZERO_PAGE
 *   /proc/zoneinfo      each zone's first frame (start_pfn) and span: which node a PFN is on
 *
 * From them, per region (RegionFacts, daemon/decide/candidate.ts):
 *   present, swapped, none    bits 63 and 62; none = 512 − present − swapped
 *   huge      all 512 present on consecutive PFNs from a 512-aligned one that kpageflags flags THP and
 *             COMPOUND_HEAD (the huge zero page included: it reads THP too, and collapsing it is moot).
 *             pagemap cannot tell a PMD mapping from 512 PTEs mapping one THP in order; both count.
 *   shared    present pages without the exclusive bit (fork's copy-on-write sharing, the zero pages,
 *             KSM pages mapped more than once), plus exclusively mapped pages kpageflags flags KSM or
 *             ZERO_PAGE (a KSM page whose other mappers went away is still a KSM page)
 *   nodePages present pages per node, by their PFN
 *
 * Cost, per region: one pread of pagemap (4096 bytes, 512 entries), then kpageflags only for what the
 * counts need —
 *   - the first present page's frame (8 bytes), always: it tells a THP head, and it makes a daemon without
 *     CAP_SYS_ADMIN (whose pagemap shows every PFN as 0) fail on kpageflags' EACCES instead of counting
 *     pages on PFN 0's node;
 *   - the frames of the exclusively mapped pages, for the KSM bit, but only when the process maps KSM
 *     pages at all: /proc/PID/ksm_merging_pages is read once per `inspect` call, and 0 skips them (a
 *     kernel before 5.19 has no such file: then they are always read); and only when pagemap's pages
 *     not exclusively mapped are within the caller's `sharedLimit`: beyond it the region is ineligible
 *     whatever the KSM bits say, and `shared` is that lower bound (on a KSM host, where a guest's
 *     regions hold pages merged with other guests', this spares most of the kpageflags reads). They
 *     are read as runs of nearby frames, one pread per run, a run reading through gaps of up to 64
 *     frames (512 bytes of unneeded flags cost less than another syscall). Frames faulted together are
 *     usually close, so this is one or a few reads; the worst case, 512 scattered frames, is 512 reads
 *     of 8 bytes.
 * The zone table is built from /proc/zoneinfo on first use and kept (zones do not move); a PFN in no
 * zone (memory hot-added since) rebuilds it once per region, and is left out of nodePages if still
 * unknown. `refreshTopology` rebuilds it on demand.
 *
 * A process that is gone makes `inspect` throw KernelPortError ESRCH — the errno the failure memory
 * forgets a process on — whether its pagemap answers ENOENT (its /proc/PID is gone) or reads short (a
 * zombie's pagemap reads as end of file on Linux). Every other KernelPortError (EACCES, EPERM...)
 * propagates as the port threw it; the caller handles both.
 */
import { PAGES_PER_REGION, REGION_BYTES, type RegionFacts } from '../decide/candidate.js';
import { KernelPortError, type KernelPort } from '../kernel-port/kernel-port.js';
import { parseZoneinfo } from '../kernel-port/procfs-parsers.js';

/** Bytes of a base page. */
const PAGE_SIZE = 4096;
/** Bytes of a pagemap or kpageflags entry. */
const ENTRY = 8;
/** pagemap bits, as masks of an entry's high 32 bits (bits 63, 62, 56). */
const PM_PRESENT = 2 ** 31;
const PM_SWAPPED = 1 << 30;
const PM_EXCLUSIVE = 1 << 24;
/** The PFN's bits 32–54, in the high word. */
const PM_PFN_HIGH = 0x7fffff;
/** kpageflags bits, as masks of an entry's low 32 bits. */
const KPF_COMPOUND_HEAD = 1 << 15;
const KPF_KSM = 1 << 21;
const KPF_THP = 1 << 22;
const KPF_ZERO_PAGE = 1 << 24;
/** Frames this close are read in one kpageflags pread, the gap between them included. */
const KPAGEFLAGS_MAX_GAP = 64;

/** The frames of one zone: [start, end) on `node`. */
interface ZoneSpan {
  readonly start: number;
  readonly end: number;
  readonly node: number;
}

/** A region's pagemap, decoded: each page's PFN (−1 when not present) and the counts. */
interface DecodedPagemap {
  readonly pfns: Float64Array;
  readonly exclusive: Uint8Array;
  readonly present: number;
  readonly swapped: number;
  /** Present pages without the exclusive bit. */
  readonly notExclusive: number;
}

/** Inspects 2 MiB regions of processes through pagemap, kpageflags and zoneinfo; one per kernel port. */
export class RegionInspector {
  private zones: ZoneSpan[] | undefined;
  private nodes = 0;

  constructor(private readonly port: KernelPort) {}

  /** Rebuilds the PFN → node table from /proc/zoneinfo (after memory hotplug; it is built lazily anyway). */
  refreshTopology(): void {
    const spans: ZoneSpan[] = [];
    let nodes = 0;
    for (const z of parseZoneinfo(this.port.readFile('/proc/zoneinfo'))) {
      nodes = Math.max(nodes, z.node + 1);
      const start = z.fields.get('start_pfn');
      const spanned = z.fields.get('spanned') ?? 0;
      // An unpopulated zone prints no start_pfn.
      if (start !== undefined && spanned > 0) spans.push({ start, end: start + spanned, node: z.node });
    }
    this.zones = spans.sort((a, b) => a.start - b.start);
    this.nodes = nodes;
  }

  /** The nodes zoneinfo shows (the length of every `nodePages`). */
  get nodeCount(): number {
    this.topology();
    return this.nodes;
  }

  /**
   * The facts of each region (2 MiB-aligned start addresses) of process `pid`, in the order given;
   * `shared` exact up to `sharedLimit` (see the file's comment). KernelPortError ESRCH when the process
   * is gone; see the file's comment for the other errors.
   */
  inspect(pid: number, regions: readonly number[], sharedLimit = Number.POSITIVE_INFINITY): RegionFacts[] {
    let ksmInUse: boolean | undefined;
    const ksm = (): boolean => (ksmInUse ??= this.mapsKsmPages(pid));
    return regions.map((region) => this.inspectRegion(pid, region, ksm, sharedLimit));
  }

  private inspectRegion(pid: number, region: number, ksmInUse: () => boolean, sharedLimit: number): RegionFacts {
    if (!(Number.isInteger(region) && region >= 0 && region % REGION_BYTES === 0)) {
      throw new RangeError(`region 0x${region.toString(16)} is not a 2 MiB-aligned address`);
    }
    const map = decodePagemap(this.readPagemap(pid, region));
    const { pfns, present, swapped } = map;
    const nodePages = this.nodePagesOf(pfns);
    const facts = (huge: boolean, shared: number): RegionFacts => ({
      present, none: PAGES_PER_REGION - present - swapped, swapped, shared, huge, nodePages,
    });
    if (present === 0) return facts(false, 0);
    const first = pfns.find((p) => p >= 0) ?? 0;
    const firstFlags = this.kpageflags(first, first)[0];
    if (present === PAGES_PER_REGION && inOrder(pfns) && (firstFlags & (KPF_THP | KPF_COMPOUND_HEAD)) === (KPF_THP | KPF_COMPOUND_HEAD)) {
      // A THP is never a KSM page; the huge zero page is never mapped exclusively.
      return facts(true, map.notExclusive);
    }
    const exclusive = present - map.notExclusive;
    if (map.notExclusive > sharedLimit) return facts(false, map.notExclusive);
    return facts(false, map.notExclusive + (exclusive > 0 && ksmInUse() ? this.exclusiveKsmOrZero(map) : 0));
  }

  /** The region's 512 pagemap entries; ESRCH when the process is gone. */
  private readPagemap(pid: number, region: number): Uint8Array {
    const path = `/proc/${pid}/pagemap`;
    const length = PAGES_PER_REGION * ENTRY;
    let bytes: Uint8Array;
    try {
      bytes = this.port.readBinary(path, (region / PAGE_SIZE) * ENTRY, length);
    } catch (e) {
      if (e instanceof KernelPortError && e.errno === 'ENOENT') throw new KernelPortError('ESRCH', e.call, `${path}: the process has exited`);
      throw e;
    }
    if (bytes.length < length) throw new KernelPortError('ESRCH', 'pread', `${path}: ${bytes.length} of ${length} bytes, the process has exited`);
    return bytes;
  }

  /** Whether the process maps KSM pages (ksm_merging_pages > 0); true when the kernel does not say. */
  private mapsKsmPages(pid: number): boolean {
    try {
      return Number(this.port.readFile(`/proc/${pid}/ksm_merging_pages`).trim()) !== 0;
    } catch (e) {
      if (e instanceof KernelPortError && e.errno === 'ENOENT') return true;
      throw e;
    }
  }

  /** Exclusively mapped present pages that kpageflags flags KSM or ZERO_PAGE, read in runs of nearby frames. */
  private exclusiveKsmOrZero(map: DecodedPagemap): number {
    const frames = [...new Set(Array.from(map.pfns).filter((p, i) => p >= 0 && map.exclusive[i] === 1))].sort((a, b) => a - b);
    const special = new Set<number>();
    for (let i = 0; i < frames.length; ) {
      let j = i;
      while (j + 1 < frames.length && frames[j + 1] - frames[j] <= KPAGEFLAGS_MAX_GAP) j++;
      const flags = this.kpageflags(frames[i], frames[j]);
      for (let f = i; f <= j; f++) if (flags[frames[f] - frames[i]] & (KPF_KSM | KPF_ZERO_PAGE)) special.add(frames[f]);
      i = j + 1;
    }
    let n = 0;
    map.pfns.forEach((p, i) => {
      if (map.exclusive[i] === 1 && special.has(p)) n++;
    });
    return n;
  }

  /** The low 32 bits of the kpageflags of frames `from`..`to` (inclusive), one pread. */
  private kpageflags(from: number, to: number): Uint32Array {
    const bytes = this.port.readBinary('/proc/kpageflags', from * ENTRY, (to - from + 1) * ENTRY);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Uint32Array.from({ length: bytes.byteLength / ENTRY }, (_, i) => view.getUint32(i * ENTRY, true));
  }

  /** Present pages per node; a PFN in no known zone rebuilds the table once, and is skipped if still unknown. */
  private nodePagesOf(pfns: Float64Array): number[] {
    let zones = this.topology();
    let refreshed = false;
    const counts: number[] = [];
    for (const pfn of pfns) {
      if (pfn < 0) continue;
      let node = nodeOf(zones, pfn);
      if (node === undefined && !refreshed) {
        refreshed = true;
        this.refreshTopology();
        zones = this.topology();
        node = nodeOf(zones, pfn);
      }
      if (node !== undefined) counts[node] = (counts[node] ?? 0) + 1;
    }
    return Array.from({ length: this.nodes }, (_, n) => counts[n] ?? 0);
  }

  private topology(): ZoneSpan[] {
    if (this.zones === undefined) this.refreshTopology();
    return this.zones ?? [];
  }
}

/** The pagemap entries of a region, decoded. */
function decodePagemap(bytes: Uint8Array): DecodedPagemap {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pfns = new Float64Array(PAGES_PER_REGION).fill(-1);
  const exclusive = new Uint8Array(PAGES_PER_REGION);
  let present = 0;
  let swapped = 0;
  let notExclusive = 0;
  for (let i = 0; i < PAGES_PER_REGION; i++) {
    const high = view.getUint32(i * ENTRY + 4, true);
    if (high & PM_PRESENT) {
      present++;
      pfns[i] = view.getUint32(i * ENTRY, true) + (high & PM_PFN_HIGH) * 2 ** 32;
      if (high & PM_EXCLUSIVE) exclusive[i] = 1;
      else notExclusive++;
    } else if (high & PM_SWAPPED) swapped++;
  }
  return { pfns, exclusive, present, swapped, notExclusive };
}

/** Whether every page is present on consecutive frames from a 512-aligned one. */
function inOrder(pfns: Float64Array): boolean {
  const head = pfns[0];
  if (head < 0 || head % PAGES_PER_REGION !== 0) return false;
  return pfns.every((p, i) => p === head + i);
}

/** The node of a frame: the latest-starting zone span holding it (spans of interleaved nodes may nest). */
function nodeOf(zones: readonly ZoneSpan[], pfn: number): number | undefined {
  let lo = 0;
  let hi = zones.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (zones[mid].start <= pfn) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo - 1; i >= 0; i--) if (pfn < zones[i].end) return zones[i].node;
  return undefined;
}

/**
 * A short summary of a region's residency — its counts and whether it is huge — that changes when the
 * region's pages do: the failure memory keeps an EINVAL region while this stays the same.
 */
export function fingerprint(facts: RegionFacts): string {
  return `present=${facts.present} none=${facts.none} swapped=${facts.swapped} shared=${facts.shared} huge=${facts.huge ? 1 : 0}`;
}
