// The scenario runner on small simulated machines: when and where processes start and stop, what they
// write, their cgroups, policies and flags, KSM-mergeable content, snapshot forks, stream phases, kernel
// churn, the OOM killer, the knobs; then simulate() and its metrics: determinism, the summary, THP
// coverage, and the figures of processes that ended early. Everything is read back from the kernel's
// files and syscalls, not from the runner's own bookkeeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../../sim/scenario/load.js';
import { cachedPages, ScenarioRun } from '../../../sim/scenario/runner.js';
import type { Scenario } from '../../../sim/scenario/schema.js';
import { formatSummary, simulate } from '../../../sim/scenario/simulate.js';

const MiB = 1 << 20;
const PAGE = 4096;

function scenario(text: string): Scenario {
  return parseScenario(text, 'runner-test.yaml');
}

/** Bytes of a `Name:   N kB` line. */
function kbField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
  assert.ok(m, `no ${name} line in:\n${text}`);
  return Number(m[1]) * 1024;
}

function vmstat(run: ScenarioRun, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(run.sim.readFile('/proc/vmstat'));
  assert.ok(m, `no ${name} in /proc/vmstat`);
  return Number(m[1]);
}

function ksm(run: ScenarioRun, file: string): number {
  return Number(run.sim.readFile(`/sys/kernel/mm/ksm/${file}`).trim());
}

/** Comms of the live processes (a snapshot child, which maps to no instance, as `child`). */
function live(run: ScenarioRun): string[] {
  return run.sim.listPids().map((pid) => run.instanceOf(pid)?.comm ?? 'child');
}

function pidOf(run: ScenarioRun, comm: string): number {
  const p = run.processes.find((x) => x.comm === comm);
  assert.ok(p?.pid !== undefined, `${comm} has not started`);
  return p.pid;
}

function rss(run: ScenarioRun, pid: number): number {
  return kbField(run.sim.readFile(`/proc/${pid}/status`), 'VmRSS');
}

/** Pages per node of a process's mappings, from /proc/PID/numa_maps. */
function pagesPerNode(run: ScenarioRun, pid: number): Record<number, number> {
  const out: Record<number, number> = {};
  for (const m of run.sim.readFile(`/proc/${pid}/numa_maps`).matchAll(/ N(\d+)=(\d+)/g)) out[Number(m[1])] = (out[Number(m[1])] ?? 0) + Number(m[2]);
  return out;
}

// ---- process lives ------------------------------------------------------------------------------------

const LIVES = `
duration: 20s
machine:
  nodes:
    - memory: 256MiB
    - memory: 256MiB
workloads:
  - name: worker
    count: 3
    start: 2s
    stagger: 1s
    lifetime: 4s
    stop: 6.5s
    node: [1, 0]
    mappings:
      - name: heap
        size: 4MiB
  - name: analytics-engine
    count: 11
    start: 8s
    mappings:
      - name: heap
        size: 2MiB
  - name: svc
    comm: custom
    mappings:
      - name: heap
        size: 2MiB
`;

test('runner: processes start at start + i·stagger and stop at stop or start + lifetime, whichever is first', () => {
  const run = new ScenarioRun(scenario(LIVES));
  const workers = run.processes.filter((p) => p.workload.name === 'worker');
  assert.deepEqual(
    workers.map((p) => [p.comm, p.startMs, p.stopMs]),
    [
      ['worker-0', 2000, 6000],
      ['worker-1', 3000, 6500],
      ['worker-2', 4000, 6500],
    ],
  );
  const seen = (t: number): string[] => {
    run.advanceTo(t);
    return live(run).filter((c) => c.startsWith('worker'));
  };
  assert.deepEqual(seen(0), []);
  assert.deepEqual(seen(1999), []);
  assert.deepEqual(seen(2000), ['worker-0']);
  assert.deepEqual(seen(2999), ['worker-0']);
  assert.deepEqual(seen(3000), ['worker-0', 'worker-1']);
  assert.deepEqual(seen(4000), ['worker-0', 'worker-1', 'worker-2']);
  assert.deepEqual(seen(5999), ['worker-0', 'worker-1', 'worker-2']);
  // worker-0's lifetime ends at 6 s; the others' would end at 7 s and 8 s, after the stop at 6.5 s.
  assert.deepEqual(seen(6000), ['worker-1', 'worker-2']);
  assert.deepEqual(seen(6499), ['worker-1', 'worker-2']);
  assert.deepEqual(seen(6500), []);
  assert.deepEqual(seen(20_000), []);
  for (const p of workers) {
    assert.equal(p.exited, true);
    assert.equal(p.endReason, 'stopped');
  }
  // A process without stop or lifetime runs to the end.
  const svc = run.processes.find((p) => p.workload.name === 'svc')!;
  assert.equal(svc.stopMs, undefined);
  assert.ok(run.sim.listPids().includes(svc.pid!));
  assert.equal(svc.exited, false);
  assert.equal(run.done, true);
});

