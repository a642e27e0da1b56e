/**
 * The `uhugepaged` command line (commander). Each subcommand lives in its own file under cli/ and is
 * registered here only once it works end to end (see docs/cli.md).
 */
import { Command } from 'commander';

/** Exit codes of the command-line contract. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** Builds the program; `version` is the package version. Subcommands are added by the caller's list. */
export function createProgram(version: string, subcommands: readonly Command[] = []): Command {
  const program = new Command('uhugepaged')
    .description(
      'A userspace huge-page daemon: watches processes, ranks their 2 MiB regions under policy files, and ' +
        'collapses the ones that pay off with process_madvise(MADV_COLLAPSE). Runs on a real Linux kernel or ' +
        'on the embedded simulated kernel.',
    )
    .version(version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help for a command')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExample:\n  $ uhugepaged --version\n');
  for (const sub of subcommands) program.addCommand(sub);
  program.action(() => {
    program.outputHelp({ error: true });
    process.exitCode = ExitCode.usage;
  });
  return program;
}
