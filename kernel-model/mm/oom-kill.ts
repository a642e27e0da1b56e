/**
 * The OOM killer (Linux mm/oom_kill.c): when an allocation that may not fail finds nothing to reclaim,
 * kill the task with the largest badness — resident pages plus swap entries plus page-table pages — and
 * log it in the kernel's words.
 */
import { Vm } from './vmstat.js';
import type { Task } from './mm-types.js';
import type { Kernel } from '../kernel.js';

/** The OOM killer. */
export class Oom {
  constructor(private readonly k: Kernel) {}

  /** Kills the worst task; returns false when there is nothing to kill. */
  outOfMemory(nodes: readonly number[], order: number, trigger: Task | undefined): boolean {
    let victim: Task | undefined;
    let worst = 0;
    for (const t of this.k.tasks.values()) {
      if (!t.alive) continue;
      const badness = t.mm.rssPages + t.mm.swapEntries + t.mm.ptePages;
      if (badness > worst) {
        worst = badness;
        victim = t;
      }
    }
    if (victim === undefined) return false;
    const k = this.k;
    const now = k.engine.now;
    const who = trigger ? `${trigger.comm} invoked oom-killer` : 'kernel invoked oom-killer';
    k.log.printk(now, 4, `${who}: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=${order}, oom_score_adj=0`);
    const mm = victim.mm;
    k.log.printk(
      now,
      3,
      `Out of memory: Killed process ${victim.pid} (${victim.comm}) total-vm:${mm.totalVm / 1024}kB, ` +
        `anon-rss:${mm.rssPages * 4}kB, file-rss:0kB, shmem-rss:0kB, UID:${victim.uid} pgtables:${mm.ptePages * 4}kB oom_score_adj:0`,
    );
    k.vmstat.countVmEvent(nodes[0] ?? 0, Vm.oom_kill);
    k.exitTask(victim.pid);
    return true;
  }
}
