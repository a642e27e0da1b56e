/**
 * Per-process procfs files: /proc/PID/maps, smaps, smaps_rollup, numa_maps, status, stat (text) and the
 * clear_refs control. smaps-like files walk the page tables, so the reader pays in proportion to what
 * the process maps; maps, status and stat are cheap.
 */
import { PAGE_SIZE } from '../mm/constants.js';
import { Cost } from '../mm/costs.js';
import type { Mempolicy } from '../mm/mempolicy.js';
import { VM, type Task, type Vma } from '../mm/mm-types.js';
import { PG } from '../mm/page-flags.js';
import { PTRS_PER_PTE, ptePfn } from '../mm/pgtable.js';
import { allCapabilityNames } from '../capabilities.js';
import { cpuCount, taskCpu } from '../cpu-topology.js';
import { formatMaps, type MapsVma } from './maps.js';
import { formatNumaMaps } from './numa-maps.js';
import { formatSmapsRollup, formatSmapsVma, smapsRollupFields, type SmapsRollupField } from './smaps.js';
import { clockTicks, formatStat } from './stat.js';
import { formatStatus } from './status.js';
import { smapsKb, vmaFlagMnemonics, vmaPageStats, vmaThpEligible } from './task-mmu.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** Charges a reader for a page-table walk. */
function chargeWalk(reader: Task | undefined, walked: number): void {
  reader?.chargeSys(Cost.procfsRead + walked * Cost.procfsPerPage);
}

/**
 * A VMA's maps line fields. Every VMA of the model is anonymous memory without a name; Linux prints the
 * offset only for a VMA with a file, so private anonymous memory shows 0 however it was split, and
 * shared anonymous memory (a shmem file) its vm_pgoff. (Linux also names a shared one `/dev/zero
 * (deleted)` on device 00:01 with the shmem inode; the model prints it unnamed, as 00:00 0.)
 */
function mapsVma(v: Vma): MapsVma {
  const offset = v.flags & VM.SHARED ? v.pgoff * PAGE_SIZE : 0;
  return { start: v.start, end: v.end, offset, major: 0, minor: 0, inode: 0, vmFlags: vmaFlagMnemonics(v) };
}

/** /proc/PID/maps: the VMAs' header lines, no page walk. */
export function procMaps(task: Task): string {
  return formatMaps(task.mm.vmas.map(mapsVma));
}

/** /proc/PID/smaps: the maps line of each VMA, then its walked figures. */
export function procSmaps(k: Kernel, task: Task, reader: Task | undefined): string {
  let walked = 0;
  const text = task.mm.vmas
    .map((v) => {
      const s = vmaPageStats(k, task, v);
      walked += s.walked;
      return formatSmapsVma({
        ...mapsVma(v),
        kb: smapsKb(s, (v.flags & VM.LOCKED) !== 0),
        thpEligible: vmaThpEligible(k, task, v),
      });
    })
    .join('');
  chargeWalk(reader, walked);
  return text;
}

/** /proc/PID/smaps_rollup. */
export function procSmapsRollup(k: Kernel, task: Task, reader: Task | undefined): string {
  const sum: Partial<Record<SmapsRollupField, number>> = {};
  let walked = 0;
  for (const v of task.mm.vmas) {
    const s = vmaPageStats(k, task, v);
    walked += s.walked;
    const kb = smapsKb(s, (v.flags & VM.LOCKED) !== 0) as Partial<Record<SmapsRollupField, number>>;
    for (const f of smapsRollupFields) if (kb[f] !== undefined) sum[f] = (sum[f] ?? 0) + kb[f];
    sum.Pss_Anon = (sum.Pss_Anon ?? 0) + (kb.Pss ?? 0);
  }
  chargeWalk(reader, walked);
  const vmas = task.mm.vmas;
  return formatSmapsRollup({ start: vmas[0]?.start ?? 0, end: vmas[vmas.length - 1]?.end ?? 0, kb: sum });
}

/** mpol_to_str. */
function policyText(p: Mempolicy | undefined): string {
  if (!p || p.mode === 'default') return 'default';
  if (p.mode === 'local') return 'local';
  const nodes = p.nodes.join(',');
  return `${p.mode === 'preferred' ? 'prefer' : p.mode}:${nodes}`;
}

