// Runs the compiled tests with node's test runner and ends with one plain line
// `N passed, N failed, N skipped` (what CI reads). Usage:
//   node scripts/run-tests.mjs                 every dist/test/**/*.test.js
//   node scripts/run-tests.mjs PATTERN...      only the test files whose path contains a PATTERN
// Build first (`npm run build`); `npm test` does both.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'dist', 'test');
if (!existsSync(testDir)) {
  console.error('dist/test does not exist: run `npm run build` first');
  process.exit(1);
}

function collect(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const patterns = process.argv.slice(2);
const files = collect(testDir)
  .filter((f) => patterns.length === 0 || patterns.some((p) => relative(root, f).includes(p)))
  .sort();
if (files.length === 0) {
  console.error(`no test file matches ${patterns.join(' ')}`);
  process.exit(1);
}

const reporter = join(root, 'scripts', 'summary-reporter.mjs');
const setup = pathToFileURL(join(root, 'scripts', 'test-setup.mjs')).href;
const result = spawnSync(
  process.execPath,
  ['--import', setup, '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
