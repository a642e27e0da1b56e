/**
 * One decide step: from what observation found (the eligible processes and their hot maps) to the
 * collapses worth doing now, within the policy. Cheap work comes first and expensive work only for the
 * best candidates:
 *
 *   1. every hot region not known to be huge becomes a candidate, scored without its page facts;
 *   2. candidates are walked best first; each one is checked against what costs nothing (the
 *      process's rate cap, the class's budget), then inspected (pagemap/kpageflags: a few KiB read)
 *      and checked against the class's eligibility (none/swap/shared pages), its NUMA rule, the guards
 *      of the node its huge page would come from, its cgroup's headroom and what earlier failures
 *      taught; what passes is scored again with its facts and takes its budget;
 *   NUMA: MADV_COLLAPSE takes its huge page on the node holding most of the region's pages, with no
 *      fallback. Under `local-only` a region whose pages are mostly elsewhere than where its process
 *      runs is migrated home first (move_pages) and collapsed there; a region the fault path already
 *      gave a remote huge page is only migrated home — local small pages beat a remote huge page for a
 *      workload that fits its node, and a later cycle collapses it locally when the node has room;
 *   3. the walk stops when the collapse budget is spent or `maxInspections` regions were read.
 *
 * Every candidate not planned is counted by reason and class in the decision log. The planner makes no
 * kernel call but reads (the inspector's and the guards' cgroup files); it never acts.
 */
import type { Policy, PolicyClass } from '../config/policy-schema.js';
import type { DecisionLog } from '../telemetry/decision-log.js';
import type { PolicyBudgets } from './policy-budgets.js';
import { PAGES_PER_REGION, REGION_BYTES, type Candidate, type MachineView, type ProcessView, type RegionFacts } from './candidate.js';
import type { CollapseTarget, FailureMemory } from './failure-memory.js';
import type { Guards } from './guards.js';
import type { SlotState } from '../observe/hot-map.js';
import { isGone, type TrackedProcess } from '../observe/process-table.js';

/** Reads a candidate's page facts (the region inspector on a real or simulated kernel). */
export interface RegionReader {
  /**
   * The facts of one region; throws the port's error when the process is gone. `sharedLimit`: shared
   * pages beyond which the exact count does not matter (see RegionFacts.shared).
   */
  inspect(pid: number, region: number, sharedLimit: number): RegionFacts;
  /** A summary of the facts that changes when the region's residency does (EINVAL memory). */
  fingerprint(facts: RegionFacts): string;
}

/** Ranks candidates: the weighted scorers of the policy (scorers/). */
export interface CandidateRanker {
  beginCycle(processes: readonly ProcessView[], now: number, machine: MachineView): void;
  score(c: Candidate, now: number, machine: MachineView): { score: number; components: Readonly<Record<string, number>> };
}

/** A ranker that keeps per-process state across cycles and follows policy reloads. */
export interface PolicyRanker extends CandidateRanker {
  forget(pid: number): void;
  reconfigure(policy: Policy): void;
}

/** A collapse the planner chose. */
export interface PlannedCollapse {
  readonly candidate: Candidate;
  readonly target: CollapseTarget;
  readonly score: number;
  readonly components: Readonly<Record<string, number>>;
  /** The region's pages must first move to this node (local-only rule), or undefined. */
  readonly migrateTo: number | undefined;
  /**
   * Whether to collapse (after the migration, if any). False for a remote huge page of a local-only
   * workload: it is only moved home (split there if its node has no free huge page to take it whole).
   */
  readonly collapse: boolean;
}

/** What the planner needs besides the observations. */
export interface PlannerDeps {
  readonly reader: RegionReader;
  readonly ranker: CandidateRanker;
  readonly guards: Guards;
  readonly failures: FailureMemory;
  readonly budgets: PolicyBudgets;
  readonly log: DecisionLog;
}

/** The node holding most of the facts' present pages (MADV_COLLAPSE allocates there), lowest id on ties. */
export function majorityNode(facts: RegionFacts): number {
  let best = 0;
  for (let n = 1; n < facts.nodePages.length; n++) if (facts.nodePages[n] > facts.nodePages[best]) best = n;
  return best;
}

/** A candidate of the ranking, with the hot-map slot it came from. */
interface Ranked {
  readonly c: Candidate;
  readonly slot: SlotState;
  readonly pre: number;
}

