/**
 * The page-migration syscalls: move_pages(2) (Linux mm/migrate.c kernel_move_pages, do_pages_move,
 * do_pages_stat) and migrate_pages(2) (mm/mempolicy.c kernel_migrate_pages, do_migrate_pages), on top
 * of Migration.migratePage.
 *
 * move_pages(pid, pages, nodes | NULL, status, flags)
 *   flags other than MPOL_MF_MOVE(_ALL) → EINVAL; MPOL_MF_MOVE_ALL without CAP_SYS_NICE → EPERM;
 *   no such process → ESRCH; another process without PTRACE_MODE_READ_REALCREDS → EPERM.
 *   nodes NULL: status[i] = the node of the page at pages[i]; -EFAULT if unmapped or the zero page,
 *     -ENOENT if not present (never touched, or swapped out).
 *   else, page by page: a node that does not exist (or has no memory) ends the call with ENODEV after
 *     the pages before it were done; -EFAULT unmapped or zero page; -ENOENT not present; the node itself
 *     when the page is already there; -EACCES a page mapped by another process too, without
 *     MPOL_MF_MOVE_ALL; -EBUSY a page isolated by someone else (or queued earlier in the same call, as
 *     a second address inside one THP is); otherwise the page is queued, and the queue is migrated when
 *     the target node changes, after a page that could not be queued, and at the end.
 * migrate_pages(pid, old_nodes, new_nodes)
 *   a node id beyond MAX_NUMNODES → EINVAL; no such process → ESRCH; no PTRACE_MODE_READ_REALCREDS →
 *   EPERM; new nodes outside the target's allowed nodes (here: nodes that do not exist) → EPERM without
 *   CAP_SYS_NICE, else dropped, and EINVAL if none is left. Then every page of the process on an old
 *   node moves to the node at the same position in new_nodes (node_remap), in do_migrate_pages' order
 *   (a destination not itself still to be emptied first; with more old than new nodes, old nodes that
 *   are also new stay). Pages mapped by other processes move only if the caller has CAP_SYS_NICE
 *   (MPOL_MF_MOVE_ALL); skipping them is not a failure. Returns what 6.18 returns: the folios not
 *   moved, a THP that had to be split counting as one even when its pieces moved.
 *
 * Migration itself (migrate_pages() with MR_SYSCALL): the target page comes from the destination node
 * only (__GFP_THISNODE), with direct reclaim; a THP is moved whole when a huge page can be had there
 * (GFP_TRANSHUGE: reclaim and compaction), else split (thp_migration_fail, thp_migration_split) and its
 * pieces moved one by one. An allocation failure (ENOMEM) stops the batch. The caller pays: its CPU does
 * the copies (a `migration` stall, which is system time) and its allocations may stall in reclaim and
 * compaction. The target process is not charged.
 *
 * Where the model departs from 6.18: Linux leaves the status of pages whose batch failed to migrate
 * unwritten and returns the count of pages not migrated; the model writes each page's reason (-ENOMEM,
 * -EAGAIN for a pinned page, -EBUSY) instead, as kernels before 4.17 did, so the array is always whole.
 */
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, PAGE_SIZE, PageKind, pmdIndexOf } from './constants.js';
import { Cost } from './costs.js';
import { GFP, GFP_HIGHUSER_MOVABLE, GFP_TRANSHUGE } from './gfp.js';
import type { MigrateFailure } from './migrate.js';
import type { Task } from './mm-types.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePfn } from './pgtable.js';
import { Vm } from './vmstat.js';
import { SyscallError, errnoNumbers, type Errno } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** CONFIG_NODES_SHIFT = 10: node ids a nodemask or a move_pages node may name. */
export const MAX_NUMNODES = 1024;

/** move_pages(2) flags. */
export type MovePagesFlags = 0 | 'MPOL_MF_MOVE' | 'MPOL_MF_MOVE_ALL';

/** What a page lookup (folio_walk) finds at an address. */
type Lookup = { readonly head: number } | { readonly errno: 'EFAULT' | 'ENOENT' };

/** The outcome of migrating one folio for a syscall. */
interface FolioOutcome {
  readonly ok: boolean;
  readonly errno?: Errno;
  /** A THP was split to be moved (counted as not moved by migrate_pages' return value). */
  readonly split: boolean;
}

