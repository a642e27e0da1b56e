// /sys/devices/system/node/{online,nodeN/cpulist} and the one CPU topology behind every file that names
// CPUs: zoneinfo's pagesets, status's Cpus_allowed, stat's processor, the cpulists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cpuCount, cpuNode, nodeCpus, taskCpu } from '../../../kernel-model/cpu-topology.js';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { parseRangeList, parseStat, parseStatus, parseZoneinfo } from '../../../daemon/kernel-port/procfs-parsers.js';

const errno = (code: string) => (e: unknown) => e instanceof SyscallError && e.errno === code;
const machine = (nodes: number) => new SimKernel({ nodes: Array.from({ length: nodes }, () => ({ memoryMiB: 64 })), seed: 1 });

test('topology: max(2, nodes) CPUs, CPU c on node c % nodes, a task on node n on CPU n', () => {
  for (const nodes of [1, 2, 3, 4, 8]) {
    const cpus = cpuCount(nodes);
    assert.equal(cpus, Math.max(2, nodes));
    const listed = Array.from({ length: nodes }, (_, n) => nodeCpus(n, nodes)).flat().sort((a, b) => a - b);
    assert.deepEqual(listed, Array.from({ length: cpus }, (_, c) => c), 'every CPU on exactly one node');
    for (let n = 0; n < nodes; n++) {
      assert.ok(nodeCpus(n, nodes).every((c) => cpuNode(c, nodes) === n));
      assert.equal(cpuNode(taskCpu(n), nodes), n);
    }
  }
});

test('online and cpulist read as Linux prints them; other paths are ENOENT', () => {
  const one = machine(1);
  assert.equal(one.readFile('/sys/devices/system/node/online'), '0\n');
  assert.equal(one.readFile('/sys/devices/system/node/node0/cpulist'), '0-1\n');
  assert.throws(() => one.readFile('/sys/devices/system/node/node1/cpulist'), errno('ENOENT'));
  const three = machine(3);
  assert.equal(three.readFile('/sys/devices/system/node/online'), '0-2\n');
  assert.deepEqual([0, 1, 2].map((n) => three.readFile(`/sys/devices/system/node/node${n}/cpulist`)), ['0\n', '1\n', '2\n']);
  assert.throws(() => three.readFile('/sys/devices/system/node/node01/cpulist'), errno('ENOENT'));
  assert.throws(() => three.readFile('/sys/devices/system/node/node0/cpumap'), errno('ENOENT'));
  assert.throws(() => three.writeFile('/sys/devices/system/node/online', '0'), errno('EACCES'));
});

test('a task\'s processor maps back to its node through the cpulists; CPU counts agree everywhere', () => {
  for (const nodes of [1, 2, 3]) {
    const k = machine(nodes);
    const cpusOf = Array.from({ length: nodes }, (_, n) => parseRangeList(k.readFile(`/sys/devices/system/node/node${n}/cpulist`)));
    const nodeOf = (cpu: number): number => cpusOf.findIndex((cpus) => cpus.includes(cpu));
    const all = cpusOf.flat().sort((a, b) => a - b);
    assert.deepEqual(parseRangeList(k.readFile('/sys/devices/system/node/online')), Array.from({ length: nodes }, (_, n) => n));
    for (let n = 0; n < nodes; n++) {
      const pid = k.spawn({ node: n });
      assert.equal(nodeOf(parseStat(k.readFile(`/proc/${pid}/stat`)).processor), n, `${nodes} nodes, task on node ${n}`);
      const status = parseStatus(k.readFile(`/proc/${pid}/status`));
      assert.deepEqual(parseRangeList(status.fields.get('Cpus_allowed_list') ?? ''), all);
      k.setNode(pid, nodes - 1 - n);
      assert.equal(nodeOf(parseStat(k.readFile(`/proc/${pid}/stat`)).processor), nodes - 1 - n, 'after setNode');
    }
    for (const zone of parseZoneinfo(k.readFile('/proc/zoneinfo'))) assert.equal(zone.pagesets.length, all.length);
  }
});

test('one and two nodes print what they printed before the topology had one definition', () => {
  const one = machine(1);
  const p1 = one.spawn();
  assert.match(one.readFile(`/proc/${p1}/status`), /^Cpus_allowed:\t3\nCpus_allowed_list:\t0-1\n/m);
  assert.equal(parseStat(one.readFile(`/proc/${p1}/stat`)).processor, 0);
  const two = machine(2);
  const p2 = two.spawn({ node: 1 });
  assert.match(two.readFile(`/proc/${p2}/status`), /^Cpus_allowed:\t3\nCpus_allowed_list:\t0-1\n/m);
  assert.equal(parseStat(two.readFile(`/proc/${p2}/stat`)).processor, 1);
  assert.equal(parseZoneinfo(two.readFile('/proc/zoneinfo'))[0].pagesets.length, 2);
});

test('this machine\'s node files parse as range lists', (t) => {
  if (!existsSync('/sys/devices/system/node/online')) {
    t.skip('no /sys/devices/system/node on this machine (not Linux, or a kernel without CONFIG_NUMA)');
    return;
  }
  const online = parseRangeList(readFileSync('/sys/devices/system/node/online', 'utf8'));
  assert.ok(online.includes(0));
  for (const n of online) {
    const cpus = parseRangeList(readFileSync(`/sys/devices/system/node/node${n}/cpulist`, 'utf8'));
    assert.ok(cpus.every((c) => Number.isInteger(c) && c >= 0));
  }
});