test('runner: comms are NAME, NAME-i with count > 1 (cut to 15 characters), or the comm given, as /proc/PID/status shows them', () => {
  const run = new ScenarioRun(scenario(LIVES));
  run.advanceTo(8000);
  const comms = run.processes.filter((p) => p.pid !== undefined && !p.exited).map((p) => p.comm);
  assert.deepEqual(comms, ['analytics-eng-0', 'analytics-eng-1', 'analytics-eng-2', 'analytics-eng-3', 'analytics-eng-4', 'analytics-eng-5', 'analytics-eng-6', 'analytics-eng-7', 'analytics-eng-8', 'analytics-eng-9', 'analytics-en-10', 'custom']);
  for (const c of comms) assert.match(run.sim.readFile(`/proc/${pidOf(run, c)}/status`), new RegExp(`^Name:\\t${c}$`, 'm'));
});

test('runner: a group is spread over its node list round-robin; its memory is on the home node', () => {
  const run = new ScenarioRun(scenario(LIVES));
  run.advanceTo(4000);
  const workers = run.processes.filter((p) => p.workload.name === 'worker');
  assert.deepEqual(
    workers.map((p) => p.node),
    [1, 0, 1],
  );
  for (const p of workers) assert.deepEqual(pagesPerNode(run, p.pid!), { [p.node]: (4 * MiB) / PAGE });
  // No node given: node 0.
  assert.deepEqual(pagesPerNode(run, pidOf(run, 'custom')), { 0: (2 * MiB) / PAGE });
});

test('runner: a process starting at or after the duration never starts', () => {
  const run = new ScenarioRun(scenario(LIVES), { durationMs: 8000 });
  run.advanceTo(10_000);
  assert.equal(run.elapsedMs, 8000);
  assert.ok(run.processes.filter((p) => p.workload.name === 'analytics-engine').every((p) => p.pid === undefined));
});

// ---- cgroups, policies, flags, knobs ------------------------------------------------------------------------

const PLACED = `
duration: 20s
machine:
  nodes:
    - memory: 256MiB
    - memory: 256MiB
  knobs:
    /sys/kernel/mm/transparent_hugepage/enabled: madvise
    /sys/kernel/mm/transparent_hugepage/defrag: defer
    /sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan: 1024
    /proc/sys/vm/swappiness: 10
cgroups:
  - path: /batch/jobs
    memoryMax: 96MiB
    memoryHigh: 64MiB
  - path: /services
    memoryMax: max
workloads:
  - name: job
    count: 2
    cgroup: /batch/jobs
    mempolicy: { mode: bind, nodes: [1] }
    thpDisable: true
    memoryMerge: true
    mappings:
      - name: heap
        size: 8MiB
  - name: web
    cgroup: /services
    mempolicy: { mode: interleave, nodes: [0, 1] }
    mappings:
      - name: heap
        size: 8MiB
  - name: plain
    mappings:
      - name: heap
        size: 8MiB
`;

