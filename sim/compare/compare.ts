/**
 * `uhugepaged compare`'s engine: every scenario under every arm, plus the hidden no-THP reference run of
 * each scenario, and the report built from them.
 *
 * The work is a list of tasks (scenario × [reference, ...arms]) in a fixed order. With `jobs` 1 they run
 * one after the other in this thread; with more, in a pool of worker threads (compare-worker.ts), each
 * taking the next task when it is done. Every run is a pure function of its scenario, arm, seed and
 * duration, and results are put back in task order, so the report does not depend on `jobs` or on which
 * worker finished first. Progress is the simulated time of all tasks together.
 *
 *     tasks:  [s0:no-thp, s0:arm0, s0:arm1, ..., s1:no-thp, s1:arm0, ...]
 *     pool:   worker k ── task i ──▶ ArmRun i ──▶ results[i]
 *     report: per scenario, armMetrics(results[arm], results[reference])
 */
import { Worker } from 'node:worker_threads';
import { NO_THP_ARM, type ArmSpec } from './arms.js';
import { runOracleArm } from './oracle.js';
import { armMetrics, armSeries, referenceFigures, runArm, type ArmProgress, type ArmRun, type ArmRunOptions, type OracleRun } from './run-arm.js';
import { judgeGoals } from './goals.js';
import type { CompareReport, MachineFigures, ScenarioReport } from './report-schema.js';
import type { Scenario } from '../scenario/schema.js';

/** What a task gives: a measured run, or the oracle's computed figures. */
export type TaskResult = ArmRun | OracleRun;

/** One run to make. */
export interface CompareTask {
  readonly id: number;
  readonly scenario: Scenario;
  readonly arm: ArmSpec;
  readonly opts: ArmRunOptions;
}

/** Messages from a worker. */
export type WorkerMessage =
  | { type: 'progress'; id: number; elapsedMs: number }
  | { type: 'done'; id: number; run: TaskResult }
  | { type: 'failed'; id: number; message: string };

/** Options of a comparison. */
export interface CompareOptions {
  readonly arms: readonly ArmSpec[];
  /** Overrides each scenario's seed. */
  readonly seed?: number;
  /** Overrides each scenario's duration, ms. */
  readonly durationMs?: number;
  /** Runs at once (worker threads when above 1). */
  readonly jobs?: number;
  /** Simulated time done over all runs, and the total, ms. */
  readonly onProgress?: (doneMs: number, totalMs: number) => void;
}

/** Runs one task in this thread (the oracle through its module). */
export async function runTask(task: CompareTask, onProgress?: ArmProgress): Promise<TaskResult> {
  if (task.arm.kind === 'oracle') {
    return runOracleArm(task.scenario, task.arm, task.opts);
  }
  return runArm(task.scenario, task.arm, task.opts, onProgress);
}

/** The tasks of a comparison, in report order. */
export function compareTasks(scenarios: readonly Scenario[], opts: CompareOptions): CompareTask[] {
  const tasks: CompareTask[] = [];
  for (const scenario of scenarios) {
    const runOpts = { durationMs: opts.durationMs ?? scenario.durationMs, seed: opts.seed ?? scenario.seed };
    for (const arm of [NO_THP_ARM, ...opts.arms]) tasks.push({ id: tasks.length, scenario, arm, opts: runOpts });
  }
  return tasks;
}

/** Runs the scenarios under the arms and builds the report. */
export async function compare(scenarios: readonly Scenario[], opts: CompareOptions): Promise<CompareReport> {
  const tasks = compareTasks(scenarios, opts);
  const totalMs = tasks.reduce((s, t) => s + t.opts.durationMs, 0);
  const done = new Array<number>(tasks.length).fill(0);
  let doneSum = 0;
  const progress = (id: number, elapsedMs: number): void => {
    doneSum += elapsedMs - done[id];
    done[id] = elapsedMs;
    opts.onProgress?.(doneSum, totalMs);
  };
  const jobs = Math.max(1, Math.min(opts.jobs ?? 1, tasks.length));
  const runs = jobs === 1 ? await runInThread(tasks, progress) : await runInWorkers(tasks, jobs, progress);
  return buildReport(scenarios, opts.arms.length, runs);
}

