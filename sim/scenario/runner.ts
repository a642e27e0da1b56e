/**
 * Runs a scenario on the simulated kernel: boots the machine (knobs, cgroups, ageing), then plays the
 * workloads' lives on simulated time — starts, populate, access streams and their phases, forks and
 * snapshot children, stops, kernel churn — while the kernel's own mechanisms (faults, khugepaged,
 * kswapd, kcompactd, ksmd, NUMA balancing, ...) run underneath. Whatever else drives the kernel (the
 * daemon, in a later arm) advances the same `ScenarioRun` in steps.
 *
 * Scenario time 0 is the moment the machine has finished ageing; `sim.now()` is ahead of it by the
 * ageing time (`bootMs`).
 */
import { SimKernel, SyscallError } from '../../kernel-model/index.js';
import { parseKeyValueKb } from '../../daemon/kernel-port/procfs-parsers.js';
import { ageMachine } from './ageing.js';
import { accessSpecAt, changeTimes } from './stream-phases.js';
import type { ChurnSpec, Scenario, Workload } from './schema.js';
import { Timeline } from './timeline.js';

const PAGE = 4096;
const HPAGE = 2 << 20;
const MiB = 1 << 20;

/** A mapping of a running process. */
export interface MappedRange {
  readonly name: string;
  readonly addr: number;
  readonly size: number;
}

/** One process of a workload group. */
export interface ProcessInstance {
  readonly workload: Workload;
  /** Index in the group (0-based). */
  readonly index: number;
  readonly comm: string;
  readonly node: number;
  /** Scenario time it starts and (if set) stops. */
  readonly startMs: number;
  readonly stopMs: number | undefined;
  /** Its pid once started. */
  pid: number | undefined;
  /** Whether it ended (stopped, or killed by the OOM killer). */
  exited: boolean;
  /** How it ended. */
  endReason: 'stopped' | 'oom-killed' | undefined;
  readonly mappings: MappedRange[];
}

/** Options of a run. */
export interface RunOptions {
  /** Simulated time to run (default: the scenario's duration). */
  readonly durationMs?: number;
  /** Overrides the scenario's seed. */
  readonly seed?: number;
}

/** A scenario being played on a simulated kernel. */
export class ScenarioRun {
  readonly sim: SimKernel;
  readonly durationMs: number;
  readonly seed: number;
  /** Simulated time spent ageing the machine before scenario time 0. */
  readonly bootMs: number;
  readonly processes: ProcessInstance[] = [];
  private readonly timeline = new Timeline();
  private readonly byPid = new Map<number, ProcessInstance>();
  private readonly children = new Set<number>();
  private elapsed = 0;
  /** Called just before a workload process exits at its stop time (to record its final state). */
  beforeExit: ((pid: number) => void) | undefined;

  constructor(readonly scenario: Scenario, opts: RunOptions = {}) {
    this.durationMs = opts.durationMs ?? scenario.durationMs;
    this.seed = opts.seed ?? scenario.seed;
    const m = scenario.machine;
    this.sim = new SimKernel({
      nodes: m.nodes.map((n) => ({ memoryMiB: Math.floor(n.memory / MiB) })),
      ...(m.distances ? { distances: m.distances } : {}),
      swapMiB: Math.floor((m.swap ?? 0) / MiB),
      seed: this.seed,
      balloon: m.balloon ?? false,
    });
    for (const [path, value] of Object.entries(m.knobs ?? {})) this.sim.writeFile(path, String(value));
    this.createCgroups();
    const t0 = this.sim.now();
    if (m.age) ageMachine(this.sim, m.age);
    this.bootMs = this.sim.now() - t0;
    this.planWorkloads();
  }

  /** Scenario time reached, ms. */
  get elapsedMs(): number {
    return this.elapsed;
  }

  /** Whether the run reached its duration. */
  get done(): boolean {
    return this.elapsed >= this.durationMs;
  }

