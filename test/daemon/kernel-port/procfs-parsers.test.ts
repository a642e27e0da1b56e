import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  ProcfsParseError, parseBuddyinfo, parseChoice, parseKeyValueKb, parseKsmStat, parseMaps, parseNumaMaps, parsePagetypeinfo,
  parsePressure, parseRangeList, parseSmaps, parseSmapsRollup, parseStat, parseStatus, parseVmstat, parseZoneinfo,
} from '../../../daemon/kernel-port/procfs-parsers.js';
import { formatMeminfo, meminfoFields } from '../../../kernel-model/fs/meminfo.js';
import { formatVmstat } from '../../../kernel-model/fs/vmstat.js';
import { formatBuddyinfo, NR_PAGE_ORDERS } from '../../../kernel-model/fs/buddyinfo.js';
import { formatSmapsVma, smapsFields, vmFlagMnemonics, type SmapsVma } from '../../../kernel-model/fs/smaps.js';
import { formatMaps } from '../../../kernel-model/fs/maps.js';
import { NR_VM_ITEMS, vmstatNames } from '../../../kernel-model/mm/vmstat-items.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

const anonVma: SmapsVma = { start: 0x7f0000000000, end: 0x7f0000001000, offset: 0, major: 0, minor: 0, inode: 0, kb: {}, thpEligible: false, vmFlags: ['rd', 'wr'] };

/** Asserts that `fn` throws a ProcfsParseError whose message names `kind` and `lineNumber`. */
function assertParseError(fn: () => unknown, kind: string, lineNumber: number) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProcfsParseError);
    assert.equal(e.kind, kind);
    assert.equal(e.lineNumber, lineNumber);
    assert.match(e.message, new RegExp(`^${kind}: .* at line ${lineNumber}: `));
    return true;
  });
}

// ---- golden files ------------------------------------------------------------------------------------

test('parseKeyValueKb reads /proc/meminfo and nodeN/meminfo', () => {
  const m = parseKeyValueKb(golden('proc-meminfo.txt'));
  assert.equal(m.get('MemTotal'), 24684096);
  assert.equal(m.get('VmallocTotal'), 34359738367);
  assert.equal(m.get('HugePages_Total'), 0);
  const node = parseKeyValueKb(golden('node0-meminfo.txt'));
  assert.equal(node.get('MemUsed'), 397288);
  assert.equal(node.get('HugePages_Surp'), 0);
});

test('parseVmstat reads every item of /proc/vmstat', () => {
  const v = parseVmstat(golden('proc-vmstat.txt'));
  assert.equal(v.size, vmstatNames.length);
  assert.equal(v.get('pgfault'), 22084456);
  assert.equal(v.get('nr_unstable'), 0);
});

test('parseBuddyinfo reads each zone\'s free blocks per order', () => {
  const zones = parseBuddyinfo(golden('proc-buddyinfo.txt'));
  assert.deepEqual(zones.map((z) => z.zone), ['DMA', 'DMA32', 'Normal']);
  assert.deepEqual(zones[2]?.free, [1633, 1866, 1819, 1157, 884, 671, 296, 152, 171, 139, 2353]);
});

test('parsePagetypeinfo reads the header, the free lists and the pageblock counts', () => {
  const p = parsePagetypeinfo(golden('proc-pagetypeinfo.txt'));
  assert.equal(p.pageblockOrder, 9);
  assert.equal(p.pagesPerBlock, 512);
  assert.equal(p.free.length, 15);
  assert.deepEqual(p.free.find((f) => f.zone === 'Normal' && f.type === 'Reclaimable')?.counts, [953, 239, 1, 0, 1, 1, 0, 1, 0, 1, 0]);
  assert.equal(p.blocks.find((b) => b.zone === 'Normal')?.counts.get('Movable'), 5215);
});