async function runInThread(tasks: readonly CompareTask[], progress: (id: number, elapsedMs: number) => void): Promise<TaskResult[]> {
  const runs: TaskResult[] = [];
  for (const t of tasks) runs.push(await runTask(t, (e) => progress(t.id, e)));
  return runs;
}

/** Runs the tasks in a pool of `jobs` worker threads; results in task order. */
function runInWorkers(tasks: readonly CompareTask[], jobs: number, progress: (id: number, elapsedMs: number) => void): Promise<TaskResult[]> {
  return new Promise((resolve, reject) => {
    const runs = new Array<TaskResult | undefined>(tasks.length);
    const workers: Worker[] = [];
    /** Workers this pool ended itself (terminate() makes a worker exit with code 1). */
    const retired = new Set<Worker>();
    const retire = (w: Worker): void => {
      retired.add(w);
      void w.terminate();
    };
    let next = 0;
    let finished = 0;
    let failed = false;
    const stopAll = (): void => {
      for (const w of workers) retire(w);
    };
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      stopAll();
      reject(e);
    };
    const feed = (w: Worker): void => {
      if (next < tasks.length) w.postMessage(tasks[next++]);
      else retire(w);
    };
    for (let i = 0; i < jobs; i++) {
      const w = new Worker(new URL('./compare-worker.js', import.meta.url));
      workers.push(w);
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') progress(m.id, m.elapsedMs);
        else if (m.type === 'failed') fail(new Error(`${tasks[m.id].scenario.name} / ${tasks[m.id].arm.name}: ${m.message}`));
        else {
          runs[m.id] = m.run;
          finished++;
          if (finished === tasks.length) {
            stopAll();
            resolve(runs as TaskResult[]);
          } else feed(w);
        }
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (code !== 0 && !retired.has(w)) fail(new Error(`a compare worker exited with code ${code}`));
      });
      feed(w);
    }
  });
}

/** The machine's size, and which workloads fit their home node (what the goals need). */
export function machineFigures(scenario: Scenario): MachineFigures {
  const nodes = scenario.machine.nodes.map((n) => n.memory);
  const fitting = scenario.workloads
    .filter((w) => !w.churn && (w.node === undefined || typeof w.node === 'number'))
    .filter((w) => {
      const home = typeof w.node === 'number' ? w.node : 0;
      const bytes = (w.count ?? 1) * w.mappings.reduce((s, m) => s + m.size, 0);
      return bytes <= (nodes[home] ?? 0);
    })
    .map((w) => w.name);
  return { memoryBytes: nodes.reduce((s, b) => s + b, 0), nodes: nodes.length, workloadsFittingNode: fitting };
}

/** The report from the runs (in task order: per scenario the reference, then the arms). */
export function buildReport(scenarios: readonly Scenario[], armCount: number, runs: readonly TaskResult[]): CompareReport {
  const per = armCount + 1;
  return {
    scenarios: scenarios.map((scenario, si): ScenarioReport => {
      const ref = runs[si * per];
      if ('precomputed' in ref) throw new Error('the no-THP reference must be a measured run');
      const armRuns = runs.slice(si * per + 1, (si + 1) * per);
      const report: ScenarioReport = {
        name: scenario.name,
        durationMs: ref.durationMs,
        seed: ref.seed,
        arms: armRuns.map((r) => ({
          name: r.arm.name,
          kind: r.arm.kind,
          ...(r.arm.policyFile !== undefined ? { policyFile: r.arm.policyFile } : {}),
          metrics: 'precomputed' in r ? r.precomputed.metrics : armMetrics(r, ref),
          series: 'precomputed' in r ? r.precomputed.series : armSeries(r),
        })),
        reference: referenceFigures(ref),
        machine: machineFigures(scenario),
      };
      return { ...report, goals: judgeGoals(report) };
    }),
  };
}
