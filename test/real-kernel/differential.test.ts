/**
 * The real kernel as the judge of the simulated one, case by case: each case is one script of workload
 * agent commands (test/real-kernel/agent/workload-agent.c; the twin test/support/sim-agent.ts runs it on
 * the model), run once as real processes on this machine and once on a fresh simulated machine, and
 * every reply must agree: return values and errno of madvise (MADV_COLLAPSE among them), process_madvise
 * and the rest; per named region, AnonHugePages (/proc/PID/smaps: PMD-mapped THPs only) and which 2 MiB
 * parts one huge page backs (pagemap + kpageflags: however it is mapped); the /proc/vmstat counters each
 * command moved (thp_collapse_alloc, thp_collapse_alloc_failed, thp_split_pmd, thp_split_page, cow_ksm,
 * ...); /proc/PID/ksm_stat and ksm_merging_pages of the process, and the KSM counters.
 *
 * The cases are those of the reference (linux-mm-semantics.md sections 4, 5 and 7; the selftests
 * khugepaged.c, process_madv.c, ksm_tests.c and ksm_functional_tests.c). Not covered: the memcg EBUSY
 * collapse (this host's memory cgroups belong to the machinery that runs the tests) and swap (none here).
 * No case asserts per-node figures: this host's node totals do not add up to the machine's.
 *
 * Scripts: each line is `AGENT: command`; agent `a` always exists, others are declared per case (with a
 * uid or capabilities). `{b.pid}`, `{a.child}` (the pid of a's last fork) and `{b.NAME}` or
 * `{b.NAME+OFF}` (the address of b's region NAME, plus an offset) are filled in before a line is sent,
 * from the replies so far, so the same script runs on both kernels.
 *
 * Global state: THP `enabled` is set to madvise for the run (faults give small pages; khugepaged leaves
 * the regions alone), and the KSM cases drive ksmd through its knobs; every knob is put back afterwards,
 * on failure and on signals too, and the whole run holds the knob lock (real-kernel-host.ts) that every
 * knob-changing real-kernel test takes. The model is booted like the host where that changes answers:
 * whether a read fault maps the zero page (pvm_no_zero_page=1 guests allocate instead), and THP's
 * `defrag` and `use_zero_page`.
 *
 * It skips, saying why, when it cannot judge (not Linux, not root, no `cc`, kernel < 6.1, no THP,
 * MADV_COLLAPSE unsupported); the KSM cases skip alone when KSM is absent or in use on the machine. On
 * a disagreement it prints both sides, and it always prints the table (case → kernel → model).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { SimKernel } from '../../kernel-model/index.js';
import { SimAgent } from '../support/sim-agent.js';
import { comparable, parseAgentNumber, type AgentReply } from '../support/agent-protocol.js';
import {
  AGENT_SOURCE, RealAgent, atLeast, cannotJudge, compileC, kernelVersion, readKnob, withKnobLock, withKnobs,
} from './real-kernel-host.js';

/** An agent a case starts besides `a`'s defaults. */
interface AgentSpec {
  uid?: number;
  /** The only capabilities it keeps (a root agent has them all otherwise). */
  caps?: string[];
}

interface DiffCase {
  name: string;
  /** Agents by name, started in this order before the script runs (`a` is added first if absent). */
  agents?: Record<string, AgentSpec>;
  script: string[];
  /** Drives ksmd: skipped where KSM cannot be used. */
  ksm?: true;
  /** The first kernel version (major, minor) that has what the case uses. */
  since?: [number, number];
  /** The case pins down one kernel version's behaviour (changed later). */
  onlyOn?: [number, number];
}

/** One line of a script and what came back. */
interface Step {
  line: string;
  reply: AgentReply;
}

type Observation = { steps: Step[] } | { error: string; steps: Step[] };

/** A started agent on either kernel. */
interface Launched {
  ready: AgentReply;
  send(line: string): Promise<AgentReply>;
}

type Launch = (spec: AgentSpec) => Promise<Launched>;

// ---- the cases ----------------------------------------------------------------------------------

const collapse = (off: string, len: string, region = 'r') => `a: madvise ${region} ${off} ${len} MADV_COLLAPSE`;