/** The views of the processes and their candidates, before any facts are read. */
export function candidatesOf(processes: readonly TrackedProcess[]): { views: ProcessView[]; candidates: { c: Candidate; slot: SlotState }[] } {
  const views: ProcessView[] = [];
  const candidates: { c: Candidate; slot: SlotState }[] = [];
  for (const p of processes) {
    const cls = p.outcome!.cls;
    const min = cls.eligibility.minAccessRate;
    let hot = 0;
    let hotHuge = 0;
    let smallAccesses = 0;
    const own: SlotState[] = [];
    for (const s of p.hot.values()) {
      if (s.rate < min) continue;
      hot += REGION_BYTES;
      if (s.huge) {
        hotHuge += REGION_BYTES;
        continue;
      }
      smallAccesses += s.rate * PAGES_PER_REGION;
      own.push(s);
    }
    if (hot === 0) continue;
    const view: ProcessView = {
      pid: p.pid, comm: p.identity.comm, cls, cgroup: p.identity.cgroup, cgroupHierarchy: p.identity.cgroupHierarchy, homeNode: p.homeNode,
      anonBytes: p.anonBytes, hugeBytes: p.hugeBytes, hotBytes: hot, hotHugeBytes: Math.min(hotHuge, p.hugeBytes), smallPageAccessesPerSec: smallAccesses,
    };
    views.push(view);
    for (const slot of own) candidates.push({ c: { process: view, region: slot.region, accessRate: slot.rate, ageMs: slot.ageMs }, slot });
  }
  return { views, candidates };
}

/**
 * Candidates kept in exact order by a ranking; the rest follow unordered. A cycle plans a handful of
 * collapses and a ranking lasts RANK_EVERY_MS, so the walk rarely gets past the first few hundred; a
 * full sort of tens of thousands of candidates (a fleet host) would cost more than the rest of a cycle.
 */
export const RANK_SORTED = 2048;

/** The `k` best entries by `pre` in descending order, then the others in no particular order. */
export function rankBest<T extends { readonly pre: number }>(entries: T[], k: number): T[] {
  if (entries.length <= k) return entries.sort((a, b) => b.pre - a.pre);
  // The k-th largest score, from a native sort of the scores alone.
  const scores = Float64Array.from(entries, (e) => e.pre).sort();
  const threshold = scores[scores.length - k];
  const best: T[] = [];
  const rest: T[] = [];
  for (const e of entries) (e.pre >= threshold && best.length < k ? best : rest).push(e);
  return [...best.sort((a, b) => b.pre - a.pre), ...rest];
}

/** How long a region found ineligible, or held back by what a failure taught, is left alone before it is inspected again, ms. */
export const RECHECK_MS = 60_000;
/**
 * A region found ineligible again at its recheck waits twice as long each time, up to 2^this times
 * RECHECK_MS (8 min): KSM-merged or swapped pages mostly stay so, and a hot region's rank brings it
 * back to the top of every walk, where re-reading its unchanged pages every minute was most of what
 * the daemon spent observing on a KSM host.
 */
export const RECHECK_DOUBLINGS = 3;
/** The same for a region held back by a guard of its node or cgroup (guards are read every cycle), ms. */
export const NODE_RECHECK_MS = 10_000;

/**
 * Ranks once per sampling update and walks the ranking every cycle. Between updates, a cycle starts
 * again from the top and passes over what earlier cycles settled (collapsed regions are marked huge,
 * rejected ones carry a recheck time), so a cycle costs what it inspects, not what the machine holds.
 */
export class Planner {
  private ranking: Ranked[] = [];
  /** Ranking entries before this index are all mapped huge: a walk starts here. */
  private settled = 0;
  /** Candidates per class in the ranking, and among the settled ones. */
  private classTotals = new Map<string, number>();
  private settledByClass = new Map<string, number>();
  private views: ProcessView[] = [];
  /** Regions the last plan() inspected. */
  inspected = 0;
  /**
   * Whether the last plan() left candidates for want of collapse budget (the class's, or a process's
   * rate cap): work is waiting, and the budget refills within a second.
   */
  heldByBudget = false;

  constructor(private readonly deps: PlannerDeps) {}

  /** The processes with hot memory as of the last ranking. */
  get processViews(): readonly ProcessView[] {
    return this.views;
  }