/** move_pages(2): the status of each page (a node id or a negated errno). */
export function kernelMovePages(
  k: Kernel,
  caller: Task,
  pid: number,
  addrs: readonly number[],
  nodes: readonly number[] | null,
  flags: MovePagesFlags,
): number[] {
  const syscall = 'move_pages';
  caller.chargeSys(Cost.syscall);
  if (flags !== 0 && flags !== 'MPOL_MF_MOVE' && flags !== 'MPOL_MF_MOVE_ALL') throw new SyscallError('EINVAL', syscall, `flags ${String(flags)}`);
  const moveAll = flags === 'MPOL_MF_MOVE_ALL';
  if (moveAll && !caller.hasCap('CAP_SYS_NICE')) throw new SyscallError('EPERM', syscall, 'MPOL_MF_MOVE_ALL needs CAP_SYS_NICE');
  const target = findTarget(k, caller, pid, syscall);
  caller.chargeSys(addrs.length * Cost.procfsPerPage);
  if (nodes === null) return addrs.map((a) => statusOf(followPage(k, target, a), k));

  const status = new Array<number>(addrs.length).fill(0);
  const queue: { i: number; head: number }[] = [];
  let current = -1;
  const flush = (): void => {
    if (queue.length > 0) migrateQueue(k, caller, queue, current, (i, s) => (status[i] = s));
    queue.length = 0;
  };
  for (let i = 0; i < addrs.length; i++) {
    const node = nodes[i];
    if (!(Number.isInteger(node) && node >= 0 && node < MAX_NUMNODES && node < k.nodeCount)) {
      flush();
      throw new SyscallError('ENODEV', syscall, `node ${node}`);
    }
    if (current < 0) current = node;
    else if (node !== current) {
      flush();
      current = node;
    }
    const found = followPage(k, target, addrs[i]);
    if ('head' in found) {
      const r = addFolio(k, found.head, current, moveAll);
      if (r === QUEUED) {
        queue.push({ i, head: found.head });
        continue;
      }
      status[i] = r;
    } else status[i] = -errnoNumbers[found.errno];
    flush();
    current = -1;
  }
  flush();
  return status;
}

/** migrate_pages(2): the number of folios that could not be moved. */
export function kernelMigratePages(k: Kernel, caller: Task, pid: number, fromNodes: readonly number[], toNodes: readonly number[]): number {
  const syscall = 'migrate_pages';
  caller.chargeSys(Cost.syscall);
  for (const n of [...fromNodes, ...toNodes]) {
    if (!(Number.isInteger(n) && n >= 0 && n < MAX_NUMNODES)) throw new SyscallError('EINVAL', syscall, `node ${n} is not in a nodemask`);
  }
  const target = findTarget(k, caller, pid, syscall);
  const oldNodes = [...new Set(fromNodes)].sort((a, b) => a - b);
  let newNodes = [...new Set(toNodes)].sort((a, b) => a - b);
  const sysNice = caller.hasCap('CAP_SYS_NICE');
  if (newNodes.some((n) => n >= k.nodeCount) && !sysNice) throw new SyscallError('EPERM', syscall, 'new nodes outside the allowed nodes');
  newNodes = newNodes.filter((n) => n < k.nodeCount);
  if (newNodes.length === 0) throw new SyscallError('EINVAL', syscall, 'no allowed node in new_nodes');

  // do_migrate_pages: pick <source, dest> pairs so that a destination is emptied of its own outgoing
  // pages before pages arrive, when the map allows it.
  const left = new Set(oldNodes);
  let failed = 0;
  while (left.size > 0) {
    let source = -1;
    let dest = 0;
    for (const s of [...left].sort((a, b) => a - b)) {
      if (oldNodes.length !== newNodes.length && newNodes.includes(s)) continue;
      const d = nodeRemap(s, oldNodes, newNodes);
      if (s === d) continue;
      source = s;
      dest = d;
      if (!left.has(dest)) break;
    }
    if (source < 0) break;
    left.delete(source);
    failed += migrateToNode(k, caller, target, source, dest, sysNice);
  }
  return failed;
}

