/**
 * The real kernel as the judge of the model's collapse machinery. The C probe
 * test/real-kernel/probes/collapse-probe.c runs a sample of the MADV_COLLAPSE and process_madvise cases of
 * the reference (linux-mm-semantics.md sections 4 and 5; the selftests khugepaged.c and process_madv.c)
 * on the running kernel; this test compiles it with `cc` into a temporary directory, runs it, runs the
 * same cases on the simulated kernel, and compares them case by case: the return value, errno, which
 * 2 MiB regions are backed by a huge page afterwards (pagemap + kpageflags on both sides), and
 * AnonHugePages of their VMAs (/proc/PID/smaps: PMD-mapped THPs only, which tells a PMD mapping from a
 * split one). The cases, named alike in both files, are listed in `cases` below. The simulated machine
 * is booted like the running one in the one respect that changes answers: whether a read fault maps the
 * zero page (the probe reports it; a PVM guest booted with pvm_no_zero_page=1 allocates instead, so
 * read faults alone give the VMA an anon_vma and `read-faults-only` collapses).
 *
 * It skips, saying why, when it cannot judge: not Linux, not root (the probe reads PFNs and changes
 * uids), no `cc`, a kernel older than 6.1, THP absent, or MADV_COLLAPSE unsupported (EINVAL where it
 * must succeed). A case whose behaviour depends on a newer kernel than the one running is skipped on
 * its own. It fails when the model and the kernel disagree, printing both, and prints the whole table
 * (case → kernel → model) as a diagnostic. The probe takes well under a second; it restores the one
 * global setting it may change (THP `enabled` from always to madvise), its processes die with it, and the
 * temporary directory is removed. Not covered here: the memcg EBUSY case (this host's memory cgroups
 * belong to the machinery that runs the tests) and swap (no swap device here).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimKernel } from '../../kernel-model/index.js';
import { projectRoot } from '../support/paths.js';
import {
  HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE, PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP, anonHugeKbRange,
  hugeRegions, keepTableByNeighbour, madviseCollapse, mapAligned, outcome, readPages, writePages, type Outcome,
} from '../kernel-model/collapse/collapse-helpers.js';

/**
 * What one case observed: the call's result; per 2 MiB region, 1 if one huge page backs it (however it
 * is mapped); and AnonHugePages (PMD-mapped THPs) of the VMAs over those regions.
 */
interface Observation {
  ret: number;
  errno: string | null;
  huge: number[];
  anonHugeKb: number;
}

/** The probe's first output line. */
interface ProbeHeader {
  probe: string;
  release?: string;
  /** Why the probe could not run its cases here. */
  skip?: string;
  thp_enabled?: string;
  changed_enabled?: boolean;
  /** Whether a read fault maps the zero page on this kernel (null: the probe could not tell). */
  read_fault_zero_page?: boolean | null;
}

/** A probe output line for a case. */
interface ProbeLine extends Partial<Observation> {
  name: string;
  error?: string;
}

/** Boots a simulated machine like the one running the probe. */
type Boot = () => SimKernel;

interface AgreementCase {
  name: string;
  /** The same case on the simulated kernel, booted with `boot`. */
  model: (boot: Boot) => Observation;
  /** The first kernel version (major, minor) that has what the case uses. */
  since?: [number, number];
  /** The case pins down one kernel version's behaviour (changed later). */
  onlyOn?: [number, number];
}

const H = HPAGE_PMD_SIZE;
const INVALID_ADVICE = 'MADV_INVALID'; // the probe passes advice -1

/** The regions' side of an observation, read as the probe reads it. */
function regions(k: SimKernel, pid: number, base: number, n: number): Pick<Observation, 'huge' | 'anonHugeKb'> {
  return { huge: hugeRegions(k, pid, base, n), anonHugeKb: n > 0 ? anonHugeKbRange(k, pid, base, base + n * H) : 0 };
}

const noRegions: Pick<Observation, 'huge' | 'anonHugeKb'> = { huge: [], anonHugeKb: 0 };