/** One region of n × 2 MiB on a 2 MiB boundary, every page written. */
const written = (n: number): string[] => [`a: map r ${2 * n}M aligned`, `a: write r 0 ${2 * n}M`];

/** The layout of reference section 5 in target t: r0..r5, all written but r2, 4 KiB unmapped after r5. */
const sixRegions = [
  't: map r 12M+4K aligned', 't: munmap r 12M 4K', 't: write r 0 4M', 't: write r 6M 6M', 'a: pidfd_open t {t.pid}',
];

/** A remote process_madvise on the section 5 layout: the iovecs as offsets from r0. */
function remote(iov: string, advice = 'MADV_COLLAPSE', flags = 0): Pick<DiffCase, 'agents' | 'script'> {
  const vecs = iov.split(' ').map((v) => v.replace(/^([^:]+):/, (_, off: string) => `{t.r+${off}}:`));
  return { agents: { a: {}, t: {} }, script: [...sixRegions, `a: process_madvise t ${advice} ${flags} ${vecs.join(' ')}`, 't: report'] };
}

/** KSM as both sides start a case: everything unmerged, counters 0, ksmd driven in whole full scans. */
const ksmReset = [
  'a: ksm run 2', 'a: ksm max_page_sharing 256', 'a: ksm use_zero_pages 0', 'a: ksm advisor_mode none',
  'a: ksm pages_to_scan 100000', 'a: ksm sleep_millisecs 100',
];

/** n small pages filled with `byte` in region m, MADV_NOHUGEPAGE then MADV_MERGEABLE (ksm_tests' setup). */
const mergeable = (n: number, byte: string, agent = 'a'): string[] => [
  `${agent}: map m ${4 * n}K aligned`, `${agent}: madvise m 0 ${4 * n}K MADV_NOHUGEPAGE`, `${agent}: write m 0 ${4 * n}K ${byte}`,
  `${agent}: madvise m 0 ${4 * n}K MADV_MERGEABLE`,
];

const pinned = (twoVmas: boolean): string[] => [
  ...written(2), 'a: pin r 0 4K', ...(twoVmas ? ['a: mprotect r 2M 2M r'] : []), collapse('0', '4M'), 'a: report',
];

const tableKept = (anonVma: boolean): string[] => [
  'a: map r 2M aligned', ...(anonVma ? ['a: write r 0 4K'] : []), 'a: mprotect r 4K 2044K r', ...(anonVma ? [] : ['a: write r 0 4K']),
  'a: munmap r 0 4K', 'a: mprotect r 4K 2044K rw', 'a: map_at r 0 4K', collapse('0', '2M'), 'a: report',
];

const unprivilegedCaller = (targetUid: number): DiffCase => ({
  name: targetUid === 0 ? 'pm-other-uid-eacces' : 'pm-same-uid-no-sys-nice-eperm',
  agents: { t: { uid: targetUid }, c: { uid: 1000 } },
  script: ['t: map r 2M aligned', 't: write r 0 2M', 'c: pidfd_open t {t.pid}', 'c: process_madvise t MADV_COLLAPSE 0 {t.r}:2M', 't: report'],
});

