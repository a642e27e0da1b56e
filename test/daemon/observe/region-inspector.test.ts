// The region inspector on the simulated kernel, through the daemon's own port: what pagemap, kpageflags
// and zoneinfo say of a region after faults, collapse, fork, swap-out, zero-page reads and KSM merging,
// what reading them costs, and the errors of a process that is gone; then once on this machine's kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { SimKernel, type SimKernelConfig } from '../../../kernel-model/index.js';
import type { RegionFacts } from '../../../daemon/decide/candidate.js';
import { KernelPortError } from '../../../daemon/kernel-port/kernel-port.js';
import { parseMaps, parseRangeList } from '../../../daemon/kernel-port/procfs-parsers.js';
import { RegionInspector, fingerprint } from '../../../daemon/observe/region-inspector.js';
import { SimKernelPort } from '../../../sim/kernel-port/sim-kernel-port.js';
import { hostFilePort } from '../../support/host-port.js';

const MiB = 1 << 20;
const H = 2 * MiB;
const PAGE = 4096;

/** The simulated port, recording every file the daemon reads. */
class RecordingPort extends SimKernelPort {
  readonly binaryReads: { path: string; offset: number; length: number }[] = [];
  readonly fileReads: string[] = [];

  override readBinary(path: string, offset: number, length: number): Uint8Array {
    this.binaryReads.push({ path, offset, length });
    return super.readBinary(path, offset, length);
  }

  override readFile(path: string): string {
    this.fileReads.push(path);
    return super.readFile(path);
  }
}

function setup(config: SimKernelConfig = { nodes: [{ memoryMiB: 256 }] }) {
  const sim = new SimKernel({ swapMiB: 64, seed: 7, ...config });
  const port = new RecordingPort(sim);
  return { sim, port, inspector: new RegionInspector(port) };
}

/** A 2 MiB-aligned anonymous mapping of `regions` regions in a new process. */
function mapped(sim: SimKernel, regions: number, node = 0): { pid: number; a: number } {
  const pid = sim.spawn({ comm: 'app', node });
  return { pid, a: sim.mmap(pid, regions * H, { align: H }) };
}

const facts = (f: Partial<RegionFacts> & { nodePages: number[] }): RegionFacts => ({ present: 0, none: 512, swapped: 0, shared: 0, huge: false, ...f });

test('a region faulted with 4 KiB pages: 512 present, none missing, not huge, all on the process\'s node', () => {
  const { sim, port, inspector } = setup();
  const { pid, a } = mapped(sim, 2);
  sim.touch(pid, a, H);
  assert.deepEqual(inspector.inspect(pid, [a, a + H]), [
    facts({ present: 512, none: 0, nodePages: [512] }),
    facts({ nodePages: [0] }),
  ]);
  const pagemap = port.binaryReads.filter((r) => r.path === `/proc/${pid}/pagemap`);
  assert.deepEqual(pagemap.map((r) => [r.offset, r.length]), [[(a / PAGE) * 8, 4096], [((a + H) / PAGE) * 8, 4096]], 'one 4 KiB pagemap read per region');
  const flags = port.binaryReads.filter((r) => r.path === '/proc/kpageflags');
  assert.deepEqual(flags.map((r) => r.length), [8], 'no KSM in the process: the first present page\'s flags only');
});

test('a half-faulted region has 256 pages none', () => {
  const { sim, inspector } = setup();
  const { pid, a } = mapped(sim, 1);
  sim.touch(pid, a, H / 2);
  assert.deepEqual(inspector.inspect(pid, [a]), [facts({ present: 256, none: 256, nodePages: [256] })]);
});

test('after MADV_COLLAPSE the region is huge, read with one pagemap and one 8-byte kpageflags read', () => {
  const { sim, port, inspector } = setup();
  const { pid, a } = mapped(sim, 1);
  sim.touch(pid, a, H / 2);
  const before = inspector.inspect(pid, [a])[0];
  sim.madvise(pid, a, H, 'MADV_COLLAPSE');
  port.binaryReads.length = 0;
  const after = inspector.inspect(pid, [a])[0];
  assert.deepEqual(after, facts({ present: 512, none: 0, huge: true, nodePages: [512] }));
  assert.deepEqual(port.binaryReads.map((r) => [r.path, r.length]), [[`/proc/${pid}/pagemap`, 4096], ['/proc/kpageflags', 8]]);
  assert.notEqual(fingerprint(after), fingerprint(before), 'the collapse changed the residency');
});

