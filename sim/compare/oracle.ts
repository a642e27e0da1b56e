/**
 * The `oracle` arm of `uhugepaged compare`: an upper bound, under the kernel model's own cost function,
 * on what any arm can gain from THPs on a scenario (docs/oracle.md says the same at more length).
 *
 * Method
 * ------
 * 1. The scenario runs once with THP off (`enabled: never`): the no-THP reference, the run every arm's
 *    reduction is measured against. The oracle follows it step by step, one step per stream tick (1 s).
 * 2. At each step, for every live process p and each stream i of p, with the specs the step's ticks ran
 *    under (a phase or move at a step's end applies after its tick; the reference's baseline cycles
 *    settle a change inside the step):
 *      acc_i  = p's accesses in the step (its perf counters) × rate_i / Σ rates of p;
 *      m_r    = the stream's access mass in 2 MiB region r (regionMasses, what the driver splits by);
 *      e_r    = pages a THP at r needs beyond what p holds there now: 0 if p has written nothing in r
 *               (the huge zero page maps it for nothing), else 512 − p's own pages in r (present other
 *               than the zero page, or swapped); shared equally by the streams of p that touch r;
 *      F_i(c) = the largest THP access share capacity c buys (fractional knapsack: e_r = 0 first, then by
 *               m_r / e_r), concave and piecewise linear;
 *      w_i(f) = walk cycles per access with share f on local THPs and the rest on local 4 KiB pages —
 *               priceStreamAccess, the function the stream driver charges with;
 *      S_i(c) = acc_i · (w_i(0) − w_i(F_i(c))), the walk cycles capacity c can save.
 *    S_i is evaluated on a grid 0 = c_0 < … < c_G = Σ e_r (the knapsack's breakpoints, or 128 equal steps);
 *    S_i is non-decreasing, so S_i ≤ S_i(c_j) on (c_{j−1}, c_j], and the upper concave hull Ŝ_i of those
 *    steps (stepHull) is ≥ S_i everywhere.
 * 3. Capacity, in 4 KiB pages: per node, free memory plus file page cache (all of it reclaimable,
 *    compaction perfect), pooled over the nodes; per cgroup with a memory.max up its path,
 *    max − current + its file pages (the least over its limited ancestors). The pool goes to the hull
 *    segments of all streams in order of slope (saving per page), within each cgroup's headroom: greedy
 *    is optimal for separable concave savings under nested (laminar) budgets. Capacity left over, which
 *    buys no modelled saving, maps the streams' remaining regions in knapsack order (coverage only).
 * 4. The step's oracle walk cycles: W = Σ acc_i·w_i(0) − Σ Ŝ_i(c_i). Data cycles are priced at
 *    f_i = F_i(c_i), 0 and 1: the largest serve the overhead share (mmuOverheadPct: a smaller share), the
 *    smallest the throughput. Run figures are sums over steps, as MetricsRecorder sums perf counters:
 *      mmuOverheadPct          = 100 · ΣW / Σ(W + D_max)
 *      mmuOverheadReductionPct = 100 · (O_ref − that / 100) / O_ref, O_ref = Σ walk / Σ cycles of the reference
 *      throughputRel           = Σ cycles of the reference / Σ(W + D_min)   (accesses are the same)
 *      hotThpCoverage          = Σ hot pages in the assigned regions / Σ hot pages, at the samples
 *      remoteThpFraction       = Σ capacity given beyond the home node's free + file pages / Σ capacity given
 *      collapse and scan CPU, compaction stalls, swap-outs, fault latency: 0; collapses { ok: 0 }.
 *
 * Why no arm beats it
 * -------------------
 * An arm's walk cycles in a step are Σ_i acc_i · walk_i(its split). (a) Its accesses are the reference's:
 * stream rates do not depend on the mapping, and starts, stops and phases are the scenario's. (b) A remote
 * page costs (d/10)× a local one's walk and data in its class, d ≥ 10 (the tests check it), so pricing
 * every page local only lowers the oracle — and a remote THP can beat a local 4 KiB page, which is why
 * the nodes' capacity is pooled rather than left unused. (c) w_i is non-increasing in f (the tests check
 * it over the patterns and sizes), so the arm's walk is ≥ acc_i·w_i(f_i), f_i its THP share, local or
 * not; f_i ≤ F_i(c) for the capacity c its THPs take, whichever regions it picked, and S_i ≤ Ŝ_i.
 * (d) Its THPs fit in what it can free: the reference holds at least the pages the arm holds in 4 KiB
 * form, so the arm's THPs need at most e_r more each, from memory that is free or file cache in the
 * reference, within its cgroups. (e) THPs from the fault path, THPs on memory below the hot threshold
 * (any region with mass) and the huge zero page (e_r = 0 where nothing was written) are all regions of
 * some stream: covered. Hence Σ W_arm ≥ Σ W_oracle and, since D_max bounds a local arm's data cycles,
 * the arm's overhead share is ≥ the oracle's; throughput likewise with D_min.
 * Where the bound is loose: the nodes' capacity is pooled and remote THPs are priced as local; compaction
 * is perfect (unmovable and fragmented pageblocks are ignored); all file cache is reclaimable; the hull
 * can add up to one grid step of saving per stream (one region when a stream has ≤ 128 regions to pay
 * for); streams of one process are charged e_r / k_r each for a shared region and may take it to
 * different extents.
 * Where an arm can fall outside it (the tests assert their scenarios have none of these):
 * - swap: an arm that swaps anonymous memory out has capacity (d) does not count, and swapped accesses
 *   have no walk; (the swap-in's cycles make it slower, so throughputRel still bounds it);
 * - OOM kills: a killed process makes no more accesses, which breaks (a) — and frees its memory;
 * - the overhead *share* of an arm with THPs on another node: remote data cycles inflate its denominator,
 *   so its share can be below the oracle's while it is slower (its walk cycles and throughput are bounded);
 * - trajectories: an arm's run differs from the reference (writes, page-cache and kernel allocations
 *   follow the same schedule, but THP faults populate whole regions, reclaim differs); the capacity of (d)
 *   is the reference's, not the arm's own.
 * hotThpCoverage is the oracle's assignment's, not a bound: the oracle spends capacity on walk cycles.
 */