const cases: DiffCase[] = [
  // ---- MADV_COLLAPSE (reference section 4) ----
  { name: 'fully-written', script: [...written(1), collapse('0', '2M'), 'a: report'] },
  { name: 'already-thp', script: [...written(1), collapse('0', '2M'), collapse('0', '2M'), 'a: report'] },
  { name: 'one-written-page', script: ['a: map r 2M aligned', 'a: write r 0 4K', collapse('0', '2M'), 'a: report'] },
  { name: 'one-written-511-read', script: ['a: map r 2M aligned', 'a: write r 0 4K', 'a: read r 4K 2044K', collapse('0', '2M'), 'a: report'] },
  { name: 'never-touched', script: ['a: map r 2M aligned', collapse('0', '2M'), 'a: report'] },
  { name: 'dontneed-whole-region', script: [...written(1), 'a: madvise r 0 2M MADV_DONTNEED', collapse('0', '2M'), 'a: report'] },
  { name: 'dontneed-only-written-page', script: ['a: map r 2M aligned', 'a: write r 0 4K', 'a: madvise r 0 4K MADV_DONTNEED', collapse('0', '2M'), 'a: report'] },
  {
    name: 'dontneed-region-in-two-calls',
    script: [...written(1), 'a: madvise r 0 2044K MADV_DONTNEED', 'a: madvise r 2044K 4K MADV_DONTNEED', collapse('0', '2M'), 'a: report'],
  },
  { name: 'dontneed-half-region', script: [...written(1), 'a: madvise r 0 1M MADV_DONTNEED', collapse('0', '2M'), 'a: report'] },
  { name: 'table-kept-with-anon-vma', script: tableKept(true) },
  { name: 'table-kept-without-anon-vma', script: tableKept(false) },
  // Decided by whether read faults map the zero page: it gives the VMA no anon_vma (EINVAL); a zeroed page does.
  { name: 'read-faults-only', script: ['a: map r 2M aligned', 'a: read r 0 2M', collapse('0', '2M'), 'a: report'] },
  { name: 'read-faulted-beside-written', script: ['a: map r 4M aligned', 'a: write r 0 2M', 'a: read r 2M 2M', collapse('2M', '2M'), 'a: report'] },
  { name: 'vm-nohugepage', script: [...written(1), 'a: madvise r 0 2M MADV_NOHUGEPAGE', collapse('0', '2M'), 'a: report'] },
  { name: 'prot-read-after-write', script: [...written(1), 'a: mprotect r 0 2M r', collapse('0', '2M'), 'a: report'] },
  { name: 'prot-none-after-write', script: [...written(1), 'a: mprotect r 0 2M none', collapse('0', '2M'), 'a: report'] },
  { name: 'vma-smaller-than-2m', script: ['a: map r 2M aligned', 'a: munmap r 1M 1M', 'a: write r 0 1M', collapse('0', '1M'), 'a: report'] },
  { name: 'unmapped-range', script: ['a: map r 2M aligned', 'a: munmap r 0 2M', collapse('0', '2M')] },
  { name: 'hole', script: [...written(3), 'a: munmap r 2M 2M', collapse('0', '6M'), 'a: report'] },
  { name: 'no-table-then-full', script: ['a: map r 4M aligned', 'a: write r 2M 2M', collapse('0', '4M'), 'a: report'] },
  { name: 'two-vmas-both-full', script: [...written(2), 'a: mprotect r 2M 2M r', collapse('0', '4M'), 'a: report'] },
  { name: 'pr-set-thp-disable', script: [...written(1), 'a: prctl PR_SET_THP_DISABLE 1', collapse('0', '2M'), 'a: report'] },
  { name: 'mlocked', script: [...written(1), 'a: mlock r 0 2M', collapse('0', '2M'), 'a: report'] },
  { name: 'pinned-then-full-one-vma', script: pinned(false) },
  { name: 'pinned-then-full-two-vmas', script: pinned(true) },
  { name: 'shared-with-child-after-fork', script: [...written(1), 'a: fork', collapse('0', '2M'), 'a: report', 'a: report child'] },
  { name: 'vma-split-inside-thp', script: [...written(1), collapse('0', '2M'), 'a: mprotect r 0 4K r', 'a: report'] },
  { name: 'dontneed-one-page-of-thp', script: [...written(1), collapse('0', '2M'), 'a: madvise r 0 4K MADV_DONTNEED', 'a: report'] },
  { name: 'unaligned-start', script: [...written(1), collapse('1', '2M+-1'), 'a: report'] },
  { name: 'range-inside-one-region', script: [...written(1), collapse('4K', '8K'), 'a: report'] },
  { name: 'range-crossing-boundary-no-whole-region', script: [...written(2), collapse('2040K', '16K'), 'a: report'] },
  { name: 'length-0', script: [...written(1), collapse('0', '0'), 'a: report'] },
  { name: 'not-aligned-region', script: ['a: map r 4M', 'a: write r 0 4M', collapse('0', '4M'), 'a: report'] },

  // ---- process_madvise (reference section 5) ----
  { name: 'pm-r0-r1', ...remote('0:2M 2M:2M') },
  { name: 'pm-r2-r3', ...remote('4M:2M 6M:2M') },
  { name: 'pm-r3-r2-r4', ...remote('6M:2M 4M:2M 8M:2M') },
  { name: 'pm-r4-r5-tail', ...remote('8M:2M 10M:2M+4K') },
  { name: 'pm-1024-same-region', ...remote('0:2M*1024') },
  { name: 'pm-vlen-1025', ...remote('0:2M*1025') },
  { name: 'pm-flags-1', ...remote('0:2M', 'MADV_COLLAPSE', 1) },
  { name: 'pm-remote-dontneed', ...remote('0:2M', 'MADV_DONTNEED') },
  { name: 'pm-bad-pidfd', script: [...written(1), 'a: process_madvise -1 MADV_COLLAPSE 0 {a.r}:2M', 'a: report'] },
  { name: 'pm-exited', script: ['a: map r 2M aligned', 'a: fork', 'a: pidfd_open c {a.child}', 'a: reap', 'a: process_madvise c MADV_COLLAPSE 0 {a.r}:2M'] },
  { name: 'pm-pidfd-self-thread', since: [6, 15], script: [...written(1), 'a: process_madvise -10000 MADV_COLLAPSE 0 {a.r}:2M', 'a: report'] },
  { name: 'pm-pidfd-self-thread-group', since: [6, 15], script: [...written(1), 'a: process_madvise -10001 MADV_COLLAPSE 0 {a.r}:2M', 'a: report'] },
  // 6.18 does no work for an empty iovec and answers 0 whatever the advice (later kernels: EINVAL).
  { name: 'pm-self-invalid-advice-zero-length', since: [6, 15], onlyOn: [6, 18], script: ['a: map r 2M aligned', 'a: process_madvise -10001 MADV_INVALID 0 {a.r}:0'] },
  { name: 'pm-self-invalid-advice', since: [6, 15], script: ['a: map r 2M aligned', 'a: write r 0 4K', 'a: process_madvise -10001 MADV_INVALID 0 {a.r}:4K'] },
  // A pidfd of oneself is not remote: any advice, no CAP_SYS_NICE check.
  { name: 'pm-pidfd-open-self-dontneed', script: [...written(1), 'a: pidfd_open s {a.pid}', 'a: process_madvise s MADV_DONTNEED 0 {a.r}:4K', 'a: report'] },
  { name: 'pm-unmapped-base', agents: { a: {}, t: {} }, script: ['t: map r 2M aligned', 't: munmap r 0 2M', 'a: pidfd_open t {t.pid}', 'a: process_madvise t MADV_COLLAPSE 0 {t.r}:2M'] },
  unprivilegedCaller(0),
  unprivilegedCaller(1000),
  // PTRACE_MODE_READ also needs the target's permitted capabilities within the caller's, else CAP_SYS_PTRACE.
  {
    name: 'pm-root-caller-fewer-caps-eacces',
    agents: { t: {}, c: { caps: ['CAP_SYS_NICE'] } },
    script: ['t: map r 2M aligned', 't: write r 0 2M', 'c: pidfd_open t {t.pid}', 'c: process_madvise t MADV_COLLAPSE 0 {t.r}:2M', 't: report'],
  },

  // ---- KSM (reference section 7): merge arithmetic per process and the counters ----
  { name: 'ksm-chain-25-m10', ksm: true, script: [...ksmReset, 'a: ksm max_page_sharing 10', ...mergeable(25, '0x2a'), 'a: ksm_scan 2', 'a: report'] },
  { name: 'ksm-merge-300', ksm: true, script: [...ksmReset, ...mergeable(300, '0x2a'), 'a: ksm_scan 2', 'a: report'] },
  {
    name: 'ksm-two-processes',
    ksm: true,
    agents: { a: {}, b: {} },
    script: [
      ...ksmReset, ...mergeable(100, '0x2a'), ...mergeable(60, '0x2a', 'b'), 'a: ksm_scan 2', 'a: report', 'b: report',
      'b: write m 0 40K', 'b: report', 'a: ksm_scan 1', 'a: report',
    ],
  },
  {
    name: 'ksm-zero-pages',
    ksm: true,
    script: [
      ...ksmReset, 'a: ksm use_zero_pages 1', ...mergeable(512, '0'), 'a: ksm_scan 2', 'a: report', 'a: madvise m 0 1M MADV_UNMERGEABLE',
      'a: report', 'a: write m 1M 1M', 'a: report', 'a: ksm_scan 1', 'a: report',
    ],
  },
  { name: 'ksm-zero-pages-off', ksm: true, script: [...ksmReset, ...mergeable(100, '0'), 'a: ksm_scan 2', 'a: report'] },
  {
    name: 'ksm-unmerge',
    ksm: true,
    script: [
      ...ksmReset, ...mergeable(512, '0xcf'), 'a: ksm_scan 2', 'a: report', 'a: write m 0 8K', 'a: report',
      'a: madvise m 0 2M MADV_UNMERGEABLE', 'a: report', 'a: ksm_scan 1', 'a: report',
    ],
  },
  {
    name: 'ksm-thp-split',
    ksm: true,
    script: [
      ...ksmReset, 'a: map h 2M aligned', 'a: madvise h 0 2M MADV_HUGEPAGE', 'a: write h 0 2M 0x5a', 'a: report',
      'a: madvise h 0 2M MADV_MERGEABLE', 'a: ksm_scan 2', 'a: report', 'a: ksm_scan 1', 'a: report',
    ],
  },
];

