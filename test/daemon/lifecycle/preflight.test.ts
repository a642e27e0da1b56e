// Every start-up check on fake /proc and /sys trees: a healthy machine passes, and each thing missing
// gives the finding that names it, with a refusal only where the daemon would otherwise run half-working
// or unsafely (and, with --dry-run, notes for what only acting needs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFindings, logFindings, preflightRefusals, runPreflight, type Finding, type HostStat, type PreflightHost, type ProbedFeature } from '../../../daemon/lifecycle/preflight.js';
import { effectiveCapabilities } from '../../../daemon/lifecycle/preflight-privileges.js';
import { CapturingLoggerFactory } from '../../support/capturing-logger.js';

const THP = '/sys/kernel/mm/transparent_hugepage';
const KD = '/sys/kernel/mm/damon/admin/kdamonds';
const ALL_CAPS = '000001ffffffffff';
const POLICY = '/etc/uhugepaged/uhugepaged.yaml';

const status = (capEff: string, extra = ''): string => `Name:\tnode\nUid:\t0\t0\t0\t0\nNSpid:\t4000\nCapEff:\t${capEff}\nTHP_enabled:\t1\n${extra}`;

/** A machine of files, links and probe answers; healthy (root, Linux 6.18, DAMON idle) unless changed. */
class FakeHost implements PreflightHost {
  pid = 4000;
  euid = 0;
  readonly files = new Map<string, string>([
    [`${THP}/enabled`, 'always [madvise] never\n'],
    [`${THP}/defrag`, 'always defer defer+madvise [madvise] never\n'],
    [`${THP}/khugepaged/defrag`, '1\n'],
    [`${THP}/khugepaged/pages_to_scan`, '4096\n'],
    [`${THP}/khugepaged/scan_sleep_millisecs`, '10000\n'],
    [`${THP}/khugepaged/max_ptes_none`, '511\n'],
    [`${KD}/nr_kdamonds`, '0\n'],
    ['/proc/self/status', status(ALL_CAPS)],
    ['/proc/sys/kernel/osrelease', '6.18.44\n'],
  ]);
  readonly links = new Map<string, string>([
    ['/proc/self', '4000'],
    ['/proc/self/ns/pid', 'pid:[4026531836]'],
  ]);
  readonly stats = new Map<string, HostStat>([
    [POLICY, { mode: 0o100644, uid: 0 }],
    ['/etc/uhugepaged', { mode: 0o40755, uid: 0 }],
  ]);
  readonly unwritable = new Set<string>();
  readonly probes: Record<ProbedFeature, string> = { 'madv-collapse': 'ok', 'process-madvise': 'ok', 'pidfd-self': 'ok' };