import {
  accessStreamsOf,
  HUGE_PAGE_BYTES,
  hotPagesPerRegion,
  regionMapping,
  regionMasses,
  streamAccessCostLocal,
  type AccessStreamSpec,
  type MmuCost,
} from '../../kernel-model/evaluation.js';
import type { PerfCounters, SimKernel } from '../../kernel-model/index.js';
import { parseKeyValueKb } from '../../daemon/kernel-port/procfs-parsers.js';
import { ScenarioRun } from '../scenario/runner.js';
import type { Scenario } from '../scenario/schema.js';
import type { ArmMetrics } from './report-schema.js';
import type { ArmSpec } from './arms.js';
import type { ArmRunOptions, OracleRun } from './run-arm.js';

/** One point of the oracle's time series. */
export interface OracleSample {
  /** Scenario time, ms. */
  t: number;
  /** Share (0–1) of hot memory the oracle's assignment maps with THPs at this sample. */
  hotThpCoverage: number;
  /** The oracle's page-walk share of cycles over the interval ending here, %. */
  mmuOverheadPct: number;
}

/** The oracle's figures and time series. */
export interface OracleResult {
  metrics: ArmMetrics;
  series: OracleSample[];
}

const PAGES_PER_HUGE = HUGE_PAGE_BYTES / 4096;
/** Most grid points per stream's saving curve (the knapsack breakpoints are used when fewer). */
const MAX_GRID = 128;
const THP_ENABLED = '/sys/kernel/mm/transparent_hugepage/enabled';
/** The oracle's step: the stream driver's tick (defaultStreamDriverOptions.tickMs). */
const ORACLE_STEP_MS = 1000;