  /** Candidates in the last ranking. */
  get candidates(): number {
    return this.ranking.length;
  }

  /** Ranks the hot regions of the eligible, sampled processes (after their hot maps changed). */
  rank(processes: readonly TrackedProcess[], now: number): void {
    const { ranker, guards } = this.deps;
    const machine = machineView(guards);
    const { views, candidates } = candidatesOf(processes);
    ranker.beginCycle(views, now, machine);
    this.views = views;
    this.ranking = rankBest(
      candidates.map(({ c, slot }) => ({ c, slot, pre: ranker.score(c, now, machine).score })),
      RANK_SORTED,
    );
    this.resetCounts();
  }

  private resetCounts(): void {
    this.settled = 0;
    this.settledByClass = new Map();
    this.classTotals = new Map();
    for (const { c } of this.ranking) addTo(this.classTotals, c.process.cls.name, 1);
  }

  /** Drops a process's candidates (it exited). */
  forget(pid: number): void {
    this.ranking = this.ranking.filter((r) => r.c.process.pid !== pid);
    this.resetCounts();
    this.views = this.views.filter((v) => v.pid !== pid);
  }

  /**
   * Plans this cycle's collapses from the ranking. `maxInspections` bounds the regions read (the
   * observation budget's share for this cycle). Candidates not reached are counted as skipped for the
   * reason the walk stopped.
   */
  plan(now: number, maxInspections: number, tracked: (pid: number) => TrackedProcess | undefined): PlannedCollapse[] {
    const { reader, ranker, guards, failures, budgets, log } = this.deps;
    const machine = machineView(guards);
    const planned: PlannedCollapse[] = [];
    const headroom = new Map<string, boolean>();
    const gone = new Set<number>();
    const debug = log.debugEnabled;
    let inspections = 0;
    let stop: string | undefined = guards.globalBlock === undefined ? undefined : `guard:${guards.globalBlock}`;
    while (this.settled < this.ranking.length && this.ranking[this.settled].slot.huge) addTo(this.settledByClass, this.ranking[this.settled++].c.process.cls.name, 1);
    let walked = this.settled;
    budgets.lendReservesOf(this.classesWithoutCandidates());
    let spent = budgets.exhausted(now);
    let heldByBudget = false;
    for (; walked < this.ranking.length; walked++) {
      // Budgets change only when one is taken (time stands still within a plan).
      if (stop === undefined && spent) stop = 'budget';
      if (stop === undefined && inspections >= maxInspections) stop = 'observe-budget';
      if (stop !== undefined) break;
      const { c, slot } = this.ranking[walked];
      const cls = c.process.cls;
      if (slot.huge || slot.retryAt > now || gone.has(c.process.pid)) continue;
      const skip = (reason: string, retryMs: number): void => {
        if (retryMs > 0) slot.retryAt = now + retryMs;
        log.skipped(reason, cls.name, debug ? { pid: c.process.pid, region: `0x${c.region.toString(16)}` } : undefined);
      };
      if (!budgets.mayCollapse(now, cls, c.process.pid)) {
        skip('budget', 0);
        heldByBudget = true;
        continue;
      }
      // Under local-only the pages end up at home whatever the facts say: no need to read them when
      // home has no room.
      if (cls.numa === 'local-only' && guards.nodeBlock(c.process.homeNode) === 'little-free-memory') {
        skip('node:little-free-memory', 0);
        continue;
      }
      inspections++;
      let facts: RegionFacts;
      try {
        facts = reader.inspect(c.process.pid, c.region, cls.eligibility.maxSharedPages);
      } catch (e) {
        gone.add(c.process.pid);
        if (isGone(e)) continue;
        throw e;
      }
      const node = majorityNode(facts);
      const home = c.process.homeNode;
      const remote = cls.numa === 'local-only' && node !== home;
      if (facts.huge && !remote) {
        tracked(c.process.pid)?.hot.markHuge(c.region, true);
        skip('already-huge', 0);
        continue;
      }
      const eligibility = facts.huge ? undefined : ineligible(cls, facts);
      if (eligibility !== undefined) {
        skip(eligibility, RECHECK_MS * 2 ** Math.min(slot.ineligible, RECHECK_DOUBLINGS));
        slot.ineligible++;
        continue;
      }
      slot.ineligible = 0;
      const migrateTo = remote ? home : undefined;
      const collapseNode = remote ? home : node;
      // A remote huge page only needs room for its pages at home; a collapse needs a free huge page there.
      const nodeBlock = guards.nodeBlock(collapseNode);
      if (nodeBlock === 'little-free-memory' || (nodeBlock !== undefined && !facts.huge)) {
        skip(`node:${nodeBlock}`, NODE_RECHECK_MS);
        continue;
      }
      let room = headroom.get(c.process.cgroup);
      if (room === undefined) headroom.set(c.process.cgroup, (room = guards.cgroupHasHeadroom(c.process.cgroup, c.process.cgroupHierarchy)));
      if (!room) {
        skip('cgroup-near-limit', NODE_RECHECK_MS);
        continue;
      }
      failures.sawHeadroom(c.process.cgroup);
      const target: CollapseTarget = { pid: c.process.pid, region: c.region, node: collapseNode, cgroup: c.process.cgroup, fingerprint: reader.fingerprint(facts) };
      const failed = failures.skip(now, target);
      if (failed !== undefined) {
        skip(failed, RECHECK_MS);
        continue;
      }
      const withFacts: Candidate = { ...c, facts, targetNode: collapseNode };
      const { score, components } = ranker.score(withFacts, now, machine);
      budgets.takeCollapse(now, cls, c.process.pid);
      spent = budgets.exhausted(now);
      // Planned: not a candidate again until its outcome is known (a success marks it huge).
      slot.retryAt = now + RECHECK_MS;
      planned.push({ candidate: withFacts, target, score, components, migrateTo, collapse: !facts.huge });
    }
    if (stop !== undefined) this.countNotReached(stop, walked);
    this.inspected = inspections;
    this.heldByBudget = heldByBudget || stop === 'budget';
    planned.sort((a, b) => b.score - a.score);
    return planned;
  }

