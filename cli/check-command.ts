/** `uhugepaged check FILE...`: validates policy and scenario files and prints what is wrong (see docs/cli.md). */
import { Command } from 'commander';
import { ConfigFileError, formatProblem, parseSource, readSourceText, type Problem } from '../daemon/config/config-file.js';
import { parsePolicy } from '../daemon/config/policy.js';
import { parseScenario } from '../sim/scenario/load.js';
import { ExitCode } from './program.js';

/**
 * The problems of one file (none when it is valid). A file whose top level has `machine` is a scenario;
 * any other is read as a policy file.
 */
export function checkFile(file: string): Problem[] {
  try {
    const text = readSourceText(file);
    const top = parseSource(text, file).value;
    const scenario = typeof top === 'object' && top !== null && !Array.isArray(top) && Object.prototype.hasOwnProperty.call(top, 'machine');
    if (scenario) parseScenario(text, file);
    else parsePolicy(text, file);
    return [];
  } catch (e) {
    // A ScenarioError is a ConfigFileError too.
    if (e instanceof ConfigFileError) return e.problems;
    throw e;
  }
}

/** The check subcommand. */
export function checkCommand(): Command {
  return new Command('check')
    .description('validate policy and scenario files: print "FILE: ok" or each problem as FILE:LINE:COL: PATH: MESSAGE')
    .argument('<file...>', 'policy or scenario files (YAML, or JSON when the name ends in .json; a scenario has a top-level "machine")')
    // Bad usage (no file) ends in a CommanderError that main.ts turns into exit code 2, as --help's 0.
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit code 0 when every file is valid, 2 when any has a problem.\n' +
        '\nExample:\n  $ uhugepaged check config/uhugepaged.yaml config/scenarios/default.yaml my-scenario.yaml\n' +
        '  config/uhugepaged.yaml: ok\n' +
        '  config/scenarios/default.yaml: ok\n' +
        '  my-scenario.yaml:12:15: workloads[0].mappings[0].size: expected a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB), got "12Gb"\n',
    )
    .action((files: string[]) => {
      let failed = false;
      for (const file of files) {
        const problems = checkFile(file);
        if (problems.length === 0) process.stdout.write(`${file}: ok\n`);
        else {
          failed = true;
          for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
        }
      }
      if (failed) process.exitCode = ExitCode.usage;
    });
}
