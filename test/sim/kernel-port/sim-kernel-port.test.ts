// The daemon's kernel port over the simulated kernel: files and syscalls as the daemon's own process,
// errno names in KernelPortError, and virtual time that moves the machine before each timer fires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, timer } from 'rxjs';
import { SimKernel } from '../../../kernel-model/index.js';
import { KernelPortError } from '../../../daemon/kernel-port/kernel-port.js';
import { SimKernelPort } from '../../../sim/kernel-port/sim-kernel-port.js';

const MiB = 1 << 20;

/** Runs the port's virtual time until `p` settles (at most `limitMs`), and returns its value. */
async function settle<T>(port: SimKernelPort, p: Promise<T>, limitMs = 60_000): Promise<T> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let t = port.clock.now(); !done && t <= limitMs; t += 1) {
    port.scheduler.runUntil(t);
    await Promise.resolve();
  }
  return p;
}

test('reads and writes go through the daemon’s own process; errors carry the errno name', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 256 }] });
  const port = new SimKernelPort(sim);
  assert.ok(port.listPids().includes(port.pid));
  assert.match(port.readFile(`/proc/${port.pid}/status`), /^Name:\s+uhugepaged$/m);
  assert.match(port.readFile('/sys/kernel/mm/transparent_hugepage/enabled'), /\[/);
  assert.throws(() => port.readFile('/proc/nope'), (e: unknown) => e instanceof KernelPortError && e.errno === 'ENOENT' && e.call === 'read');
  const pid = sim.spawn({ comm: 'victim' });
  sim.exit(pid);
  assert.throws(() => port.pidfdOpen(pid), (e: unknown) => e instanceof KernelPortError && e.errno === 'ESRCH' && e.call === 'pidfd_open');
});

test('virtual time moves the machine to each timer’s time before the timer fires', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 128 }] });
  const port = new SimKernelPort(sim);
  const start = sim.now();
  const seen: number[] = [];
  const sub = timer(0, 1500, port.scheduler).subscribe(() => seen.push(sim.now() - start));
  port.scheduler.runUntil(4000);
  sub.unsubscribe();
  port.scheduler.runUntil(10_000);
  assert.deepEqual(seen, [0, 1500, 3000], 'each tick saw the machine at its own time, and none after unsubscribing');
  assert.throws(() => port.scheduler.flush(), /runUntil/);
  assert.equal(sim.now() - start, 10_000, 'the machine ends at the time asked for');
  assert.equal(port.clock.now(), 10_000);
});

test('process_madvise(MADV_COLLAPSE) collapses the range and completes after the simulated work it cost', async () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 512 }] });
  const port = new SimKernelPort(sim);
  const target = sim.spawn({ comm: 'db' });
  const a = sim.mmap(target, 8 * MiB, { align: 2 * MiB });
  sim.touch(target, a, 8 * MiB, { write: true });
  const fd = port.pidfdOpen(target);
  const result = await settle(port, firstValueFrom(port.processMadvise(fd, [{ base: a, len: 8 * MiB }], 'MADV_COLLAPSE')));
  assert.equal(result.bytes, 8 * MiB);
  assert.ok(result.latencyMs > 0, `latency ${result.latencyMs}`);
  assert.ok(port.clock.now() >= Math.floor(result.latencyMs), 'the call returned after its simulated duration');
  assert.match(port.readFile(`/proc/${target}/smaps_rollup`), /AnonHugePages:\s+8192 kB/);
  port.close(fd);
  sim.exit(target);
  await assert.rejects(
    settle(port, firstValueFrom(port.processMadvise(fd, [{ base: a, len: 2 * MiB }], 'MADV_COLLAPSE'))),
    (e: unknown) => e instanceof KernelPortError && e.errno === 'EBADF',
  );
});
