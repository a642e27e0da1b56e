/**
 * The workload agent's simulated twin on its own, so that it is checked on every machine (the
 * differential test that pairs it with the C agent runs only as root on Linux): the agent's number
 * syntax, placement of regions, replies to kernel answers and to script mistakes, and the counters a
 * command moved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../kernel-model/index.js';
import { SimAgent } from './sim-agent.js';
import { comparable, parseAgentNumber } from './agent-protocol.js';

const H = 2 << 20;

test('numbers: decimal, hex, K and M suffixes, summed terms', () => {
  assert.equal(parseAgentNumber('512'), 512);
  assert.equal(parseAgentNumber('0x10'), 16);
  assert.equal(parseAgentNumber('2M+4K'), H + 4096);
  assert.equal(parseAgentNumber('2M+-1'), H - 1);
  assert.equal(parseAgentNumber('2G'), undefined);
  assert.equal(parseAgentNumber(''), undefined);
  assert.equal(parseAgentNumber('M'), undefined);
});

test('a region is placed on a 2 MiB boundary, or 4 KiB past one, between guards', () => {
  const k = new SimKernel();
  const a = new SimAgent(k);
  const aligned = Number(a.run('map r 4M aligned').addr);
  const off = Number(a.run('map s 4M').addr);
  assert.equal(aligned % H, 0);
  assert.equal(off % H, 4096);
  // the guards are PROT_NONE: the region is a VMA of its own
  const maps = k.readFile(`/proc/${a.pid}/maps`);
  assert.match(maps, new RegExp(`^${aligned.toString(16)}-${(aligned + 4 * (1 << 20)).toString(16)} rw-p`, 'm'));
});

test('a collapse: its result, the counters it moved, and the report', () => {
  const k = new SimKernel();
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'madvise');
  const a = new SimAgent(k);
  a.run('map r 4M aligned');
  assert.deepEqual(a.run('write r 0 2M'), { cmd: 'write', ret: 0, errno: null, vmstat: {} });
  assert.deepEqual(a.run('madvise r 0 4M MADV_COLLAPSE'), { cmd: 'madvise', ret: -1, errno: 'EINVAL', vmstat: { thp_collapse_alloc: 1 } });
  const report = a.run('report');
  assert.deepEqual(report.regions, { r: { anonHugeKb: 2048, huge: [1, 0] } });
  assert.equal(report.ksm_merging_pages, 0);
  assert.equal(report.ksm_stat?.ksm_rmap_items, 0);
});

test('process_madvise takes named pidfds and repeated iovecs', () => {
  const k = new SimKernel();
  const t = new SimAgent(k);
  const c = new SimAgent(k);
  const r = Number(t.run('map r 2M aligned').addr);
  t.run('write r 0 2M');
  assert.equal(c.run(`pidfd_open t ${t.pid}`).ret, 0);
  const reply = c.run(`process_madvise t MADV_COLLAPSE 0 0x${r.toString(16)}:2M*3`);
  assert.equal(reply.ret, 3 * H);
  assert.equal(c.run(`process_madvise t MADV_COLLAPSE 0 0x${r.toString(16)}:2M*1025`).errno, 'EINVAL');
});

test('script mistakes are usage replies, not kernel answers; incidental fields are not compared', () => {
  const a = new SimAgent(new SimKernel());
  assert.equal(a.run('madvise nowhere 0 4K MADV_DONTNEED').usage, 'CMD NAME OFF LEN ...');
  assert.equal(a.run('frobnicate').usage, 'unknown command');
  assert.equal(a.run('reap').usage, 'no child to reap');
  const fork = a.run('fork');
  assert.equal(typeof fork.pid, 'number');
  assert.equal('pid' in comparable(fork), false);
  assert.equal(a.run('reap').ret, 0);
});
