// A process's home node from its stat's processor and the nodes' cpulists, on the simulated kernel and
// once on this machine's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { SimKernel } from '../../../kernel-model/index.js';
import { KernelPortError, type KernelPort } from '../../../daemon/kernel-port/kernel-port.js';
import { HomeNodes, homeNode } from '../../../daemon/observe/home-node.js';
import { parseRangeList } from '../../../daemon/kernel-port/procfs-parsers.js';
import { SimKernelPort } from '../../../sim/kernel-port/sim-kernel-port.js';
import { hostFilePort } from '../../support/host-port.js';

/** The simulated port, counting reads of the node directory. */
class CountingPort extends SimKernelPort {
  nodeReads = 0;

  override readFile(path: string): string {
    if (path.startsWith('/sys/devices/system/node/')) this.nodeReads++;
    return super.readFile(path);
  }
}

test('a process spawned on node 1 is at home on node 1, and follows setNode', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 64 }, { memoryMiB: 64 }, { memoryMiB: 64 }] });
  const port = new CountingPort(sim);
  const pid = sim.spawn({ comm: 'app', node: 1 });
  assert.equal(homeNode(port, pid), 1);
  sim.setNode(pid, 2);
  assert.equal(homeNode(port, pid), 2);
  assert.equal(homeNode(port, sim.spawn({ node: 0 })), 0);
  assert.equal(port.nodeReads, 4, 'online and three cpulists, read once for the port');
});

test('one node: every CPU is on node 0', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 64 }] });
  const nodes = new HomeNodes(new SimKernelPort(sim));
  assert.equal(nodes.homeNode(sim.spawn()), 0);
  assert.deepEqual([0, 1].map((c) => nodes.nodeOfCpu(c)), [0, 0]);
  assert.equal(nodes.nodeOfCpu(7), undefined, 'a CPU no node lists');
});

test('a kernel without NUMA sysfs puts every CPU on node 0; a process that is gone is the stat read\'s error', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 64 }] });
  const real = new SimKernelPort(sim);
  const noNuma: KernelPort = Object.assign(Object.create(real) as SimKernelPort, {
    readFile: (path: string): string => {
      if (path.startsWith('/sys/devices/system/node/')) throw new KernelPortError('ENOENT', 'read', path);
      return real.readFile(path);
    },
  });
  const pid = sim.spawn();
  assert.equal(homeNode(noNuma, pid), 0);
  assert.equal(new HomeNodes(noNuma).nodeOfCpu(5), 0);
  sim.exit(pid);
  assert.throws(() => homeNode(real, pid), (e: unknown) => e instanceof KernelPortError && e.errno === 'ENOENT');
});

test('on this machine\'s kernel: the test process runs on an online node', (t) => {
  if (!existsSync('/proc/self/stat') || !existsSync('/sys/devices/system/node/online')) {
    t.skip('no /proc/self/stat or /sys/devices/system/node here (not Linux, or a kernel without NUMA)');
    return;
  }
  const node = homeNode(hostFilePort(), process.pid);
  assert.ok(node !== undefined && parseRangeList(readFileSync('/sys/devices/system/node/online', 'utf8')).includes(node), `node ${node}`);
});
