// Memory cgroups in either hierarchy: the identity says which (the v1 memory controller's path on a v1 or
// hybrid host, the unified path otherwise), and the headroom guard reads that hierarchy's files with the
// same parser — on canned files of both layouts, and on this host's own process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { platform } from 'node:os';
import { VirtualTimeScheduler } from 'rxjs';
import { parsePolicy } from '../../../daemon/config/policy.js';
import { readIdentity } from '../../../daemon/decide/classes.js';
import { Guards } from '../../../daemon/decide/guards.js';
import { KernelPortError } from '../../../daemon/kernel-port/kernel-port.js';
import { parseCgroupLimit } from '../../../daemon/kernel-port/procfs-parsers.js';
import { FakeKernelPort } from '../../support/fake-kernel-port.js';
import { hostFilePort } from '../../support/host-port.js';

const MiB = 1024 * 1024;
const clock = { now: () => 0, scheduler: new VirtualTimeScheduler() };
const guards = (port: FakeKernelPort | ReturnType<typeof hostFilePort>) =>
  new Guards(parsePolicy('version: 1\nclasses:\n  - name: all\n    match: {}\nguards:\n  memcgHeadroom: 10%\n', 'p.yaml').guards, port);

function portWith(cgroupFile: string): FakeKernelPort {
  const port = new FakeKernelPort(clock);
  port.spawn({ pid: 5, comm: 'db' });
  port.files.set('/proc/5/cgroup', cgroupFile);
  return port;
}

test('the identity carries the memory cgroup and its hierarchy: v2, v1, and hybrid (v1 memory beside a unified mount)', () => {
  assert.deepEqual(readIdentity(portWith('0::/batch/job\n'), 5).cgroup, '/batch/job');
  assert.equal(readIdentity(portWith('0::/batch/job\n'), 5).cgroupHierarchy, 'v2');
  const v1 = readIdentity(portWith('5:cpu,cpuacct:/x\n4:memory:/db/main\n1:name=systemd:/y\n'), 5);
  assert.deepEqual([v1.cgroup, v1.cgroupHierarchy], ['/db/main', 'v1']);
  const hybrid = readIdentity(portWith('9:name=systemd:/\n4:memory:/process_api/abc\n0::/\n'), 5);
  assert.deepEqual([hybrid.cgroup, hybrid.cgroupHierarchy], ['/process_api/abc', 'v1'], 'the unified path says nothing of memory here');
  const noMemcg = readIdentity(portWith('3:cpu:/x\n'), 5);
  assert.deepEqual([noMemcg.cgroup, noMemcg.cgroupHierarchy], ['/', 'v2']);
});

test('one parser for both: v2 "max" and v1\'s page-counter maximum are unlimited; byte counts are bytes', () => {
  assert.equal(parseCgroupLimit('max\n'), Infinity);
  assert.equal(parseCgroupLimit('9223372036854771712\n'), Infinity);
  assert.equal(parseCgroupLimit(`${100 * MiB}\n`), 100 * MiB);
});

for (const [hierarchy, dir, limit, usage] of [
  ['v2', '/sys/fs/cgroup/app', 'memory.max', 'memory.current'],
  ['v1', '/sys/fs/cgroup/memory/app', 'memory.limit_in_bytes', 'memory.usage_in_bytes'],
] as const) {
  test(`headroom from ${hierarchy} files (${limit}, ${usage})`, () => {
    const port = new FakeKernelPort(clock);
    port.files.set(`${dir}/${limit}`, `${100 * MiB}\n`);
    port.files.set(`${dir}/${usage}`, `${95 * MiB}\n`);
    assert.equal(guards(port).cgroupHasHeadroom('/app', hierarchy), false, '5% left, 10% asked');
    port.files.set(`${dir}/${usage}`, `${50 * MiB}\n`);
    assert.equal(guards(port).cgroupHasHeadroom('/app', hierarchy), true);
    port.files.set(`${dir}/${limit}`, hierarchy === 'v2' ? 'max\n' : '9223372036854771712\n');
    port.files.set(`${dir}/${usage}`, `${1e6 * MiB}\n`);
    assert.equal(guards(port).cgroupHasHeadroom('/app', hierarchy), true, 'no limit');
    // The other hierarchy's files are not there: no limit the daemon can see.
    assert.equal(guards(port).cgroupHasHeadroom('/app', hierarchy === 'v2' ? 'v1' : 'v2'), true);
  });
}

test('this host: the daemon reads its own process\'s memory cgroup and its limit and usage', (t) => {
  if (platform() !== 'linux') return t.skip(`not Linux (${platform()})`);
  const port = hostFilePort();
  const me = readIdentity(port, process.pid);
  if (me.cgroup === '/') return t.skip('this process is in the root memory cgroup, which has no limit files');
  const dir = me.cgroupHierarchy === 'v1' ? `/sys/fs/cgroup/memory${me.cgroup}` : `/sys/fs/cgroup${me.cgroup}`;
  const [limitFile, usageFile] = me.cgroupHierarchy === 'v1' ? ['memory.limit_in_bytes', 'memory.usage_in_bytes'] : ['memory.max', 'memory.current'];
  let limit: number;
  let usage: number;
  try {
    limit = parseCgroupLimit(port.readFile(`${dir}/${limitFile}`));
    usage = parseCgroupLimit(port.readFile(`${dir}/${usageFile}`));
  } catch (e) {
    if (e instanceof KernelPortError) return t.skip(`this host does not show ${dir}/${limitFile} (${e.errno})`);
    throw e;
  }
  t.diagnostic(`memory cgroup ${me.cgroup} (${me.cgroupHierarchy}): limit ${limit}, usage ${usage}`);
  assert.ok(usage > 0, 'this process uses memory its cgroup is charged for');
  assert.ok(limit > 0);
  const expected = !Number.isFinite(limit) || limit - usage >= 0.1 * limit;
  assert.equal(guards(port).cgroupHasHeadroom(me.cgroup, me.cgroupHierarchy), expected);
});