test('parseZoneinfo reads every zone, its blocks and its pagesets', () => {
  const zones = parseZoneinfo(golden('proc-zoneinfo.txt'));
  assert.deepEqual(zones.map((z) => z.zone), ['DMA', 'DMA32', 'Normal', 'Movable', 'Device']);
  const [dma, , normal, movable] = zones;
  assert.equal(dma?.nodeStats.get('nr_inactive_anon'), 516);
  assert.equal(normal?.nodeStats.size, 0);
  assert.equal(normal?.fields.get('free'), 2620356);
  assert.equal(normal?.fields.get('min'), 13142);
  assert.equal(normal?.fields.get('start_pfn'), 1048576);
  assert.equal(normal?.stats.get('numa_hit'), 21879259);
  assert.deepEqual(normal?.pagesets.map((p) => p.get('count')), [8065, 7586]);
  assert.equal(normal?.pagesets[0]?.get('vm stats threshold'), 32);
  assert.deepEqual(movable?.protection, [0, 0, 0, 0, 0]);
  assert.equal(movable?.pagesets.length, 0);
});

test('parseSmaps reads every VMA, its name, fields and flags', () => {
  const vmas = parseSmaps(golden('proc-PID-smaps.txt'));
  assert.equal(vmas.length, 25);
  const big = vmas.find((v) => v.start === 0x7fe686400000);
  assert.equal(big?.name, '');
  assert.equal(big?.fields.get('Rss'), 8192);
  assert.equal(big?.fields.get('AnonHugePages'), 0);
  assert.equal(big?.thpEligible, false);
  assert.deepEqual(big?.vmFlags, ['rd', 'wr', 'mr', 'mw', 'me', 'ac']);
  assert.equal(vmas[0]?.name, '/usr/local/bin/victim');
  assert.equal(vmas[0]?.inode, 2146385);
  assert.equal(vmas[0]?.major, 0xfe);
  const vsyscall = vmas[vmas.length - 1];
  assert.equal(vsyscall?.name, '[vsyscall]');
  assert.equal(vsyscall?.start, 0xffffffffff600000);
  assert.equal(vsyscall?.perms, '--xp');
});

test('parseMaps reads the VMA lines of a real kernel (the golden smaps\' headers)', () => {
  const headers = golden('proc-PID-smaps.txt').split('\n').filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l));
  const maps = parseMaps(`${headers.join('\n')}\n`);
  assert.equal(maps.length, 25);
  assert.deepEqual(maps, parseSmaps(golden('proc-PID-smaps.txt')).map(({ start, end, perms, offset, major, minor, inode, name }) => ({ start, end, perms, offset, major, minor, inode, name })));
  assert.deepEqual(maps[0], { start: 0x558391736000, end: 0x558391737000, perms: 'r--p', offset: 0, major: 0xfe, minor: 0, inode: 2146385, name: '/usr/local/bin/victim' });
});

test('parseMaps reads this machine\'s /proc/self/maps', (t) => {
  if (!existsSync('/proc/self/maps')) {
    t.skip('no /proc/self/maps on this machine (not Linux, or /proc not mounted)');
    return;
  }
  const maps = parseMaps(readFileSync('/proc/self/maps', 'utf8'));
  assert.ok(maps.length > 5);
  assert.ok(maps.every((v) => /^[r-][w-][x-][ps]$/.test(v.perms) && v.start % 4096 === 0 && v.end > v.start));
  assert.ok(maps.some((v) => v.name === '[stack]'), 'the stack');
  assert.ok(maps.some((v) => v.name.startsWith('/') && v.inode > 0), 'a mapped file (node itself)');
  assert.ok(maps.some((v) => v.name === '' && v.inode === 0), 'unnamed anonymous memory');
});

test('parseSmapsRollup reads the rollup range and sums', () => {
  const r = parseSmapsRollup(golden('proc-PID-smaps_rollup.txt'));
  assert.equal(r.start, 0x558391736000);
  assert.equal(r.end, 0x7ffc45f60000);
  assert.equal(r.fields.get('Pss_Anon'), 8296);
});

