/** `uhugepaged bench`: runs the benchmarks and prints their figures (see docs/cli.md). */
import { Command, InvalidArgumentError } from 'commander';
import { machineInfo, runKernelBenchmarks } from '../sim/bench/kernel-benchmarks.js';
import { daemonSpeedup, kernelOnlySpeedup } from '../sim/bench/scenario-benchmark.js';
import { DECISION_BENCH, decisionCycle } from '../sim/bench/decision-benchmark.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The bench subcommand. */
export function benchCommand(): Command {
  return new Command('bench')
    .description('run the benchmarks (medians of several runs) and print their figures')
    .option('--json', 'print one JSON object instead of a table')
    .option('--runs <n>', 'runs per benchmark (the median is reported)', positiveInt, 3)
    .addHelpText('after', '\nExample:\n  $ uhugepaged bench --json --runs 5\n')
    .action(async (opts: { json?: boolean; runs: number }) => {
      const progress = (m: string): void => void process.stderr.write(`bench: ${m}\n`);
      const kernel = runKernelBenchmarks(opts.runs, progress);
      const speedups: number[] = [];
      for (let i = 0; i < opts.runs; i++) {
        progress(`run ${i + 1}/${opts.runs}: the default scenario (its whole hour), kernel only`);
        speedups.push(kernelOnlySpeedup());
      }
      const simSpeedupKernelOnly = Math.round(median(speedups));
      const withDaemon: number[] = [];
      for (let i = 0; i < opts.runs; i++) {
        progress(`run ${i + 1}/${opts.runs}: the default scenario (its whole hour) with the daemon`);
        withDaemon.push(await daemonSpeedup());
      }
      const simSpeedup = Math.round(median(withDaemon));
      const cycles: Awaited<ReturnType<typeof decisionCycle>>[] = [];
      for (let i = 0; i < opts.runs; i++) {
        progress(`run ${i + 1}/${opts.runs}: decide cycles over ${DECISION_BENCH.processes} processes × ${DECISION_BENCH.vmasPerProcess} VMAs`);
        cycles.push(await decisionCycle());
      }
      const round2 = (x: number): number => Math.round(x * 100) / 100;
      const result = {
        ...kernel,
        simSpeedupKernelOnly,
        decisionCycleMs1000Procs: round2(median(cycles.map((c) => c.medianMs))),
        decisionCycleFullMs1000Procs: round2(median(cycles.map((c) => c.fullMedianMs))),
        daemonHeapMiB1000Procs: Math.round(median(cycles.map((c) => c.heapMiB))),
        simSpeedup,
        runs: opts.runs,
        machine: machineInfo(),
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const rows: [string, string][] = [
        ['fault-in, 4 KiB pages/s', kernel.faultPagesPerSec.toLocaleString('en-US')],
        ['state per 4 KiB frame', `${kernel.bytesPerFrame} bytes`],
        ['compaction of a 16 GiB node', `${kernel.compact16GiBMs} ms (${kernel.compactionFramesPerSec.toLocaleString('en-US')} frames/s)`],
        ['boot of a 256 GiB machine', `${kernel.boot256GiBMs} ms, +${kernel.boot256GiBRssMiB} MiB RSS`],
        ['default scenario, kernel only', `${simSpeedupKernelOnly}x real time`],
        ['default scenario, with the daemon', `${simSpeedup}x real time`],
        [`decide cycle, ${DECISION_BENCH.processes} processes × ${DECISION_BENCH.vmasPerProcess} VMAs`, `${result.decisionCycleMs1000Procs} ms median as shipped, ${result.decisionCycleFullMs1000Procs} ms for a full re-rank; heap ${result.daemonHeapMiB1000Procs} MiB`],
        ['KSM rmap walk, uncapped vs 256', `${kernel.ksmRmapWalkRatio}x (${kernel.ksmMigrateUnlimitedMs} ms vs ${kernel.ksmMigrateCapped256Ms} ms simulated)`],
      ];
      const w = Math.max(...rows.map(([a]) => a.length));
      for (const [a, b] of rows) process.stdout.write(`${a.padEnd(w)}  ${b}\n`);
      const m = result.machine;
      process.stdout.write(`\nmedians of ${opts.runs} runs on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, node ${m.node}\n`);
    });
}
