/**
 * `uhugepaged compare`: runs scenarios under several arms (the kernel's own settings, the daemon under
 * policies) and writes report.md, report.json and SVG plots (see docs/cli.md).
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigFileError } from '../daemon/config/config-file.js';
import { loadPolicy } from '../daemon/config/policy.js';
import { shippedPolicyFile } from '../daemon/config/policy-store.js';
import { ArmError, builtInArmNames, parseArms, type ArmSpec } from '../sim/compare/arms.js';
import { compare } from '../sim/compare/compare.js';
import { writeReport } from '../sim/compare/write-report.js';
import { loadScenario, ScenarioError } from '../sim/scenario/load.js';
import type { Scenario } from '../sim/scenario/schema.js';
import { resolveShipped } from '../sim/package-files.js';
import { ExitCode } from './program.js';
import { progressReporter } from './progress.js';
import { DEFAULT_SCENARIO, durationOption, seedOption } from './simulate-command.js';

interface CompareOptions {
  scenario?: string[];
  arms?: string;
  out: string;
  seed?: number;
  duration?: number;
  jobs: number;
}

/** commander parser of `--jobs`. */
export function jobsOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('expected a whole number from 1 to 256');
  return n;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Reports a bad input file or arm list on stderr with exit code 2. */
function usageError(message: string): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = ExitCode.usage;
}

/** The scenarios and arms of the command line, or undefined after reporting a problem. */
function loadInputs(opts: CompareOptions): { scenarios: Scenario[]; arms: ArmSpec[] } | undefined {
  try {
    const arms = parseArms(opts.arms ?? builtInArmNames().join(','), shippedPolicyFile, resolveShipped);
    for (const a of arms) if (a.policyFile !== undefined) loadPolicy(a.policyFile);
    const scenarios = (opts.scenario ?? [DEFAULT_SCENARIO]).map((f) => loadScenario(resolveShipped(f)));
    const names = scenarios.map((s) => s.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new ArmError(`scenario "${twice}" is given twice (scenario names must differ: they name the report's sections and plots)`);
    return { scenarios, arms };
  } catch (e) {
    if (!(e instanceof ArmError) && !(e instanceof ConfigFileError) && !(e instanceof ScenarioError)) throw e;
    usageError(e.message);
    return undefined;
  }
}

/** The compare subcommand. */
export function compareCommand(): Command {
  return new Command('compare')
    .description('run scenarios under several arms (kernel settings, uhugepaged policies) and write a report: report.md, report.json and SVG plots')
    .option('--scenario <file>', `scenario file, repeatable (default: ${DEFAULT_SCENARIO})`, collect)
    .option('--arms <list>', `comma-separated arms: ${builtInArmNames().join(', ')}, uhugepaged:POLICY-FILE (default: all of the built-in ones)`)
    .option('--out <dir>', 'directory the report is written to', 'report')
    .option('--seed <n>', "PRNG seed of every run (default: each scenario's)", seedOption)
    .option('--duration <d>', "simulated time of every run, e.g. 10m (default: each scenario's)", durationOption)
    .option('--jobs <n>', 'runs at once, in worker threads (the report is the same for any value)', jobsOption, 1)
    .exitOverride()
    .addHelpText(
      'after',
      '\nEvery scenario also runs, hidden, with THPs off (enabled=never): the base of the relative figures.\n' +
        'The report depends only on the scenarios, arms, seed and duration; progress goes to stderr, the\n' +
        'written files are listed on stdout. The oracle arm is an upper bound (docs/oracle.md). Exit code 2 when a\n' +
        'scenario or policy file is invalid, an arm unknown, or an option malformed.\n' +
        '\nExamples:\n  $ uhugepaged compare --duration 10m\n' +
        '  $ uhugepaged compare --scenario config/scenarios/priority-mix.yaml --arms kernel-default,uhugepaged,uhugepaged:config/policies/priority-mix.yaml --jobs 3 --out report/\n',
    )
    .action(async (opts: CompareOptions) => {
      const inputs = loadInputs(opts);
      if (inputs === undefined) return;
      const { scenarios, arms } = inputs;
      process.stderr.write(`compare: ${scenarios.length} scenario(s) × ${arms.length} arm(s) (${arms.map((a) => a.name).join(', ')}) plus a no-THP reference each, ${opts.jobs} at a time\n`);
      const progress = progressReporter('compare');
      const report = await compare(scenarios, {
        arms,
        jobs: opts.jobs,
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.duration !== undefined ? { durationMs: opts.duration } : {}),
        onProgress: progress.update,
      });
      const wallMs = progress.stop();
      for (const path of writeReport(opts.out, report)) process.stdout.write(`${path}\n`);
      process.stderr.write(`compared in ${(wallMs / 1000).toFixed(1)} s of wall time\n`);
    });
}