/** /proc/PID/numa_maps. */
export function procNumaMaps(k: Kernel, task: Task, reader: Task | undefined): string {
  let walked = 0;
  const text = formatNumaMaps(
    task.mm.vmas.map((v) => {
      const s = vmaPageStats(k, task, v);
      walked += s.walked;
      return {
        start: v.start, policy: policyText(v.policy ?? task.mempolicy), pages: s.rss, anon: s.anonymous,
        dirty: s.dirty, mapmax: s.mapmax, swapcache: 0, active: s.active, writeback: 0, nodes: s.perNode,
      };
    }),
  );
  chargeWalk(reader, walked);
  return text;
}

/** /proc/PID/status. */
export function procStatus(k: Kernel, task: Task): string {
  const mm = task.mm;
  const kbOf = (bytes: number): number => Math.floor(bytes / 1024);
  let locked = 0;
  let data = 0;
  for (const v of mm.vmas) {
    if (v.flags & VM.LOCKED) locked += v.end - v.start;
    if (v.flags & VM.WRITE && !(v.flags & VM.SHARED)) data += v.end - v.start;
  }
  const caps = allCapabilityNames.flatMap((c, bit) => (task.hasCap(c) ? [bit] : []));
  return formatStatus({
    name: task.comm.slice(0, 15), state: 'R', tgid: task.pid, pid: task.pid, ppid: task.ppid,
    uid: [task.uid, task.uid, task.uid, task.uid], gid: [0, 0, 0, 0], pgid: task.pid, sid: task.pid,
    kb: {
      VmPeak: kbOf(mm.peakVm), VmSize: kbOf(mm.totalVm), VmLck: kbOf(locked), VmPin: k.pins.pinnedPagesOf(task.pid) * 4,
      VmHWM: mm.hiwaterRss * 4, VmRSS: mm.rssPages * 4, RssAnon: mm.rssPages * 4, VmData: kbOf(data),
      VmPTE: mm.ptePages * 4, VmSwap: mm.swapEntries * 4,
    },
    thpEnabled: !task.thpDisable, threads: 1,
    capPrm: caps, capEff: caps, capBnd: allCapabilityNames.map((_, i) => i),
    cpusAllowed: Array.from({ length: cpuCount(k.nodeCount) }, (_, i) => i), nrCpuIds: cpuCount(k.nodeCount),
    memsAllowed: k.zones.map((z) => z.node),
  });
}

/** /proc/PID/stat; `processor` is the CPU of the task's node (cpu-topology.ts). */
export function procStat(_k: Kernel, task: Task): string {
  return formatStat({
    pid: task.pid, comm: task.comm.slice(0, 15), state: 'R', ppid: task.ppid, pgrp: task.pid, session: task.pid,
    minflt: task.minflt, majflt: task.majflt, utime: clockTicks(task.utimeMs), stime: clockTicks(task.stimeMs),
    priority: 20, nice: 0, numThreads: 1, starttime: clockTicks(task.startTimeMs), vsize: task.mm.totalVm,
    rss: task.mm.rssPages, processor: taskCpu(task.node),
  });
}

/**
 * A write to /proc/PID/clear_refs: 1 clears the referenced and young bits of every page, 2 of anonymous
 * pages (all the model maps), 3 of file pages (none mapped), 4 clears soft-dirty bits (not modelled,
 * accepted), 5 resets the peak RSS. Anything else is EINVAL. The walk costs the writer.
 */
export function clearRefs(k: Kernel, task: Task, text: string, writer: Task | undefined): void {
  const v = Number(/^\s*(\d+)\s*$/.exec(text)?.[1] ?? NaN);
  if (!(v >= 1 && v <= 5)) throw new SyscallError('EINVAL', 'write', `clear_refs: ${JSON.stringify(text)}`);
  if (v === 5) {
    task.mm.hiwaterRss = task.mm.rssPages;
    return;
  }
  if (v !== 1 && v !== 2) return;
  let walked = 0;
  const f = k.frames;
  for (const e of task.mm.pmd.values()) {
    walked++;
    if (e < 0) {
      f.clear(-e - 1, PG.young | PG.referenced);
      continue;
    }
    for (let i = 0; i < PTRS_PER_PTE; i++) {
      const pte = k.pgtables.entries[e * PTRS_PER_PTE + i];
      if (pte <= 0) continue;
      walked++;
      f.clear(ptePfn(pte), PG.young | PG.referenced);
    }
  }
  chargeWalk(writer, walked);
}