// ---- running a script ---------------------------------------------------------------------------

/** Fills in `{agent.pid}`, `{agent.child}`, `{agent.REGION}` and `{agent.REGION+OFF}`. */
function substitute(line: string, known: Map<string, Map<string, number>>): string {
  return line.replace(/\{(\w+)\.(\w+)(?:\+([^}]+))?\}/g, (whole, agent: string, key: string, off?: string) => {
    const base = known.get(agent)?.get(key);
    const add = off === undefined ? 0 : parseAgentNumber(off);
    if (base === undefined || add === undefined) throw new Error(`the script names ${whole}, which is not known yet`);
    return key === 'pid' || key === 'child' ? String(base + add) : `0x${(base + add).toString(16)}`;
  });
}

/** Runs a case's script through `launch`; a throw ends it as an observation too. */
async function runScript(c: DiffCase, launch: Launch): Promise<Observation> {
  const steps: Step[] = [];
  const agents = new Map<string, Launched>();
  const known = new Map<string, Map<string, number>>();
  try {
    for (const [name, spec] of Object.entries({ a: {}, ...c.agents })) {
      const launched = await launch(spec);
      agents.set(name, launched);
      known.set(name, new Map([['pid', launched.ready.pid ?? NaN]]));
    }
    for (const line of c.script) {
      const m = /^(\w+): (\S+)(.*)$/.exec(line);
      const agent = m ? agents.get(m[1]) : undefined;
      if (!m || !agent) throw new Error(`bad script line "${line}"`);
      const reply = await agent.send(substitute(`${m[2]}${m[3]}`, known));
      steps.push({ line, reply: comparable(reply) });
      if (reply.usage !== undefined) throw new Error(`the agent refused "${line}": ${reply.usage}`);
      const facts = known.get(m[1])!;
      if (m[2] === 'map' && reply.addr !== undefined) facts.set(m[3].trim().split(' ')[0], Number(reply.addr));
      if (m[2] === 'fork' && reply.pid !== undefined) facts.set('child', reply.pid);
    }
    return { steps };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e), steps };
  }
}

