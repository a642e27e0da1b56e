/**
 * Files shipped with the package (config/), found from the code's own location, so that commands work
 * from any working directory and when installed.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file of the package, e.g. `config/scenarios/default.yaml` (code runs from dist/sim/). */
export function packageFile(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

/** `path` as given when it exists from the working directory; else, if it names a shipped file, that. */
export function resolveShipped(path: string): string {
  if (existsSync(path)) return path;
  const shipped = packageFile(path);
  return existsSync(shipped) ? shipped : path;
}