  /** The process instance of a pid (a snapshot child maps to nothing). */
  instanceOf(pid: number): ProcessInstance | undefined {
    return this.byPid.get(pid);
  }

  /** Pids of live snapshot children. */
  get childPids(): readonly number[] {
    return [...this.children];
  }

  /**
   * Plays the scenario up to scenario time `t` (capped at the duration): every scenario event due by
   * then runs at its time, and the kernel runs in between.
   */
  advanceTo(t: number): void {
    const target = Math.min(t, this.durationMs);
    while (this.timeline.peekTime() <= target) {
      const at = this.timeline.peekTime();
      this.moveClock(at);
      this.timeline.pop()!();
    }
    this.moveClock(target);
    this.reapKilled();
  }

  /**
   * Records the processes the OOM killer ended while another task was allocating (not in one of their
   * own calls, which `guard` sees): only `stopProcess` exits a workload process, so a started one that
   * is gone without being marked was killed.
   */
  private reapKilled(): void {
    const live = new Set(this.sim.listPids());
    for (const p of this.processes) {
      if (p.pid === undefined || p.exited || live.has(p.pid)) continue;
      p.exited = true;
      p.endReason ??= 'oom-killed';
    }
  }

  private moveClock(t: number): void {
    if (t > this.elapsed) {
      this.sim.advance(t - this.elapsed);
      this.elapsed = t;
    }
  }

  // ---- machine ------------------------------------------------------------------------------------