test('after fork every present page is shared, 4 KiB pages and a THP alike', () => {
  const { sim, inspector } = setup();
  const { pid, a } = mapped(sim, 2);
  sim.touch(pid, a, 2 * H);
  sim.madvise(pid, a + H, H, 'MADV_COLLAPSE');
  const child = sim.fork(pid);
  const expected = [facts({ present: 512, none: 0, shared: 512, nodePages: [512] }), facts({ present: 512, none: 0, shared: 512, huge: true, nodePages: [512] })];
  assert.deepEqual(inspector.inspect(pid, [a, a + H]), expected);
  assert.deepEqual(inspector.inspect(child, [a, a + H]), expected);
  sim.touch(child, a, 16 * PAGE);
  assert.equal(inspector.inspect(pid, [a])[0].shared, 512 - 16, 'the child\'s writes gave both their own copies');
});

test('swapped-out pages are counted as swapped, neither present nor none', () => {
  const { sim, inspector } = setup();
  const { pid, a } = mapped(sim, 1);
  sim.touch(pid, a, H);
  sim.madvise(pid, a, H / 4, 'MADV_PAGEOUT');
  const f = inspector.inspect(pid, [a])[0];
  assert.deepEqual(f, facts({ present: 384, none: 0, swapped: 128, nodePages: [384] }));
});

test('zero pages are shared; the huge zero page is huge, as Linux\'s kpageflags shows it', () => {
  const { sim, inspector } = setup();
  const { pid, a } = mapped(sim, 2);
  sim.touch(pid, a, H, { write: false });
  sim.madvise(pid, a + H, H, 'MADV_HUGEPAGE');
  sim.touch(pid, a + H, H, { write: false });
  assert.deepEqual(inspector.inspect(pid, [a, a + H]), [
    facts({ present: 512, none: 0, shared: 512, nodePages: [512] }),
    facts({ present: 512, none: 0, shared: 512, huge: true, nodePages: [512] }),
  ]);
});

test('KSM pages mapped only once are still shared: kpageflags tells them from private pages', () => {
  const { sim, port, inspector } = setup({ nodes: [{ memoryMiB: 512 }] });
  sim.writeFile('/sys/kernel/mm/ksm/pages_to_scan', '100000');
  sim.writeFile('/sys/kernel/mm/ksm/sleep_millisecs', '100');
  const mine = mapped(sim, 1);
  const twin = mapped(sim, 1);
  for (const { pid, a } of [mine, twin]) {
    // Pages 0–255 alike in both processes, 256–511 each their own.
    for (let i = 0; i < 256; i++) sim.touch(pid, a + i * PAGE, PAGE, { fill: 5000 + i });
    sim.touch(pid, a + H / 2, H / 2);
    sim.madvise(pid, a, H, 'MADV_MERGEABLE');
  }
  sim.writeFile('/sys/kernel/mm/ksm/run', '1');
  sim.advance(3000);
  sim.writeFile('/sys/kernel/mm/ksm/run', '0');
  assert.ok(Number(sim.readFile(`/proc/${mine.pid}/ksm_merging_pages`)) >= 256, 'ksmd merged the alike pages');
  assert.equal(inspector.inspect(mine.pid, [mine.a])[0].shared, 256, 'each KSM page mapped by both');
  sim.exit(twin.pid);
  port.binaryReads.length = 0;
  const f = inspector.inspect(mine.pid, [mine.a])[0];
  assert.deepEqual(f, facts({ present: 512, none: 0, shared: 256, nodePages: [512] }));
  const flags = port.binaryReads.filter((r) => r.path === '/proc/kpageflags');
  assert.ok(flags.length >= 2 && flags.every((r) => r.length <= 4096), `kpageflags read in runs: ${JSON.stringify(flags)}`);
});

test('beyond the caller\'s shared limit the KSM bits are not read: shared is then pagemap\'s lower bound', () => {
  const { sim, port, inspector } = setup({ nodes: [{ memoryMiB: 512 }] });
  sim.writeFile('/sys/kernel/mm/ksm/pages_to_scan', '100000');
  sim.writeFile('/sys/kernel/mm/ksm/sleep_millisecs', '100');
  const [mine, twin, third] = [mapped(sim, 1), mapped(sim, 1), mapped(sim, 1)];
  // Pages 0–127 alike in mine and twin, 128–255 alike in mine and third, the rest each their own. Once
  // third exits, mine maps 128 KSM pages with twin (not exclusive: pagemap shows them) and 128 alone
  // (exclusive: only kpageflags tells them).
  for (const { pid, a } of [mine, twin, third]) {
    sim.touch(pid, a, H);
    sim.madvise(pid, a, H, 'MADV_MERGEABLE');
  }
  for (let i = 0; i < 128; i++) for (const { pid, a } of [mine, twin]) sim.touch(pid, a + i * PAGE, PAGE, { fill: 7000 + i });
  for (let i = 128; i < 256; i++) for (const { pid, a } of [mine, third]) sim.touch(pid, a + i * PAGE, PAGE, { fill: 8000 + i });
  sim.writeFile('/sys/kernel/mm/ksm/run', '1');
  sim.advance(3000);
  sim.writeFile('/sys/kernel/mm/ksm/run', '0');
  sim.exit(third.pid);
  assert.equal(inspector.inspect(mine.pid, [mine.a])[0].shared, 256, 'no limit: exact');
  port.binaryReads.length = 0;
  assert.equal(inspector.inspect(mine.pid, [mine.a], 0)[0].shared, 128, 'more than 0 is enough to know: the lower bound');
  assert.deepEqual(port.binaryReads.filter((r) => r.path === '/proc/kpageflags').map((r) => r.length), [8], 'only the first frame, for a THP head');
  assert.equal(inspector.inspect(mine.pid, [mine.a], 128)[0].shared, 256, 'within the limit: exact');
});

