// The simulated kernel's files, read through the public API and parsed back with the daemon's parsers
// (the same ones that read a real kernel): the numbers must agree with what the test made the model do.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel, SyscallError } from '../../kernel-model/index.js';
import {
  parseBuddyinfo, parseChoice, parseKeyValueKb, parsePagetypeinfo, parsePressure, parseSmaps, parseSmapsRollup,
  parseStat, parseStatus, parseVmstat, parseZoneinfo, parseNumaMaps,
} from '../../daemon/kernel-port/procfs-parsers.js';

const MiB = 1 << 20;
const errno = (code: string) => (e: unknown) => e instanceof SyscallError && e.errno === code;

function machine() {
  const k = new SimKernel({ nodes: [{ memoryMiB: 128 }, { memoryMiB: 128 }], swapMiB: 64, seed: 5 });
  const pid = k.spawn({ comm: 'reader', node: 1 });
  const a = k.mmap(pid, 8 * MiB);
  k.madvise(pid, a, 4 * MiB, 'MADV_HUGEPAGE');
  k.touch(pid, a, 8 * MiB);
  return { k, pid, a };
}

describe('machine-wide files', () => {
  test('meminfo, vmstat and node meminfo agree with each other and with what was mapped', () => {
    const { k } = machine();
    const meminfo = parseKeyValueKb(k.readFile('/proc/meminfo'));
    const vmstat = parseVmstat(k.readFile('/proc/vmstat'));
    assert.equal(meminfo.get('MemTotal'), 256 * 1024);
    assert.equal(meminfo.get('AnonHugePages'), 4096);
    assert.equal(meminfo.get('AnonPages'), 8192);
    assert.equal(meminfo.get('MemFree'), vmstat.get('nr_free_pages')! * 4);
    assert.equal(vmstat.get('thp_fault_alloc'), 2);
    assert.equal(meminfo.get('SwapTotal'), 64 * 1024);
    const n0 = parseKeyValueKb(k.readFile('/sys/devices/system/node/node0/meminfo'));
    const n1 = parseKeyValueKb(k.readFile('/sys/devices/system/node/node1/meminfo'));
    assert.equal(n0.get('MemFree')! + n1.get('MemFree')!, meminfo.get('MemFree'));
    assert.equal(n1.get('AnonPages'), 8192, 'the task runs on node 1, so its memory is there');
  });

  test('buddyinfo and pagetypeinfo count the same free blocks', () => {
    const { k } = machine();
    const buddy = parseBuddyinfo(k.readFile('/proc/buddyinfo'));
    const types = parsePagetypeinfo(k.readFile('/proc/pagetypeinfo'));
    assert.equal(buddy.length, 2);
    for (const zone of buddy) {
      const free = zone.free.reduce((s, n, o) => s + n * 2 ** o, 0);
      const vmstatFree = parseKeyValueKb(k.readFile(`/sys/devices/system/node/node${zone.node}/meminfo`)).get('MemFree')! / 4;
      assert.equal(free, vmstatFree);
      const rows = types.free.filter((r) => r.node === zone.node);
      const perOrder = zone.free.map((_, o) => rows.reduce((s, r) => s + r.counts[o], 0));
      assert.deepEqual(perOrder, [...zone.free]);
    }
  });

  test('zoneinfo parses and shows the watermarks in order', () => {
    const { k } = machine();
    const zones = parseZoneinfo(k.readFile('/proc/zoneinfo'));
    assert.equal(zones.length, 2);
    for (const z of zones) {
      const min = z.fields.get('min')!;
      const low = z.fields.get('low')!;
      const high = z.fields.get('high')!;
      assert.ok(min > 0 && min < low && low < high, `min ${min} < low ${low} < high ${high}`);
    }
  });

  test('pressure parses; THP knobs read in choice format', () => {
    const { k } = machine();
    const p = parsePressure(k.readFile('/proc/pressure/memory'));
    assert.equal(p.some.total >= 0, true);
    assert.deepEqual(parseChoice(k.readFile('/sys/kernel/mm/transparent_hugepage/enabled')), { choices: ['always', 'madvise', 'never'], current: 'madvise' });
    assert.equal(parseChoice(k.readFile('/sys/kernel/mm/transparent_hugepage/numa_fault_policy')).current, 'local-first');
  });
});