/** The scenario with THP off: the no-THP reference. */
export function oracleReferenceScenario(scenario: Scenario): Scenario {
  return { ...scenario, machine: { ...scenario.machine, knobs: { ...(scenario.machine.knobs ?? {}), [THP_ENABLED]: 'never' } } };
}

/** Runs the no-THP reference of `scenario` and computes the oracle arm over it (see the file comment). */
export function oracleArm(scenario: Scenario, opts: { seed?: number; durationMs?: number } = {}): OracleResult {
  const run = new ScenarioRun(oracleReferenceScenario(scenario), opts);
  const acc = new OracleAccumulator(run, scenario);
  const prevExit = run.beforeExit;
  run.beforeExit = (pid) => {
    prevExit?.(pid);
    acc.onExit(pid);
  };
  // Steps of the stream driver's tick, so that each step prices accesses with the state they were
  // charged under; the series and the coverage average are taken at the scenario's samples, as
  // MetricsRecorder takes them.
  const stepMs = Math.min(scenario.sampleEveryMs, ORACLE_STEP_MS);
  let nextSample = scenario.sampleEveryMs;
  while (!run.done) {
    run.advanceTo(Math.min(run.elapsedMs + stepMs, nextSample));
    const atSample = run.elapsedMs >= nextSample || run.done;
    acc.step(atSample);
    if (atSample) nextSample = run.elapsedMs + scenario.sampleEveryMs;
  }
  return acc.finish();
}

/** A stream's regions and its saving curve in one interval. */
interface StreamPlan {
  readonly pid: number;
  readonly node: number;
  readonly group: string;
  readonly spec: AccessStreamSpec;
  readonly accesses: number;
  /** Regions in knapsack order: PMD index, mass, capacity cost (pages). */
  readonly pmd: number[];
  readonly mass: number[];
  readonly cost: number[];
  /** The concave hull of the saving: points (capacity, saving), capacity ascending from 0. */
  readonly hullC: number[];
  readonly hullS: number[];
  readonly w0: number;
  /** Capacity that maps all its regions. */
  total: number;
  /** Capacity given to it. */
  c: number;
}

/** What the reference's perf counters of a pid grew by in a step. */
type PerfDelta = PerfCounters;

/** Per-access prices of a pid's streams at the last step, for accesses made before it exits. */
interface LastPrice {
  walk: number;
  dataMax: number;
  dataMin: number;
}

class OracleAccumulator {
  private readonly lastPerf = new Map<number, PerfCounters>();
  private readonly lastPrice = new Map<number, LastPrice>();
  /** Per pid, the stream specs at the end of the last step: those the next step's ticks run under. */
  private readonly specsInEffect = new Map<number, AccessStreamSpec[]>();
  /** Pids whose last accesses are priced. */
  private readonly ended = new Set<number>();
  private readonly costCache = new WeakMap<AccessStreamSpec, Map<number, MmuCost>>();
  private readonly series: OracleSample[] = [];
  private refCycles = 0;
  private refWalk = 0;
  private walk = 0;
  private dataMax = 0;
  private dataMin = 0;
  private hot = 0;
  private covered = 0;
  private demandPages = 0;
  private remotePages = 0;
  /** Walk and data (max) cycles since the last sample. */
  private ivWalk = 0;
  private ivData = 0;

  constructor(
    private readonly run: ScenarioRun,
    private readonly scenario: Scenario,
  ) {}

