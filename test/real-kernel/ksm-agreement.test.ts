/**
 * The real kernel as the judge of the model's KSM. The C probe test/real-kernel/probes/ksm-probe.c runs a
 * few KSM cases (from ksm_tests.c, ksm_functional_tests.c and reference §7) on the running kernel; this
 * test compiles it with `cc` into a temporary directory, runs it, runs the same cases on the simulated
 * kernel, and compares every phase of every case: the global counters of /sys/kernel/mm/ksm/
 * (pages_shared, pages_sharing, pages_unshared, pages_volatile, ksm_zero_pages, stable_node_chains,
 * stable_node_dups, full_scans, general_profit), the deltas of cow_ksm, thp_split_page and
 * thp_split_page_failed, and the case process's /proc/PID/ksm_stat.
 *
 * Both sides drive ksmd the same way, in whole full scans (pages_to_scan far above the pages in play,
 * sleep_millisecs 100, run 1 until full_scans has moved n times, then run 0), each case from `run` 2.
 *
 * It skips, saying why, when it cannot judge: not Linux, not root, no `cc`, no KSM in the kernel, or
 * KSM already in use on the machine (the probe would have to unmerge someone else's pages). The probe
 * saves every KSM knob it writes and restores it when it exits, on failure and on signals too, and
 * serializes with other runs of itself through a lock file; it takes about 1.5 s.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimKernel } from '../../kernel-model/index.js';
import { projectRoot } from '../support/paths.js';

const PAGE = 4096;
const H = 2 << 20;

/** The counters of one phase of a case. */
interface Phase {
  phase: string;
  pages_shared: number;
  pages_sharing: number;
  pages_unshared: number;
  pages_volatile: number;
  ksm_zero_pages: number;
  stable_node_chains: number;
  stable_node_dups: number;
  full_scans: number;
  general_profit: number;
  cow_ksm: number;
  thp_split_page: number;
  thp_split_page_failed: number;
  ksm_rmap_items: number;
  ksm_merging_pages: number;
  stat_zero_pages: number;
}

type Observation = { phases: Phase[] } | { error: string };

const ksmCounters = [
  'pages_shared', 'pages_sharing', 'pages_unshared', 'pages_volatile', 'ksm_zero_pages', 'stable_node_chains',
  'stable_node_dups', 'full_scans', 'general_profit',
] as const;

/** One case on the simulated kernel, driven as the probe drives the real one. */
class ModelCase {
  readonly k = new SimKernel({ nodes: [{ memoryMiB: 1024 }] });
  readonly pid: number;
  readonly phases: Phase[] = [];
  private readonly base: Record<string, number>;

  constructor() {
    // reset(): run 2, max_page_sharing 256, use_zero_pages 0, advisor none, pages_to_scan, sleep_millisecs.
    this.knob('run', '2');
    this.knob('pages_to_scan', '100000');
    this.knob('sleep_millisecs', '100');
    this.pid = this.k.spawn({ comm: 'ksm-probe' });
    this.base = this.vmstat();
  }

  knob(name: string, value: string): void {
    this.k.writeFile(`/sys/kernel/mm/ksm/${name}`, value);
  }

  counter(name: string): number {
    return Number(this.k.readFile(`/sys/kernel/mm/ksm/${name}`));
  }

  private vmstat(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const line of this.k.readFile('/proc/vmstat').split('\n')) {
      const [key, v] = line.split(' ');
      if (key) out[key] = Number(v);
    }
    return out;
  }

  /** A 2 MiB-aligned private mapping. */
  mapAligned(len: number): number {
    return this.k.mmap(this.pid, len, { align: H });
  }

  /** filled(): n small pages of one content, MADV_NOHUGEPAGE then MADV_MERGEABLE. */
  filled(n: number, fill: number): number {
    const p = this.mapAligned(n * PAGE);
    this.k.madvise(this.pid, p, n * PAGE, 'MADV_NOHUGEPAGE');
    this.k.touch(this.pid, p, n * PAGE, { fill });
    this.k.madvise(this.pid, p, n * PAGE, 'MADV_MERGEABLE');
    return p;
  }

  /** scan(): run 1 until full_scans has moved n times, then run 0. */
  scan(n: number): void {
    const start = this.counter('full_scans');
    this.knob('run', '1');
    for (let ms = 0; this.counter('full_scans') < start + n; ms++) {
      if (ms > 20_000) throw new Error('ksmd made no full scan in 20 s of simulated time');
      this.k.advance(1);
    }
    this.knob('run', '0');
  }

  phase(name: string): void {
    const v = this.vmstat();
    const stat = Object.fromEntries(
      this.k.readFile(`/proc/${this.pid}/ksm_stat`).split('\n').filter(Boolean).map((l) => l.split(/:? /) as [string, string]),
    );
    const p = { phase: name } as Record<string, number | string>;
    for (const c of ksmCounters) p[c] = this.counter(c);
    p.cow_ksm = v.cow_ksm - this.base.cow_ksm;
    p.thp_split_page = v.thp_split_page - this.base.thp_split_page;
    p.thp_split_page_failed = v.thp_split_page_failed - this.base.thp_split_page_failed;
    p.ksm_rmap_items = Number(stat.ksm_rmap_items);
    p.ksm_merging_pages = Number(stat.ksm_merging_pages);
    p.stat_zero_pages = Number(stat.ksm_zero_pages);
    this.phases.push(p as unknown as Phase);
  }
}