describe('per-process files', () => {
  test('smaps shows one VMA per madvise split with AnonHugePages only where THPs are', () => {
    const { k, pid, a } = machine();
    const vmas = parseSmaps(k.readFile(`/proc/${pid}/smaps`));
    assert.equal(vmas.length, 2);
    const huge = vmas.find((v) => v.start === a)!;
    const small = vmas.find((v) => v.start === a + 4 * MiB)!;
    assert.equal(huge.fields.get('AnonHugePages'), 4096);
    assert.ok(huge.vmFlags.includes('hg'));
    assert.equal(huge.fields.get('THPeligible'), 1);
    assert.equal(small.fields.get('AnonHugePages'), 0);
    assert.equal(small.fields.get('Rss'), 4096);
    assert.equal(small.fields.get('THPeligible'), 0);
    const rollup = parseSmapsRollup(k.readFile(`/proc/${pid}/smaps_rollup`));
    assert.equal(rollup.fields.get('Rss'), 8192);
    assert.equal(rollup.fields.get('AnonHugePages'), 4096);
  });

  test('after fork, shared pages count as shared and Pss halves', () => {
    const { k, pid } = machine();
    k.fork(pid);
    const rollup = parseSmapsRollup(k.readFile(`/proc/${pid}/smaps_rollup`));
    assert.equal(rollup.fields.get('Rss'), 8192);
    assert.equal(rollup.fields.get('Pss'), 4096);
    assert.equal(rollup.fields.get('Shared_Dirty'), 8192);
  });

  test('status, stat and numa_maps agree with the task', () => {
    const { k, pid } = machine();
    const status = parseStatus(k.readFile(`/proc/${pid}/status`));
    assert.equal(status.name, 'reader');
    assert.equal(status.kb.get('VmRSS'), 8192);
    const stat = parseStat(k.readFile(`/proc/${pid}/stat`));
    assert.equal(stat.comm, 'reader');
    assert.equal(stat.rss, 2048);
    assert.ok(stat.minflt > 0);
    const numa = parseNumaMaps(k.readFile(`/proc/${pid}/numa_maps`));
    assert.equal(numa.reduce((s, v) => s + (v.nodes.get(1) ?? 0), 0), 2048);
  });

  test('reading smaps costs the reader time in proportion to the mapping; status is cheap', () => {
    const { k, pid } = machine();
    const reader = k.spawn({ comm: 'daemon' });
    const t0 = k.cpuTime(reader).stimeMs;
    k.readFile(`/proc/${pid}/status`, { caller: reader });
    const status = k.cpuTime(reader).stimeMs - t0;
    k.readFile(`/proc/${pid}/smaps`, { caller: reader });
    const smaps = k.cpuTime(reader).stimeMs - t0 - status;
    assert.ok(status > 0 && smaps > status, `smaps ${smaps} ms should cost more than status ${status} ms`);
  });

  test('PTRACE_MODE_READ guards smaps: another uid without CAP_SYS_PTRACE gets EACCES', () => {
    const { k, pid } = machine();
    const stranger = k.spawn({ uid: 1000 });
    assert.throws(() => k.readFile(`/proc/${pid}/smaps`, { caller: stranger }), errno('EACCES'));
    assert.doesNotThrow(() => k.readFile(`/proc/${pid}/status`, { caller: stranger }));
  });

  test('clear_refs 1 clears Referenced; a bad value is EINVAL', () => {
    const { k, pid } = machine();
    assert.ok(parseSmapsRollup(k.readFile(`/proc/${pid}/smaps_rollup`)).fields.get('Referenced')! > 0);
    k.writeFile(`/proc/${pid}/clear_refs`, '1\n');
    assert.equal(parseSmapsRollup(k.readFile(`/proc/${pid}/smaps_rollup`)).fields.get('Referenced'), 0);
    assert.throws(() => k.writeFile(`/proc/${pid}/clear_refs`, '6'), errno('EINVAL'));
  });
});

describe('binary files', () => {
  test('pagemap marks present pages with their PFN and THP subpages in kpageflags', () => {
    const { k, pid, a } = machine();
    const entries = k.readBinary(`/proc/${pid}/pagemap`, (a / 4096) * 8, 8 * 2);
    const view = new DataView(entries.buffer);
    const hi = view.getUint32(4, true);
    assert.ok(hi & (1 << 31), 'bit 63: present');
    assert.ok(hi & (1 << 24), 'bit 56: exclusively mapped');
    const pfn = view.getUint32(0, true) + (hi & 0x7fffff) * 2 ** 32;
    const flags = new DataView(k.readBinary('/proc/kpageflags', pfn * 8, 8).buffer).getUint32(0, true);
    assert.ok(flags & (1 << 22), 'THP');
    assert.ok(flags & (1 << 15), 'compound head');
    assert.ok(flags & (1 << 12), 'anonymous');
  });

  test('the huge zero page reads as Linux shows its folio: ZERO_PAGE and THP on every frame, head then tails', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 128 }], seed: 5 });
    const pid = k.spawn();
    const a = k.mmap(pid, 2 * MiB, { align: 2 * MiB });
    k.madvise(pid, a, 2 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, a, 2 * MiB, { write: false });
    const entries = new DataView(k.readBinary(`/proc/${pid}/pagemap`, (a / 4096) * 8, 8 * 2).buffer);
    const pfn = entries.getUint32(0, true) + (entries.getUint32(4, true) & 0x7fffff) * 2 ** 32;
    assert.equal(entries.getUint32(8, true), pfn + 1, 'mapped by one PMD: consecutive frames');
    assert.equal(entries.getUint32(4, true) & (1 << 24), 0, 'never exclusively mapped');
    const flags = new DataView(k.readBinary('/proc/kpageflags', pfn * 8, 16).buffer);
    const bits = (at: number) => [2, 11, 12, 15, 16, 22, 24].filter((b) => flags.getUint32(at, true) & (1 << b));
    assert.deepEqual(bits(0), [15, 22, 24], 'head: COMPOUND_HEAD, THP, ZERO_PAGE; not MMAP or ANON');
    assert.deepEqual(bits(8), [16, 22, 24], 'tail: COMPOUND_TAIL, THP, ZERO_PAGE');
  });

  test('an unprivileged reader sees no PFNs and may not read kpageflags', () => {
    const { k, pid } = machine();
    const user = k.spawn({ uid: 0, caps: [] });
    // Without CAP_SYS_PTRACE, reading another process's pagemap needs every capability it holds.
    assert.throws(() => k.readBinary(`/proc/${pid}/pagemap`, 0, 8, { caller: user }), errno('EACCES'));
    const own = k.mmap(user, 4096);
    k.touch(user, own, 4096);
    const entries = k.readBinary(`/proc/${user}/pagemap`, (own / 4096) * 8, 8, { caller: user });
    const view = new DataView(entries.buffer);
    assert.ok(view.getUint32(4, true) & (1 << 31), 'present');
    assert.equal(view.getUint32(0, true), 0, 'but no PFN without CAP_SYS_ADMIN');
    assert.throws(() => k.readBinary('/proc/kpageflags', 0, 8, { caller: user }), errno('EACCES'));
  });
});