test('parseStatus reads identity, sizes and every raw line', () => {
  const s = parseStatus(golden('proc-PID-status.txt'));
  assert.deepEqual([s.name, s.state, s.pid, s.tgid, s.ppid, s.threads, s.thpEnabled], ['bars-victim', 'R', 17282, 17282, 17272, 1, true]);
  assert.equal(s.kb.get('VmRSS'), 9756);
  assert.equal(s.kb.get('HugetlbPages'), 0);
  assert.equal(s.fields.get('CapPrm'), '000001fffeffffff');
  assert.equal(s.fields.get('Groups'), ' ');
});

test('parseStat reads all 52 fields', () => {
  const s = parseStat(golden('proc-PID-stat.txt'));
  assert.deepEqual([s.pid, s.comm, s.state, s.ppid, s.tpgid], [17282, 'bars-victim', 'R', 17272, -1]);
  assert.deepEqual([s.minflt, s.majflt, s.utime, s.stime, s.numThreads, s.starttime], [2181, 0, 99, 1, 1, 210073]);
  assert.deepEqual([s.vsize, s.rss, s.rsslim], [13021184, 2413, 2n ** 64n - 1n]);
  assert.deepEqual([s.sigignore, s.exitSignal, s.envEnd, s.exitCode], [6, 17, 140721482235879, 0]);
});

test('parseNumaMaps reads policy, backing, counters and nodes', () => {
  const maps = parseNumaMaps(golden('proc-PID-numa_maps.txt'));
  assert.equal(maps.length, 24);
  const heap = maps.find((m) => m.heap);
  assert.equal(heap?.start, 0x5583989b0000);
  assert.equal(heap?.counts.get('anon'), 2);
  const libc = maps.find((m) => m.counts.get('mapmax') === 5);
  assert.equal(libc?.file, '/usr/lib/x86_64-linux-gnu/libc.so.6');
  assert.equal(libc?.nodes.get(0), 243);
  assert.equal(maps.find((m) => m.stack)?.counts.get('active'), 1);
  assert.equal(maps.find((m) => m.start === 0x7fe687160000)?.counts.size, 0);
});

test('parsePressure reads some and full', () => {
  const p = parsePressure(golden('proc-pressure-memory.txt'));
  assert.deepEqual(p.some, { avg10: 0, avg60: 0, avg300: 0, total: 611 });
  assert.equal(p.full?.total, 418);
});

test('parseChoice reads every choice file of the THP directory', () => {
  const lines = golden('sys-kernel-mm-transparent_hugepage.txt').split('\n').filter((l) => l.includes('['));
  const values = lines.map((l) => parseChoice(l.slice(l.indexOf(': ') + 2)));
  assert.deepEqual(values[0], { choices: ['always', 'defer', 'defer+madvise', 'madvise', 'never'], current: 'madvise' });
  assert.equal(values.find((v) => v.choices.includes('force'))?.current, 'never');
});

test('parseKsmStat reads the KSM counters and flags', () => {
  assert.deepEqual(parseKsmStat(golden('proc-PID-ksm_stat.txt')), {
    rmapItems: 0, zeroPages: 0, mergingPages: 0, processProfit: 0, mergeAny: false, mergeable: false,
  });
});

test('parseRangeList expands %*pbl lists', () => {
  assert.deepEqual(parseRangeList('0-1'), [0, 1]);
  assert.deepEqual(parseRangeList('0,2-4,9\n'), [0, 2, 3, 4, 9]);
  assert.deepEqual(parseRangeList(''), []);
  assertParseError(() => parseRangeList('3-1'), 'range list', 1);
  assertParseError(() => parseRangeList('1,x'), 'range list', 1);
});

// ---- fields a newer kernel adds ----------------------------------------------------------------------

