/**
 * The OOM killer (Linux mm/oom_kill.c): when an allocation that may not fail finds nothing to reclaim,
 * kill the task with the largest badness — resident pages plus swap entries plus page-table pages — and
 * log it in the kernel's words. A memory cgroup over its memory.max (mem_cgroup_out_of_memory) picks its
 * victim among the tasks of that cgroup's subtree only (CONSTRAINT_MEMCG).
 */
import { MemcgMemoryEvent } from './memcontrol-items.js';
import { Vm } from './vmstat.js';
import type { Task } from './mm-types.js';
import type { Kernel } from '../kernel.js';

/** What a memcg OOM knows (struct oom_control with a memcg): the cgroup, its counter and its tasks. */
export interface MemcgOomControl {
  /** Cgroup path of the memcg over its limit. */
  readonly path: string;
  readonly usageKb: number;
  readonly limitKb: number;
  readonly failcnt: number;
  /** Live tasks of the memcg's subtree, by pid. */
  readonly candidates: readonly Task[];
}

/** The OOM killer. */
export class Oom {
  constructor(private readonly k: Kernel) {}

  /** Kills the worst task; returns false when there is nothing to kill. */
  outOfMemory(nodes: readonly number[], order: number, trigger: Task | undefined): boolean {
    let victim: Task | undefined;
    let worst = 0;
    for (const t of this.k.tasks.values()) {
      if (!t.alive) continue;
      const badness = oomBadness(t);
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
    this.killProcess(victim, 'Out of memory', nodes[0] ?? 0);
    return true;
  }

  /**
   * mem_cgroup_out_of_memory: kills the candidate with the largest badness (ties go to the later task,
   * as select_bad_process's `points < chosen_points` test does) and logs as Linux does. Returns the
   * victim, or undefined when there is no task to kill.
   */
  memcgOutOfMemory(oc: MemcgOomControl, order: number, trigger: Task | undefined): Task | undefined {
    let victim: Task | undefined;
    let worst = -1;
    for (const t of oc.candidates) {
      const badness = oomBadness(t);
      if (badness >= worst) {
        worst = badness;
        victim = t;
      }
    }
    const k = this.k;
    const now = k.engine.now;
    const who = trigger ? `${trigger.comm} invoked oom-killer` : 'kernel invoked oom-killer';
    k.log.printk(now, 4, `${who}: gfp_mask=0xcc0(GFP_KERNEL), order=${order}, oom_score_adj=0`);
    k.log.printk(now, 6, `memory: usage ${oc.usageKb}kB, limit ${oc.limitKb}kB, failcnt ${oc.failcnt}`);
    k.log.printk(now, 6, `swap: usage 0kB, limit 9007199254740988kB, failcnt 0`);
    if (victim === undefined) {
      k.log.printk(now, 3, 'Out of memory and no killable processes...');
      return undefined;
    }
    const mems = k.nodeCount === 1 ? '0' : `0-${k.nodeCount - 1}`;
    k.log.printk(
      now,
      6,
      `oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=${mems},oom_memcg=${oc.path},` +
        `task_memcg=${victim.cgroup},task=${victim.comm},pid=${victim.pid},uid=${victim.uid}`,
    );
    this.killProcess(victim, 'Memory cgroup out of memory', trigger?.node ?? victim.node);
    return victim;
  }

  /**
   * __oom_kill_process: the kernel's last word on the victim, the oom_kill events (/proc/vmstat and the
   * memory.events of the victim's cgroup, whichever OOM chose it), and the exit.
   */
  private killProcess(victim: Task, why: string, node: number): void {
    const k = this.k;
    const mm = victim.mm;
    k.log.printk(
      k.engine.now,
      3,
      `${why}: Killed process ${victim.pid} (${victim.comm}) total-vm:${mm.totalVm / 1024}kB, ` +
        `anon-rss:${mm.rssPages * 4}kB, file-rss:0kB, shmem-rss:0kB, UID:${victim.uid} pgtables:${mm.ptePages * 4}kB oom_score_adj:0`,
    );
    k.vmstat.countVmEvent(node, Vm.oom_kill);
    k.memcg.memoryEvent(k.memcg.memcgOf(victim), MemcgMemoryEvent.oom_kill);
    k.exitTask(victim.pid);
  }
}

/** oom_badness: resident pages, swap entries and page-table pages. */
function oomBadness(t: Task): number {
  return t.mm.rssPages + t.mm.swapEntries + t.mm.ptePages;
}