/** A fresh machine and process with n 2 MiB-aligned regions; `act` does the case, then the regions are read. */
function local(boot: Boot, n: number, act: (k: SimKernel, pid: number, p: number) => Outcome): Observation {
  const k = boot();
  const pid = k.spawn({ comm: 'collapse-probe' });
  const p = mapAligned(k, pid, n);
  const o = act(k, pid, p);
  return { ...o, ...regions(k, pid, p, n) };
}

const writeAll = (k: SimKernel, pid: number, p: number, n = 1) => writePages(k, pid, p, n * HPAGE_PMD_NR);

/**
 * The layout of reference section 5 in a remote target: r0..r5 in one VMA, all written but r2 (no page
 * table), 4 KiB unmapped after r5. A root caller with every capability opens a pidfd and calls
 * process_madvise with the iovecs (offsets from r0).
 */
function remote(boot: Boot, iov: readonly { off: number; len: number }[], advice = 'MADV_COLLAPSE', flags = 0): Observation {
  const k = boot();
  const caller = k.spawn({ comm: 'collapse-probe' });
  const target = k.spawn({ comm: 'target' });
  const base = k.mmap(target, 6 * H + PAGE_SIZE, { align: H });
  k.munmap(target, base + 6 * H, PAGE_SIZE);
  for (const i of [0, 1, 3, 4, 5]) writeAll(k, target, base + i * H);
  const fd = k.pidfdOpen(caller, target);
  const o = outcome(() => k.processMadvise(caller, fd, iov.map((v) => ({ base: base + v.off, len: v.len })), advice, flags));
  return { ...o, ...regions(k, target, base, 6) };
}

/** A uid-1000 caller without capabilities asks MADV_COLLAPSE of a target of uid `targetUid`. */
function unprivilegedCaller(boot: Boot, targetUid: number): Observation {
  const k = boot();
  const target = k.spawn({ comm: 'target', uid: targetUid, dumpable: true });
  const p = mapAligned(k, target, 1);
  writeAll(k, target, p);
  const caller = k.spawn({ comm: 'collapse-probe', uid: 1000 });
  const fd = k.pidfdOpen(caller, target);
  const o = outcome(() => k.processMadvise(caller, fd, [{ base: p, len: H }], 'MADV_COLLAPSE'));
  return { ...o, ...regions(k, target, p, 1) };
}

/** A region whose PTE table outlives its only page (keepTableByNeighbour), then MADV_COLLAPSE. */
function tableKeptByNeighbour(boot: Boot, anonVma: boolean): Observation {
  return local(boot, 1, (k, pid, p) => {
    keepTableByNeighbour(k, pid, p, anonVma);
    return madviseCollapse(k, pid, p, H);
  });
}

/** process_madvise(PIDFD_SELF…) on one's own region. */
function self(boot: Boot, pidfd: number, len: number, advice: string, write: number, nRegions: number): Observation {
  const k = boot();
  const pid = k.spawn({ comm: 'collapse-probe' });
  const p = mapAligned(k, pid, 1);
  writePages(k, pid, p, write);
  const o = outcome(() => k.processMadvise(pid, pidfd, [{ base: p, len }], advice));
  return { ...o, ...regions(k, pid, p, nRegions) };
}