/** find_mm_struct / kernel_migrate_pages' lookup: ESRCH, then PTRACE_MODE_READ_REALCREDS (EPERM). */
function findTarget(k: Kernel, caller: Task, pid: number, syscall: string): Task {
  if (pid === 0) return caller;
  const target = k.task(pid);
  if (!target) throw new SyscallError('ESRCH', syscall, `pid ${pid}`);
  if (!k.ptraceMayRead(caller, target)) throw new SyscallError('EPERM', syscall, `no PTRACE_MODE_READ on pid ${pid}`);
  return target;
}

/** bitmap_bitremap: the node at `s`'s position among `from`, in `to` (wrapping), or `s` itself. */
function nodeRemap(s: number, from: readonly number[], to: readonly number[]): number {
  const n = from.indexOf(s);
  return n < 0 || to.length === 0 ? s : to[n % to.length];
}

/** folio_walk at `addr`: the folio mapped there, or why there is none. */
function followPage(k: Kernel, task: Task, addr: number): Lookup {
  if (!(addr >= 0) || !task.mm.findVma(addr)) return { errno: 'EFAULT' };
  const e = task.mm.pmd.get(pmdIndexOf(addr));
  if (e === undefined) return { errno: 'ENOENT' };
  if (e < 0) return -e - 1 === k.huge.hugeZeroPfn ? { errno: 'EFAULT' } : { head: -e - 1 };
  const pte = k.pgtables.entries[e * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE)];
  if (pte <= 0) return { errno: 'ENOENT' };
  const pfn = ptePfn(pte);
  return pfn === k.zeroPfn ? { errno: 'EFAULT' } : { head: k.frames.compoundHead(pfn) };
}

/** do_pages_stat's status: the node, or a negated errno. */
function statusOf(found: Lookup, k: Kernel): number {
  return 'head' in found ? k.nodeOfPfn(found.head) : -errnoNumbers[found.errno];
}

const QUEUED = Number.MAX_SAFE_INTEGER;

/** __add_folio_for_migration: the status to store now, or QUEUED (the folio is isolated). */
function addFolio(k: Kernel, head: number, node: number, moveAll: boolean): number {
  if (k.nodeOfPfn(head) === node) return node;
  if (!moveAll && mappedShared(k, head)) return -errnoNumbers.EACCES;
  if (k.frames.has(head, PG.isolated) || !isMigratableKind(k, head)) return -errnoNumbers.EBUSY;
  k.frames.set(head, PG.isolated);
  return QUEUED;
}

function isMigratableKind(k: Kernel, head: number): boolean {
  const kind = k.frames.kind(head);
  return kind === PageKind.Anon || kind === PageKind.PageCache;
}

/** folio_maybe_mapped_shared: mapped by more than one address space. */
function mappedShared(k: Kernel, head: number): boolean {
  const f = k.frames;
  if (!f.has(head, PG.head)) return f.getMapcount(head) > 1;
  const pmds = k.rmap.pmdsOf(head);
  if (pmds.length > 1) return true;
  let owner = pmds.length === 1 ? pmds[0].pid : -1;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    for (const slot of k.rmap.ptesOf(head + i)) {
      const pid = k.pgtables.ownerOf(Math.floor(slot / PTRS_PER_PTE));
      if (owner < 0) owner = pid;
      else if (pid !== owner) return true;
    }
  }
  return false;
}

/** Migrates a queue of isolated folios to `node`, reporting each status; ENOMEM stops the rest. */
function migrateQueue(k: Kernel, caller: Task, queue: readonly { i: number; head: number }[], node: number, store: (i: number, status: number) => void): void {
  let stopped = false;
  for (const { i, head } of queue) {
    k.frames.clear(head, PG.isolated);
    if (stopped) {
      store(i, -errnoNumbers.ENOMEM);
      continue;
    }
    const r = migrateFolio(k, caller, head, node);
    store(i, r.ok ? node : -errnoNumbers[r.errno ?? 'EBUSY']);
    if (r.errno === 'ENOMEM') stopped = true;
  }
}