test('runner: knobs and cgroup limits are applied at boot', () => {
  const run = new ScenarioRun(scenario(PLACED));
  const read = (path: string): string => run.sim.readFile(path).trim();
  assert.equal(read('/sys/kernel/mm/transparent_hugepage/enabled'), 'always [madvise] never');
  assert.match(read('/sys/kernel/mm/transparent_hugepage/defrag'), /\[defer\]/);
  assert.equal(read('/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan'), '1024');
  assert.equal(read('/proc/sys/vm/swappiness'), '10');
  assert.equal(read('/sys/fs/cgroup/batch/jobs/memory.max'), String(96 * MiB));
  assert.equal(read('/sys/fs/cgroup/batch/jobs/memory.high'), String(64 * MiB));
  // The parent is created, with no limit of its own.
  assert.equal(read('/sys/fs/cgroup/batch/memory.max'), 'max');
  assert.equal(read('/sys/fs/cgroup/services/memory.max'), 'max');
});

test('runner: processes start in their cgroup, with their mempolicy and prctl flags', () => {
  const run = new ScenarioRun(scenario(PLACED));
  run.advanceTo(1000);
  const jobs = ['job-0', 'job-1'].map((c) => pidOf(run, c));
  const web = pidOf(run, 'web');
  const plain = pidOf(run, 'plain');
  const procs = (cg: string): number[] =>
    run.sim
      .readFile(`/sys/fs/cgroup${cg}/cgroup.procs`)
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .sort((a, b) => a - b);
  assert.deepEqual(procs('/batch/jobs'), jobs);
  assert.deepEqual(procs('/batch'), []);
  assert.deepEqual(procs('/services'), [web]);
  assert.deepEqual(procs(''), [plain]);
  // The jobs' memory is charged to their cgroup.
  assert.ok(Number(run.sim.readFile('/sys/fs/cgroup/batch/jobs/memory.current')) >= 16 * MiB);

  for (const pid of jobs) {
    assert.equal(run.sim.prctl(pid, 'PR_GET_THP_DISABLE'), 1);
    assert.equal(run.sim.prctl(pid, 'PR_GET_MEMORY_MERGE'), 1);
    assert.match(run.sim.readFile(`/proc/${pid}/numa_maps`), / bind:1 /);
    // Home node 0, bound to node 1: every page on node 1.
    assert.deepEqual(pagesPerNode(run, pid), { 1: (8 * MiB) / PAGE });
  }
  assert.match(run.sim.readFile(`/proc/${web}/numa_maps`), / interleave:0,1 /);
  const webNodes = pagesPerNode(run, web);
  assert.equal(webNodes[0] + webNodes[1], (8 * MiB) / PAGE);
  assert.ok(Math.abs(webNodes[0] - webNodes[1]) <= 2, `interleaved: ${JSON.stringify(webNodes)}`);
  for (const pid of [web, plain]) {
    assert.equal(run.sim.prctl(pid, 'PR_GET_THP_DISABLE'), 0);
    assert.equal(run.sim.prctl(pid, 'PR_GET_MEMORY_MERGE'), 0);
  }
  assert.match(run.sim.readFile(`/proc/${plain}/numa_maps`), / default /);
});

// ---- populate and content -----------------------------------------------------------------------------------

test('runner: populate writes the stated share of each mapping (VmRSS), and nothing more', () => {
  const run = new ScenarioRun(
    scenario(`
duration: 10s
machine:
  nodes:
    - memory: 512MiB
  knobs:
    /sys/kernel/mm/transparent_hugepage/enabled: never
workloads:
  - name: app
    mappings:
      - name: a
        size: 16MiB
        populate: 37.5%
      - name: b
        size: 8MiB
      - name: c
        size: 32MiB
        populate: 0
      - name: d
        size: 10MiB
        populate: 30%
        content: { duplicated: 50%, zero: 25% }
`),
  );
  run.advanceTo(5000);
  const pid = pidOf(run, 'app');
  // 6 MiB + 8 MiB (populate defaults to all) + 0 + 3 MiB (30% of 10 MiB, in whole pages).
  const expected = 6 * MiB + 8 * MiB + Math.floor((10 * MiB * 0.3) / PAGE) * PAGE;
  assert.equal(rss(run, pid), expected);
  assert.equal(kbField(run.sim.readFile(`/proc/${pid}/status`), 'RssAnon'), expected);
});