/** The model's side: a fresh simulated machine per case, booted with `boot`. */
function modelLauncher(boot: () => SimKernel): Launch {
  const k = boot();
  return (spec) => {
    const agent = new SimAgent(k, { uid: spec.uid, caps: spec.caps });
    return Promise.resolve({ ready: agent.ready(), send: (line) => Promise.resolve(agent.run(line)) });
  };
}

/** The kernel's side: real agent processes, ended when the case is done. */
function realLauncher(exe: string, started: RealAgent[]): Launch {
  return async (spec) => {
    const { agent, ready } = await RealAgent.start(exe, { uid: spec.uid });
    started.push(agent);
    if (spec.caps) {
      const r = await agent.send(`capset ${spec.caps.join(' ')}`);
      if (r.ret !== 0) throw new Error(`capset ${spec.caps.join(' ')} failed: ${r.errno ?? r.usage}`);
    }
    return { ready, send: (line) => agent.send(line) };
  };
}

// ---- showing results ----------------------------------------------------------------------------

/** A reply in a few words. */
function show(r: AgentReply): string {
  if (r.usage !== undefined) return `usage: ${r.usage}`;
  const parts = [r.errno ? `-1 ${r.errno}` : String(r.ret)];
  for (const [name, g] of Object.entries(r.regions ?? {})) parts.push(`${name}:${g.anonHugeKb}kB[${g.huge.join('')}]`);
  if (r.ksm_merging_pages !== undefined && r.ksm_merging_pages > 0) parts.push(`merging ${r.ksm_merging_pages}`);
  if (r.ksm && (r.ksm.pages_shared || r.ksm.pages_sharing || r.ksm.ksm_zero_pages || r.ksm.pages_unshared)) {
    const g = r.ksm;
    parts.push(`ksm ${g.pages_shared}/${g.pages_sharing} unshared ${g.pages_unshared} zero ${g.ksm_zero_pages} dups ${g.stable_node_dups}`);
  }
  for (const [name, d] of Object.entries(r.vmstat ?? {})) parts.push(`${name}+${d}`);
  return parts.join(' ');
}

