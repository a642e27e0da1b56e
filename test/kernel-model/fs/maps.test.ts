// /proc/PID/maps: the formatter against a real kernel's text (the golden smaps' headers and, where this
// machine has /proc, the test process's own maps), and the model's file through the public API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatMaps, formatMapsVma, type MapsVma } from '../../../kernel-model/fs/maps.js';
import type { VmFlag } from '../../../kernel-model/fs/smaps.js';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { parseMaps, parseSmaps, type VmaHeaderRecord } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const MiB = 1 << 20;
const errno = (code: string) => (e: unknown) => e instanceof SyscallError && e.errno === code;

/** The formatter's VMA rebuilt from a parsed header: the flags its permission letters stand for. */
function mapsVmaOf(r: VmaHeaderRecord): MapsVma {
  const letters: [number, string, VmFlag][] = [[0, 'r', 'rd'], [1, 'w', 'wr'], [2, 'x', 'ex'], [3, 's', 'ms']];
  return {
    start: r.start, end: r.end, offset: r.offset, major: r.major, minor: r.minor, inode: r.inode,
    ...(r.name === '' ? {} : { name: r.name }),
    vmFlags: letters.flatMap(([i, c, flag]) => (r.perms[i] === c ? [flag] : [])),
  };
}

test('a maps line is the header line of the VMA in the golden smaps, byte for byte', () => {
  const smaps = readFileSync(join(projectRoot, 'test/fixtures/golden/proc-PID-smaps.txt'), 'utf8');
  const headers = smaps.split('\n').filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l)).map((l) => `${l}\n`);
  const vmas = parseSmaps(smaps);
  assert.equal(headers.length, vmas.length);
  assert.equal(formatMaps(vmas.map(mapsVmaOf)), headers.join(''));
  // Named and unnamed lines, as Linux pads them: the name at column 74, an unnamed line ends with a space.
  assert.ok(headers.some((h) => h.length > 74 && h[73] !== ' ' && h[72] === ' '));
  assert.ok(headers.some((h) => h.endsWith(' 0 \n')));
});

test('this machine\'s own /proc/self/maps parses and is reproduced byte for byte', (t) => {
  if (!existsSync('/proc/self/maps')) {
    t.skip('no /proc/self/maps on this machine (not Linux, or /proc not mounted)');
    return;
  }
  const text = readFileSync('/proc/self/maps', 'utf8');
  const vmas = parseMaps(text);
  assert.ok(vmas.length > 5, `${vmas.length} VMAs`);
  assert.ok(vmas.some((v) => v.name === '[stack]'));
  assert.ok(vmas.every((v, i) => v.start < v.end && (i === 0 || vmas[i - 1].end <= v.start)), 'ascending, disjoint');
  assert.equal(formatMaps(vmas.map(mapsVmaOf)), text);
});

test('permission letters and the name column', () => {
  const anon: MapsVma = { start: 0x7f0000000000, end: 0x7f0000400000, offset: 0, major: 0, minor: 0, inode: 0, vmFlags: ['rd', 'wr', 'mr', 'hg'] };
  assert.equal(formatMapsVma(anon), '7f0000000000-7f0000400000 rw-p 00000000 00:00 0 \n');
  assert.equal(formatMapsVma({ ...anon, vmFlags: ['rd', 'sh', 'ms'] }), '7f0000000000-7f0000400000 r--s 00000000 00:00 0 \n');
  assert.equal(formatMapsVma({ ...anon, start: 0x1000, end: 0x2000, vmFlags: [] }), '00001000-00002000 ---p 00000000 00:00 0 \n');
  const named = formatMapsVma({ ...anon, offset: 0x2000, major: 0xfe, minor: 1, inode: 42, name: '/tmp/a\nb' });
  assert.equal(named, `${'7f0000000000-7f0000400000 rw-p 00002000 fe:01 42 '.padEnd(73)}/tmp/a\\012b\n`);
});

test('the model\'s maps: one line per VMA, the same lines that head its smaps entries', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 128 }], seed: 3 });
  const pid = k.spawn({ comm: 'mapper' });
  const a = k.mmap(pid, 8 * MiB);
  k.madvise(pid, a, 2 * MiB, 'MADV_HUGEPAGE');
  k.mprotect(pid, a + 6 * MiB, 2 * MiB, 'r');
  const shm = k.mmap(pid, 4 * MiB, { shared: true });
  k.mprotect(pid, shm + 2 * MiB, 2 * MiB, 'r');
  k.touch(pid, a, 2 * MiB);
  const maps = k.readFile(`/proc/${pid}/maps`);
  const smaps = k.readFile(`/proc/${pid}/smaps`);
  const headers = smaps.split('\n').filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l)).map((l) => `${l}\n`);
  assert.equal(maps, headers.join(''));
  const vmas = parseMaps(maps);
  assert.deepEqual(vmas.map((v) => v.perms).sort(), ['r--p', 'r--s', 'rw-p', 'rw-p', 'rw-s']);
  // Linux prints no offset for private anonymous memory (no file), however it was split; a shmem
  // mapping shows its pages' offset in the shmem file.
  const split = vmas.filter((v) => v.start >= a && v.end <= a + 8 * MiB);
  assert.deepEqual(split.map((v) => [v.start - a, v.end - a, v.offset]), [[0, 2 * MiB, 0], [2 * MiB, 6 * MiB, 0], [6 * MiB, 8 * MiB, 0]]);
  const shared = vmas.filter((v) => v.perms.endsWith('s'));
  assert.deepEqual(shared.map((v) => [v.start - shm, v.offset]), [[0, 0], [2 * MiB, 2 * MiB]]);
  assert.ok(vmas.every((v) => v.name === '' && v.inode === 0 && v.major === 0));
});

test('reading maps costs what status costs, less than smaps; it needs PTRACE_MODE_READ', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 128 }], seed: 3 });
  const pid = k.spawn({ comm: 'target' });
  const a = k.mmap(pid, 16 * MiB);
  k.touch(pid, a, 16 * MiB);
  const reader = k.spawn({ comm: 'reader' });
  const cost = (file: string): number => {
    const t0 = k.cpuTime(reader).stimeMs;
    k.readFile(`/proc/${pid}/${file}`, { caller: reader });
    return k.cpuTime(reader).stimeMs - t0;
  };
  const maps = cost('maps');
  assert.ok(maps > 0);
  assert.equal(maps, cost('status'));
  assert.ok(cost('smaps') > maps);
  const stranger = k.spawn({ uid: 1000 });
  assert.throws(() => k.readFile(`/proc/${pid}/maps`, { caller: stranger }), errno('EACCES'));
  assert.doesNotThrow(() => k.readFile(`/proc/${stranger}/maps`, { caller: stranger }));
  k.exit(pid);
  assert.throws(() => k.readFile(`/proc/${pid}/maps`), errno('ENOENT'));
});