const ksmScenario = (count: number, zero: string): string => `
duration: 10s
machine:
  nodes:
    - memory: 1GiB
  knobs:
    /sys/kernel/mm/transparent_hugepage/enabled: never
    /sys/kernel/mm/ksm/run: 1
    /sys/kernel/mm/ksm/pages_to_scan: 5000
    /sys/kernel/mm/ksm/sleep_millisecs: 20
workloads:
  - name: vm
    count: ${count}
    mappings:
      - name: ram
        size: 128MiB
        madvise: [MADV_MERGEABLE]
        content: { duplicated: 50%, zero: ${zero} }
`;

const RAM_PAGES = (128 * MiB) / PAGE;

test('runner: duplicated content merges across instances: two instances share about half their pages', () => {
  const run = new ScenarioRun(scenario(ksmScenario(2, '0')));
  run.advanceTo(5000);
  const shared = ksm(run, 'pages_shared');
  const sharing = ksm(run, 'pages_sharing');
  assert.ok(sharing >= 0.35 * RAM_PAGES && sharing <= 0.65 * RAM_PAGES, `pages_sharing ${sharing} of ${RAM_PAGES}`);
  // Each duplicated page is the same in both instances and in no other page: one KSM page per pair, and
  // content is drawn per 2 MiB region.
  assert.equal(shared, sharing);
  assert.equal(sharing % 512, 0);
  assert.equal(ksm(run, 'ksm_zero_pages'), 0);
});

test('runner: with three instances each duplicated page is one KSM page shared three times', () => {
  const run = new ScenarioRun(scenario(ksmScenario(3, '0')));
  run.advanceTo(5000);
  const shared = ksm(run, 'pages_shared');
  assert.ok(shared >= 0.35 * RAM_PAGES && shared <= 0.65 * RAM_PAGES, `pages_shared ${shared} of ${RAM_PAGES}`);
  assert.equal(ksm(run, 'pages_sharing'), 2 * shared);
});

test('runner: a single instance merges nothing from its duplicated regions', () => {
  const run = new ScenarioRun(scenario(ksmScenario(1, '0')));
  run.advanceTo(5000);
  assert.ok(ksm(run, 'full_scans') >= 2, 'ksmd has scanned the mapping');
  assert.equal(ksm(run, 'pages_shared'), 0);
  assert.equal(ksm(run, 'pages_sharing'), 0);
});

test('runner: a single instance merges its zero-filled regions', () => {
  const run = new ScenarioRun(scenario(ksmScenario(1, '25%')));
  run.advanceTo(5000);
  const merged = ksm(run, 'pages_shared') + ksm(run, 'pages_sharing');
  assert.ok(merged >= 0.15 * RAM_PAGES && merged <= 0.35 * RAM_PAGES, `${merged} zero pages merged of ${RAM_PAGES}`);
  assert.equal(merged % 512, 0);
});

// ---- forks -------------------------------------------------------------------------------------------------

