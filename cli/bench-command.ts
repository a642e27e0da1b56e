/** `uhugepaged bench`: runs the benchmarks and prints their figures (see docs/cli.md). */
import { Command, InvalidArgumentError, Option } from 'commander';
import { machineInfo, runKernelBenchmarks } from '../sim/bench/kernel-benchmarks.js';
import { LINUX_BENCH_SIZES, linuxBenchUnmeasured, parseLinuxSizes, runLinuxBenchmarks, type LinuxBenchResults, type LinuxBenchSizes } from '../sim/bench/linux-benchmarks.js';
import { daemonSpeedup, kernelOnlySpeedup } from '../sim/bench/scenario-benchmark.js';
import { resolveShipped } from '../sim/package-files.js';
import { DECISION_BENCH, decisionCycle } from '../sim/bench/decision-benchmark.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

function linuxSizes(value: string): LinuxBenchSizes {
  try {
    return parseLinuxSizes(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

interface BenchOptions {
  json?: boolean;
  runs: number;
  linux?: boolean;
  linuxOnly?: boolean;
  linuxSizes: LinuxBenchSizes;
  linuxConfig?: string;
}

/** The simulator's and the daemon's keys, as medians of `runs` runs. */
async function runSimBenchmarks(runs: number, progress: (m: string) => void) {
  const kernel = runKernelBenchmarks(runs, progress);
  const speedups: number[] = [];
  for (let i = 0; i < runs; i++) {
    progress(`run ${i + 1}/${runs}: the default scenario (its whole hour), kernel only`);
    speedups.push(kernelOnlySpeedup());
  }
  const withDaemon: number[] = [];
  for (let i = 0; i < runs; i++) {
    progress(`run ${i + 1}/${runs}: the default scenario (its whole hour) with the daemon`);
    withDaemon.push(await daemonSpeedup());
  }
  const cycles: Awaited<ReturnType<typeof decisionCycle>>[] = [];
  for (let i = 0; i < runs; i++) {
    progress(`run ${i + 1}/${runs}: decide cycles over ${DECISION_BENCH.processes} processes × ${DECISION_BENCH.vmasPerProcess} VMAs`);
    cycles.push(await decisionCycle());
  }
  const round2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    ...kernel,
    simSpeedupKernelOnly: Math.round(median(speedups)),
    decisionCycleMs1000Procs: round2(median(cycles.map((c) => c.medianMs))),
    decisionCycleFullMs1000Procs: round2(median(cycles.map((c) => c.fullMedianMs))),
    daemonHeapMiB1000Procs: Math.round(median(cycles.map((c) => c.heapMiB))),
    simSpeedup: Math.round(median(withDaemon)),
  };
}

/** The table rows of the simulator's and the daemon's keys. */
function simRows(r: Awaited<ReturnType<typeof runSimBenchmarks>>): [string, string][] {
  return [
    ['fault-in, 4 KiB pages/s', r.faultPagesPerSec.toLocaleString('en-US')],
    ['state per 4 KiB frame', `${r.bytesPerFrame} bytes`],
    ['compaction of a 16 GiB node', `${r.compact16GiBMs} ms (${r.compactionFramesPerSec.toLocaleString('en-US')} frames/s)`],
    ['boot of a 256 GiB machine', `${r.boot256GiBMs} ms, +${r.boot256GiBRssMiB} MiB RSS`],
    ['default scenario, kernel only', `${r.simSpeedupKernelOnly}x real time`],
    ['default scenario, with the daemon', `${r.simSpeedup}x real time`],
    [`decide cycle, ${DECISION_BENCH.processes} processes × ${DECISION_BENCH.vmasPerProcess} VMAs`, `${r.decisionCycleMs1000Procs} ms median as shipped, ${r.decisionCycleFullMs1000Procs} ms for a full re-rank; heap ${r.daemonHeapMiB1000Procs} MiB`],
    ['KSM rmap walk, uncapped vs 256', `${r.ksmRmapWalkRatio}x (${r.ksmMigrateUnlimitedMs} ms vs ${r.ksmMigrateCapped256Ms} ms simulated)`],
  ];
}

/** The table rows of the Linux keys (a null one shows why). */
function linuxRows(r: LinuxBenchResults): [string, string][] {
  const z = r.linuxSizes;
  const or = (key: string, text: string | false): string => (text === false ? `n/a: ${r.linuxNotes[key]}` : text);
  return [
    [`linux: catch-up of ${z.catchUpMiB} MiB to ≥ 95% THP`, or('linuxCatchUp1GiBSec', r.linuxCatchUp1GiBSec !== null && `${r.linuxCatchUp1GiBSec} s from the daemon's start (goal ≤ 10 s), daemon CPU ${r.linuxCatchUp1GiBDaemonCpuMs} ms`)],
    [`linux: random reads over ${z.readMiB} MiB`, or('linuxRandomRead4GiBSpeedup', r.linuxRandomRead4GiBSpeedup !== null && `${r.linuxRandomRead4GiBSpeedup}x faster with THPs (${r.linuxRandomRead4GiBNsBefore} ns before, ${r.linuxRandomRead4GiBNsAfter} ns after)`)],
    [`linux: steady state, ${z.procs} processes × ${z.procMiB} MiB`, or('linuxSteady100ProcsCpuPct', r.linuxSteady100ProcsCpuPct !== null && `daemon CPU ${r.linuxSteady100ProcsCpuPct}% of one CPU over ${z.windowSec} s (goal ≤ 2%), RSS ${r.linuxSteady100ProcsRssMiB} MiB (goal ≤ 150 MB; peak ${r.linuxSteady100ProcsPeakRssMiB} MiB)`)],
  ];
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
    .option('--linux', "also measure issue 9's goals on this host's real kernel: the daemon (run --kernel linux, shipped policy) against real child processes; needs root, 9+ GiB of free memory and about 2 minutes (up to 5 when a goal is not reached), runs once")
    .option('--linux-only', 'only the --linux benchmarks (the simulator\'s keys are left out)')
    .addOption(new Option('--linux-sizes <spec>', 'smaller sizes for a trial, e.g. catchUpMiB=256,readMiB=512,procs=10,procMiB=32,windowSec=10').argParser(linuxSizes).default(LINUX_BENCH_SIZES).hideHelp())
    .addOption(new Option('--linux-config <file>', 'another policy for the --linux daemon, to try the benchmark itself out (the figures are for the shipped one)').hideHelp())
    .addHelpText('after', '\nThe --linux keys are null, with the reason printed, where they cannot be measured (not Linux, not root,\nno MADV_COLLAPSE, too little free memory, THP enabled=always, or the goal state not reached within\na bound: the reason says how far the daemon got).\n\nExamples:\n  $ uhugepaged bench --json --runs 5\n  $ sudo uhugepaged bench --linux-only --json\n')
    .action(async (opts: BenchOptions) => {
      const progress = (m: string): void => void process.stderr.write(`bench: ${m}\n`);
      const sim = opts.linuxOnly ? undefined : await runSimBenchmarks(opts.runs, progress);
      const linux = opts.linux || opts.linuxOnly ? await runLinuxBenchmarks(opts.linuxSizes, progress, opts.linuxConfig === undefined ? undefined : resolveShipped(opts.linuxConfig)) : linuxBenchUnmeasured('not run: give --linux');
      if (opts.linux || opts.linuxOnly) for (const [key, why] of Object.entries(linux.linuxNotes)) progress(`${key}: null — ${why}`);
      const result = { ...sim, ...linux, runs: opts.runs, machine: machineInfo() };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const rows = [...(sim ? simRows(sim) : []), ...(opts.linux || opts.linuxOnly ? linuxRows(linux) : [])];
      const w = Math.max(...rows.map(([a]) => a.length));
      for (const [a, b] of rows) process.stdout.write(`${a.padEnd(w)}  ${b}\n`);
      const m = result.machine;
      process.stdout.write(`\n${sim ? `medians of ${opts.runs} runs` : 'one run'} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, node ${m.node}\n`);
    });
}
