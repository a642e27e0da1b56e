/**
 * simSpeedupKernelOnly and simSpeedup: how much faster than real time the default scenario runs on the
 * simulated kernel — with the kernel's own mechanisms only, and with the daemon running (its shipped
 * policy, logs off) — its whole simulated duration over the wall time of the run, boot, ageing and
 * start-up included (what `uhugepaged simulate` and `uhugepaged run --no-baseline` on it cost).
 */
import { performance } from 'node:perf_hooks';
import { loadScenario } from '../scenario/load.js';
import { simulate } from '../scenario/simulate.js';
import { runWithDaemon } from '../daemon/daemon-run.js';
import { packageFile } from '../package-files.js';

/** The scenario the figure is measured on (the one `npm start` runs). */
export const BENCH_SCENARIO = packageFile('config/scenarios/default.yaml');

/** Simulated ms per wall ms of one run of a scenario (the default one, whole unless `simulatedMs` is given). */
export function kernelOnlySpeedup(file: string = BENCH_SCENARIO, simulatedMs?: number): number {
  const scenario = loadScenario(file);
  const t0 = performance.now();
  const result = simulate(scenario, simulatedMs === undefined ? {} : { durationMs: simulatedMs });
  return result.durationMs / (performance.now() - t0);
}

/** Simulated ms per wall ms of one run of the default scenario with the daemon. */
export async function daemonSpeedup(file: string = BENCH_SCENARIO): Promise<number> {
  const scenario = loadScenario(file);
  const t0 = performance.now();
  const result = await runWithDaemon(scenario, { daemon: { logLevel: 'error' } });
  return result.durationMs / (performance.now() - t0);
}