test('unknown fields are kept, never an error', () => {
  assert.equal(parseKeyValueKb('MemTotal: 1 kB\nFancyNew:     42 kB\nCountOnly: 3\n').get('FancyNew'), 42);
  assert.equal(parseVmstat('nr_free_pages 1\nthp_new_event 9\n').get('thp_new_event'), 9);
  assert.equal(parseBuddyinfo('Node 0, zone   Normal 1 2 3 4 5 6 7 8 9 10 11 12 13 \n')[0]?.free.length, 13);
  const smaps = parseSmaps(`${formatSmapsVma(anonVma)}ProtectionKey:         0\nNewStat:               4 kB\n`);
  assert.equal(smaps[0]?.fields.get('NewStat'), 4);
  assert.equal(smaps[0]?.fields.get('ProtectionKey'), 0);
  assert.deepEqual(parseSmaps('7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \nVmFlags: rd zz \n')[0]?.vmFlags, ['rd', 'zz']);
  assert.equal(parseStatus(`${golden('proc-PID-status.txt')}x86_Thread_features:\t\n`).fields.get('x86_Thread_features'), '');
  assert.equal(parseStat(`${golden('proc-PID-stat.txt').trimEnd()} 7 8\n`).exitCode, 0);
  assert.equal(parsePressure('some avg10=1.50 avg60=0.00 avg300=0.00 total=5 extra=1\n').some.avg10, 1.5);
  const ksm = parseKsmStat(`${golden('proc-PID-ksm_stat.txt')}ksm_new_counter 3\nksm_new_flag: yes\n`);
  assert.equal(ksm.rmapItems, 0);
});

test('pagetypeinfo with a CMA column and a page_owner section', () => {
  const text = [
    'Page block order: 9', 'Pages per block:  512', '',
    'Free pages count per migrate type at order       0      1 ',
    'Node    0, zone   Normal, type          CMA      3 >100000 ', '',
    'Number of blocks type     Unmovable          CMA ',
    'Node 0, zone   Normal            1            2 ',
    'Number of mixed blocks    Unmovable          CMA ',
    'Node 0, zone   Normal            0            0 ', '',
  ].join('\n');
  const p = parsePagetypeinfo(text);
  assert.deepEqual(p.free[0]?.counts, [3, 100000]);
  assert.equal(p.blocks.length, 1);
  assert.equal(p.blocks[0]?.counts.get('CMA'), 2);
});

test('numa_maps policies with spaces and flags, escaped paths and unknown counters', () => {
  const [a, b] = parseNumaMaps([
    '7f0000000000 weighted interleave:0-1 anon=3 dirty=3 newcount=2 N0=1 N1=2 kernelpagesize_kB=4',
    '7f0000200000 bind=static:0 file=/tmp/a\\040b\\075c huge mapped=1 N0=1 kernelpagesize_kB=2048',
  ].join('\n'));
  assert.equal(a?.policy, 'weighted interleave:0-1');
  assert.equal(a?.counts.get('newcount'), 2);
  assert.deepEqual([...(a?.nodes ?? [])], [[0, 1], [1, 2]]);
  assert.equal(b?.policy, 'bind=static:0');
  assert.equal(b?.file, '/tmp/a b=c');
  assert.equal(b?.huge, true);
});

test('the stat comm may hold spaces and parentheses', () => {
  const line = golden('proc-PID-stat.txt').replace('(bars-victim)', '(a) (b c))');
  const s = parseStat(line);
  assert.equal(s.comm, 'a) (b c)');
  assert.equal(s.state, 'R');
  assert.equal(s.rss, 2413);
});

// ---- malformed input ---------------------------------------------------------------------------------