/** Every page of `target` on `source` goes to `dest` (migrate_to_node); returns the folios not moved. */
function migrateToNode(k: Kernel, caller: Task, target: Task, source: number, dest: number, moveAll: boolean): number {
  const f = k.frames;
  const folios = new Set<number>();
  let examined = 0;
  for (const v of target.mm.vmas) {
    for (let pmdIdx = pmdIndexOf(v.start); pmdIdx * HPAGE_PMD_NR * PAGE_SIZE < v.end; pmdIdx++) {
      const e = target.mm.pmd.get(pmdIdx);
      if (e === undefined) continue;
      examined++;
      if (e < 0) {
        const head = -e - 1;
        if (head !== k.huge.hugeZeroPfn && k.nodeOfPfn(head) === source) folios.add(head);
        continue;
      }
      const base = pmdIdx * HPAGE_PMD_NR * PAGE_SIZE;
      const first = (Math.max(v.start, base) - base) / PAGE_SIZE;
      const last = (Math.min(v.end, base + HPAGE_PMD_NR * PAGE_SIZE) - base) / PAGE_SIZE;
      for (let idx = first; idx < last; idx++) {
        const pte = k.pgtables.entries[e * PTRS_PER_PTE + idx];
        examined++;
        if (pte <= 0) continue;
        const pfn = ptePfn(pte);
        if (pfn !== k.zeroPfn && k.nodeOfPfn(pfn) === source) folios.add(f.compoundHead(pfn));
      }
    }
  }
  caller.chargeSys(examined * Cost.procfsPerPage);
  // queue_pages_range: isolate what can be; shared folios are skipped without counting as failures.
  let failed = 0;
  const list: number[] = [];
  for (const head of folios) {
    if (!moveAll && mappedShared(k, head)) continue;
    if (f.has(head, PG.isolated) || !isMigratableKind(k, head)) {
      failed++;
      continue;
    }
    f.set(head, PG.isolated);
    list.push(head);
  }
  let stopped = false;
  for (const head of list) {
    f.clear(head, PG.isolated);
    if (stopped) continue;
    const r = migrateFolio(k, caller, head, dest);
    if (!r.ok || r.split) failed++;
    if (r.errno === 'ENOMEM') stopped = true;
  }
  return failed;
}

/**
 * Moves one folio to `node` for a syscall: a THP whole if a huge page can be allocated there, else split
 * and moved piece by piece (the pieces' failures are not reported, as 6.18 does not count them).
 */
function migrateFolio(k: Kernel, caller: Task, head: number, node: number): FolioOutcome {
  const f = k.frames;
  const alloc = (order: number): number =>
    k.allocator.allocPages({
      order,
      kind: PageKind.Anon,
      gfp: order > 0 ? GFP_TRANSHUGE | GFP.THISNODE : GFP_HIGHUSER_MOVABLE | GFP.THISNODE,
      nodes: [node],
      task: caller,
      mayFallBack: false,
    });
  const once = (pfn: number, allocTarget: (order: number) => number): FolioOutcome => {
    const r = k.migration.migratePage(pfn, allocTarget, 'syscall');
    caller.stall('migration', r.costMs);
    return r.ok ? { ok: true, split: false } : { ok: false, errno: errnoOfFailure(r.reason), split: false };
  };
  if (!f.has(head, PG.head) || k.migration.isPinned(head)) return once(head, alloc);
  const huge = alloc(HPAGE_PMD_ORDER);
  if (huge >= 0) {
    let used = false;
    const r = once(head, () => {
      used = true;
      return huge;
    });
    if (!used) k.allocator.freePages(huge, HPAGE_PMD_ORDER);
    return r;
  }
  const srcNode = k.nodeOfPfn(head);
  k.vmstat.countVmEvent(srcNode, Vm.thp_migration_fail);
  k.vmstat.countVmEvent(srcNode, Vm.thp_migration_split);
  const split = k.huge.splitHugePage(head);
  caller.stall('migration', split.costMs);
  if (!split.ok) return { ok: false, errno: 'EAGAIN', split: false };
  let errno: Errno | undefined;
  for (const p of split.pages) {
    const r = once(p, alloc);
    errno ??= r.errno;
    if (r.errno === 'ENOMEM') break;
  }
  return errno === undefined ? { ok: true, split: true } : { ok: false, errno, split: true };
}

/** The errno a failed migration reports (unmap_and_move's result in kernels that stored it). */
function errnoOfFailure(reason: MigrateFailure): Errno {
  switch (reason) {
    case 'nomem':
      return 'ENOMEM';
    case 'pinned':
      return 'EAGAIN';
    case 'busy':
    case 'unmovable':
      return 'EBUSY';
  }
}