  /**
   * Prices what `pid` did since the last step with its last prices (every region a local THP if it never
   * had any): called just before it exits at its stop time, or at the next step after the OOM killer ended it.
   */
  onExit(pid: number): void {
    if (this.ended.has(pid)) return;
    this.ended.add(pid);
    const d = this.perfDelta(pid);
    if (d.accesses <= 0) return;
    let p = this.lastPrice.get(pid);
    if (!p) {
      const specs = this.specsInEffect.get(pid) ?? accessStreamsOf(this.run.sim, pid);
      p = { walk: 0, dataMax: 0, dataMin: 0 };
      const rate = specs.reduce((s, x) => s + x.ratePerSec, 0);
      for (const spec of specs) {
        const share = rate > 0 ? spec.ratePerSec / rate : 0;
        const c1 = this.cost(spec, 1);
        const c0 = this.cost(spec, 0);
        p.walk += share * c1.walkCyclesPerAccess;
        p.dataMax += share * Math.max(c0.dataCyclesPerAccess, c1.dataCyclesPerAccess);
        p.dataMin += share * Math.min(c0.dataCyclesPerAccess, c1.dataCyclesPerAccess);
      }
    }
    this.walk += d.accesses * p.walk;
    this.dataMax += d.accesses * p.dataMax;
    this.dataMin += d.accesses * p.dataMin;
  }

  /** Prices the accesses since the last step; at a sample, also the coverage and a point of the series. */
  step(atSample: boolean): void {
    const { sim } = this.run;
    const plans: StreamPlan[] = [];
    let walk0 = 0;
    let dataMaxIv = 0;
    for (const p of this.run.processes) {
      if (p.pid === undefined) continue;
      if (p.exited) {
        this.onExit(p.pid);
        continue;
      }
      const d = this.perfDelta(p.pid);
      // The specs the step's ticks ran under: a phase or a move at the step's end applies after its
      // tick, so those in effect since the last step — unless the reference's baseline cycles (what the
      // accesses would cost on local 4 KiB pages) say the current ones were (a change inside the step).
      const now = accessStreamsOf(sim, p.pid);
      const before = this.specsInEffect.get(p.pid) ?? now;
      this.specsInEffect.set(p.pid, now);
      const specs = (before !== now && this.baselineMiss(before, d) > this.baselineMiss(now, d) ? now : before).filter((s) => s.ratePerSec > 0);
      const rate = specs.reduce((s, x) => s + x.ratePerSec, 0);
      if (specs.length === 0 || rate <= 0) continue;
      const sharing = new Map<number, number>();
      for (const spec of specs) forEachRegion(spec, (pmd) => sharing.set(pmd, (sharing.get(pmd) ?? 0) + 1));
      for (const spec of specs) {
        const plan = this.plan(sim, p.pid, p.node, groupOf(p.workload.cgroup), spec, (d.accesses * spec.ratePerSec) / rate, sharing);
        walk0 += plan.accesses * plan.w0;
        plans.push(plan);
      }
    }
    const capacity = this.capacity(plans);
    let saving = allocate(plans, capacity.pool, capacity.groups);
    // Per-access prices and the interval's data cycles at the allocation.
    let dataMinIv = 0;
    const byPid = new Map<number, { acc: number; walk: number; dataMax: number; dataMin: number }>();
    const taken = new Map<number, Map<number, number>>();
    const demand = new Map<number, number>();
    for (const plan of plans) {
      const f = takenShare(plan, taken);
      const cf = this.cost(plan.spec, f);
      const c0 = this.cost(plan.spec, 0);
      const c1 = this.cost(plan.spec, 1);
      const dMax = Math.max(cf.dataCyclesPerAccess, c0.dataCyclesPerAccess, c1.dataCyclesPerAccess);
      const dMin = Math.min(cf.dataCyclesPerAccess, c0.dataCyclesPerAccess, c1.dataCyclesPerAccess);
      dataMaxIv += plan.accesses * dMax;
      dataMinIv += plan.accesses * dMin;
      demand.set(plan.node, (demand.get(plan.node) ?? 0) + plan.c);
      const b = byPid.get(plan.pid) ?? { acc: 0, walk: 0, dataMax: 0, dataMin: 0 };
      const sOfPlan = hullAt(plan, plan.c);
      b.acc += plan.accesses;
      b.walk += plan.accesses * plan.w0 - sOfPlan;
      b.dataMax += plan.accesses * dMax;
      b.dataMin += plan.accesses * dMin;
      byPid.set(plan.pid, b);
    }
    for (const [pid, b] of byPid) {
      if (b.acc > 0) this.lastPrice.set(pid, { walk: b.walk / b.acc, dataMax: b.dataMax / b.acc, dataMin: b.dataMin / b.acc });
    }
    saving = Math.min(saving, walk0);
    const walkIv = walk0 - saving;
    this.walk += walkIv;
    this.dataMax += dataMaxIv;
    this.dataMin += dataMinIv;
    this.ivWalk += walkIv;
    this.ivData += dataMaxIv;
    let demanded = 0;
    for (const [node, pages] of demand) {
      demanded += pages;
      this.remotePages += Math.max(0, pages - (capacity.nodes[node] ?? 0));
    }
    this.demandPages += demanded;
    if (!atSample) return;
    // Coverage of hot memory by the assignment.
    let hot = 0;
    let covered = 0;
    for (const p of this.run.processes) {
      if (p.pid === undefined || p.exited) continue;
      const fr = taken.get(p.pid);
      for (const [pmd, pages] of hotPagesPerRegion(sim, p.pid, this.scenario.hotThresholdPerSec)) {
        hot += pages;
        covered += pages * Math.min(1, fr?.get(pmd) ?? 0);
      }
    }
    this.hot += hot;
    this.covered += covered;
    const denom = this.ivWalk + this.ivData;
    this.series.push({ t: this.run.elapsedMs, hotThpCoverage: hot > 0 ? covered / hot : 0, mmuOverheadPct: denom > 0 ? (100 * this.ivWalk) / denom : 0 });
    this.ivWalk = 0;
    this.ivData = 0;
  }