/** Whether a step says something beyond "done" (what the table shows). */
const telling = (s: Step) => s.reply.ret !== 0 || s.reply.regions !== undefined || Object.keys(s.reply.vmstat ?? {}).length > 0 || /COLLAPSE|process_madvise/.test(s.line);

function rows(name: string, kernel: Observation, model: Observation): string[] {
  const out: string[] = [];
  const n = Math.max(kernel.steps.length, model.steps.length);
  for (let i = 0; i < n; i++) {
    const ks = kernel.steps[i];
    const ms = model.steps[i];
    const step = ks ?? ms;
    if (!telling(step) && ms && ks && show(ks.reply) === show(ms.reply)) continue;
    const kText = ks ? show(ks.reply) : '-';
    const mText = ms ? show(ms.reply) : '-';
    out.push(`${name.padEnd(40)} ${step.line.slice(0, 44).padEnd(44)} kernel: ${kText.padEnd(36)} model: ${mText}${kText === mText ? '' : '   <-- differs'}`);
  }
  for (const [side, o] of [['kernel', kernel], ['model', model]] as const) if ('error' in o) out.push(`${name.padEnd(40)} ${side} error: ${o.error}`);
  return out;
}

// ---- the test -----------------------------------------------------------------------------------

const THP = '/sys/kernel/mm/transparent_hugepage';
const KSM = '/sys/kernel/mm/ksm';
const KSM_SAVED = ['max_page_sharing', 'use_zero_pages', 'advisor_mode', 'pages_to_scan', 'sleep_millisecs'];

/** Why KSM cases cannot run here, or undefined. Unmerging would take other users' merged pages apart. */
function ksmUnusable(): string | undefined {
  if (!existsSync(`${KSM}/run`)) return 'no /sys/kernel/mm/ksm (CONFIG_KSM off)';
  const n = (f: string) => Number(readFileSync(`${KSM}/${f}`, 'utf8'));
  if (n('run') !== 0 || ['pages_shared', 'pages_sharing', 'pages_unshared', 'pages_volatile', 'ksm_zero_pages'].some((f) => n(f) !== 0)) {
    return 'KSM is in use on this machine (run is not 0 or pages are merged)';
  }
  return undefined;
}

/** What puts the knobs back: THP enabled; KSM run 2 first (so max_page_sharing may change), run last. */
function restoreOrder(values: ReadonlyMap<string, string>): [string, string][] {
  const out: [string, string][] = [];
  const add = (path: string) => {
    const v = values.get(path);
    if (v !== undefined) out.push([path, v]);
  };
  add(`${THP}/enabled`);
  if (values.has(`${KSM}/run`)) {
    out.push([`${KSM}/run`, '2']);
    for (const name of KSM_SAVED) {
      // pages_to_scan refuses writes under the scan-time advisor, which restoring advisor_mode set
      if (name === 'pages_to_scan' && values.get(`${KSM}/advisor_mode`) !== 'none') continue;
      add(`${KSM}/${name}`);
    }
    add(`${KSM}/run`);
  }
  return out;
}

