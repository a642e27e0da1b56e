/** Entry point of the `uhugepaged` binary (bin/uhugepaged.js imports this module). */
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { createProgram, ExitCode } from './program.js';
import { registeredCommands } from './commands.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = createProgram(pkg.version, registeredCommands()).exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end with code 0; every other parse problem is bad usage.
    process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = ExitCode.failure;
  }
}