  finish(): OracleResult {
    for (const p of this.run.processes) if (p.pid !== undefined && p.exited) this.onExit(p.pid);
    const overhead = ratio(this.walk, this.walk + this.dataMax);
    const refOverhead = ratio(this.refWalk, this.refCycles);
    const oracleCycles = this.walk + this.dataMin;
    const metrics: ArmMetrics = {
      hotThpCoverage: ratio(this.covered, this.hot),
      mmuOverheadPct: 100 * overhead,
      mmuOverheadReductionPct: refOverhead > 0 ? (100 * (refOverhead - overhead)) / refOverhead : 0,
      throughputRel: oracleCycles > 0 ? this.refCycles / oracleCycles : 1,
      collapseCpuMs: 0,
      scanCpuMs: 0,
      compactStallMs: 0,
      thpSwapOutPages: 0,
      remoteThpFraction: ratio(this.remotePages, this.demandPages),
      // Faults still happen (on 4 KiB pages); the oracle does not model their latency.
      faultLatencyP99Us: null,
      collapses: { ok: 0 },
      hotThpCoverageEnd: this.series.length > 0 ? this.series[this.series.length - 1].hotThpCoverage : 0,
      // The bound is computed machine-wide, not per workload.
      throughputRelByWorkload: {},
      remoteThpFractionByWorkload: {},
      faultLatencyP50Us: null,
      cpuMs: { khugepaged: 0, daemonObserve: 0, daemonAct: 0, kcompactd: 0 },
      swapOutPages: 0,
      thpBloatBytes: 0,
      thpBloatBytesEnd: 0,
      collapsesBy: { khugepaged: { ok: 0 }, daemon: { ok: 0 } },
      thpFaultAlloc: 0,
      thpFaultFallback: 0,
      oomKills: 0,
    };
    return { metrics, series: this.series };
  }