test('the simulated kernel answers workload scripts as the running kernel does', async (t: TestContext) => {
  const reason = cannotJudge('the agent reads PFNs and kpageflags, changes uids and writes sysfs knobs');
  if (reason !== undefined) {
    t.skip(reason);
    return;
  }
  if (!existsSync(`${THP}/enabled`)) {
    t.skip(`no ${THP} (THP not built in)`);
    return;
  }
  const built = compileC(AGENT_SOURCE);
  try {
    await withKnobLock(built.exe, async () => {
      const ksmReason = ksmUnusable();
      const saved = [`${THP}/enabled`, ...(ksmReason === undefined ? [`${KSM}/run`, ...KSM_SAVED.map((n) => `${KSM}/${n}`)] : [])];
      await withKnobs(saved, restoreOrder, () => runCases(t, built.exe, ksmReason));
    });
  } finally {
    built.remove();
  }
});

async function runCases(t: TestContext, exe: string, ksmReason: string | undefined): Promise<void> {
  writeFileSync(`${THP}/enabled`, 'madvise');
  const probe = await RealAgent.start(exe);
  const zero = await probe.agent.send('zero_page');
  const collapseSupport = await (async () => {
    await probe.agent.send('map r 2M aligned');
    await probe.agent.send('write r 0 2M');
    return probe.agent.send('madvise r 0 2M MADV_COLLAPSE');
  })();
  await probe.agent.close();
  if (collapseSupport.errno === 'EINVAL') {
    t.skip(`MADV_COLLAPSE is not supported by kernel ${release()} (EINVAL on a fully written region)`);
    return;
  }
  assert.equal(typeof zero.zero_page, 'boolean', 'the agent could not tell whether read faults map the zero page');
  // The host's THP settings that change answers, copied into each simulated machine.
  const mirrored = ['enabled', 'defrag', 'use_zero_page'].map((name) => [name, readKnob(`${THP}/${name}`)] as const);
  const boot = () => {
    // 1 GiB is plenty for every case and boots in half the time of the default 4 GiB.
    const k = new SimKernel({ nodes: [{ memoryMiB: 1024 }], noZeroPage: zero.zero_page === false });
    for (const [name, value] of mirrored) k.writeFile(`${THP}/${name}`, value);
    return k;
  };
  t.diagnostic(
    `kernel ${release()}: THP ${mirrored.map(([n, v]) => `${n}=${v}`).join(' ')}; read faults map the zero page: ${zero.zero_page ? 'yes' : 'no'}` +
      `${ksmReason ? `; KSM cases skipped: ${ksmReason}` : ''}`,
  );

  const version = kernelVersion(release()) ?? [0, 0];
  const table: string[] = [];
  for (const c of cases) {
    const skip = c.ksm && ksmReason !== undefined
      ? ksmReason
      : c.since && !atLeast(version, c.since)
        ? `needs Linux ≥ ${c.since.join('.')}`
        : c.onlyOn && (version[0] !== c.onlyOn[0] || version[1] !== c.onlyOn[1])
          ? `pins down Linux ${c.onlyOn.join('.')} behaviour`
          : undefined;
    await t.test(c.name, { skip }, async () => {
      const started: RealAgent[] = [];
      let kernel: Observation;
      try {
        kernel = await runScript(c, realLauncher(exe, started));
      } finally {
        for (const a of started) await a.close();
      }
      const model = await runScript(c, modelLauncher(boot));
      table.push(...rows(c.name, kernel, model));
      assert.ok(!('error' in kernel), `the agents could not run the case on the kernel: ${'error' in kernel ? kernel.error : ''}`);
      assert.deepEqual(model, kernel, `${c.name}: the model disagrees with Linux ${release()}\n${rows(c.name, kernel, model).join('\n')}`);
    });
  }
  t.diagnostic(`case → step → kernel → model\n${table.join('\n')}`);
}
