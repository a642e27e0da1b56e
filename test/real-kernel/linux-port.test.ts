/**
 * The Linux kernel port against the running kernel: its files and errno names, pidfd_open of a child,
 * process_madvise(MADV_COLLAPSE) of the child's written 2 MiB-aligned memory (smaps then shows a
 * PMD-mapped huge page: AnonHugePages 2048 kB), the errors (EINVAL, ESRCH once the child is gone),
 * move_pages, and the syscall thread: a collapse of 256 MiB runs while the event loop keeps turning, and
 * calls complete in the order they were made. Skips, saying why, off Linux, without root or without `cc`
 * (the child is a small C program, test/real-kernel/probes/touch-child.c).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { KernelPortError, type MadviseResult } from '../../daemon/kernel-port/kernel-port.js';
import { LinuxKernelPort } from '../../daemon/kernel-port/linux/linux-kernel-port.js';
import { movePages } from '../../daemon/kernel-port/linux/syscalls.js';
import { parseSmaps } from '../../daemon/kernel-port/procfs-parsers.js';
import { cannotRunLinuxPortTests, startTouchChild, type TouchChild } from '../support/touch-child.js';

const MiB = 1024 * 1024;
const H = 2 * MiB;

/** AnonHugePages (kB) of the child's VMA that holds `addr`. */
function anonHugeKbAt(port: LinuxKernelPort, pid: number, addr: number): number {
  const vma = parseSmaps(port.readFile(`/proc/${pid}/smaps`)).find((v) => v.start <= addr && addr < v.end);
  assert.ok(vma, `no VMA of ${pid} holds ${addr.toString(16)}`);
  return vma.fields.get('AnonHugePages') ?? 0;
}

/** The port with its state directory in a temporary directory; disposed and removed after the test. */
function portFor(t: TestContext): LinuxKernelPort {
  const stateDir = mkdtempSync(join(tmpdir(), 'uhp-state-'));
  const port = new LinuxKernelPort({ stateDir });
  t.after(async () => {
    await port.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });
  return port;
}

/** The port and a child with a hot region of `hotMiB` (its comm uhp-touch), both gone after the test. */
async function portAndChild(t: TestContext, hotMiB: number): Promise<{ port: LinuxKernelPort; child: TouchChild }> {
  const port = portFor(t);
  const child = await startTouchChild(hotMiB, 0);
  t.after(() => child.stop());
  return { port, child };
}

/** A pidfd of the child through the port, closed after the test. */
function pidfdOf(t: TestContext, port: LinuxKernelPort, child: TouchChild): number {
  const pidfd = port.pidfdOpen(child.pid);
  t.after(() => port.close(pidfd));
  return pidfd;
}

/** A collapse, tried again once on EAGAIN (the child's writer held a page at that moment); the error is returned. */
async function collapse(port: LinuxKernelPort, pidfd: number, iov: { base: number; len: number }[]): Promise<MadviseResult | KernelPortError> {
  const once = (): Promise<MadviseResult | KernelPortError> =>
    firstValueFrom(port.processMadvise(pidfd, iov, 'MADV_COLLAPSE')).catch((e: unknown) => {
      if (e instanceof KernelPortError) return e;
      throw e;
    });
  const r = await once();
  return r instanceof KernelPortError && r.errno === 'EAGAIN' ? once() : r;
}

const errno = (name: string) => (e: unknown) => e instanceof KernelPortError && e.errno === name;

test('files: text, binary, pids, and errno names for what is not there', (t) => {
  const why = cannotRunLinuxPortTests();
  if (why) return t.skip(why);
  const port = portFor(t);
  assert.match(port.readFile('/proc/self/status'), /^Name:/);
  assert.ok(port.listPids().includes(process.pid));
  assert.equal(port.readBinary('/proc/self/pagemap', 0, 8).length, 8);
  assert.throws(() => port.readFile('/proc/no-such-file'), errno('ENOENT'));
  assert.throws(() => port.writeFile('/proc/self/status', 'x'), (e) => e instanceof KernelPortError && ['EACCES', 'EIO', 'EINVAL'].includes(e.errno));
  assert.ok(port.selfCpuMs() > 0);
  assert.equal(port.threadStarted, false, 'file calls need no syscall thread');
});

