// Class matching: the first class a process matches, its excludes, each match field's rule; identities
// read from /proc as a real kernel shows them (v2 and v1 cgroup files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../../kernel-model/index.js';
import { parsePolicy } from '../../../daemon/config/policy.js';
import { ClassMatcher, readIdentity, type ProcessIdentity } from '../../../daemon/decide/classes.js';
import { parseProcCgroup } from '../../../daemon/kernel-port/procfs-parsers.js';
import { SimKernelPort } from '../../../sim/kernel-port/sim-kernel-port.js';

const policy = parsePolicy(
  [
    'version: 1',
    'classes:',
    '  - name: db',
    '    match: { comm: [mysqld, "redis-*"], uid: [999] }',
    '  - name: batch',
    '    match: { cgroup: [/batch] }',
    '  - name: pinned',
    '    match: { pid: [4242] }',
    '  - name: rest',
    '    match: {}',
    '    eligibility: { exclude: { comm: ["sshd", "systemd*"] } }',
    '',
  ].join('\n'),
  'p.yaml',
);
const m = new ClassMatcher(policy.classes);
const proc = (over: Partial<ProcessIdentity>): ProcessIdentity => ({ pid: 100, comm: 'bash', uid: 1000, cgroup: '/', cgroupHierarchy: 'v2', ...over });
const name = (p: ProcessIdentity): string | undefined => {
  const o = m.classify(p);
  return o === undefined ? undefined : `${o.cls.name}${o.excluded ? ' (excluded)' : ''}`;
};

test('the first matching class wins; every field given must match, any value within a field', () => {
  assert.equal(name(proc({ comm: 'mysqld', uid: 999 })), 'db');
  assert.equal(name(proc({ comm: 'redis-server', uid: 999 })), 'db');
  assert.equal(name(proc({ comm: 'mysqld', uid: 0 })), 'rest', 'comm alone is not enough when uid is given too');
  assert.equal(name(proc({ comm: 'mysqld', uid: 999, cgroup: '/batch' })), 'db', 'order decides');
  assert.equal(name(proc({ pid: 4242 })), 'pinned');
});

test('a cgroup matches itself and its descendants, not a sibling that shares a prefix', () => {
  assert.equal(name(proc({ cgroup: '/batch' })), 'batch');
  assert.equal(name(proc({ cgroup: '/batch/job-7' })), 'batch');
  assert.equal(name(proc({ cgroup: '/batchy' })), 'rest');
});

test('comm globs: * any run, ? one character, everything else literal', () => {
  assert.equal(name(proc({ comm: 'systemd-journal' })), 'rest (excluded)');
  assert.equal(name(proc({ comm: 'sshd' })), 'rest (excluded)');
  assert.equal(name(proc({ comm: 'sshd2' })), 'rest');
  const dots = new ClassMatcher(parsePolicy('version: 1\nclasses:\n  - name: q\n    match: { comm: ["a.b?"] }\n', 'q.yaml').classes);
  assert.equal(dots.classify(proc({ comm: 'a.bc' }))?.cls.name, 'q');
  assert.equal(dots.classify(proc({ comm: 'axbc' })), undefined, 'a dot is a dot');
  assert.equal(dots.classify(proc({ comm: 'a.b' })), undefined, '? is exactly one character');
});

test('a process no class matches is left alone', () => {
  const only = new ClassMatcher(parsePolicy('version: 1\nclasses:\n  - name: db\n    match: { comm: [mysqld] }\n', 'o.yaml').classes);
  assert.equal(only.classify(proc({ comm: 'bash' })), undefined);
});

test('identities come from /proc/PID/status and /proc/PID/cgroup', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 128 }] });
  sim.mkdir('/sys/fs/cgroup/batch');
  const pid = sim.spawn({ comm: 'redis-server', uid: 999, cgroup: '/batch' });
  const port = new SimKernelPort(sim);
  assert.deepEqual(readIdentity(port, pid), { pid, comm: 'redis-server', uid: 999, cgroup: '/batch', cgroupHierarchy: 'v2' });
});

test('/proc/PID/cgroup of v2, v1 and hybrid hosts', () => {
  assert.deepEqual(parseProcCgroup('0::/system.slice/redis.service\n'), { unified: '/system.slice/redis.service', v1: new Map() });
  const v1 = parseProcCgroup('12:memory:/docker/abc\n3:cpu,cpuacct:/\n1:name=systemd:/init.scope\n');
  assert.equal(v1.unified, undefined);
  assert.equal(v1.v1.get('memory'), '/docker/abc');
  assert.equal(v1.v1.get('cpuacct'), '/');
  assert.equal(v1.v1.get('name=systemd'), '/init.scope');
  assert.equal(parseProcCgroup('1:name=systemd:/user.slice\n0::/user.slice/session-1.scope\n').unified, '/user.slice/session-1.scope');
  assert.throws(() => parseProcCgroup('garbage\n'));
});

test('this host’s own /proc/self/cgroup and status parse, and give an identity', { skip: process.platform !== 'linux' && 'not a Linux host' }, async () => {
  const { readFileSync } = await import('node:fs');
  const cg = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  assert.ok(cg.unified !== undefined || cg.v1.size > 0, 'some hierarchy');
});