const cases: AgreementCase[] = [
  { name: 'fully-written', model: (boot) => local(boot, 1, (k, pid, p) => (writeAll(k, pid, p), madviseCollapse(k, pid, p, H))) },
  {
    name: 'already-thp',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      const first = madviseCollapse(k, pid, p, H);
      return first.ret === 0 ? madviseCollapse(k, pid, p, H) : first;
    }),
  },
  { name: 'one-written-page', model: (boot) => local(boot, 1, (k, pid, p) => (writePages(k, pid, p, 1), madviseCollapse(k, pid, p, H))) },
  {
    name: 'one-written-511-zero-page',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writePages(k, pid, p, 1);
      readPages(k, pid, p + PAGE_SIZE, HPAGE_PMD_NR - 1);
      return madviseCollapse(k, pid, p, H);
    }),
  },
  { name: 'never-touched', model: (boot) => local(boot, 1, (k, pid, p) => madviseCollapse(k, pid, p, H)) },
  {
    name: 'dontneed-whole-region',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      k.madvise(pid, p, H, 'MADV_DONTNEED');
      return madviseCollapse(k, pid, p, H);
    }),
  },
  {
    name: 'dontneed-only-written-page',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writePages(k, pid, p, 1);
      k.madvise(pid, p, PAGE_SIZE, 'MADV_DONTNEED');
      return madviseCollapse(k, pid, p, H);
    }),
  },
  {
    name: 'dontneed-region-in-two-calls',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      k.madvise(pid, p, H - PAGE_SIZE, 'MADV_DONTNEED');
      k.madvise(pid, p + H - PAGE_SIZE, PAGE_SIZE, 'MADV_DONTNEED');
      return madviseCollapse(k, pid, p, H);
    }),
  },
  { name: 'table-kept-with-anon-vma', model: (boot) => tableKeptByNeighbour(boot, true) },
  { name: 'table-kept-without-anon-vma', model: (boot) => tableKeptByNeighbour(boot, false) },
  // Decided by read_fault_zero_page: the zero page gives the VMA no anon_vma (EINVAL); a zeroed page does.
  { name: 'read-faults-only', model: (boot) => local(boot, 1, (k, pid, p) => (readPages(k, pid, p, HPAGE_PMD_NR), madviseCollapse(k, pid, p, H))) },
  {
    name: 'vm-nohugepage',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      k.madvise(pid, p, H, 'MADV_NOHUGEPAGE');
      return madviseCollapse(k, pid, p, H);
    }),
  },
  {
    name: 'prot-read-after-write',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      k.mprotect(pid, p, H, 'r');
      return madviseCollapse(k, pid, p, H);
    }),
  },
  {
    name: 'vma-smaller-than-2m',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      k.munmap(pid, p + H / 2, H / 2);
      writePages(k, pid, p, HPAGE_PMD_NR / 2);
      return madviseCollapse(k, pid, p, H / 2);
    }),
  },
  { name: 'unmapped-range', model: (boot) => local(boot, 1, (k, pid, p) => (k.munmap(pid, p, H), madviseCollapse(k, pid, p, H))) },
  {
    name: 'hole',
    model: (boot) => local(boot, 3, (k, pid, p) => {
      writeAll(k, pid, p, 3);
      k.munmap(pid, p + H, H);
      return madviseCollapse(k, pid, p, 3 * H);
    }),
  },
  { name: 'no-table-then-full', model: (boot) => local(boot, 2, (k, pid, p) => (writeAll(k, pid, p + H), madviseCollapse(k, pid, p, 2 * H))) },
  {
    name: 'pr-set-thp-disable',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      k.prctl(pid, 'PR_SET_THP_DISABLE', 1);
      return madviseCollapse(k, pid, p, H);
    }),
  },
  {
    name: 'mlocked',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      k.mlock(pid, p, H);
      return madviseCollapse(k, pid, p, H);
    }),
  },
  {
    name: 'read-faulted-beside-written',
    model: (boot) => local(boot, 2, (k, pid, p) => {
      writeAll(k, pid, p);
      readPages(k, pid, p + H, HPAGE_PMD_NR);
      return madviseCollapse(k, pid, p + H, H);
    }),
  },
  {
    name: 'prot-none-after-write',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      k.mprotect(pid, p, H, 'none');
      return madviseCollapse(k, pid, p, H);
    }),
  },
  {
    name: 'two-vmas-both-full',
    model: (boot) => local(boot, 2, (k, pid, p) => {
      writeAll(k, pid, p, 2);
      k.mprotect(pid, p + H, H, 'r');
      return madviseCollapse(k, pid, p, 2 * H);
    }),
  },
  {
    name: 'dontneed-half-region',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      k.madvise(pid, p, H / 2, 'MADV_DONTNEED');
      return madviseCollapse(k, pid, p, H);
    }),
  },
  {
    name: 'shared-with-child-after-fork',
    model: (boot) => {
      const k = boot();
      const pid = k.spawn({ comm: 'collapse-probe' });
      const p = mapAligned(k, pid, 1);
      writeAll(k, pid, p);
      const child = k.fork(pid);
      const o = madviseCollapse(k, pid, p, H);
      const parent = regions(k, pid, p, 1);
      return { ...o, huge: [...parent.huge, ...hugeRegions(k, child, p, 1)], anonHugeKb: parent.anonHugeKb };
    },
  },
  {
    name: 'vma-split-inside-thp',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      const o = madviseCollapse(k, pid, p, H);
      k.mprotect(pid, p, PAGE_SIZE, 'r');
      return o;
    }),
  },
  {
    name: 'dontneed-one-page-of-thp',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      const o = madviseCollapse(k, pid, p, H);
      k.madvise(pid, p, PAGE_SIZE, 'MADV_DONTNEED');
      return o;
    }),
  },
  { name: 'unaligned-start', model: (boot) => local(boot, 1, (k, pid, p) => (writeAll(k, pid, p), madviseCollapse(k, pid, p + 1, H - 1))) },
  {
    name: 'range-inside-one-region',
    model: (boot) => local(boot, 1, (k, pid, p) => (writeAll(k, pid, p), madviseCollapse(k, pid, p + PAGE_SIZE, 2 * PAGE_SIZE))),
  },
  {
    name: 'range-crossing-boundary-no-whole-region',
    model: (boot) => local(boot, 2, (k, pid, p) => (writeAll(k, pid, p, 2), madviseCollapse(k, pid, p + H - 2 * PAGE_SIZE, 4 * PAGE_SIZE))),
  },
  { name: 'length-0', model: (boot) => local(boot, 1, (k, pid, p) => (writeAll(k, pid, p), madviseCollapse(k, pid, p, 0))) },
  ...(['one-vma', 'two-vmas'] as const).map((layout): AgreementCase => ({
    name: `pinned-then-full-${layout}`,
    model: (boot) => local(boot, 2, (k, pid, p) => {
      writeAll(k, pid, p, 2);
      k.pin(pid, p, PAGE_SIZE); // the probe vmsplices this page into a pipe: refcount > mapcount
      if (layout === 'two-vmas') k.mprotect(pid, p + H, H, 'r');
      return madviseCollapse(k, pid, p, 2 * H);
    }),
  })),
  { name: 'pm-r0-r1', model: (boot) => remote(boot, [{ off: 0, len: H }, { off: H, len: H }]) },
  { name: 'pm-r2-r3', model: (boot) => remote(boot, [{ off: 2 * H, len: H }, { off: 3 * H, len: H }]) },
  { name: 'pm-r3-r2-r4', model: (boot) => remote(boot, [{ off: 3 * H, len: H }, { off: 2 * H, len: H }, { off: 4 * H, len: H }]) },
  { name: 'pm-r4-r5-tail', model: (boot) => remote(boot, [{ off: 4 * H, len: H }, { off: 5 * H, len: H + PAGE_SIZE }]) },
  { name: 'pm-1024-same-region', model: (boot) => remote(boot, Array.from({ length: 1024 }, () => ({ off: 0, len: H }))) },
  { name: 'pm-vlen-1025', model: (boot) => remote(boot, Array.from({ length: 1025 }, () => ({ off: 0, len: H }))) },
  { name: 'pm-flags-1', model: (boot) => remote(boot, [{ off: 0, len: H }], 'MADV_COLLAPSE', 1) },
  { name: 'pm-remote-dontneed', model: (boot) => remote(boot, [{ off: 0, len: H }], 'MADV_DONTNEED') },
  {
    name: 'pm-bad-pidfd',
    model: (boot) => local(boot, 1, (k, pid, p) => (writeAll(k, pid, p), outcome(() => k.processMadvise(pid, -1, [{ base: p, len: H }], 'MADV_COLLAPSE')))),
  },
  {
    name: 'pm-exited',
    model: (boot) => {
      const k = boot();
      const pid = k.spawn({ comm: 'collapse-probe' });
      const p = mapAligned(k, pid, 1);
      const child = k.fork(pid);
      const fd = k.pidfdOpen(pid, child);
      k.exit(child);
      return { ...outcome(() => k.processMadvise(pid, fd, [{ base: p, len: H }], 'MADV_COLLAPSE')), ...noRegions };
    },
  },
  { name: 'pm-pidfd-self-thread', since: [6, 15], model: (boot) => self(boot, PIDFD_SELF_THREAD, H, 'MADV_COLLAPSE', HPAGE_PMD_NR, 1) },
  { name: 'pm-pidfd-self-thread-group', since: [6, 15], model: (boot) => self(boot, PIDFD_SELF_THREAD_GROUP, H, 'MADV_COLLAPSE', HPAGE_PMD_NR, 1) },
  {
    name: 'pm-self-invalid-advice-zero-length',
    since: [6, 15],
    onlyOn: [6, 18],
    model: (boot) => self(boot, PIDFD_SELF_THREAD_GROUP, 0, INVALID_ADVICE, 0, 0),
  },
  { name: 'pm-self-invalid-advice', since: [6, 15], model: (boot) => self(boot, PIDFD_SELF_THREAD_GROUP, PAGE_SIZE, INVALID_ADVICE, 1, 0) },
  {
    name: 'pm-pidfd-open-self-dontneed',
    model: (boot) => local(boot, 1, (k, pid, p) => {
      writeAll(k, pid, p);
      const fd = k.pidfdOpen(pid, pid);
      return outcome(() => k.processMadvise(pid, fd, [{ base: p, len: PAGE_SIZE }], 'MADV_DONTNEED'));
    }),
  },
  {
    name: 'pm-unmapped-base',
    model: (boot) => {
      const k = boot();
      const caller = k.spawn({ comm: 'collapse-probe' });
      const target = k.spawn({ comm: 'target' });
      const p = mapAligned(k, target, 1);
      k.munmap(target, p, H);
      const fd = k.pidfdOpen(caller, target);
      return { ...outcome(() => k.processMadvise(caller, fd, [{ base: p, len: H }], 'MADV_COLLAPSE')), ...noRegions };
    },
  },
  { name: 'pm-other-uid-eacces', model: (boot) => unprivilegedCaller(boot, 0) },
  { name: 'pm-same-uid-no-sys-nice-eperm', model: (boot) => unprivilegedCaller(boot, 1000) },
  {
    name: 'pm-root-caller-fewer-caps-eacces',
    model: (boot) => {
      const k = boot();
      const target = k.spawn({ comm: 'target' }); // uid 0: every capability
      const p = mapAligned(k, target, 1);
      writeAll(k, target, p);
      const caller = k.spawn({ comm: 'collapse-probe', uid: 0, caps: ['CAP_SYS_NICE'] });
      const fd = k.pidfdOpen(caller, target);
      return { ...outcome(() => k.processMadvise(caller, fd, [{ base: p, len: H }], 'MADV_COLLAPSE')), ...noRegions };
    },
  },
];

