// The syscall thread on calls any host can make (sysfs-style writes to files of a temporary directory):
// started on the first call only, calls completed in the order made, errors as KernelPortErrors with the
// errno, a call unsubscribed before its reply dropped without harm, and nothing after `terminate`.
// The real syscalls through it are tested against the kernel in test/real-kernel/linux-port.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, merge, toArray, map } from 'rxjs';
import { KernelPortError } from '../../../../daemon/kernel-port/kernel-port.js';
import { SyscallThread } from '../../../../daemon/kernel-port/linux/syscall-thread.js';

test('the syscall thread: lazy start, order, errno, terminate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-thread-'));
  const thread = new SyscallThread();
  t.after(async () => {
    await thread.terminate();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'f');
  const write = (text: string) => thread.call<number>({ op: 'write', path: file, text });
  assert.equal(thread.started, false);
  const calls = write('first');
  assert.equal(thread.started, false, 'an Observable not subscribed makes no call');
  await firstValueFrom(calls);
  assert.equal(thread.started, true);
  assert.equal(readFileSync(file, 'utf8'), 'first');

  const order = await lastValueFrom(merge(...['a', 'b', 'c', 'd'].map((s) => write(s).pipe(map(() => s)))).pipe(toArray()));
  assert.deepEqual(order, ['a', 'b', 'c', 'd']);
  assert.equal(readFileSync(file, 'utf8'), 'd', 'written in the order asked');

  await assert.rejects(firstValueFrom(thread.call({ op: 'write', path: join(dir, 'no/such/dir'), text: 'x' })), (e) => e instanceof KernelPortError && e.errno === 'ENOENT' && e.call === 'write');

  // Unsubscribed before the reply: the write still happens (it cannot be taken back), nothing is emitted.
  const dropped = write('dropped').subscribe({ next: () => assert.fail('emitted after unsubscribe') });
  dropped.unsubscribe();
  await firstValueFrom(write('after'));
  assert.equal(readFileSync(file, 'utf8'), 'after');

  await thread.terminate();
  assert.equal(thread.started, false);
  await assert.rejects(firstValueFrom(write('late')), (e) => e instanceof KernelPortError && e.errno === 'EBADF');
});

test('an idle syscall thread is ended, and the next call starts another', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-thread-'));
  const thread = new SyscallThread(20);
  t.after(async () => {
    await thread.terminate();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'f');
  await firstValueFrom(thread.call<number>({ op: 'write', path: file, text: 'one' }));
  assert.equal(thread.started, true);
  const deadline = Date.now() + 5000;
  while (thread.started && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(thread.started, false, 'ended once idle');
  await firstValueFrom(thread.call<number>({ op: 'write', path: file, text: 'two' }));
  assert.equal(readFileSync(file, 'utf8'), 'two');
});
