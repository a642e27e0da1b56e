// `uhugepaged compare`, run as the installed binary: the report's files in --out (listed on stdout),
// progress on stderr, repeatable --scenario, --seed and --jobs; exit code 2 for an unknown arm, an
// invalid policy or scenario, or two scenarios of the same name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/paths.js';
import type { CompareReport } from '../../sim/compare/report-schema.js';
import { TINY_YAML } from '../sim/compare/tiny.js';

const bin = join(projectRoot, 'bin', 'uhugepaged.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'compare', ...args], { encoding: 'utf8', cwd: projectRoot });

function withDir(fn: (path: (name: string) => string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-compare-'));
  try {
    writeFileSync(join(dir, 'tiny.yaml'), TINY_YAML);
    writeFileSync(join(dir, 'tiny2.yaml'), TINY_YAML.replace('name: tiny', 'name: tiny-two'));
    fn((name) => join(dir, name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('compare: writes report.md, report.json and two plots per scenario; progress on stderr', () => {
  withDir((p) => {
    const out = p('out');
    const r = run('--scenario', p('tiny.yaml'), '--scenario', p('tiny2.yaml'), '--arms', 'kernel-default,thp-always', '--duration', '1m', '--seed', '3', '--jobs', '2', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['report.json', 'report.md', 'tiny-coverage.svg', 'tiny-mmu-overhead.svg', 'tiny-two-coverage.svg', 'tiny-two-mmu-overhead.svg'].map((f) => join(out, f)));
    assert.match(r.stderr, /^compare: 2 scenario\(s\) × 2 arm\(s\) \(kernel-default, thp-always\) plus a no-THP reference each, 2 at a time$/m);
    assert.match(r.stderr, /^compare: 6\.0 min of 6\.0 min simulated \(100%\), \d+ s elapsed$/m);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as CompareReport;
    assert.deepEqual(report.scenarios.map((s) => [s.name, s.durationMs, s.seed, s.arms.map((a) => a.name)]), [
      ['tiny', 60_000, 3, ['kernel-default', 'thp-always']],
      ['tiny-two', 60_000, 3, ['kernel-default', 'thp-always']],
    ]);
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /^## tiny-two$/m);
  });
});

test('compare: bad arms, bad files and repeated scenarios are bad usage (exit 2)', () => {
  withDir((p) => {
    writeFileSync(p('bad-policy.yaml'), 'version: 1\nclases: []\n');
    const cases: [string[], RegExp][] = [
      [['--arms', 'kernel-default,thp-never'], /unknown arm "thp-never"/],
      [['--arms', `uhugepaged:${p('bad-policy.yaml')}`], /bad-policy\.yaml:\d+:\d+: /],
      [['--scenario', p('tiny.yaml'), '--scenario', p('tiny.yaml')], /scenario "tiny" is given twice/],
      [['--scenario', p('missing.yaml')], /missing\.yaml/],
      [['--jobs', '0'], /--jobs/],
    ];
    for (const [args, message] of cases) {
      const r = run('--out', p('never'), ...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });
});