test('malformed lines throw an error naming the file kind and the line', () => {
  assertParseError(() => parseKeyValueKb('MemTotal:  1 kB\nMemFree 2 kB\n'), 'meminfo', 2);
  assertParseError(() => parseKeyValueKb('Node 0 MemTotal: x kB\n', 'node meminfo'), 'node meminfo', 1);
  assertParseError(() => parseVmstat('nr_free_pages 1\npgfault\n'), 'vmstat', 2);
  assertParseError(() => parseBuddyinfo('Node 0, zone Normal 1 x 3\n'), 'buddyinfo', 1);
  assertParseError(() => parsePagetypeinfo('Page block order: 9\nPages per block:  512\nFree pages count per migrate type at order 0\nNode 0, zone Normal 1 2\n'), 'pagetypeinfo', 4);
  assertParseError(() => parseZoneinfo('  pages free 3\n'), 'zoneinfo', 1);
  assertParseError(() => parseZoneinfo('Node 0, zone   Normal\n  pages free     3\n  pagesets\n    count: 1\n'), 'zoneinfo', 4);
  assertParseError(() => parseMaps('7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \nRss: 4 kB\n'), 'maps', 2);
  assertParseError(() => parseMaps('7f0000000000-7f0000001000 rwzp 00000000 00:00 0\n'), 'maps', 1);
  assertParseError(() => parseSmaps('Rss:                   4 kB\n'), 'smaps', 1);
  assertParseError(() => parseSmaps('7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \nRss: lots kB\n'), 'smaps', 2);
  assertParseError(() => parseSmapsRollup('7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \nRss: 4 kB\n'), 'smaps_rollup', 1);
  assertParseError(() => parseStatus('Name:\tx\nnot a status line\n'), 'status', 2);
  assertParseError(() => parseStat('17282 (x) R 1 2 3\n'), 'stat', 1);
  assertParseError(() => parseStat(golden('proc-PID-stat.txt').replace(' 2181 ', ' 2x81 ')), 'stat', 1);
  assertParseError(() => parseNumaMaps('7f0000000000 default N0=x\n'), 'numa_maps', 1);
  assertParseError(() => parseNumaMaps('zz default\n'), 'numa_maps', 1);
  assertParseError(() => parsePressure('some avg10=0.00 avg60=0.00 total=1\n'), 'pressure', 1);
  assertParseError(() => parsePressure('most avg10=0.00\n'), 'pressure', 1);
  assertParseError(() => parseChoice('always madvise never'), 'sysfs choice', 1);
  assertParseError(() => parseChoice('[always] [madvise] never'), 'sysfs choice', 1);
  assertParseError(() => parseKsmStat('ksm_rmap_items lots\n'), 'ksm_stat', 1);
});

test('a text missing a required field throws naming the file kind', () => {
  assert.throws(() => parseStatus('Name:\tx\n'), /^ProcfsParseError: status: no State line$/);
  assert.throws(() => parsePagetypeinfo(''), /pagetypeinfo: no "Page block order"/);
  assert.throws(() => parsePressure('full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n'), /pressure: no "some" line/);
  assert.throws(() => parseKsmStat('ksm_rmap_items 0\n'), /ksm_stat: no ksm_zero_pages line/);
});

// ---- round trips: format(random values) parses back to the values ------------------------------------

const counter = fc.nat({ max: 2 ** 45 });

test('meminfo round-trips through formatMeminfo and parseKeyValueKb', () => {
  fc.assert(
    fc.property(fc.array(counter, { minLength: meminfoFields.length, maxLength: meminfoFields.length }), (values) => {
      const record = Object.fromEntries(meminfoFields.map((f, i) => [f, values[i] ?? 0]));
      assert.deepEqual(parseKeyValueKb(formatMeminfo(record)), new Map(Object.entries(record)));
    }),
  );
});

test('vmstat round-trips through formatVmstat and parseVmstat', () => {
  fc.assert(
    fc.property(fc.array(counter, { minLength: NR_VM_ITEMS, maxLength: NR_VM_ITEMS }), (values) => {
      assert.deepEqual([...parseVmstat(formatVmstat(values)).values()], values);
    }),
  );
});