/** "6.18.44-fc" → [6, 18]. */
function kernelVersion(rel: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const atLeast = (v: [number, number], w: [number, number]) => v[0] > w[0] || (v[0] === w[0] && v[1] >= w[1]);

/** Why this machine cannot judge, or undefined when it can. */
function cannotJudge(): string | undefined {
  if (platform() !== 'linux') return `not Linux (${platform()})`;
  if (process.getuid?.() !== 0) return 'not root: the probe reads PFNs from pagemap and kpageflags and changes uids';
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return 'no C compiler `cc` on PATH';
  const v = kernelVersion(release());
  if (!v || !atLeast(v, [6, 1])) return `kernel ${release()} is older than 6.1 (no MADV_COLLAPSE)`;
  return undefined;
}

const show = (o: Partial<Observation> & { error?: string }) =>
  o.error !== undefined
    ? `error: ${o.error}`
    : `ret ${o.ret} errno ${o.errno ?? '-'} huge [${(o.huge ?? []).join(',')}] AnonHugePages ${o.anonHugeKb} kB`;

/** Runs the model's side of a case; a throw is an observation too (printed, so it disagrees). */
function runModel(c: AgreementCase, boot: Boot): Observation | { error: string } {
  try {
    return c.model(boot);
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

test('MADV_COLLAPSE and process_madvise: the simulated kernel agrees with the running kernel', async (t: TestContext) => {
  const reason = cannotJudge();
  if (reason !== undefined) {
    t.skip(reason);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'collapse-probe-'));
  let lines: ProbeLine[];
  let header: ProbeHeader;
  try {
    const exe = join(dir, 'collapse-probe');
    const src = join(projectRoot, 'test/real-kernel/probes/collapse-probe.c');
    const built = spawnSync('cc', ['-O2', '-Wall', '-o', exe, src], { encoding: 'utf8' });
    assert.equal(built.status, 0, `cc failed to build the probe:\n${built.stderr}`);
    const run = spawnSync(exe, [], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGTERM' });
    assert.equal(run.status, 0, `the probe failed (status ${run.status}, signal ${run.signal}):\n${run.stderr}`);
    const [first, ...rest] = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    header = first as ProbeHeader;
    lines = rest as ProbeLine[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (header.skip !== undefined) {
    t.skip(`the probe cannot run here: ${header.skip}`);
    return;
  }
  const fully = lines.find((l) => l.name === 'fully-written');
  if (fully?.errno === 'EINVAL') {
    t.skip(`MADV_COLLAPSE is not supported by kernel ${header.release ?? release()} (EINVAL on a fully written region)`);
    return;
  }
  const zeroPage = header.read_fault_zero_page;
  assert.equal(typeof zeroPage, 'boolean', 'the probe could not tell whether read faults map the zero page');
  // A kernel whose read faults allocate (pvm_no_zero_page=1) is booted alike: see docs/linux-semantics.md.
  const boot: Boot = () => new SimKernel({ noZeroPage: zeroPage === false });
  t.diagnostic(
    `kernel ${header.release ?? '?'}, THP enabled=${header.thp_enabled ?? '?'}${header.changed_enabled ? ' (set to madvise for the run, restored)' : ''}, ` +
      `read faults map the zero page: ${zeroPage ? 'yes' : 'no'}`,
  );

  const version = kernelVersion(release()) ?? [0, 0];
  const probeNames = new Set(lines.map((l) => l.name));
  assert.deepEqual(cases.filter((c) => !probeNames.has(c.name)).map((c) => c.name), [], 'cases the probe did not run');
  assert.deepEqual(lines.filter((l) => !cases.some((c) => c.name === l.name)).map((l) => l.name), [], 'probe cases with no model side');

  const table: string[] = [];
  for (const c of cases) {
    const kernel = lines.find((l) => l.name === c.name)!;
    const skip = c.since && !atLeast(version, c.since)
      ? `needs Linux ≥ ${c.since.join('.')}`
      : c.onlyOn && (version[0] !== c.onlyOn[0] || version[1] !== c.onlyOn[1])
        ? `pins down Linux ${c.onlyOn.join('.')} behaviour`
        : undefined;
    await t.test(c.name, { skip }, () => {
      const model = runModel(c, boot);
      table.push(`${c.name.padEnd(40)} kernel: ${show(kernel).padEnd(66)} model: ${show(model)}`);
      assert.equal(kernel.error, undefined, `the probe could not run the case: ${kernel.error}`);
      assert.deepEqual(
        model,
        { ret: kernel.ret, errno: kernel.errno, huge: kernel.huge, anonHugeKb: kernel.anonHugeKb },
        `${c.name}: the model disagrees with Linux ${header.release}\n  kernel: ${show(kernel)}\n  model:  ${show(model)}`,
      );
    });
  }
  t.diagnostic(`case → kernel → model\n${table.join('\n')}`);
});