  readFile(path: string): string {
    const text = this.files.get(path);
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  }
  readLink(path: string): string {
    const target = this.links.get(path);
    if (target === undefined) throw Object.assign(new Error(`EACCES: ${path}`), { code: 'EACCES' });
    return target;
  }
  stat(path: string): HostStat {
    const s = this.stats.get(path);
    if (s === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return s;
  }
  canOpen(path: string, mode: 'r' | 'w'): boolean {
    return this.files.has(path) && !(mode === 'w' && this.unwritable.has(path));
  }
  probe(feature: ProbedFeature): string {
    return this.probes[feature];
  }
}

function run(host: FakeHost, opts: { dryRun?: boolean; kernelSettings?: string[] } = {}): Finding[] {
  return runPreflight({ host, policyFile: POLICY, kernelSettings: opts.kernelSettings ?? [`${THP}/defrag`], dryRun: opts.dryRun ?? false });
}
const of = (findings: Finding[], check: string): Finding[] => findings.filter((f) => f.check === check);
const one = (findings: Finding[], check: string): Finding => {
  const f = of(findings, check).find((x) => x.level !== 'ok') ?? of(findings, check)[0];
  assert.ok(f, `no ${check} finding`);
  return f;
};

test('a healthy machine: no refusal, and every check reports', () => {
  const findings = run(new FakeHost());
  assert.deepEqual(preflightRefusals(findings), []);
  for (const check of ['thp', 'madv-collapse', 'process-madvise', 'pidfd-self', 'damon', 'semantics', 'capabilities', 'ptrace', 'kernel-settings', 'policy-file', 'pid-namespace']) {
    assert.ok(of(findings, check).length > 0, `${check} said nothing`);
  }
  assert.equal(one(findings, 'damon').level, 'ok');
  assert.match(formatFindings(findings), /^ok {5}thp: enabled=madvise, defrag=madvise$/m);
});

test('MADV_COLLAPSE: EINVAL on the probe region refuses (a note with --dry-run); other errnos prove it is known', () => {
  const host = new FakeHost();
  host.probes['madv-collapse'] = 'EINVAL';
  const f = one(run(host), 'madv-collapse');
  assert.equal(f.level, 'refuse');
  assert.match(f.message, /does not know MADV_COLLAPSE/);
  assert.match(f.fix ?? '', /6\.1/);
  assert.equal(one(run(host, { dryRun: true }), 'madv-collapse').level, 'note');
  host.probes['madv-collapse'] = 'ENOMEM';
  assert.equal(one(run(host), 'madv-collapse').level, 'note');
});

test('MADV_COLLAPSE: EINVAL with THP disabled for the daemon itself cannot judge, and says why', () => {
  const host = new FakeHost();
  host.probes['madv-collapse'] = 'EINVAL';
  host.files.set('/proc/self/status', status(ALL_CAPS).replace('THP_enabled:\t1', 'THP_enabled:\t0'));
  const f = one(run(host), 'madv-collapse');
  assert.equal(f.level, 'note');
  assert.match(f.message, /PR_SET_THP_DISABLE/);
});

test('process_madvise: ENOSYS refuses; EPERM names the seccomp filter', () => {
  const host = new FakeHost();
  host.probes['process-madvise'] = 'ENOSYS';
  assert.equal(one(run(host), 'process-madvise').level, 'refuse');
  assert.equal(one(run(host, { dryRun: true }), 'process-madvise').level, 'note');
  host.probes['process-madvise'] = 'EPERM';
  const f = one(run(host), 'process-madvise');
  assert.equal(f.level, 'refuse');
  assert.match(f.message, /seccomp/);
  assert.match(f.fix ?? '', /SystemCallFilter/);
});

test('PIDFD_SELF: EBADF (before 6.13) is a note, never a refusal', () => {
  const host = new FakeHost();
  host.probes['pidfd-self'] = 'EBADF';
  const f = one(run(host), 'pidfd-self');
  assert.equal(f.level, 'note');
  assert.match(f.message, /6\.13/);
});

test('DAMON: absent, busy (a kdamond on) and unwritable are notes that name the fallback', () => {
  const host = new FakeHost();
  host.files.set(`${KD}/nr_kdamonds`, '2\n');
  host.files.set(`${KD}/0/state`, 'off\n');
  host.files.set(`${KD}/1/state`, 'on\n');
  host.files.set(`${KD}/1/pid`, '72\n');
  let f = one(run(host), 'damon');
  assert.equal(f.level, 'note');
  assert.match(f.message, /busy: kdamond 1 \(pid 72\)/);
  assert.match(f.message, /clear_refs/);
  host.files.set(`${KD}/1/state`, 'off\n');
  host.unwritable.add(`${KD}/nr_kdamonds`);
  f = one(run(host), 'damon');
  assert.match(f.message, /not writable/);
  host.files.delete(`${KD}/nr_kdamonds`);
  f = one(run(host), 'damon');
  assert.match(f.message, /absent \(CONFIG_DAMON_SYSFS/);
  assert.equal(preflightRefusals(run(host)).length, 0);
});

test('THP: enabled=never is a note saying MADV_COLLAPSE still works; no THP at all refuses', () => {
  const host = new FakeHost();
  host.files.set(`${THP}/enabled`, 'always madvise [never]\n');
  const f = of(run(host), 'thp')[0];
  assert.equal(f.level, 'note');
  assert.match(f.message, /MADV_COLLAPSE ignores this setting/);
  assert.match(of(run(host), 'thp')[1].message, /khugepaged: defrag=1, pages_to_scan=4096, scan_sleep_millisecs=10000, max_ptes_none=511/);
  host.files.delete(`${THP}/enabled`);
  assert.equal(one(run(host), 'thp').level, 'refuse');
});

test('semantics: the release is told, with the older-kernel caveat only before 6.18', () => {
  const host = new FakeHost();
  assert.doesNotMatch(one(run(host), 'semantics').message, /older kernel/);
  host.files.set('/proc/sys/kernel/osrelease', '6.6.30-generic\n');
  const f = one(run(host), 'semantics');
  assert.equal(f.level, 'note');
  assert.match(f.message, /kernel 6\.6\.30-generic.*older kernel/);
});

test('capabilities: each missing one is named with how to grant it; CAP_SYS_NICE alone is a note in a dry run', () => {
  assert.equal(effectiveCapabilities(status('0000000000a80002')), 0xa80002n);
  const host = new FakeHost();
  host.euid = 1000;
  host.stats.set(POLICY, { mode: 0o100644, uid: 1000 });
  // Only CAP_SYS_PTRACE (bit 19) and CAP_SYS_ADMIN (bit 21): no CAP_SYS_NICE, no DAC override.
  host.files.set('/proc/self/status', status((1 << 19 | 1 << 21).toString(16).padStart(16, '0')));
  let missing = of(run(host), 'capabilities').filter((f) => f.level !== 'ok');
  assert.deepEqual(missing.map((f) => f.message.split(' ')[0]), ['CAP_SYS_NICE', 'CAP_DAC_OVERRIDE']);
  for (const f of missing) {
    const name = f.message.split(' ')[0];
    assert.equal(f.level, 'refuse');
    assert.ok((f.fix ?? '').includes(`AmbientCapabilities=${name}`) && (f.fix ?? '').includes(`setcap ${name.toLowerCase()}+ep`) && /run as root/.test(f.fix ?? ''), f.fix);
  }
  missing = of(run(host, { dryRun: true }), 'capabilities').filter((f) => f.level !== 'ok');
  assert.deepEqual(missing.map((f) => [f.message.split(' ')[0], f.level]), [['CAP_SYS_NICE', 'note'], ['CAP_DAC_OVERRIDE', 'refuse']], 'observing still needs the read capabilities');
  host.files.set('/proc/self/status', 'Name:\tnode\n');
  assert.equal(one(run(host), 'capabilities').level, 'refuse');
});

test('ptrace: Yama’s scope is reported as not restricting the read access the daemon needs', () => {
  const host = new FakeHost();
  host.files.set('/proc/sys/kernel/yama/ptrace_scope', '1\n');
  assert.match(one(run(host), 'ptrace').message, /ptrace_scope=1 restricts attaching only/);
});

test('kernel settings the policy holds must be writable (a note in a dry run, none without settings)', () => {
  const host = new FakeHost();
  host.unwritable.add(`${THP}/defrag`);
  const f = one(run(host), 'kernel-settings');
  assert.equal(f.level, 'refuse');
  assert.match(f.message, /transparent_hugepage\/defrag/);
  assert.match(f.fix ?? '', /ProtectKernelTunables/);
  assert.equal(one(run(host, { dryRun: true }), 'kernel-settings').level, 'note');
  assert.equal(of(run(host, { kernelSettings: [] }), 'kernel-settings').length, 0);
});

test('policy file: group/other-writable or owned by another user refuses a privileged daemon, only notes an unprivileged one', () => {
  const host = new FakeHost();
  host.stats.set(POLICY, { mode: 0o100664, uid: 0 });
  let f = one(run(host), 'policy-file');
  assert.equal(f.level, 'refuse');
  assert.match(f.message, /writable by its group \(mode 664\)/);
  host.stats.set(POLICY, { mode: 0o100646, uid: 0 });
  assert.match(one(run(host), 'policy-file').message, /writable by anyone/);
  host.stats.set(POLICY, { mode: 0o100644, uid: 1000 });
  f = one(run(host), 'policy-file');
  assert.equal(f.level, 'refuse');
  assert.match(f.message, /owned by uid 1000/);
  assert.match(f.fix ?? '', /chown root:root/);
  host.stats.set(POLICY, { mode: 0o100644, uid: 0 });
  host.stats.set('/etc/uhugepaged', { mode: 0o40777, uid: 0 });
  assert.match(one(run(host), 'policy-file').message, /directory \/etc\/uhugepaged is writable by anyone/);
  host.stats.set('/etc/uhugepaged', { mode: 0o41777, uid: 0 });
  assert.equal(one(run(host), 'policy-file').level, 'ok', 'a sticky directory keeps others from replacing the file');
  // Unprivileged: not root and none of the capabilities.
  host.euid = 1000;
  host.files.set('/proc/self/status', status('0000000000000000'));
  host.stats.set(POLICY, { mode: 0o100666, uid: 2000 });
  assert.equal(one(run(host, { dryRun: true }), 'policy-file').level, 'note');
  host.stats.delete(POLICY);
  assert.equal(one(run(host), 'policy-file').level, 'refuse');
});

test('PID namespaces: /proc of another namespace refuses; a nested namespace is a note', () => {
  const host = new FakeHost();
  assert.match(one(run(host), 'pid-namespace').message, /initial PID namespace/);
  host.links.set('/proc/self', '81234');
  let f = one(run(host), 'pid-namespace');
  assert.equal(f.level, 'refuse');
  assert.match(f.message, /\/proc\/self is 81234 but the daemon's pid is 4000/);
  host.links.set('/proc/self', '4000');
  host.links.set('/proc/self/ns/pid', 'pid:[4026532198]');
  host.files.set('/proc/self/status', status(ALL_CAPS).replace('NSpid:\t4000', 'NSpid:\t81234\t4000'));
  f = one(run(host), 'pid-namespace');
  assert.equal(f.level, 'note');
  assert.match(f.message, /nested PID namespace \(pid:\[4026532198\], NSpid 81234 4000\)/);
  host.links.delete('/proc/self');
  assert.equal(one(run(host), 'pid-namespace').level, 'refuse');
});

test('formatFindings puts refusals first, each with its fix', () => {
  const host = new FakeHost();
  host.probes['process-madvise'] = 'ENOSYS';
  const text = formatFindings(run(host));
  assert.match(text, /^refuse process-madvise: .*\n {7}fix: /);
});

test('logFindings: a refusal is an error with its fix, a note info, a pass verbose', () => {
  const loggers = new CapturingLoggerFactory();
  const host = new FakeHost();
  host.probes['process-madvise'] = 'ENOSYS';
  host.files.set(`${KD}/nr_kdamonds`, '1\n');
  host.files.set(`${KD}/0/state`, 'on\n');
  logFindings(loggers.forClass('lifecycle', 'Preflight'), run(host));
  const refusal = loggers.entries.find((e) => e.check === 'process-madvise');
  assert.equal(refusal?.level, 'error');
  assert.equal(refusal?.finding, 'refuse');
  assert.match(String(refusal?.fix), /Linux 6\.1/);
  assert.equal(loggers.entries.find((e) => e.check === 'damon')?.level, 'info');
  assert.equal(loggers.entries.find((e) => e.check === 'pid-namespace')?.level, 'verbose');
});