  /** How far pricing a step's accesses on local 4 KiB pages under `specs` is from the reference's baseline. */
  private baselineMiss(specs: readonly AccessStreamSpec[], d: PerfDelta): number {
    const rate = specs.reduce((s, x) => s + x.ratePerSec, 0);
    if (rate <= 0) return d.baselineCycles;
    const priced = specs.reduce((s, x) => s + ((d.accesses * x.ratePerSec) / rate) * this.cost(x, 0).cyclesPerAccess, 0);
    return Math.abs(priced - d.baselineCycles);
  }

  /** The no-THP reference's perf counters of `pid` since the last call; adds them to the reference totals. */
  private perfDelta(pid: number): PerfDelta {
    const now = this.run.sim.perfCounters(pid);
    const last = this.lastPerf.get(pid) ?? { accesses: 0, cycles: 0, walkCycles: 0, baselineCycles: 0 };
    this.lastPerf.set(pid, now);
    const d = {
      accesses: now.accesses - last.accesses,
      cycles: now.cycles - last.cycles,
      walkCycles: now.walkCycles - last.walkCycles,
      baselineCycles: now.baselineCycles - last.baselineCycles,
    };
    this.refCycles += d.cycles;
    this.refWalk += d.walkCycles;
    return d;
  }

  private cost(spec: AccessStreamSpec, f: number): MmuCost {
    let m = this.costCache.get(spec);
    if (!m) this.costCache.set(spec, (m = new Map<number, MmuCost>()));
    let c = m.get(f);
    if (!c) m.set(f, (c = streamAccessCostLocal(spec, f)));
    return c;
  }

  /** A stream's regions in knapsack order and the concave hull of its saving curve. */
  private plan(sim: SimKernel, pid: number, node: number, group: string, spec: AccessStreamSpec, accesses: number, sharing: Map<number, number>): StreamPlan {
    const regions: { pmd: number; mass: number; cost: number }[] = [];
    forEachRegion(spec, (pmd, mass) => {
      // Nothing written there: the huge zero page maps it for nothing. Else a THP needs the rest of 2 MiB.
      const owned = regionMapping(sim, pid, pmd).ownedPages;
      const cost = owned === 0 ? 0 : PAGES_PER_HUGE - owned;
      regions.push({ pmd, mass, cost: cost / (sharing.get(pmd) ?? 1) });
    });
    regions.sort((a, b) => (a.cost === 0 ? (b.cost === 0 ? b.mass - a.mass : -1) : b.cost === 0 ? 1 : b.mass / b.cost - a.mass / a.cost) || a.pmd - b.pmd);
    const plan: StreamPlan = {
      pid,
      node,
      group,
      spec,
      accesses,
      pmd: regions.map((r) => r.pmd),
      mass: regions.map((r) => r.mass),
      cost: regions.map((r) => r.cost),
      hullC: [],
      hullS: [],
      w0: this.cost(spec, 0).walkCyclesPerAccess,
      total: 0,
      c: 0,
    };
    // Knapsack breakpoints: capacity → share.
    const bc: number[] = [0];
    const bf: number[] = [0];
    let c = 0;
    let f = 0;
    for (let i = 0; i < regions.length; i++) {
      c += regions[i].cost;
      f += regions[i].mass;
      if (regions[i].cost === 0) {
        bf[0] = f;
        continue;
      }
      bc.push(c);
      bf.push(f);
    }
    const total = c;
    plan.total = total;
    let grid: number[];
    if (bc.length - 1 <= MAX_GRID) grid = bc;
    else grid = Array.from({ length: MAX_GRID + 1 }, (_, j) => (total * j) / MAX_GRID);
    const saving = (cap: number): number => accesses * Math.max(0, plan.w0 - this.cost(spec, Math.min(1, shareAt(bc, bf, cap))).walkCyclesPerAccess);
    const hull = stepHull(grid, grid.map(saving));
    plan.hullC.push(...hull.c);
    plan.hullS.push(...hull.s);
    return plan;
  }