  private createCgroups(): void {
    const made = new Set<string>();
    for (const cg of this.scenario.cgroups) {
      const parts = cg.path.split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i++) {
        const p = `/${parts.slice(0, i).join('/')}`;
        if (made.has(p)) continue;
        this.sim.mkdir(`/sys/fs/cgroup${p}`);
        made.add(p);
      }
      if (cg.memoryMax !== undefined) this.sim.writeFile(`/sys/fs/cgroup${cg.path}/memory.max`, String(cg.memoryMax));
      if (cg.memoryHigh !== undefined) this.sim.writeFile(`/sys/fs/cgroup${cg.path}/memory.high`, String(cg.memoryHigh));
    }
  }

  // ---- workloads ----------------------------------------------------------------------------------

  private planWorkloads(): void {
    for (const w of this.scenario.workloads) {
      if (w.churn) {
        this.planChurn(w, w.churn);
        continue;
      }
      const count = w.count ?? 1;
      const nodes = nodesOf(w, [0]);
      for (let i = 0; i < count; i++) {
        const base = w.comm ?? w.name;
        const comm = (count > 1 ? `${base.slice(0, 15 - String(i).length - 1)}-${i}` : base).slice(0, 15);
        const startMs = (w.start ?? 0) + i * (w.stagger ?? 0);
        const end = Math.min(w.stop ?? Infinity, startMs + (w.lifetime ?? Infinity));
        const stopMs = Number.isFinite(end) ? end : undefined;
        const inst: ProcessInstance = { workload: w, index: i, comm, node: nodes[i % nodes.length], startMs, stopMs, pid: undefined, exited: false, endReason: undefined, mappings: [] };
        this.processes.push(inst);
        if (startMs < this.durationMs && (stopMs === undefined || stopMs > startMs)) this.timeline.at(startMs, () => this.startProcess(inst));
      }
    }
  }

  private startProcess(p: ProcessInstance): void {
    const w = p.workload;
    const sim = this.sim;
    const pid = sim.spawn({ comm: p.comm, uid: w.uid ?? 0, node: p.node, ...(w.cgroup && w.cgroup !== '/' ? { cgroup: w.cgroup } : {}) });
    p.pid = pid;
    this.byPid.set(pid, p);
    if (w.mempolicy) sim.setMempolicy(pid, w.mempolicy.mode, w.mempolicy.nodes ?? []);
    if (w.thpDisable) sim.prctl(pid, 'PR_SET_THP_DISABLE', 1);
    if (w.memoryMerge) sim.prctl(pid, 'PR_SET_MEMORY_MERGE', 1);
    for (const m of w.mappings ?? []) {
      const addr = sim.mmap(pid, m.size, { align: m.align ?? HPAGE });
      for (const advice of m.madvise ?? []) sim.madvise(pid, addr, m.size, advice);
      if (m.mlock) sim.mlock(pid, addr, m.size);
      p.mappings.push({ name: m.name, addr, size: m.size });
    }
    if (!this.guard(p, () => this.populate(p))) return;
    this.startStreams(p);
    for (const f of w.forks ?? []) this.timeline.at(p.startMs + f.at, () => this.forkSnapshot(p, f.every, f.childLifetime));
    if (p.stopMs !== undefined) this.timeline.at(p.stopMs, () => this.stopProcess(p));
  }

  /**
   * Writes the populated share of each mapping. Content is assigned per 2 MiB region, so that a region
   * is wholly duplicated, zero or distinct in the stated proportions: duplicated pages carry a value
   * derived from (workload, mapping, page), the same in every instance of the workload and in no other
   * page, so KSM can merge them across instances but not within one.
   */
  private populate(p: ProcessInstance): void {
    const w = p.workload;
    for (const m of w.mappings ?? []) {
      const range = p.mappings.find((r) => r.name === m.name)!;
      const bytes = Math.floor((m.size * (m.populate ?? 1)) / PAGE) * PAGE;
      if (bytes === 0) continue;
      const dup = m.content?.duplicated ?? 0;
      const zero = m.content?.zero ?? 0;
      if (dup === 0 && zero === 0) {
        this.sim.touch(p.pid!, range.addr, bytes);
        continue;
      }
      const salt = hashString(`${w.name}/${m.name}`);
      for (let off = 0; off < bytes; off += HPAGE) {
        const len = Math.min(HPAGE, bytes - off);
        const kind = regionContent(salt, off / HPAGE, dup, zero);
        if (kind === 'distinct') this.sim.touch(p.pid!, range.addr + off, len);
        else if (kind === 'zero') this.sim.touch(p.pid!, range.addr + off, len, { fill: 0 });
        else this.writeDuplicated(p.pid!, range.addr + off, len, salt, off / PAGE);
      }
    }
  }

  private writeDuplicated(pid: number, addr: number, len: number, salt: number, firstPage: number): void {
    for (let i = 0; i < len / PAGE; i++) this.sim.touch(pid, addr + i * PAGE, PAGE, { fill: duplicatedContent(salt, firstPage + i) });
  }

  private startStreams(p: ProcessInstance): void {
    const w = p.workload;
    for (const s of w.streams ?? []) {
      const range = p.mappings.find((r) => r.name === s.mapping)!;
      const id = this.sim.addAccessStream(p.pid!, accessSpecAt(s, range.addr, range.size, 0));
      const life = (p.stopMs ?? this.durationMs) - p.startMs;
      for (const age of changeTimes(s, life)) {
        this.timeline.at(p.startMs + age, () => {
          if (!p.exited) this.guard(p, () => this.sim.updateAccessStream(p.pid!, id, accessSpecAt(s, range.addr, range.size, age)));
        });
      }
    }
  }

  /** A snapshot: the child reads every mapping once, sequentially, over its life, then exits. */
  private forkSnapshot(p: ProcessInstance, everyMs: number | undefined, lifetimeMs: number): void {
    if (p.exited) return;
    let child = -1;
    if (!this.guard(p, () => (child = this.sim.fork(p.pid!)))) return;
    this.children.add(child);
    const sweepsPerSec = 1000 / Math.max(1000, lifetimeMs);
    for (const r of p.mappings) {
      this.sim.addAccessStream(child, { start: r.addr, length: r.size, ratePerSec: (r.size / 64) * sweepsPerSec, pattern: 'sequential', writeFraction: 0 });
    }
    this.timeline.at(this.elapsed + lifetimeMs, () => {
      this.children.delete(child);
      try {
        this.sim.exit(child);
      } catch (e) {
        if (!(e instanceof SyscallError && e.errno === 'ESRCH')) throw e;
      }
    });
    if (everyMs !== undefined && everyMs > 0) this.timeline.at(this.elapsed + everyMs, () => this.forkSnapshot(p, everyMs, lifetimeMs));
  }

  private stopProcess(p: ProcessInstance): void {
    if (p.exited || p.pid === undefined) return;
    this.beforeExit?.(p.pid);
    this.guard(p, () => this.sim.exit(p.pid!));
    p.exited = true;
    p.endReason ??= 'stopped';
  }

  /** Runs a call on a process; if the process has died (the OOM killer), records that instead. */
  private guard(p: ProcessInstance, call: () => void): boolean {
    try {
      call();
      return true;
    } catch (e) {
      if (e instanceof SyscallError && (e.errno === 'ESRCH' || e.errno === 'EFAULT')) {
        if (!this.sim.listPids().includes(p.pid!)) {
          p.exited = true;
          p.endReason ??= 'oom-killed';
          return false;
        }
      }
      throw e;
    }
  }

  // ---- kernel churn -------------------------------------------------------------------------------

  /** Kernel allocations and page-cache traffic, once per second over the nodes listed (default all). */
  private planChurn(w: Workload, c: ChurnSpec): void {
    const nodes = nodesOf(w, this.scenario.machine.nodes.map((_, i) => i));
    const start = w.start ?? 0;
    const stop = Math.min(w.stop ?? Infinity, start + (w.lifetime ?? Infinity));
    const share = 1 / nodes.length;
    const tick = (t: number): void => {
      if (t >= stop) return;
      for (const node of nodes) {
        if (c.unmovable) this.sim.kernelAlloc(node, Math.round(c.unmovable * share), 'unmovable', c.unmovableLifetime ?? 600_000);
        if (c.reclaimable) this.sim.kernelAlloc(node, Math.round(c.reclaimable * share), 'reclaimable', c.reclaimableLifetime ?? 120_000);
        if (c.pageCache) this.sim.pageCacheAdd(node, Math.round(c.pageCache * share));
      }
      if (t + 1000 < this.durationMs) this.timeline.at(t + 1000, () => tick(t + 1000));
    };
    if (start < this.durationMs) this.timeline.at(start, () => tick(start));
    const every = c.pageCacheDropEvery;
    if (every !== undefined && every > 0) {
      const drop = (t: number): void => {
        if (t >= stop) return;
        this.sim.pageCacheDrop(Math.floor(cachedPages(this.sim) / 2));
        if (t + every < this.durationMs) this.timeline.at(t + every, () => drop(t + every));
      };
      this.timeline.at(start + every, () => drop(start + every));
    }
  }
}