  /** The classes none of whose candidates is left unsettled (not yet mapped huge) in the ranking. */
  private classesWithoutCandidates(): Set<string> {
    const idle = new Set<string>();
    for (const [cls, total] of this.classTotals) if (total - (this.settledByClass.get(cls) ?? 0) <= 0) idle.add(cls);
    for (const name of this.deps.budgets.classes) if (!this.classTotals.has(name)) idle.add(name);
    return idle;
  }

  /** Counts every candidate as skipped for `reason` (the kill switch is on). */
  skipAll(reason: string): void {
    this.countNotReached(reason, 0);
  }

  /** Counts the candidates from `from` on as skipped for `reason`, per class (debug: each one). */
  private countNotReached(reason: string, from: number): void {
    const { log } = this.deps;
    if (log.debugEnabled) {
      // The settled prefix (mapped huge) is no candidate any more: counted at no level.
      for (let i = Math.max(from, this.settled); i < this.ranking.length; i++) {
        const c = this.ranking[i].c;
        log.skipped(reason, c.process.cls.name, { pid: c.process.pid, region: `0x${c.region.toString(16)}` });
      }
      return;
    }
    // Totals minus the settled prefix minus what this walk passed: O(walked), not O(ranking).
    const before = new Map(this.settledByClass);
    for (let i = this.settled; i < from; i++) addTo(before, this.ranking[i].c.process.cls.name, 1);
    for (const [cls, total] of this.classTotals) {
      const n = total - (before.get(cls) ?? 0);
      if (n > 0) log.skippedCount(reason, cls, n);
    }
  }
}

function addTo(counts: Map<string, number>, key: string, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** Why a region's pages make it ineligible for its class, or undefined. */
function ineligible(cls: PolicyClass, facts: RegionFacts): string | undefined {
  const e = cls.eligibility;
  if (facts.none > e.maxNonePages) return 'too-many-none-pages';
  if (facts.swapped > e.maxSwapPages) return 'swapped-pages';
  if (facts.shared > e.maxSharedPages) return 'shared-pages';
  return undefined;
}

/** The machine as the guards last read it. */
export function machineView(guards: Guards): MachineView {
  const free: number[] = [];
  const total: number[] = [];
  for (const r of guards.readings) {
    free[r.node] = r.freeHugeBlocks;
    total[r.node] = Math.floor(r.memTotalKb / 2048);
  }
  return { freeHugeBlocks: free, totalHugeBlocks: total };
}