describe('knob writes are validated as Linux does', () => {
  test('choice files take the bare word; brackets and junk are EINVAL', () => {
    const { k } = machine();
    k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'always\n');
    assert.equal(parseChoice(k.readFile('/sys/kernel/mm/transparent_hugepage/enabled')).current, 'always');
    assert.throws(() => k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', '[madvise]'), errno('EINVAL'));
    assert.throws(() => k.writeFile('/sys/kernel/mm/transparent_hugepage/defrag', 'sometimes'), errno('EINVAL'));
  });

  test('sysctls take integers in range; compact_memory is write-only', () => {
    const { k } = machine();
    k.writeFile('/proc/sys/vm/watermark_scale_factor', '100');
    assert.equal(k.readFile('/proc/sys/vm/watermark_scale_factor'), '100\n');
    assert.throws(() => k.writeFile('/proc/sys/vm/watermark_scale_factor', '0'), errno('EINVAL'));
    assert.throws(() => k.writeFile('/proc/sys/vm/swappiness', 'many'), errno('EINVAL'));
    assert.throws(() => k.readFile('/proc/sys/vm/compact_memory'), errno('EACCES'));
    assert.throws(() => k.readFile('/proc/no/such'), errno('ENOENT'));
    assert.throws(() => k.readFile('/proc/999/status'), errno('ENOENT'));
  });

  test('writing compact_memory compacts: free memory gathers into high-order blocks', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 128 }], seed: 2 });
    k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'never');
    const pid = k.spawn();
    const a = k.mmap(pid, 96 * MiB);
    k.touch(pid, a, 96 * MiB);
    for (let off = 0; off < 96 * MiB; off += 8192) k.madvise(pid, a + off, 4096, 'MADV_DONTNEED');
    const highOrderPages = (): number => parseBuddyinfo(k.readFile('/proc/buddyinfo'))[0].free.reduce((s, n, o) => s + (o >= 9 ? n << o : 0), 0);
    const before = highOrderPages();
    const writer = k.spawn({ comm: 'admin' });
    k.writeFile('/proc/sys/vm/compact_memory', '1', { caller: writer });
    assert.ok(highOrderPages() > before + 4096, `order ≥ 9 free pages ${before} → ${highOrderPages()}`);
    assert.ok(parseVmstat(k.readFile('/proc/vmstat')).get('compact_migrate_scanned')! > 0);
    assert.ok(k.cpuTime(writer).stimeMs > 0, 'the writer pays for the compaction');
  });

  test('raising min_free_kbytes raises the watermarks zoneinfo shows', () => {
    const { k } = machine();
    const before = parseZoneinfo(k.readFile('/proc/zoneinfo'))[0].fields.get('min')!;
    k.writeFile('/proc/sys/vm/min_free_kbytes', String(4 * Number(k.readFile('/proc/sys/vm/min_free_kbytes'))));
    const after = parseZoneinfo(k.readFile('/proc/zoneinfo'))[0].fields.get('min')!;
    assert.ok(after > 3 * before, `min ${before} → ${after}`);
  });
});

test('determinism: the same seed and calls give byte-identical procfs text', () => {
  const run = (): string[] => {
    const { k, pid } = machine();
    k.pageCacheAdd(0, 5000, true);
    k.kernelAlloc(0, 300, 'unmovable', 500);
    k.fork(pid);
    k.advance(5000);
    return ['/proc/vmstat', '/proc/meminfo', '/proc/buddyinfo', '/proc/pagetypeinfo', `/proc/${pid}/smaps`].map((f) => k.readFile(f));
  };
  assert.deepEqual(run(), run());
});
