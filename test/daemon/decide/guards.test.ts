// Guards from what the kernel shows: free 2 MiB blocks and free memory per node, memory pressure and
// compaction stalls machine-wide, cgroup headroom — on the simulated kernel, and on canned files for the
// readings a test machine does not easily produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../../kernel-model/index.js';
import { parsePolicy } from '../../../daemon/config/policy.js';
import { Guards } from '../../../daemon/decide/guards.js';
import { KernelPortError, type KernelPort } from '../../../daemon/kernel-port/kernel-port.js';
import { SimKernelPort } from '../../../sim/kernel-port/sim-kernel-port.js';

const MiB = 1 << 20;
const guardsOf = (yaml: string): ReturnType<typeof parsePolicy>['guards'] => parsePolicy(`version: 1\nclasses:\n  - name: all\n    match: {}\n${yaml}`, 'p.yaml').guards;

test('a node short of free 2 MiB blocks, or of free memory, is blocked; the other is not', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }] });
  const port = new SimKernelPort(sim);
  const hog = sim.spawn({ comm: 'hog' });
  sim.setMempolicy(hog, 'bind', [0]);
  const a = sim.mmap(hog, 200 * MiB);
  sim.touch(hog, a, 200 * MiB, { write: true });
  const g = new Guards(guardsOf('guards:\n  minFreeHugePagesPerNode: 32\n'), port);
  g.read(0);
  const [n0, n1] = g.readings;
  assert.ok(n0.freeHugeBlocks < 32 && n1.freeHugeBlocks > 100, JSON.stringify(g.readings));
  assert.equal(g.nodeBlock(0), 'few-free-huge-pages');
  assert.equal(g.nodeBlock(1), undefined);
  g.reconfigure(guardsOf('guards:\n  minFreeHugePagesPerNode: 0\n  minFreeMemory: 50%\n'));
  assert.equal(g.nodeBlock(0), 'little-free-memory');
  assert.equal(g.globalBlock, undefined);
});

test('clean page cache counts as available: a node full of it is not blocked, one full of anonymous memory is', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }] });
  const port = new SimKernelPort(sim);
  sim.pageCacheAdd(0, (220 * MiB) / 4096);
  const hog = sim.spawn({ comm: 'hog' });
  sim.setMempolicy(hog, 'bind', [1]);
  const a = sim.mmap(hog, 220 * MiB);
  sim.touch(hog, a, 220 * MiB, { write: true });
  const g = new Guards(guardsOf('guards:\n  minFreeMemory: 20%\n'), port);
  g.read(0);
  const [n0, n1] = g.readings;
  assert.ok(n0.memFreeKb < 0.2 * n0.memTotalKb && n0.memAvailableKb > 0.8 * n0.memTotalKb, JSON.stringify(n0));
  assert.equal(g.nodeBlock(0), undefined);
  assert.ok(n1.memAvailableKb < 0.2 * n1.memTotalKb, JSON.stringify(n1));
  assert.equal(g.nodeBlock(1), 'little-free-memory');
});

test('a cgroup near its memory.max has no headroom; one without a limit, or gone, always has', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 512 }] });
  const port = new SimKernelPort(sim);
  sim.mkdir('/sys/fs/cgroup/lim');
  sim.writeFile('/sys/fs/cgroup/lim/memory.max', String(64 * MiB));
  const p = sim.spawn({ comm: 'db', cgroup: '/lim' });
  const a = sim.mmap(p, 60 * MiB);
  const g = new Guards(guardsOf(''), port);
  sim.touch(p, a, 40 * MiB, { write: true });
  assert.equal(g.cgroupHasHeadroom('/lim'), true);
  sim.touch(p, a, 60 * MiB, { write: true });
  assert.equal(g.cgroupHasHeadroom('/lim'), false, '4 MiB left of 64 is under 10%');
  assert.equal(g.cgroupHasHeadroom('/'), true);
  assert.equal(g.cgroupHasHeadroom('/nowhere'), true);
});

/** A port that serves canned files (only readFile is used by Guards). */
function cannedPort(files: Map<string, string>): KernelPort {
  return {
    readFile: (path: string) => {
      const text = files.get(path);
      if (text === undefined) throw new KernelPortError('ENOENT', 'read', path);
      return text;
    },
  } as unknown as KernelPort;
}

test('memory pressure and the compaction stall rate stop everything while they are high', () => {
  const files = new Map([
    ['/proc/buddyinfo', 'Node 0, zone   Normal    0 0 0 0 0 0 0 0 0 100 10\n'],
    ['/sys/devices/system/node/node0/meminfo', 'Node 0 MemTotal:  1048576 kB\nNode 0 MemFree:  524288 kB\n'],
    ['/proc/pressure/memory', 'some avg10=2.00 avg60=1.00 avg300=0.50 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n'],
    ['/proc/vmstat', 'compact_stall 100\n'],
  ]);
  const g = new Guards(guardsOf(''), cannedPort(files));
  g.read(0);
  assert.equal(g.readings[0].freeHugeBlocks, 120, 'order-10 blocks count twice');
  assert.equal(g.globalBlock, undefined, 'the first reading has no rate yet');
  files.set('/proc/vmstat', 'compact_stall 150\n');
  g.read(2000);
  assert.equal(g.globalBlock, 'compaction-stalls', '25 stalls/s over the limit of 10');
  files.set('/proc/vmstat', 'compact_stall 155\n');
  g.read(3000);
  assert.equal(g.globalBlock, undefined);
  files.set('/proc/pressure/memory', 'some avg10=12.50 avg60=1.00 avg300=0.50 total=999\n');
  g.read(4000);
  assert.equal(g.globalBlock, 'memory-pressure');
});

test('the daemon\'s own collapse attempts are taken off the compaction stall rate', () => {
  const files = new Map([
    ['/proc/buddyinfo', 'Node 0, zone   Normal    0 0 0 0 0 0 0 0 0 100 10\n'],
    ['/sys/devices/system/node/node0/meminfo', 'Node 0 MemTotal:  1048576 kB\nNode 0 MemFree:  524288 kB\n'],
    ['/proc/pressure/memory', 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n'],
    ['/proc/vmstat', 'compact_stall 100\n'],
  ]);
  const g = new Guards(guardsOf(''), cannedPort(files));
  g.read(0);
  // 50 stalls in 2 s, 40 of which the daemon's own 40 attempts may have caused: 5/s from others.
  files.set('/proc/vmstat', 'compact_stall 150\n');
  g.read(2000, 40);
  assert.equal(g.globalBlock, undefined);
  // 50 more with only 10 attempts: 20/s from others, over the limit.
  files.set('/proc/vmstat', 'compact_stall 200\n');
  g.read(4000, 10);
  assert.equal(g.globalBlock, 'compaction-stalls');
});
