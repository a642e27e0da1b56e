/**
 * `uhugepaged run` on the simulated kernel: a scenario played with the daemon running as one of the
 * machine's processes, on the machine's virtual time. The daemon is the production one — the same
 * container, services and code as on Linux — with three bindings swapped: the kernel port (the
 * simulated kernel), the clock (its virtual time) and the cron source (node-cron's matcher on that
 * clock). Time moves in the scenario's sampling steps; within a step the daemon's timers fire in order,
 * each on a machine that has lived exactly until then (KernelTimeScheduler).
 *
 * The result has the same metrics as `simulate` (a pure function of scenario, seed and policy), plus
 * what the daemon did; with `baseline`, the same scenario and seed are also run with the kernel alone,
 * so that the summary says what the daemon changed.
 */
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { Container } from 'inversify';
import { Application } from '../../daemon/lifecycle/application.js';
import { buildContainer } from '../../daemon/container.js';
import type { DaemonOptions } from '../../daemon/config/daemon-options.js';
import { CollapseDaemon } from '../../daemon/engine/collapse-daemon.js';
import { formatDaemonTotals, type DaemonRunTotals } from '../../daemon/engine/daemon-summary.js';
import { KernelPort, KernelPortError } from '../../daemon/kernel-port/kernel-port.js';
import { LoggerFactory } from '../../daemon/telemetry/logger-factory.js';
import { PolicyStore } from '../../daemon/config/policy-store.js';
import { Clock } from '../../daemon/schedule/clock.js';
import { ClockCronSource } from '../../daemon/schedule/clock-cron-source.js';
import { CronSource } from '../../daemon/schedule/cron-source.js';
import { formatDuration } from '../../daemon/config/units.js';
import { SimKernelPort } from '../kernel-port/sim-kernel-port.js';
import { MetricsRecorder } from '../scenario/metrics.js';
import { ScenarioRun, type RunOptions } from '../scenario/runner.js';
import type { Scenario } from '../scenario/schema.js';
import { formatSummary, simulate, type SimProgress, type SimulationResult } from '../scenario/simulate.js';

export interface DaemonRunOptions extends RunOptions {
  /** The daemon's options (policy file, dry run, once, logging, metrics port). */
  readonly daemon?: Partial<DaemonOptions>;
  /** Also run the scenario with the kernel alone, for comparison. */
  readonly baseline?: boolean;
  /** Asked between steps: true ends the run early (a signal arrived), with the figures so far. */
  readonly interrupted?: () => boolean;
  /** Given the running daemon once it started (to watch what it holds in a long run). */
  readonly started?: (daemon: CollapseDaemon) => void;
  /** Called once the scenario's machine is up, before the daemon starts (scenario time 0). */
  readonly begun?: (run: ScenarioRun) => void;
  /** Called after each sample of the metrics, with the run (for figures of one's own, e.g. `compare`'s). */
  readonly sampled?: (run: ScenarioRun) => void;
}

export interface DaemonRunResult extends SimulationResult {
  /** What the daemon did over the run. */
  readonly daemon: DaemonRunTotals;
  /** The kernel alone on the same scenario and seed, when asked for. */
  readonly baseline?: SimulationResult;
  /** The run stopped before the scenario's end (a signal, or --once). */
  readonly stoppedEarly: boolean;
  /** What the daemon left behind once stopped: the THP knobs, and processes still under access sampling (0). */
  readonly afterStop: { readonly knobs: Readonly<Record<string, string>>; readonly sampledProcesses: number };
}

const THP_KNOBS = ['/sys/kernel/mm/transparent_hugepage/enabled', '/sys/kernel/mm/transparent_hugepage/defrag'];

/** Live processes of the machine that are still under access sampling. */
function sampledProcesses(port: SimKernelPort): number {
  let n = 0;
  for (const pid of port.listPids()) {
    try {
      port.accessRegions(pid);
      n++;
    } catch (e) {
      // EINVAL: not sampled. Anything else is a bug to surface.
      if (!(e instanceof KernelPortError)) throw e;
    }
  }
  return n;
}

