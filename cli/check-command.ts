/** `uhugepaged check FILE...`: validates scenario files and prints what is wrong (see docs/cli.md). */
import { Command } from 'commander';
import { formatProblem, parseScenario, parseSource, readSourceText, ScenarioError, type Problem } from '../sim/scenario/load.js';
import { ExitCode } from './program.js';

/** The problems of one file (none when it is valid). */
export function checkFile(file: string): Problem[] {
  try {
    const text = readSourceText(file);
    const source = parseSource(text, file);
    const top = source.value;
    if (typeof top !== 'object' || top === null || Array.isArray(top) || !Object.prototype.hasOwnProperty.call(top, 'machine')) {
      const pos = source.locate([]);
      return [
        {
          file,
          ...(pos ? { line: pos.line, column: pos.column } : {}),
          path: '(root)',
          message: 'not a scenario file: expected a top-level "machine" (policy files are not supported yet)',
        },
      ];
    }
    parseScenario(text, file);
    return [];
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
}

/** The check subcommand. */
export function checkCommand(): Command {
  return new Command('check')
    .description('validate scenario files: print "FILE: ok" or each problem as FILE:LINE:COL: PATH: MESSAGE')
    .argument('<file...>', 'scenario files (YAML, or JSON when the name ends in .json)')
    // Bad usage (no file) ends in a CommanderError that main.ts turns into exit code 2, as --help's 0.
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit code 0 when every file is valid, 2 when any has a problem.\n' +
        '\nExample:\n  $ uhugepaged check config/scenarios/default.yaml my-scenario.yaml\n' +
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