test('on two nodes, the pages of a process on node 1 count on node 1; the zone table is read once', () => {
  const { sim, port, inspector } = setup({ nodes: [{ memoryMiB: 128 }, { memoryMiB: 128 }] });
  const { pid, a } = mapped(sim, 2, 1);
  sim.touch(pid, a, 2 * H);
  sim.mbind(pid, a + H, H, 'bind', [0]);
  sim.madvise(pid, a + H, H, 'MADV_DONTNEED');
  sim.touch(pid, a + H, H / 2);
  assert.equal(inspector.nodeCount, 2);
  assert.deepEqual(inspector.inspect(pid, [a, a + H]), [
    facts({ present: 512, none: 0, nodePages: [0, 512] }),
    facts({ present: 256, none: 256, nodePages: [256, 0] }),
  ]);
  inspector.inspect(pid, [a]);
  assert.equal(port.fileReads.filter((p) => p === '/proc/zoneinfo').length, 1);
  inspector.refreshTopology();
  assert.equal(port.fileReads.filter((p) => p === '/proc/zoneinfo').length, 2);
});

test('a process that has exited: KernelPortError ESRCH; a misaligned region is a RangeError', () => {
  const { sim, inspector } = setup();
  const { pid, a } = mapped(sim, 1);
  sim.touch(pid, a, H);
  assert.throws(() => inspector.inspect(pid, [a + PAGE]), RangeError);
  sim.exit(pid);
  assert.throws(() => inspector.inspect(pid, [a]), (e: unknown) => e instanceof KernelPortError && e.errno === 'ESRCH' && e.call === 'pread');
});

test('fingerprint: the same residency gives the same string, any change a different one', () => {
  const base = facts({ present: 300, none: 200, swapped: 12, shared: 4, nodePages: [300] });
  assert.equal(fingerprint(base), fingerprint({ ...base, nodePages: [100, 200] }), 'placement is not residency');
  const changed: RegionFacts[] = [
    { ...base, present: 301, none: 199 }, { ...base, swapped: 13, none: 199 }, { ...base, shared: 5 }, { ...base, huge: true },
  ];
  for (const c of changed) assert.notEqual(fingerprint(c), fingerprint(base), JSON.stringify(c));
});

test('on this machine\'s kernel: the test process\'s own anonymous regions add up', (t) => {
  if (!existsSync('/proc/self/pagemap') || !existsSync('/proc/kpageflags')) {
    t.skip('no /proc/self/pagemap or /proc/kpageflags here (not Linux, or /proc not mounted)');
    return;
  }
  if (process.getuid?.() !== 0) {
    t.skip('not root: kpageflags and the PFNs in pagemap need CAP_SYS_ADMIN');
    return;
  }
  const ballast = new Uint8Array(32 * MiB).fill(1);
  const regions = parseMaps(readFileSync('/proc/self/maps', 'utf8'))
    .filter((v) => v.name === '' && v.perms === 'rw-p')
    .flatMap((v) => {
      const out: number[] = [];
      for (let r = Math.ceil(v.start / H) * H; r + H <= v.end; r += H) out.push(r);
      return out;
    })
    .slice(0, 64);
  assert.ok(regions.length > 0, 'the ballast alone spans whole 2 MiB regions');
  const inspector = new RegionInspector(hostFilePort());
  const online = parseRangeList(readFileSync('/sys/devices/system/node/online', 'utf8'));
  const all = inspector.inspect(process.pid, regions);
  for (const f of all) {
    assert.equal(f.present + f.none + f.swapped, 512);
    assert.ok(f.shared <= f.present);
    assert.equal(f.nodePages.length, Math.max(...online) + 1);
    assert.equal(f.nodePages.reduce((s, n) => s + n, 0), f.present, 'every present frame is in a zone of zoneinfo');
  }
  assert.ok(all.some((f) => f.present > 0), `the ballast's ${ballast.length} written bytes are resident somewhere`);
});
