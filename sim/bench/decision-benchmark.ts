/**
 * decisionCycleMs1000Procs: what one observe-decide cycle of the daemon's own logic costs at fleet size
 * — 1000 processes of 50 VMAs each — and its heap. The processes are synthetic: a kernel port that
 * answers their files (status, cgroup, stat, smaps_rollup, pagemap) from templates printed by the
 * simulated kernel and their access sampling from a seeded pattern, so the figure is the daemon's
 * logic (parsing, hot maps, ranking, planning, acting), not the simulator's cost of producing those
 * files. Machine-wide files come from a small simulated kernel. Every cycle is a full one: the clock
 * moves by the ranking interval, so hot maps are updated and candidates ranked each time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { of, type Observable } from 'rxjs';
import { shippedPolicyFile } from '../../daemon/config/policy-store.js';
import { SimKernel } from '../../kernel-model/index.js';
import { buildContainer } from '../../daemon/container.js';
import { CollapseDaemon, RANK_EVERY_MS } from '../../daemon/engine/collapse-daemon.js';
import { Application } from '../../daemon/lifecycle/application.js';
import { KernelPort, type AccessRegion, type KernelPort as Port, type MadviseResult, type PortIovec } from '../../daemon/kernel-port/kernel-port.js';
import { LoggerFactory } from '../../daemon/telemetry/logger-factory.js';
import { Clock } from '../../daemon/schedule/clock.js';
import { ClockCronSource } from '../../daemon/schedule/clock-cron-source.js';
import { CronSource } from '../../daemon/schedule/cron-source.js';
import { KernelTimeScheduler, SimKernelPort } from '../kernel-port/sim-kernel-port.js';

const MiB = 1024 * 1024;
const VMA_BYTES = 8 * MiB;
const VMA_GAP = 64 * MiB;
const BASE = 0x7e0000000000;

/** Processes and VMAs per process of the benchmark. */
export const DECISION_BENCH = { processes: 1000, vmasPerProcess: 50 } as const;

/** A kernel port of `processes` synthetic processes over a small simulated machine. */
class SyntheticPort implements Port {
  readonly kind = 'sim' as const;
  /** None of the synthetic pids. */
  readonly selfPid = 0;
  readonly clock: Clock;
  readonly scheduler = new KernelTimeScheduler(() => undefined);
  private readonly machine: SimKernelPort;
  private readonly templates: { status: string; stat: string; rollup: string };
  private readonly pids: number[];
  private readonly firstPfn: number;
  private fds = 1000;

  constructor(processes: number, private readonly vmas: number) {
    const sim = new SimKernel({ nodes: [{ memoryMiB: 1024 }, { memoryMiB: 1024 }] });
    this.machine = new SimKernelPort(sim);
    const pid = sim.spawn({ comm: 'template' });
    const a = sim.mmap(pid, 4 * MiB);
    sim.touch(pid, a, 4 * MiB, { write: true });
    this.templates = { status: sim.readFile(`/proc/${pid}/status`), stat: sim.readFile(`/proc/${pid}/stat`), rollup: sim.readFile(`/proc/${pid}/smaps_rollup`) };
    this.firstPfn = Number(/start_pfn:\s+(\d+)/.exec(sim.readFile('/proc/zoneinfo'))![1]);
    this.pids = Array.from({ length: processes }, (_, i) => 10_000 + i);
    const scheduler = this.scheduler;
    this.clock = { now: () => scheduler.now(), scheduler };
  }

  selfCpuMs(): number {
    return 0;
  }

  listPids(): number[] {
    return this.pids;
  }

  readFile(path: string): string {
    const m = /^\/proc\/(\d+)\/([a-z_]+)$/.exec(path);
    if (m === null || Number(m[1]) < 10_000) return this.machine.readFile(path);
    const pid = m[1];
    const anonKb = (this.vmas * VMA_BYTES) / 1024;
    switch (m[2]) {
      case 'status':
        return this.templates.status.replace(/^Name:\t.*$/m, `Name:\tworker-${Number(pid) % 7}`).replace(/^Pid:\t.*$/m, `Pid:\t${pid}`).replace(/^RssAnon:\s.*$/m, `RssAnon:\t${anonKb} kB`);
      case 'cgroup':
        return `0::/bench/${Number(pid) % 10}\n`;
      case 'stat':
        return this.templates.stat.replace(/^\d+ \(template\)/, `${pid} (worker)`);
      case 'smaps_rollup':
        return this.templates.rollup.replace(/^Anonymous:\s.*$/m, `Anonymous:      ${anonKb} kB`);
      case 'ksm_merging_pages':
        return '0\n';
      default:
        return this.machine.readFile(path);
    }
  }

  writeFile(path: string, text: string): void {
    this.machine.writeFile(path, text);
  }