  /** Pages available: per node free + file, pooled; per cgroup group the memcg headroom. */
  private capacity(plans: readonly StreamPlan[]): { pool: number; nodes: number[]; groups: Map<string, number> } {
    const { sim } = this.run;
    const nodes = this.scenario.machine.nodes.map((_, n) => {
      const f = parseKeyValueKb(sim.readFile(`/sys/devices/system/node/node${n}/meminfo`));
      return ((f.get('MemFree') ?? 0) + (f.get('Active(file)') ?? 0) + (f.get('Inactive(file)') ?? 0)) / 4;
    });
    const groups = new Map<string, number>();
    for (const plan of plans) {
      if (groups.has(plan.group)) continue;
      groups.set(plan.group, memcgHeadroomPages(sim, plan.group));
    }
    return { pool: nodes.reduce((s, x) => s + x, 0), nodes, groups };
  }
}

/** The cgroup a workload's processes start in ('/' by default). */
function groupOf(cgroup: string | undefined): string {
  return cgroup ?? '/';
}

/** Pages a cgroup's processes may still charge: min over it and its ancestors with a memory.max of max − current + file. */
function memcgHeadroomPages(sim: SimKernel, path: string): number {
  let headroom = Infinity;
  const parts = path.split('/').filter((x) => x.length > 0);
  for (let i = parts.length; i >= 1; i--) {
    const dir = `/sys/fs/cgroup/${parts.slice(0, i).join('/')}`;
    const max = sim.readFile(`${dir}/memory.max`).trim();
    if (max === 'max') continue;
    const current = Number(sim.readFile(`${dir}/memory.current`).trim());
    const file = Number(/^file (\d+)$/m.exec(sim.readFile(`${dir}/memory.stat`))?.[1] ?? 0);
    headroom = Math.min(headroom, Math.max(0, (Number(max) - current + file) / 4096));
  }
  return headroom;
}

/** Calls visit(pmdIdx, mass) for each 2 MiB region of the stream with accesses. */
function forEachRegion(spec: AccessStreamSpec, visit: (pmd: number, mass: number) => void): void {
  const masses = regionMasses(spec);
  const first = Math.floor(spec.start / HUGE_PAGE_BYTES);
  for (let r = 0; r < masses.length; r++) if (masses[r] > 0) visit(first + r, masses[r]);
}

/** The knapsack's share at capacity c (linear between breakpoints). */
function shareAt(bc: readonly number[], bf: readonly number[], c: number): number {
  if (c <= 0 || bc.length === 1) return bf[0];
  for (let i = 1; i < bc.length; i++) {
    if (c <= bc[i]) return bf[i - 1] + ((bf[i] - bf[i - 1]) * (c - bc[i - 1])) / (bc[i] - bc[i - 1]);
  }
  return bf[bf.length - 1];
}

/**
 * The least concave, non-decreasing function over [grid[0] = 0, grid[G]] that is ≥ the step function
 * "values[j] on (grid[j−1], grid[j]], values[0] at 0" — i.e. ≥ any non-decreasing function through the
 * points (grid[j], values[j]). Returned as its corners (c ascending from 0, s), linear in between.
 */
export function stepHull(grid: readonly number[], values: readonly number[]): { c: number[]; s: number[] } {
  const px: number[] = [grid[0]];
  const py: number[] = [values[0]];
  let top = values[0];
  for (let j = 1; j < grid.length; j++) {
    top = Math.max(top, values[j]);
    px.push(grid[j - 1], grid[j]);
    py.push(top, top);
  }
  const hx: number[] = [];
  const hy: number[] = [];
  for (let i = 0; i < px.length; i++) {
    const x = px[i];
    const y = py[i];
    if (hx.length > 0 && x === hx[hx.length - 1]) {
      if (y <= hy[hy.length - 1]) continue;
      hx.pop();
      hy.pop();
    }
    while (hx.length >= 2) {
      const n = hx.length;
      const cross = (hx[n - 1] - hx[n - 2]) * (y - hy[n - 2]) - (hy[n - 1] - hy[n - 2]) * (x - hx[n - 2]);
      if (cross < 0) break;
      hx.pop();
      hy.pop();
    }
    hx.push(x);
    hy.push(y);
  }
  return { c: hx, s: hy };
}

