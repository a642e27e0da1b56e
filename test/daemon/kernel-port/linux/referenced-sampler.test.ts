// The clear_refs/Referenced sampler: on a fake procfs (windows, scaling, ages, errors), and on the real
// kernel, where a child touching one region and not another must show them apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KernelPortError, type AccessRegion } from '../../../../daemon/kernel-port/kernel-port.js';
import { DAMON_DEFAULT_ATTRS } from '../../../../daemon/kernel-port/linux/access-sampler.js';
import { HostFileAccess } from '../../../../daemon/kernel-port/linux/file-access.js';
import { ReferencedSampler, referencedToAccesses } from '../../../../daemon/kernel-port/linux/referenced-sampler.js';
import { accessRateOf } from '../../../../daemon/observe/hot-map.js';
import { FakeDamonFiles } from '../../../support/fake-damon-files.js';
import { cannotRunLinuxPortTests, startTouchChild } from '../../../support/touch-child.js';

const attrs = { ...DAMON_DEFAULT_ATTRS, sampleIntervalMs: 20, aggrIntervalMs: 2000 };
const S = attrs.aggrIntervalMs / attrs.sampleIntervalMs;

/** smaps text of VMAs given as [start, end, referenced kB]. */
function smaps(vmas: [number, number, number][]): string {
  return vmas
    .map(([s, e, ref]) => `${s.toString(16)}-${e.toString(16)} rw-p 00000000 00:00 0 \nSize: ${(e - s) / 1024} kB\nRss: ${(e - s) / 1024} kB\nReferenced: ${ref} kB\nAnonymous: ${(e - s) / 1024} kB\nVmFlags: rd wr mr mw me ac \n`)
    .join('');
}

test('the scaling gives what DAMON would count, and hot-map.ts reads the page rate back from it', () => {
  for (const rate of [0.1, 0.5, 2, 10]) {
    const windowMs = 2500;
    const f = 1 - Math.exp((-rate * windowMs) / 1000);
    const n = referencedToAccesses(f, windowMs, attrs);
    // 1e-6: at 10/s, 1 − f is 1e-11 and keeps only a few digits.
    assert.ok(Math.abs(accessRateOf(n, attrs) - rate) / rate < 1e-6, `rate ${rate}/s: read back ${accessRateOf(n, attrs)}`);
  }
  assert.equal(referencedToAccesses(0, 2000, attrs), 0);
  assert.equal(referencedToAccesses(1, 2000, attrs), S);
});

test('clear_refs sampler on a fake procfs: a window per aggregation, nrAccesses per VMA, DAMON\'s ages, errors', (t) => {
  const files = new FakeDamonFiles({ damon: false });
  t.after(() => files.remove());
  let now = 1000;
  const sampler = new ReferencedSampler(files, () => now);
  files.spawn(7);
  const hot: [number, number] = [0x40000000, 0x40000000 + 8 * 0x200000];
  const cold: [number, number] = [0x50000000, 0x50000000 + 4 * 0x200000];
  files.put('/proc/7/smaps', smaps([[...hot, 16384], [...cold, 0]]));
  sampler.start(7, attrs);
  assert.deepEqual(files.writes, [['/proc/7/clear_refs', '1']], 'the accessed bits are cleared at the start');
  assert.throws(() => sampler.start(7, attrs), (e) => e instanceof KernelPortError && e.errno === 'EBUSY');
  now += 1000;
  assert.deepEqual(sampler.regions(7), [], 'no aggregation complete yet');
  assert.equal(files.writes.length, 1);
  now += 1000;
  const first = sampler.regions(7);
  assert.deepEqual(first, [
    { start: hot[0], end: hot[1], nrAccesses: S, age: 0 },
    { start: cold[0], end: cold[1], nrAccesses: 0, age: 0 },
  ]);
  assert.equal(files.writes.length, 2, 'cleared again for the next window');
  assert.deepEqual(sampler.regions(7), first, 'within the window, the last aggregation again');
  now += 2000;
  files.put('/proc/7/smaps', smaps([[...hot, 16384], [...cold, 8192]]));
  const second = sampler.regions(7);
  assert.equal(second[0].age, 1, 'same count: a year older');
  assert.deepEqual([second[1].nrAccesses, second[1].age], [S, 0], 'the cold VMA turned hot: age starts again');
  now += 2000;
  files.put('/proc/7/smaps', smaps([[...hot, 16384], [...cold, 4096]]));
  const third = sampler.regions(7);
  assert.ok(third[1].nrAccesses > 0 && third[1].nrAccesses < 1, `half its pages in a window: ${third[1].nrAccesses}`);
  assert.equal(third[1].age, 0, 'a fall of more than a tenth of the checks: age starts again');
  sampler.stop(7);
  assert.throws(() => sampler.regions(7), (e) => e instanceof KernelPortError && e.errno === 'EINVAL');
  sampler.start(7, attrs);
  files.exit(7);
  now += 2000;
  assert.throws(() => sampler.regions(7), (e) => e instanceof KernelPortError && e.errno === 'ENOENT');
  assert.throws(() => sampler.start(8, attrs), (e) => e instanceof KernelPortError && e.errno === 'ENOENT');
});

test('clear_refs sampler on the real kernel: a child\'s touched region reads hotter than its untouched one', async (t) => {
  const why = cannotRunLinuxPortTests();
  if (why) return t.skip(why);
  const child = await startTouchChild(16, 16);
  t.after(() => child.stop());
  const clock = { now: 0 };
  const sampler = new ReferencedSampler(new HostFileAccess(), () => clock.now);
  sampler.start(child.pid, attrs);
  // The window is measured on the sampler's clock; the child touches its hot region every 50 ms of real time.
  await sleep(attrs.aggrIntervalMs);
  clock.now += attrs.aggrIntervalMs;
  const regions = sampler.regions(child.pid);
  const at = (addr: number): AccessRegion | undefined => regions.find((r) => r.start <= addr && addr < r.end);
  const hot = at(child.hot);
  const cold = at(child.cold);
  assert.ok(hot && cold, 'both regions are reported');
  assert.equal(hot.end - hot.start, child.hotBytes, 'a VMA is a region');
  assert.ok(hot.nrAccesses > S / 2, `hot: ${hot.nrAccesses} of ${S}`);
  assert.ok(cold.nrAccesses < hot.nrAccesses / 10, `cold ${cold.nrAccesses} vs hot ${hot.nrAccesses}`);
  await sampler.close();
});