test('buddyinfo round-trips through formatBuddyinfo and parseBuddyinfo', () => {
  const zone = fc.record({
    node: fc.nat({ max: 1023 }),
    zone: fc.constantFrom('DMA', 'DMA32', 'Normal', 'Movable'),
    nrFree: fc.array(fc.nat({ max: 10 ** 9 }), { minLength: NR_PAGE_ORDERS, maxLength: NR_PAGE_ORDERS }),
  });
  fc.assert(
    fc.property(fc.array(zone, { maxLength: 8 }), (zones) => {
      assert.deepEqual(parseBuddyinfo(formatBuddyinfo(zones)), zones.map((z) => ({ node: z.node, zone: z.zone, free: z.nrFree })));
    }),
  );
});

const smapsVma: fc.Arbitrary<SmapsVma> = fc.record({
  start: fc.nat({ max: 2 ** 35 }).map((page) => page * 4096),
  pages: fc.integer({ min: 1, max: 2 ** 20 }),
  offset: fc.nat({ max: 2 ** 30 }).map((page) => page * 4096),
  major: fc.nat({ max: 255 }),
  minor: fc.nat({ max: 255 }),
  inode: fc.nat(),
  name: fc.option(fc.constantFrom('[heap]', '[stack]', '/usr/lib/libc.so.6', '/tmp/with space', '/tmp/new\nline', '[anon:jemalloc]'), { nil: undefined }),
  kb: fc.record(Object.fromEntries(smapsFields.map((f) => [f, counter])) as Record<(typeof smapsFields)[number], fc.Arbitrary<number>>),
  thpEligible: fc.boolean(),
  vmFlags: fc.subarray([...vmFlagMnemonics]),
}).map(({ pages, name, ...v }) => ({ ...v, end: v.start + pages * 4096, ...(name === undefined ? {} : { name }) }));

test('smaps round-trips through formatSmapsVma and parseSmaps', () => {
  fc.assert(
    fc.property(fc.array(smapsVma, { minLength: 1, maxLength: 5 }), (vmas) => {
      const parsed = parseSmaps(vmas.map(formatSmapsVma).join(''));
      assert.equal(parsed.length, vmas.length);
      vmas.forEach((v, i) => {
        const p = parsed[i];
        assert.ok(p);
        assert.deepEqual([p.start, p.end, p.offset, p.major, p.minor, p.inode, p.name], [v.start, v.end, v.offset, v.major, v.minor, v.inode, v.name ?? '']);
        assert.deepEqual(smapsFields.map((f) => p.fields.get(f)), smapsFields.map((f) => v.kb[f]));
        assert.equal(p.fields.get('Size'), (v.end - v.start) / 1024);
        assert.equal(p.thpEligible, v.thpEligible);
        assert.deepEqual(p.vmFlags, vmFlagMnemonics.filter((f) => v.vmFlags.includes(f)));
      });
    }),
  );
});

test('maps round-trips through formatMaps and parseMaps', () => {
  fc.assert(
    fc.property(fc.array(smapsVma, { maxLength: 8 }), (vmas) => {
      const parsed = parseMaps(formatMaps(vmas));
      assert.deepEqual(
        parsed.map((p) => [p.start, p.end, p.offset, p.major, p.minor, p.inode, p.name]),
        vmas.map((v) => [v.start, v.end, v.offset, v.major, v.minor, v.inode, v.name ?? '']),
      );
      const letter = (v: SmapsVma, f: string, c: string) => (v.vmFlags.some((x) => x === f) ? c : '-');
      assert.deepEqual(parsed.map((p) => p.perms), vmas.map((v) => `${letter(v, 'rd', 'r')}${letter(v, 'wr', 'w')}${letter(v, 'ex', 'x')}${v.vmFlags.includes('ms') ? 's' : 'p'}`));
    }),
  );
});