test('runner: snapshot forks: a child lives [at + k·every, … + childLifetime), and forking stops with the parent', () => {
  const run = new ScenarioRun(
    scenario(`
duration: 60s
machine:
  nodes:
    - memory: 256MiB
workloads:
  - name: redis
    mappings:
      - name: data
        size: 16MiB
    forks:
      - at: 10s
        every: 20s
        childLifetime: 5s
  - name: once
    start: 1s
    stop: 40s
    mappings:
      - name: data
        size: 4MiB
    forks:
      - at: 2s
        childLifetime: 1s
      - at: 30s
        every: 10s
        childLifetime: 2s
`),
  );
  const children: number[] = [];
  const at = (t: number): string[] => {
    run.advanceTo(t);
    const kids = run.sim.listPids().filter((pid) => run.instanceOf(pid) === undefined);
    assert.deepEqual([...run.childPids].sort((a, b) => a - b), kids);
    for (const k of kids) if (!children.includes(k)) children.push(k);
    return live(run);
  };
  assert.deepEqual(at(2999), ['redis', 'once']);
  assert.deepEqual(at(3000), ['redis', 'once', 'child']);
  assert.deepEqual(at(3999), ['redis', 'once', 'child']);
  assert.deepEqual(at(4000), ['redis', 'once']);
  assert.deepEqual(at(9999), ['redis', 'once']);
  assert.deepEqual(at(10_000), ['redis', 'once', 'child']);
  // The child shares the parent's memory copy-on-write.
  assert.equal(rss(run, run.childPids[0]), 16 * MiB);
  assert.deepEqual(at(14_999), ['redis', 'once', 'child']);
  assert.deepEqual(at(15_000), ['redis', 'once']);
  assert.deepEqual(at(29_999), ['redis', 'once']);
  assert.deepEqual(at(30_000), ['redis', 'once', 'child']);
  // once's second kind of fork: at 31 s (1 s + 30 s), then 41 s — after its stop at 40 s.
  assert.deepEqual(at(31_000), ['redis', 'once', 'child', 'child']);
  assert.deepEqual(at(33_000), ['redis', 'once', 'child']);
  assert.deepEqual(at(34_999), ['redis', 'once', 'child']);
  assert.deepEqual(at(35_000), ['redis', 'once']);
  assert.deepEqual(at(40_000), ['redis']);
  assert.deepEqual(at(45_000), ['redis']);
  assert.deepEqual(at(50_000), ['redis', 'child']);
  assert.deepEqual(at(55_000), ['redis']);
  assert.deepEqual(at(60_000), ['redis']);
  // Every snapshot was a new process.
  assert.equal(children.length, 5);
});

// ---- phases --------------------------------------------------------------------------------------------