  readBinary(path: string, offset: number, length: number): Uint8Array {
    if (path === '/proc/kpageflags') return this.machine.readBinary(path, offset, length);
    // Every page present, small, exclusive, on consecutive frames of node 0.
    const out = new Uint8Array(length);
    const view = new DataView(out.buffer);
    for (let at = 0; at + 8 <= length; at += 8) {
      view.setUint32(at, this.firstPfn + ((at / 8) % 4096), true);
      view.setUint32(at + 4, (1 << 31) | (1 << 24), true);
    }
    return out;
  }

  pidfdOpen(): number {
    return this.fds++;
  }

  close(): void {}

  processMadvise(_fd: number, iov: readonly PortIovec[]): Observable<MadviseResult> {
    return of({ bytes: iov.reduce((s, v) => s + v.len, 0), latencyMs: 1 });
  }

  movePages(_pid: number, pages: readonly number[], nodes: readonly number[]): Observable<number[]> {
    return of(pages.map((_, i) => nodes[i]));
  }

  startSampling(): void {}

  stopSampling(): void {}

  /** One region per VMA; a seeded mix of hot, warm and cold, changing a little each call. */
  accessRegions(pid: number): AccessRegion[] {
    const tick = Math.floor(this.scheduler.now() / 1000);
    return Array.from({ length: this.vmas }, (_, v) => {
      const start = BASE + (pid - 10_000) * this.vmas * VMA_GAP + v * VMA_GAP;
      const h = (pid * 2654435761 + v * 40503 + tick) >>> 0;
      return { start, end: start + VMA_BYTES, nrAccesses: h % 5 === 0 ? 40 + (h % 30) : h % 3, age: h % 20 };
    });
  }
}

/** The shipped policy, with one cycle per ranking interval so that every cycle measured is a full one. */
function benchPolicy(dir: string): string {
  const file = join(dir, 'policy.yaml');
  const pacing = `\npacing:\n  interval: ${RANK_EVERY_MS}ms\n  minInterval: ${RANK_EVERY_MS}ms\n  maxInterval: ${RANK_EVERY_MS}ms\n`;
  writeFileSync(file, readFileSync(shippedPolicyFile, 'utf8').replace(/^pacing:\n(?: .*\n|\n)*/m, '') + pacing);
  return file;
}

/** What the benchmark measured: wall ms per cycle (median and worst) and the heap the daemon holds. */
export interface DecisionCycleFigures {
  /** Median over the cycles of `seconds` of daemon time under the shipped policy's pacing. */
  readonly medianMs: number;
  /** Median of full cycles (every hot map updated, every candidate ranked again). */
  readonly fullMedianMs: number;
  readonly cycles: number;
  readonly heapMiB: number;
}

/** Runs the daemon over the synthetic fleet: `seconds` of daemon time as shipped, then `full` full cycles. */
export async function decisionCycle(seconds = 60, full = 9): Promise<DecisionCycleFigures> {
  const shipped = await cycleTimes(undefined, seconds * 1000, 250);
  const dir = mkdtempSync(join(tmpdir(), 'uhp-bench-'));
  try {
    const fullCycles = await cycleTimes(benchPolicy(dir), full * RANK_EVERY_MS, RANK_EVERY_MS);
    return { medianMs: median(shipped.perCycle), fullMedianMs: median(fullCycles.perCycle), cycles: shipped.perCycle.length, heapMiB: shipped.heapMiB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Live heap bytes after a full collection (gc exposed for this measurement only). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Wall ms of each cycle (from the daemon's own per-cycle figures) over `durationMs` of daemon time, stepping `stepMs`. */
async function cycleTimes(policyFile: string | undefined, durationMs: number, stepMs: number): Promise<{ perCycle: number[]; heapMiB: number }> {
  const heap0 = heapAfterGc();
  const port = new SyntheticPort(DECISION_BENCH.processes, DECISION_BENCH.vmasPerProcess);
  const container = buildContainer({ logLevel: 'error', ...(policyFile === undefined ? {} : { policyFile }) });
  container.bind<Port>(KernelPort).toConstantValue(port);
  container.rebind<Clock>(Clock).toConstantValue(port.clock);
  container.rebind<CronSource>(CronSource).to(ClockCronSource).inSingletonScope();
  const app = container.get<Application>(Application);
  const daemon = container.get(CollapseDaemon);
  await app.start();
  const perCycle: number[] = [];
  for (let t = stepMs; t <= durationMs; t += stepMs) {
    const before = { ms: daemon.totals.decideWallMs, n: daemon.totals.cycles };
    port.scheduler.runUntil(t);
    const n = daemon.totals.cycles - before.n;
    // Steps are no longer than the shortest interval, so a step holds at most one cycle, or one per 250 ms.
    for (let i = 0; i < n; i++) perCycle.push((daemon.totals.decideWallMs - before.ms) / n);
  }
  // The daemon's own heap: what is live with it running, less what was live before (the synthetic
  // machine's small simulated kernel is part of it, a few MiB).
  const heapMiB = (heapAfterGc() - heap0) / MiB;
  await app.stop('benchmark done');
  await container.get<LoggerFactory>(LoggerFactory).close();
  return { perCycle, heapMiB };
}
