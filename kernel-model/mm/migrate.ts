/**
 * Page migration (Linux mm/migrate.c): move the contents of an in-use page to another frame and rewrite
 * every mapping of it, found through the reverse map. Compaction, NUMA balancing, migrate_pages and
 * move_pages all come through here.
 *
 * Cost: a fixed part, the copy (per 4 KiB), and one rmap visit per mapping — the term that makes a KSM
 * page shared a million times take minutes to migrate. The caller decides who pays.
 *
 * Not migratable: long-term pinned pages, unmovable kernel pages and page tables, the zero pages, and
 * pages isolated by someone else.
 */
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, PageKind } from './constants.js';
import { Cost } from './costs.js';
import { PG } from './page-flags.js';
import { ptePresent } from './pgtable.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** Who asked for a migration (enum migrate_reason): MR_COMPACTION, MR_NUMA_MISPLACED, MR_SYSCALL. */
export type MigrateReason = 'compaction' | 'numa' | 'syscall';

/** Why a page could not be migrated. */
export type MigrateFailure = 'pinned' | 'unmovable' | 'busy' | 'nomem';

/** The result of one migration attempt. */
export type MigrateResult = { ok: true; newPfn: number; costMs: number } | { ok: false; reason: MigrateFailure; costMs: number };

/** Page migration. */
export class Migration {
  constructor(private readonly k: Kernel) {}

  /** Whether the page (or THP) at `pfn` could be migrated at all. */
  isMovable(pfn: number): boolean {
    const f = this.k.frames;
    const head = f.compoundHead(pfn);
    const kind = f.kind(head);
    if (kind !== PageKind.Anon && kind !== PageKind.PageCache) return false;
    return !this.isPinned(head) && !f.has(head, PG.isolated);
  }

  /** Whether the page or any subpage of its THP is long-term pinned. */
  isPinned(head: number): boolean {
    const f = this.k.frames;
    const n = f.has(head, PG.head) ? HPAGE_PMD_NR : 1;
    for (let i = 0; i < n; i++) if (f.has(head + i, PG.pinned)) return true;
    return false;
  }

  /** Mappings an rmap walk of this page visits (PTEs of every subpage plus PMD mappings). */
  mappingsOf(head: number): number {
    const f = this.k.frames;
    if (!f.has(head, PG.head)) return f.getMapcount(head);
    let n = this.k.rmap.pmdMapcount(head);
    for (let i = 0; i < HPAGE_PMD_NR; i++) n += f.getMapcount(head + i);
    return n;
  }

  /**
   * Migrates the page or THP at `pfn` into a frame obtained from `allocTarget(order)` (-1: no memory).
   * Counts pgmigrate_* / thp_migration_* on the source node. `reason` (enum migrate_reason) says who
   * asked; copying into memory the host had taken back (free page reporting) adds the host's faults to
   * the cost.
   */
  migratePage(pfn: number, allocTarget: (order: number) => number, reason: MigrateReason = 'compaction'): MigrateResult {
    const k = this.k;
    const f = k.frames;
    const head = f.compoundHead(pfn);
    const isThp = f.has(head, PG.head);
    const order = isThp ? HPAGE_PMD_ORDER : 0;
    const n = 1 << order;
    const node = k.nodeOfPfn(head);
    const fail = (reason: MigrateFailure, costMs: number): MigrateResult => {
      k.vmstat.countVmEvent(node, Vm.pgmigrate_fail, n);
      if (isThp) k.vmstat.countVmEvent(node, Vm.thp_migration_fail);
      return { ok: false, reason, costMs };
    };
    const kind = f.kind(head);
    if (kind !== PageKind.Anon && kind !== PageKind.PageCache) return fail('unmovable', 0);
    if (this.isPinned(head)) return fail('pinned', Cost.migrateFixed);
    if (f.has(head, PG.isolated)) return fail('busy', 0);
    const target = allocTarget(order);
    if (target < 0) return fail('nomem', Cost.migrateFixed);
    const hostMs = k.pageReporting.migrationTarget(target, n, reason);

    const mappings = this.mappingsOf(head);
    for (let i = 0; i < n; i++) this.moveFrame(head + i, target + i);
    for (const m of k.rmap.pmdsOf(target)) k.task(m.pid)?.mm.pmd.set(m.pmdIndex, -target - 1);
    if (kind === PageKind.PageCache) k.pageCache.relocate(head, target);
    else if (isThp) k.huge.relocate(head, target);
    else if (k.nodeOfPfn(target) !== node) {
      k.vmstat.modNodeState(node, Vm.nr_anon_pages, -1);
      k.vmstat.modNodeState(k.nodeOfPfn(target), Vm.nr_anon_pages, 1);
    }
    k.memcg.migrate(head, target, n);
    k.numaBalancing.folioMigrated(head, target);
    if (f.has(target, PG.ksm)) k.ksm.folioMigrated(head, target);
    k.allocator.freePages(head, order);

    k.vmstat.countVmEvent(node, Vm.pgmigrate_success, n);
    if (isThp) k.vmstat.countVmEvent(node, Vm.thp_migration_success);
    k.vmscan.lruMoved(head, target);
    const costMs = Cost.migrateFixed + n * Cost.copyPage + k.rmap.walkCostMs(target, mappings) + hostMs;
    return { ok: true, newPfn: target, costMs };
  }

  /** Moves one frame's state and mappings to `to` (which was just allocated). */
  private moveFrame(from: number, to: number): void {
    const k = this.k;
    const f = k.frames;
    f.flags[to] = f.flags[from]!;
    f.order[to] = f.order[from]!;
    f.link1[to] = f.link1[from]!;
    const slots = k.rmap.ptesOf(from);
    k.rmap.moveAll(from, to);
    for (const slot of slots) k.pgtables.set(slot, ptePresent(to));
    // The old frame is left as a plain allocated page of the same kind, ready to be freed.
    f.flags[from] = f.flags[to] & ~(PG.head | PG.tail | PG.lru);
    f.setKind(from, f.kind(to));
    f.order[from] = 0;
  }
}