test('runner: a phase changes the stream at start + at: the access rate follows', () => {
  const run = new ScenarioRun(
    scenario(`
duration: 60s
machine:
  nodes:
    - memory: 256MiB
workloads:
  - name: app
    start: 3s
    mappings:
      - name: heap
        size: 16MiB
    streams:
      - name: s
        mapping: heap
        rate: 10k
        pattern: uniform
        phases:
          - at: 20s
            rate: 50k
          - at: 40s
            pattern: sequential
`),
  );
  const accesses = (t: number): number => {
    run.advanceTo(t);
    return run.sim.perfCounters(pidOf(run, 'app')).accesses;
  };
  const a5 = accesses(5000);
  const a15 = accesses(15_000);
  const a22 = accesses(22_000);
  const a25 = accesses(25_000);
  const a35 = accesses(35_000);
  const a60 = accesses(60_000);
  const near = (got: number, want: number, tol: number, what: string): void => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} accesses, expected about ${want}`);
  near(a15 - a5, 100_000, 10_000, '5–15 s at 10k/s');
  // The phase begins 20 s after the process started (at 23 s), not at 20 s.
  near(a22 - a15, 70_000, 10_000, '15–22 s at 10k/s');
  near(a35 - a25, 500_000, 50_000, '25–35 s at 50k/s');
  // The 40 s phase changes the pattern only: the rate stays.
  near(a60 - a35, 1_250_000, 50_000, '35–60 s at 50k/s');
});

// ---- churn ----------------------------------------------------------------------------------------------

test('runner: churn allocates slab and page cache over the nodes, drops half the cache periodically, and stops at stop', () => {
  const run = new ScenarioRun(
    scenario(`
duration: 60s
machine:
  nodes:
    - memory: 512MiB
    - memory: 512MiB
workloads:
  - name: churn
    preset: fragmenter
    start: 2s
    stop: 30s
    churn:
      pageCacheDropEvery: 20s
`),
  );
  const nodeFile = (n: number): number => kbField(run.sim.readFile(`/sys/devices/system/node/node${n}/meminfo`), `Node ${n} FilePages`) / PAGE;
  run.advanceTo(1500);
  assert.equal(vmstat(run, 'nr_slab_unreclaimable'), 0);
  assert.equal(cachedPages(run.sim), 0);
  run.advanceTo(11_500);
  // Ticks at 2 s … 11 s: ten of them, 64 unmovable, 512 reclaimable and 2560 cache pages each (fragmenter).
  assert.equal(vmstat(run, 'nr_slab_unreclaimable'), 640);
  assert.equal(vmstat(run, 'nr_slab_reclaimable'), 5120);
  assert.equal(cachedPages(run.sim), 25_600);
  assert.equal(kbField(run.sim.readFile('/proc/meminfo'), 'Cached') / PAGE, 25_600);
  // Spread over both nodes.
  assert.equal(nodeFile(0), 12_800);
  assert.equal(nodeFile(1), 12_800);
  run.advanceTo(21_500);
  const before = cachedPages(run.sim);
  run.advanceTo(22_500);
  const after = cachedPages(run.sim);
  // The drop at 22 s (start + 20 s) halves the cache; a tick at 22 s adds 2560.
  assert.ok(Math.abs(after - before / 2) <= 2560, `cache ${before} → ${after} pages`);
  assert.ok(after < 0.6 * before);
  run.advanceTo(30_500);
  const slab = vmstat(run, 'nr_slab_unreclaimable');
  const cache = cachedPages(run.sim);
  run.advanceTo(45_000);
  // Nothing after the stop: no allocation (lifetimes are minutes) and no drop at 42 s.
  assert.equal(vmstat(run, 'nr_slab_unreclaimable'), slab);
  assert.equal(cachedPages(run.sim), cache);
});

// ---- the OOM killer ------------------------------------------------------------------------------------

test('runner: a process the OOM killer kills while it populates is recorded as oom-killed, and the run goes on', () => {
  const run = new ScenarioRun(
    scenario(`
duration: 30s
machine:
  nodes:
    - memory: 256MiB
workloads:
  - name: small
    mappings:
      - name: heap
        size: 16MiB
    streams:
      - name: s
        mapping: heap
        rate: 10k
        pattern: uniform
  - name: hog
    start: 5s
    stop: 20s
    mappings:
      - name: heap
        size: 512MiB
`),
  );
  run.advanceTo(6000);
  const hog = run.processes.find((p) => p.comm === 'hog')!;
  assert.ok(hog.pid !== undefined);
  assert.equal(hog.exited, true);
  assert.equal(hog.endReason, 'oom-killed');
  assert.ok(!run.sim.listPids().includes(hog.pid));
  assert.equal(vmstat(run, 'oom_kill'), 1);
  const small = pidOf(run, 'small');
  const a = run.sim.perfCounters(small).accesses;
  run.advanceTo(30_000);
  assert.equal(run.done, true);
  assert.deepEqual(live(run), ['small']);
  assert.equal(run.sim.perfCounters(small).accesses - a, 240_000);
  // Still recorded as killed at the end, past its stop time.
  assert.equal(hog.endReason, 'oom-killed');
});

const OOM_OTHER = `
duration: 30s
machine:
  nodes:
    - memory: 256MiB
workloads:
  - name: big
    mappings:
      - name: heap
        size: 160MiB
    streams:
      - name: s
        mapping: heap
        rate: 10k
        pattern: uniform
  - name: late
    start: 5s
    mappings:
      - name: heap
        size: 100MiB
`;

test('runner: a process the OOM killer kills while another allocates is recorded as oom-killed', () => {
  const run = new ScenarioRun(scenario(OOM_OTHER));
  run.advanceTo(6000);
  const big = run.processes.find((p) => p.comm === 'big')!;
  assert.equal(vmstat(run, 'oom_kill'), 1);
  assert.deepEqual(live(run), ['late']);
  assert.equal(big.exited, true);
  assert.equal(big.endReason, 'oom-killed');
  const late = run.processes.find((p) => p.comm === 'late')!;
  assert.equal(late.exited, false);
  assert.equal(rss(run, late.pid!), 100 * MiB);
});

// ---- simulate and its metrics ------------------------------------------------------------------------------

const PRESSURED = `
name: pressured
duration: 30s
machine:
  nodes:
    - memory: 512MiB
  swap: 256MiB
  knobs:
    /sys/kernel/mm/transparent_hugepage/enabled: always
    /sys/kernel/mm/transparent_hugepage/defrag: always
  age:
    unmovable: 2%
    reclaimable: 1%
    pollutedBlocks: 60%
workloads:
  - name: hp
    mappings:
      - name: heap
        size: 256MiB
        madvise: [MADV_HUGEPAGE]
    streams:
      - name: s
        mapping: heap
        rate: 1M
        pattern: zipf
        writeFraction: 20%
  - name: churn
    churn:
      unmovable: 64/s
      reclaimable: 512/s
      pageCache: 2560/s
`;

test('simulate: the same scenario and seed give the same result; another seed changes it on an aged machine', () => {
  const s = scenario(PRESSURED);
  const a = simulate(s);
  const b = simulate(s);
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.equal(a.seed, 1);
  assert.equal(a.durationMs, 30_000);
  assert.ok(a.bootMs > 0, 'ageing took simulated time');
  assert.deepEqual(
    a.metrics.series.map((x) => x.tMs),
    [10_000, 20_000, 30_000],
  );
  // The seed places the ageing's holes: where the kernel's pages are, so what compaction and reclaim do.
  const c = simulate(s, { seed: 7 });
  assert.equal(c.seed, 7);
  assert.notDeepEqual(c.metrics, a.metrics);
  assert.equal(JSON.stringify(simulate(s, { seed: 7 })), JSON.stringify(c));
});

test('simulate: the summary has a row per workload (not the churn) and the machine lines', () => {
  const r = simulate(
    scenario(`
name: mix
duration: 20s
machine:
  nodes:
    - memory: 256MiB
    - memory: 256MiB
workloads:
  - name: db
    mappings:
      - name: heap
        size: 16MiB
  - name: web
    count: 3
    node: [0, 1]
    mappings:
      - name: heap
        size: 4MiB
  - name: late
    start: 1h
    mappings:
      - name: heap
        size: 4MiB
  - name: kernel-churn
    preset: fragmenter
`),
  );
  const text = formatSummary(r);
  const lines = text.split('\n');
  assert.equal(lines[0], 'scenario mix: 20s simulated, seed 1, kernel mechanisms only (no daemon)');
  assert.match(text, /^workload +RSS +hot +THP of hot +at end +remote THP +MMU overhead +speed vs 4K +fault stall$/m);
  const rows = lines.filter((l) => /^(db|web|late|kernel-churn)\b/.test(l)).map((l) => l.split(/ {2,}/));
  assert.deepEqual(
    rows.map((r) => [r[0], r[1]]),
    [
      ['db', '16 MiB'],
      ['web (×3)', '12 MiB'],
      // Not started yet: a row with nothing.
      ['late', '0 B'],
    ],
  );
  assert.deepEqual(
    r.metrics.workloads.map((w) => [w.workload, w.processes]),
    [
      ['db', 1],
      ['web', 3],
      ['late', 0],
    ],
  );
  for (const start of ['hot memory THP coverage ', 'THP faults ', 'compaction stalls ', 'kernel threads CPU: khugepaged ']) assert.ok(lines.some((l) => l.startsWith(start)), `a line starting "${start}"`);
  assert.match(text, /^free memory at end: node 0 [\d.]+ [KMG]i?B, node 1 [\d.]+ [KMG]i?B; swap used 0 B$/m);
});

const coverage = (enabled: string): string => `
duration: 20s
machine:
  nodes:
    - memory: 512MiB
  knobs:
    /sys/kernel/mm/transparent_hugepage/enabled: ${enabled}
workloads:
  - name: hp
    mappings:
      - name: heap
        size: 64MiB
        madvise: [MADV_HUGEPAGE]
    streams:
      - name: s
        mapping: heap
        rate: 1M
        pattern: zipf
  - name: plain
    mappings:
      - name: heap
        size: 64MiB
    streams:
      - name: s
        mapping: heap
        rate: 1M
        pattern: zipf
`;

test('simulate: hot THP coverage is 1 for a MADV_HUGEPAGE workload under enabled=madvise, 0 under never', () => {
  const madvise = simulate(scenario(coverage('madvise'))).metrics;
  const never = simulate(scenario(coverage('never'))).metrics;
  const of = (m: typeof madvise, name: string) => m.workloads.find((w) => w.workload === name)!;
  assert.ok(of(madvise, 'hp').hotBytes > 0);
  assert.equal(of(madvise, 'hp').hotThpCoverage, 1);
  assert.equal(of(madvise, 'hp').hotThpCoverageEnd, 1);
  assert.equal(of(madvise, 'hp').anonHugeBytes, 64 * MiB);
  assert.ok(of(madvise, 'hp').speedVs4k > 1);
  // Not madvised: no THP under madvise either.
  assert.equal(of(madvise, 'plain').hotThpCoverage, 0);
  // The two are alike but for the madvise: half the machine's hot memory is covered.
  assert.ok(Math.abs(madvise.machine.hotThpCoverage - 0.5) < 0.01, `machine coverage ${madvise.machine.hotThpCoverage}`);
  assert.equal(of(never, 'hp').hotThpCoverage, 0);
  assert.equal(of(never, 'hp').anonHugeBytes, 0);
  assert.equal(of(never, 'hp').speedVs4k, 1);
  assert.equal(never.machine.hotThpCoverage, 0);
  assert.equal(never.machine.vmstat.thp_fault_alloc, 0);
  assert.equal(madvise.machine.vmstat.thp_fault_alloc, 32);
});

test('simulate: a process that exits early keeps its final figures', () => {
  const m = simulate(
    scenario(`
duration: 30s
machine:
  nodes:
    - memory: 512MiB
  knobs:
    /sys/kernel/mm/transparent_hugepage/enabled: always
workloads:
  - name: short
    stop: 15s
    mappings:
      - name: heap
        size: 32MiB
    streams:
      - name: s
        mapping: heap
        rate: 100k
        pattern: uniform
  - name: brief
    lifetime: 5s
    start: 2s
    mappings:
      - name: heap
        size: 8MiB
        populate: 50%
`),
  ).metrics;
  const short = m.processes.find((p) => p.comm === 'short')!;
  assert.equal(short.ended, 'stopped');
  assert.equal(short.rssBytes, 32 * MiB);
  assert.equal(short.anonHugeBytes, 32 * MiB);
  assert.equal(short.hotBytes, 32 * MiB);
  assert.equal(short.hotThpCoverage, 1);
  assert.ok(short.cpuMs > 0);
  // 15 s of 100k/s over the 30 s run.
  assert.equal(short.accessesPerSec, 50_000);
  const brief = m.processes.find((p) => p.comm === 'brief')!;
  assert.equal(brief.ended, 'stopped');
  assert.equal(brief.rssBytes, 4 * MiB);
  const w = m.workloads.find((x) => x.workload === 'short')!;
  assert.equal(w.rssBytes, 32 * MiB);
  assert.equal(w.processes, 1);
});

test('simulate: OOM-killed processes are counted in their workload and the summary, whoever was allocating', () => {
  const r = simulate(scenario(OOM_OTHER));
  const big = r.metrics.processes.find((p) => p.comm === 'big')!;
  assert.equal(big.ended, 'oom-killed');
  assert.equal(r.metrics.processes.find((p) => p.comm === 'late')!.ended, 'running');
  assert.equal(r.metrics.workloads.find((w) => w.workload === 'big')!.oomKilled, 1);
  assert.equal(r.metrics.machine.vmstat.oom_kill, 1);
  assert.match(formatSummary(r), /^big .* 1 OOM-killed$/m);
});