test('process_madvise(MADV_COLLAPSE) through a pidfd makes a PMD-mapped huge page of a child\'s written region', async (t) => {
  const why = cannotRunLinuxPortTests();
  if (why) return t.skip(why);
  const { port, child } = await portAndChild(t, 8);
  const pidfd = pidfdOf(t, port, child);
  assert.ok(pidfd >= 0);
  assert.equal(anonHugeKbAt(port, child.pid, child.hot), 0, 'enabled=madvise and no madvise: small pages to begin with');
  const r = await collapse(port, pidfd, [{ base: child.hot, len: H }]);
  if (r instanceof KernelPortError && r.errno === 'EINVAL') return t.skip('this kernel refuses MADV_COLLAPSE (EINVAL): no THP support');
  if (r instanceof KernelPortError) return assert.fail(`collapse failed: ${r.message}`);
  assert.equal(r.bytes, H);
  assert.ok(r.latencyMs >= 0);
  assert.equal(anonHugeKbAt(port, child.pid, child.hot), 2048);
});

test('process_madvise errors: EINVAL for an unaligned base, advice it does not take, and flags; ESRCH once the child exited', async (t) => {
  const why = cannotRunLinuxPortTests();
  if (why) return t.skip(why);
  const { port, child } = await portAndChild(t, 4);
  const pidfd = pidfdOf(t, port, child);
  await assert.rejects(firstValueFrom(port.processMadvise(pidfd, [{ base: child.hot + 1, len: H }], 'MADV_COLLAPSE')), errno('EINVAL'));
  // process_madvise takes only advice that is safe for another process (not MADV_DONTNEED).
  await assert.rejects(firstValueFrom(port.processMadvise(pidfd, [{ base: child.hot, len: H }], 'MADV_DONTNEED')), errno('EINVAL'));
  await assert.rejects(firstValueFrom(port.processMadvise(pidfd, [{ base: child.hot, len: H }], 'MADV_NO_SUCH')), errno('EINVAL'));
  await child.stop();
  await assert.rejects(firstValueFrom(port.processMadvise(pidfd, [{ base: child.hot, len: H }], 'MADV_COLLAPSE')), errno('ESRCH'));
  assert.throws(() => port.pidfdOpen(child.pid), errno('ESRCH'));
});

test('move_pages: the query shows each page\'s node; a move to the node it is on leaves it there', async (t) => {
  const why = cannotRunLinuxPortTests();
  if (why) return t.skip(why);
  const { port, child } = await portAndChild(t, 2);
  const pages = [child.hot, child.hot + 4096, child.hot + H - 4096];
  const where = movePages(child.pid, pages, null);
  assert.equal(where.length, 3);
  for (const n of where) assert.ok(n >= 0, `a written page is on a node (status ${n})`);
  const moved = await firstValueFrom(port.movePages(child.pid, pages, where));
  assert.deepEqual(moved, where);
  // A page of the child's PROT_NONE gap, mapped but never touched: -ENOENT in its status, not a failed call.
  const [absent] = movePages(child.pid, [child.hot + H + 4096], null);
  assert.equal(absent, -2);
});

test('the syscall thread: the event loop keeps turning during a 256 MiB collapse, and calls complete in order', async (t) => {
  const why = cannotRunLinuxPortTests();
  if (why) return t.skip(why);
  const { port, child } = await portAndChild(t, 256);
  const pidfd = pidfdOf(t, port, child);
  const iov = Array.from({ length: 128 }, (_, i) => ({ base: child.hot + i * H, len: H }));
  const order: string[] = [];
  let turns = 0;
  let done = false;
  const spin = (): void => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  const big = firstValueFrom(port.processMadvise(pidfd, iov, 'MADV_COLLAPSE')).then(
    (r) => {
      order.push('collapse');
      return r.bytes;
    },
    (e: unknown) => {
      order.push('collapse');
      return e;
    },
  );
  const small = firstValueFrom(port.movePages(child.pid, [child.hot], [0])).then(() => order.push('move_pages'));
  const turnsAtCall = turns;
  setImmediate(spin);
  const bytes = await big;
  done = true;
  const turnsDuring = turns - turnsAtCall;
  await small;
  if (bytes instanceof KernelPortError && bytes.errno === 'EINVAL') return t.skip('this kernel refuses MADV_COLLAPSE (EINVAL)');
  assert.equal(typeof bytes, 'number', `collapse failed: ${String(bytes)}`);
  assert.ok((bytes as number) > 0);
  assert.ok(anonHugeKbAt(port, child.pid, child.hot) > 0, 'the call did collapse memory');
  assert.ok(turnsDuring >= 2, `the event loop turned ${turnsDuring} times while the kernel collapsed ${bytes as number} bytes`);
  assert.deepEqual(order, ['collapse', 'move_pages'], 'calls complete in the order they were made');
  await port.dispose();
  assert.equal(port.threadStarted, false, 'dispose ends the thread');
  await assert.rejects(firstValueFrom(port.processMadvise(pidfd, iov, 'MADV_COLLAPSE')), errno('EBADF'));
});