/** The hull's saving at capacity c. */
function hullAt(plan: StreamPlan, c: number): number {
  const { hullC: hx, hullS: hy } = plan;
  if (hx.length === 0) return 0;
  if (c <= 0) return hy[0];
  for (let i = 1; i < hx.length; i++) if (c <= hx[i]) return hy[i - 1] + ((hy[i] - hy[i - 1]) * (c - hx[i - 1])) / (hx[i] - hx[i - 1]);
  return hy[hy.length - 1];
}

/**
 * Gives the pooled capacity to the hull segments of all streams in order of slope, within each cgroup's
 * headroom; sets each plan's `c` and returns the total saving (the hulls' values at 0 included).
 */
function allocate(plans: StreamPlan[], pool: number, groups: Map<string, number>): number {
  let saving = 0;
  const segs: { plan: StreamPlan; dc: number; ds: number; slope: number; order: number }[] = [];
  plans.forEach((plan, i) => {
    if (plan.hullS.length > 0) saving += plan.hullS[0];
    for (let j = 1; j < plan.hullC.length; j++) {
      const dc = plan.hullC[j] - plan.hullC[j - 1];
      const ds = plan.hullS[j] - plan.hullS[j - 1];
      if (dc > 0 && ds > 0) segs.push({ plan, dc, ds, slope: ds / dc, order: i * 1e6 + j });
    }
  });
  segs.sort((a, b) => b.slope - a.slope || a.order - b.order);
  const left = new Map(groups);
  const give = (plan: StreamPlan, want: number): number => {
    const take = Math.max(0, Math.min(want, pool, left.get(plan.group) ?? Infinity));
    plan.c += take;
    pool -= take;
    left.set(plan.group, (left.get(plan.group) ?? Infinity) - take);
    return take;
  };
  for (const s of segs) {
    if (pool <= 0) break;
    saving += (s.ds * give(s.plan, s.dc)) / s.dc;
  }
  // What is left buys no modelled saving; it maps the rest of each stream's regions (coverage), in order.
  for (const plan of plans) give(plan, plan.total - plan.c);
  return saving;
}

/** The share of the stream's mass its capacity buys, recording the regions' taken fractions per pid. */
function takenShare(plan: StreamPlan, taken: Map<number, Map<number, number>>): number {
  let m = taken.get(plan.pid);
  if (!m) taken.set(plan.pid, (m = new Map<number, number>()));
  let c = plan.c;
  let f = 0;
  for (let i = 0; i < plan.pmd.length; i++) {
    const cost = plan.cost[i];
    const x = cost === 0 ? 1 : c >= cost ? 1 : Math.max(0, c / cost);
    if (x <= 0) break;
    c -= cost * x;
    f += plan.mass[i] * x;
    m.set(plan.pmd[i], Math.max(m.get(plan.pmd[i]) ?? 0, x));
  }
  return Math.min(1, f);
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

/** The oracle as an arm of `uhugepaged compare`. */
export function runOracleArm(scenario: Scenario, arm: ArmSpec, opts: ArmRunOptions): Promise<OracleRun> {
  const r = oracleArm(scenario, { seed: opts.seed, durationMs: opts.durationMs });
  return Promise.resolve({
    arm, durationMs: opts.durationMs, seed: opts.seed,
    precomputed: { metrics: r.metrics, series: r.series.map((x) => ({ tMs: x.t, hotThpCoverage: x.hotThpCoverage, mmuOverheadPct: x.mmuOverheadPct })) },
  });
}