/** Binds the daemon's platform to the simulated kernel: port, virtual clock, cron on that clock. */
export function bindSimPlatform(container: Container, port: SimKernelPort): void {
  container.bind<KernelPort>(KernelPort).toConstantValue(port);
  container.rebind<Clock>(Clock).toConstantValue(port.clock);
  container.rebind<CronSource>(CronSource).to(ClockCronSource).inSingletonScope();
}

/** Runs the scenario with the daemon; resolves when the run ended and the daemon stopped. */
export async function runWithDaemon(scenario: Scenario, opts: DaemonRunOptions = {}, onProgress?: SimProgress): Promise<DaemonRunResult> {
  const run = new ScenarioRun(scenario, opts);
  const recorder = new MetricsRecorder(run);
  opts.begun?.(run);
  const epoch = run.sim.now();
  const port = new SimKernelPort(run.sim, { moveKernelTo: (ms) => run.advanceTo(ms - epoch) });
  const container = buildContainer(opts.daemon);
  bindSimPlatform(container, port);
  const app = container.get<Application>(Application);
  const daemon = container.get(CollapseDaemon);
  let finished = false;
  const done = daemon.done$.subscribe({ complete: () => (finished = true) });
  await app.start();
  opts.started?.(daemon);
  let stoppedEarly = false;
  while (!run.done) {
    port.scheduler.runUntil(Math.min(run.durationMs, run.elapsedMs + scenario.sampleEveryMs));
    recorder.sample();
    opts.sampled?.(run);
    onProgress?.(run.elapsedMs, run.durationMs);
    // Let signals and the metrics endpoint be served between steps.
    await yieldToEvents();
    if (finished || app.stopping || opts.interrupted?.()) {
      stoppedEarly = !run.done;
      break;
    }
  }
  await app.stop(stoppedEarly ? 'stopped early' : 'end of scenario');
  done.unsubscribe();
  await container.get<LoggerFactory>(LoggerFactory).close();
  const durationMs = run.elapsedMs;
  const result: DaemonRunResult = {
    scenario: scenario.name, seed: run.seed, durationMs, bootMs: run.bootMs, metrics: recorder.finish(),
    daemon: { ...daemon.totals, cpuMs: port.selfCpuMs(), policyFile: container.get(PolicyStore).file, dryRun: opts.daemon?.dryRun ?? false },
    stoppedEarly,
    afterStop: { knobs: Object.fromEntries(THP_KNOBS.map((k) => [k, run.sim.readFile(k).trim()])), sampledProcesses: sampledProcesses(port) },
  };
  if (!opts.baseline) return result;
  return { ...result, baseline: simulate(scenario, { durationMs, seed: run.seed }) };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The summary printed at the end of `uhugepaged run --kernel sim`. */
export function formatDaemonSummary(r: DaemonRunResult): string {
  const d = r.daemon;
  const out: string[] = [formatSummary(r, `uhugepaged${d.dryRun ? ' (dry run: no actions)' : ''} with policy ${d.policyFile}`)];
  out.push('');
  out.push(...formatDaemonTotals(d, 'simulated'));
  if (r.stoppedEarly) out.push(`stopped early, after ${formatDuration(r.durationMs)} of simulated time`);
  if (r.baseline) {
    const b = r.baseline.metrics.machine;
    const m = r.metrics.machine;
    out.push('');
    out.push(`hot memory THP coverage: ${pct(m.hotThpCoverage)} with uhugepaged, ${pct(b.hotThpCoverage)} with the kernel alone (uhugepaged simulate); MMU overhead ${m.mmuOverheadPct.toFixed(1)}% vs ${b.mmuOverheadPct.toFixed(1)}%; speed vs 4 KiB pages ${m.speedVs4k.toFixed(2)}x vs ${b.speedVs4k.toFixed(2)}x`);
  }
  return out.join('\n');
}