const cases: { name: string; model: (c: ModelCase) => void }[] = [
  {
    name: 'chain-25-m10',
    model: (c) => {
      c.knob('max_page_sharing', '10');
      c.filled(25, 0x2a2a2a2a);
      c.scan(2);
      c.phase('merged');
    },
  },
  {
    name: 'merge-300',
    model: (c) => {
      c.filled(300, 0x2a2a2a2a);
      c.scan(2);
      c.phase('merged');
    },
  },
  {
    name: 'zero-pages',
    model: (c) => {
      const n = 512;
      c.knob('use_zero_pages', '1');
      const p = c.filled(n, 0);
      c.scan(2);
      c.phase('merged');
      c.k.madvise(c.pid, p, (n / 2) * PAGE, 'MADV_UNMERGEABLE');
      c.phase('unmerged-half');
      c.k.touch(c.pid, p + (n / 2) * PAGE, (n / 2) * PAGE);
      c.phase('written');
      c.scan(1);
      c.phase('rescanned');
    },
  },
  {
    name: 'zero-pages-off',
    model: (c) => {
      c.filled(100, 0);
      c.scan(2);
      c.phase('merged');
    },
  },
  {
    name: 'unmerge',
    model: (c) => {
      const p = c.filled(512, 0xcfcfcfcf);
      c.scan(2);
      c.phase('merged');
      c.k.touch(c.pid, p, 2 * PAGE); // one byte written into each of the first two pages
      c.phase('two-written');
      c.k.madvise(c.pid, p, 512 * PAGE, 'MADV_UNMERGEABLE');
      c.phase('unmerged');
      c.scan(1);
      c.phase('rescanned');
    },
  },
  {
    name: 'thp-split',
    model: (c) => {
      const p = c.mapAligned(H);
      c.k.madvise(c.pid, p, H, 'MADV_HUGEPAGE');
      c.k.touch(c.pid, p, H, { fill: 0x5a5a5a5a });
      c.k.madvise(c.pid, p, H, 'MADV_MERGEABLE');
      c.scan(2);
      c.phase('two-scans');
      c.scan(1);
      c.phase('three-scans');
    },
  },
];

function runModel(model: (c: ModelCase) => void): Observation {
  try {
    const c = new ModelCase();
    model(c);
    return { phases: c.phases };
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** Why this machine cannot judge, or undefined when it can. */
function cannotJudge(): string | undefined {
  if (platform() !== 'linux') return `not Linux (${platform()})`;
  if (process.getuid?.() !== 0) return 'not root: the probe writes /sys/kernel/mm/ksm';
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return 'no C compiler `cc` on PATH';
  return undefined;
}

const show = (p: Phase): string =>
  `shared ${p.pages_shared} sharing ${p.pages_sharing} unshared ${p.pages_unshared} volatile ${p.pages_volatile} ` +
  `zero ${p.ksm_zero_pages} chains ${p.stable_node_chains} dups ${p.stable_node_dups} cow_ksm ${p.cow_ksm} ` +
  `split ${p.thp_split_page}/${p.thp_split_page_failed}`;

test('KSM: the simulated kernel agrees with the running kernel', async (t: TestContext) => {
  const reason = cannotJudge();
  if (reason !== undefined) {
    t.skip(reason);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ksm-probe-'));
  let header: { release?: string; skip?: string };
  let lines: ({ name: string } & Observation)[];
  try {
    const exe = join(dir, 'ksm-probe');
    const src = join(projectRoot, 'test/real-kernel/probes/ksm-probe.c');
    const built = spawnSync('cc', ['-O2', '-Wall', '-o', exe, src], { encoding: 'utf8' });
    assert.equal(built.status, 0, `cc failed to build the probe:\n${built.stderr}`);
    const run = spawnSync(exe, [], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGTERM' });
    assert.equal(run.status, 0, `the probe failed (status ${run.status}, signal ${run.signal}):\n${run.stderr}`);
    const [first, ...rest] = run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
    header = first as typeof header;
    lines = rest as typeof lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (header.skip !== undefined) {
    t.skip(`the probe cannot run here: ${header.skip}`);
    return;
  }
  assert.deepEqual(lines.map((l) => l.name), cases.map((c) => c.name), 'the probe ran other cases than the test knows');

  const table: string[] = [];
  for (const c of cases) {
    const kernel = lines.find((l) => l.name === c.name)!;
    await t.test(c.name, () => {
      const model = runModel(c.model);
      if ('phases' in kernel && 'phases' in model) {
        kernel.phases.forEach((kp, i) => {
          const mp = model.phases[i];
          table.push(`${`${c.name}/${kp.phase}`.padEnd(28)} kernel: ${show(kp)}`);
          table.push(`${''.padEnd(28)} model:  ${mp ? show(mp) : '-'}`);
        });
      }
      assert.ok(!('error' in kernel), `the probe could not run the case: ${'error' in kernel ? kernel.error : ''}`);
      assert.deepEqual(model, { phases: kernel.phases }, `${c.name}: the model disagrees with Linux ${header.release ?? ''}`);
    });
  }
  t.diagnostic(`kernel ${header.release ?? '?'}: case/phase → kernel → model\n${table.join('\n')}`);
});