/** A workload's node list (`node: 0` or `node: [0, 1]`), or `fallback` when it names none. */
function nodesOf(w: Workload, fallback: readonly number[]): readonly number[] {
  return w.node === undefined ? fallback : typeof w.node === 'number' ? [w.node] : w.node;
}

/** Pages in the page cache (the Cached line of /proc/meminfo). */
export function cachedPages(sim: SimKernel): number {
  return (parseKeyValueKb(sim.readFile('/proc/meminfo')).get('Cached') ?? 0) / 4;
}

/** FNV-1a of a string: a stable salt per (workload, mapping). */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A 32-bit mix of two integers (splitmix-style finaliser). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Which content a 2 MiB region of a mapping holds: a stable draw per region, in the given shares. */
function regionContent(salt: number, region: number, dup: number, zero: number): 'duplicated' | 'zero' | 'distinct' {
  const u = mix(salt, region) / 2 ** 32;
  return u < dup ? 'duplicated' : u < dup + zero ? 'zero' : 'distinct';
}

/**
 * Content of a duplicated page: in the top half of the 32-bit space, away from the kernel's counter of
 * distinct written values (which starts at 1), and never 0.
 */
function duplicatedContent(salt: number, page: number): number {
  return (0x80000000 | mix(salt, page)) >>> 0;
}

