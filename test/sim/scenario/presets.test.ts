// The workload library: mergeWorkload's rules, every preset valid, and every preset producing the access
// shape its comment in sim/scenario/presets.ts claims. The claims are checked at the preset's default
// size with the model's pure functions (regionAccessMass, mmuCostPerAccess) on the specs accessSpecAt
// builds, and at a scaled-down size on a real SimKernel (accesses, DAMON, THPs, COW, KSM, churn).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimKernel, type AccessStreamSpec, type DamonRegion } from '../../../kernel-model/index.js';
import { PAGE_BYTES, regionAccessMass } from '../../../kernel-model/workload/access-pattern.js';
import { mmuCostPerAccess, type MappingSplit } from '../../../kernel-model/workload/mmu-cost.js';
import { mergeWorkload, presetDescriptions, presetWorkload } from '../../../sim/scenario/presets.js';
import { WorkloadSchema, presetNames, type MappingSpec, type PresetName, type StreamSpec, type Workload } from '../../../sim/scenario/schema.js';
import { accessSpecAt } from '../../../sim/scenario/stream-phases.js';

const MiB = 1 << 20;
const REGION = 2 * MiB;
const PAGES_PER_REGION = REGION / PAGE_BYTES;
/** Where the full-size specs are placed (2 MiB aligned, as the runner's mmap would). */
const BASE = 1 << 30;

type Json = Record<string, unknown>;

// ---- helpers ----------------------------------------------------------------------------------------

/** The preset, merged with `override` (a name by default), validated into model units. */
function workload(preset: PresetName, override: Json = {}): Workload {
  return WorkloadSchema.parse(mergeWorkload(presetWorkload(preset), { name: preset, ...override }));
}

function streamOf(w: Workload, name: string): StreamSpec {
  const s = w.streams?.find((x) => x.name === name);
  assert.ok(s, `stream ${name}`);
  return s;
}

function mappingOf(w: Workload, name: string): MappingSpec {
  const m = w.mappings.find((x) => x.name === name);
  assert.ok(m, `mapping ${name}`);
  return m;
}

/** The kernel spec of a stream at `ageMs`, with its mapping at BASE. */
function specAt(w: Workload, stream: string, ageMs = 0): AccessStreamSpec {
  const s = streamOf(w, stream);
  return accessSpecAt(s, BASE, mappingOf(w, s.mapping).size, ageMs);
}

/** Accesses per second in each 2 MiB region of the spec's range. */
function regionRates(spec: AccessStreamSpec): number[] {
  const out: number[] = [];
  for (let p = spec.start / PAGE_BYTES; p < (spec.start + spec.length) / PAGE_BYTES; p += PAGES_PER_REGION) {
    out.push(regionAccessMass(spec, p, PAGES_PER_REGION) * spec.ratePerSec);
  }
  return out;
}

/** Share of the total held by the largest `fraction` of the values (at least one value). */
function topShare(values: readonly number[], fraction: number): number {
  const ascending = Float64Array.from(values).sort();
  const top = ascending.subarray(ascending.length - Math.max(1, Math.ceil(ascending.length * fraction)));
  return top.reduce((a, b) => a + b, 0) / ascending.reduce((a, b) => a + b, 0);
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

const SMALL: MappingSplit = { thpLocal: 0, thpRemote: 0, smallLocal: 1, smallRemote: 0 };
const HUGE: MappingSplit = { thpLocal: 1, thpRemote: 0, smallLocal: 0, smallRemote: 0 };

/** How much cheaper the MMU cost model makes one access of the stream when its memory is all THPs. */
function thpSpeedup(spec: AccessStreamSpec): number {
  const input = {
    remoteDistance: 20,
    workingSetBytes: (spec.hotFraction ?? 1) * spec.length,
    pattern: spec.pattern,
    ...(spec.theta !== undefined ? { theta: spec.theta } : {}),
  };
  return mmuCostPerAccess({ ...input, mapping: SMALL }).cyclesPerAccess / mmuCostPerAccess({ ...input, mapping: HUGE }).cyclesPerAccess;
}

function between(value: number, lo: number, hi: number, what: string): void {
  assert.ok(value >= lo && value <= hi, `${what}: ${value} not in [${lo}, ${hi}]`);
}

/** A kernel with THP enabled=madvise (the project's machine kind). */
function kernel(memoryMiB: number): SimKernel {
  const k = new SimKernel({ nodes: [{ memoryMiB }] });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'madvise');
  return k;
}

interface Launched {
  readonly pid: number;
  readonly addr: Map<string, number>;
  readonly streamIds: Map<string, number>;
}

/**
 * One process of the workload as the runner starts it: mmap each mapping, madvise it, write the
 * `populate` share (from its start), then register every stream at age 0.
 */
function launch(k: SimKernel, w: Workload, opts: { streams?: boolean } = {}): Launched {
  const pid = k.spawn({ comm: w.comm ?? w.name.slice(0, 15) });
  const addr = new Map<string, number>();
  for (const m of w.mappings) {
    const a = k.mmap(pid, m.size);
    for (const advice of m.madvise ?? []) k.madvise(pid, a, m.size, advice);
    const populated = Math.floor((m.size * (m.populate ?? 1)) / PAGE_BYTES) * PAGE_BYTES;
    if (populated > 0) k.touch(pid, a, populated);
    addr.set(m.name, a);
  }
  const streamIds = new Map<string, number>();
  if (opts.streams !== false) {
    for (const s of w.streams ?? []) {
      const m = mappingOf(w, s.mapping);
      streamIds.set(s.name, k.addAccessStream(pid, accessSpecAt(s, addr.get(m.name)!, m.size, 0)));
    }
  }
  return { pid, addr, streamIds };
}

function smapsKiB(k: SimKernel, pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(k.readFile(`/proc/${pid}/smaps_rollup`));
  assert.ok(m, field);
  return Number(m[1]);
}

function vmstat(k: SimKernel, item: string): number {
  const m = new RegExp(`^${item} (\\d+)$`, 'm').exec(k.readFile('/proc/vmstat'));
  assert.ok(m, item);
  return Number(m[1]);
}

/** DAMON's nrAccesses averaged over [start, end), weighted by overlap. */
function damonHeat(regions: readonly DamonRegion[], start: number, end: number): number {
  let weighted = 0;
  let size = 0;
  for (const r of regions) {
    const overlap = Math.min(r.end, end) - Math.max(r.start, start);
    if (overlap <= 0) continue;
    weighted += overlap * r.nrAccesses;
    size += overlap;
  }
  return weighted / size;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

// ---- mergeWorkload ----------------------------------------------------------------------------------

test('mergeWorkload merges mappings and streams by name and appends new names', () => {
  const base = presetWorkload('database');
  const merged = mergeWorkload(base, {
    name: 'orders-db',
    preset: 'database',
    mappings: [{ name: 'buffer-pool', size: '32GiB' }],
    streams: [
      { name: 'lookups', rate: '40M/s' },
      { name: 'audit', mapping: 'buffer-pool', pattern: 'uniform', rate: '1k/s' },
    ],
  });
  assert.equal(merged.name, 'orders-db');
  assert.equal(merged.preset, 'database');
  assert.deepEqual(merged.mappings, [{ name: 'buffer-pool', size: '32GiB', populate: '100%' }]);
  const streams = merged.streams as Json[];
  assert.deepEqual(
    streams.map((s) => s.name),
    ['lookups', 'scan', 'audit'],
    'base items keep their order, the new one is appended',
  );
  assert.deepEqual(streams[0], { name: 'lookups', mapping: 'buffer-pool', pattern: 'zipf', theta: 0.99, rate: '40M/s', writeFraction: '20%' });
  assert.deepEqual(streams[1], (base.streams as Json[])[1], 'an item the override does not name is unchanged');
  assert.deepEqual(streams[2], { name: 'audit', mapping: 'buffer-pool', pattern: 'uniform', rate: '1k/s' });
  assert.equal(merged.comm, 'mysqld', 'keys the override leaves out keep the base value');
  assert.ok(WorkloadSchema.safeParse(merged).success);
});

test('mergeWorkload replaces scalars and lists that are not named items, and merges objects by key', () => {
  const kvm = mergeWorkload(presetWorkload('kvm-guest'), {
    name: 'vms',
    count: 16,
    node: [0, 1],
    mappings: [{ name: 'guest-ram', madvise: ['MADV_MERGEABLE'], content: { duplicated: '60%' } }],
  });
  assert.equal(kvm.count, 16);
  assert.deepEqual(kvm.node, [0, 1]);
  const ram = (kvm.mappings as Json[])[0];
  assert.deepEqual(ram.madvise, ['MADV_MERGEABLE'], 'a list of strings is replaced, not concatenated');
  assert.deepEqual(ram.content, { duplicated: '60%', zero: '10%' }, 'objects merge key by key');
  assert.equal(ram.size, '2GiB');

  const batch = mergeWorkload(presetWorkload('batch'), {
    name: 'etl',
    streams: [{ name: 'job', phases: [{ at: '1m', rate: '1M/s' }] }],
  });
  assert.deepEqual((batch.streams as Json[])[0].phases, [{ at: '1m', rate: '1M/s' }], 'phases (no names) are replaced whole');
  assert.equal((batch.streams as Json[])[0].pattern, 'sequential');

  const redis = mergeWorkload(presetWorkload('redis'), { name: 'cache', forks: [{ at: '1m', childLifetime: '5s' }] });
  assert.deepEqual(redis.forks, [{ at: '1m', childLifetime: '5s' }]);

  const quiet = mergeWorkload(presetWorkload('database'), { name: 'idle-db', streams: [] });
  assert.deepEqual(quiet.streams, [], 'an empty list replaces: no streams');

  const odd = mergeWorkload({ name: 'a', xs: [{ name: 'p', v: 1 }, 'q'] }, { name: 'b', xs: [{ name: 'p', v: 2 }] });
  assert.deepEqual(odd.xs, [{ name: 'p', v: 2 }], 'a list with an unnamed item is replaced');
});

test('mergeWorkload: null removes a key, at any depth, and is never copied into the result', () => {
  const batch = mergeWorkload(presetWorkload('batch'), { name: 'forever', lifetime: null, comm: null });
  assert.ok(!('lifetime' in batch) && !('comm' in batch));
  assert.ok(WorkloadSchema.safeParse(batch).success);

  const frag = mergeWorkload(presetWorkload('fragmenter'), { name: 'cache-only', churn: { unmovable: null, unmovableLifetime: null } });
  assert.deepEqual(Object.keys(frag.churn as Json).sort(), ['pageCache', 'pageCacheDropEvery', 'reclaimable', 'reclaimableLifetime']);
  assert.ok(!('churn' in mergeWorkload(presetWorkload('fragmenter'), { name: 'x', churn: null })));

  const db = mergeWorkload(presetWorkload('database'), {
    name: 'db',
    streams: [{ name: 'scan', hotFraction: null, hotOffset: null }, { name: 'new', mapping: 'buffer-pool', pattern: 'uniform', rate: 1, theta: null }],
    mappings: [{ name: 'buffer-pool', content: { zero: null, duplicated: '5%' } }],
  });
  const streams = db.streams as Json[];
  assert.ok(!('hotFraction' in streams[1]) && !('hotOffset' in streams[1]), 'the fields return to their defaults');
  assert.equal(streams[1].pattern, 'sequential');
  assert.ok(!('theta' in streams[2]), 'a null in a new item is dropped');
  assert.deepEqual((db.mappings as Json[])[0].content, { duplicated: '5%' }, 'a null in a new object is dropped');
  assert.ok(!JSON.stringify(db).includes('null'));

  const undef = mergeWorkload(presetWorkload('redis'), { name: 'r', count: undefined });
  assert.ok(!('count' in undef), 'undefined is the same as leaving the key out');
});

test('mergeWorkload does not mutate its inputs, and a __proto__ key stays data', () => {
  const base = deepFreeze(presetWorkload('jvm'));
  const override = deepFreeze({ name: 'svc', mappings: [{ name: 'heap', size: '16GiB' }], streams: [{ name: 'young', move: { every: '5s' } }] });
  const merged = mergeWorkload(base, override);
  assert.equal((merged.mappings as Json[])[0].size, '16GiB');
  assert.deepEqual((merged.streams as Json[])[0].move, { every: '5s', by: '12.5%' });
  assert.deepEqual(base, presetWorkload('jvm'));
  (merged.mappings as Json[])[0].size = '1GiB';
  ((merged.streams as Json[])[0].move as Json).by = 0;
  assert.equal(((base.streams as Json[])[0].move as Json).by, '12.5%', 'the result shares no object with the base');
  assert.equal((override.mappings[0] as Json).size, '16GiB', 'nor with the override');

  const evil = JSON.parse('{"name": "x", "__proto__": {"polluted": true}}') as Json;
  const r = mergeWorkload({ name: 'b' }, evil);
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(r, '__proto__')?.value, { polluted: true });
  assert.equal((r as { polluted?: unknown }).polluted, undefined);
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
});

test('presetWorkload returns a fresh deep copy each time', () => {
  const a = presetWorkload('web');
  (a.mappings as Json[])[0].size = '1TiB';
  a.count = 1;
  const b = presetWorkload('web');
  assert.equal((b.mappings as Json[])[0].size, '64MiB');
  assert.equal(b.count, 32);
});

/** JSON-like workload fragments: plain objects, named lists, other lists, scalars and nulls. */
const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; object: Json; named: Json[] }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null)),
    tie('object'),
    tie('named'),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
  object: fc.dictionary(fc.constantFrom('name', 'size', 'rate', 'content', 'streams', 'mappings', 'a', 'b', 'c'), tie('value'), {
    maxKeys: 5,
    noNullPrototype: true,
  }),
  named: fc.array(
    fc.tuple(fc.constantFrom('heap', 'scan', 'young', 'old'), tie('object')).map(([name, rest]) => ({ ...rest, name })),
    { maxLength: 4 },
  ),
})).value;
const jsonObject = jsonValue.filter((v): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v));

test('property: merging an empty override copies the base; inputs are never changed; the override wins', () => {
  fc.assert(
    fc.property(jsonObject, jsonObject, (base, override) => {
      const baseBefore = structuredClone(base);
      const overrideBefore = structuredClone(override);
      assert.deepStrictEqual(mergeWorkload(base, {}), base);
      const merged = mergeWorkload(base, override);
      assert.deepStrictEqual(base, baseBefore);
      assert.deepStrictEqual(override, overrideBefore);
      for (const [key, value] of Object.entries(override)) {
        if (value === null) assert.ok(!(key in merged), `${key} removed`);
        else if (typeof value !== 'object') assert.equal(merged[key], value, `${key} from the override`);
      }
      for (const key of Object.keys(base)) if (!(key in override)) assert.deepStrictEqual(merged[key], base[key]);
    }),
    { numRuns: 300 },
  );
});

// ---- every preset -----------------------------------------------------------------------------------

for (const preset of presetNames) {
  test(`preset ${preset} validates and is described`, () => {
    const result = WorkloadSchema.safeParse(mergeWorkload(presetWorkload(preset), { name: 'x' }));
    assert.ok(result.success, JSON.stringify(result.error?.issues));
    const description = presetDescriptions[preset];
    assert.ok(typeof description === 'string' && description.length > 20 && !description.includes('\n'), 'a one-line description');
    assert.equal(presetWorkload(preset).description, description);
    const w = result.data;
    for (const s of w.streams ?? []) mappingOf(w, s.mapping);
  });
}

test('presetDescriptions has exactly the preset names', () => {
  assert.deepEqual(Object.keys(presetDescriptions).sort(), [...presetNames].sort());
});

// ---- each preset produces the access shape it claims ------------------------------------------------

test('database: zipf lookups skewed by page but spread over 2 MiB regions; a scan of the last quarter; no THPs unless collapsed', () => {
  const w = workload('database');
  const pool = mappingOf(w, 'buffer-pool');
  assert.equal(pool.size, 4 * 1024 ** 3);
  assert.equal(pool.populate, 1);
  assert.ok(!(pool.madvise ?? []).includes('MADV_HUGEPAGE'), 'no MADV_HUGEPAGE, as the databases default');

  const lookups = specAt(w, 'lookups');
  assert.equal(lookups.pattern, 'zipf');
  assert.equal(lookups.writeFraction, 0.2);
  const pages: number[] = [];
  for (let p = lookups.start / PAGE_BYTES; p < (lookups.start + lookups.length) / PAGE_BYTES; p++) pages.push(regionAccessMass(lookups, p, 1));
  assert.ok(topShare(pages, 0.1) >= 0.8, `hottest 10% of pages take ${topShare(pages, 0.1)}`);
  const regions = regionRates(lookups);
  between(topShare(regions, 0.1), 0.4, 0.55, 'hottest 10% of 2 MiB regions');
  between(topShare(regions, 0.01), 0.2, 0.3, 'hottest 1% of 2 MiB regions');
  assert.equal(Math.ceil(regions.length * 0.01), 21);

  const scan = specAt(w, 'scan');
  assert.equal(scan.pattern, 'sequential');
  assert.equal(scan.ratePerSec, 4e6);
  const scanRegions = regionRates(scan);
  const quarter = scanRegions.length * 0.75;
  assert.equal(sum(scanRegions.slice(0, quarter)), 0, 'nothing before the last quarter');
  between(Math.max(...scanRegions.slice(quarter)) / Math.min(...scanRegions.slice(quarter)), 1, 1.0001, 'a sweep: every region alike');

  between(thpSpeedup(lookups), 1.8, 2.1, 'THP speed-up of the lookups');
  between(thpSpeedup(scan), 1, 1.05, 'THP speed-up of the scan');

  // On the kernel, scaled to 256 MiB: the streams run at their rates; no THP until a collapse.
  const small = workload('database', { mappings: [{ name: 'buffer-pool', size: '256MiB' }] });
  const k = kernel(512);
  const { pid, addr } = launch(k, small);
  k.advance(5000);
  const accesses = k.perfCounters(pid).accesses;
  between(accesses / (5 * (lookups.ratePerSec + scan.ratePerSec)), 0.99, 1.01, 'accesses at the streams’ rates');
  assert.equal(smapsKiB(k, pid, 'AnonHugePages'), 0, 'no THP under enabled=madvise');
  k.madvise(pid, addr.get('buffer-pool')!, 256 * MiB, 'MADV_COLLAPSE');
  assert.equal(smapsKiB(k, pid, 'AnonHugePages'), 256 * 1024, 'a collapse from outside gives it THPs');
  k.advance(2000);
  const p = k.perfCounters(pid);
  assert.ok(p.baselineCycles > p.cycles, 'and they make its accesses cheaper');
});

test('jvm: the eden is hotter per byte than the old generation’s hottest region and moves every 10 s', () => {
  const w = workload('jvm');
  const heap = mappingOf(w, 'heap');
  assert.ok(!(heap.madvise ?? []).includes('MADV_HUGEPAGE'), 'the JVM default: no -XX:+UseTransparentHugePages');
  const young = specAt(w, 'young');
  const old = specAt(w, 'old');
  assert.ok(young.writeFraction >= 0.5 && old.writeFraction <= 0.1, 'young write-heavy, old mostly read');
  const youngRegions = regionRates(young).filter((r) => r > 0);
  const oldRegions = regionRates(old);
  assert.equal(youngRegions.length * REGION, 512 * MiB, 'a 512 MiB eden');
  const youngMean = sum(youngRegions) / youngRegions.length;
  const oldMean = sum(oldRegions) / oldRegions.length;
  between(youngMean / oldMean, 35, 45, 'eden vs old generation, per byte');
  between(Math.max(...oldRegions) / oldMean, 25, 32, 'the old generation’s hottest region vs its mean');
  assert.ok(Math.min(...youngRegions) > Math.max(...oldRegions), 'every eden region is hotter than the hottest old one');

  const move = streamOf(w, 'young').move;
  assert.ok(move);
  assert.equal(move.every, 10_000);
  const before = regionRates(specAt(w, 'young', move.every - 1));
  const after = regionRates(specAt(w, 'young', move.every));
  assert.deepEqual(before, regionRates(young), 'nothing moves before the period');
  assert.equal(before.filter((r, i) => r > 0 && after[i] > 0).length, 0, 'a young collection moves the eden to fresh regions');
  assert.equal(after.findIndex((r) => r > 0), before.findLastIndex((r) => r > 0) + 1, 'the next regions up');

  between(thpSpeedup(young), 1.15, 1.35, 'THP speed-up of the eden (512 MiB uniform)');
  between(thpSpeedup(old), 2.1, 2.5, 'THP speed-up of the old generation (4 GiB zipf)');

  // On the kernel, scaled to 256 MiB: DAMON finds the eden, and then finds it moved.
  const small = workload('jvm', { mappings: [{ name: 'heap', size: '256MiB' }] });
  const k = kernel(512);
  const { pid, addr, streamIds } = launch(k, small);
  const a = addr.get('heap')!;
  const eden = 32 * MiB;
  k.damonStart(pid);
  k.advance(10_000);
  let regions = k.damonRegions(pid);
  const hot0 = damonHeat(regions, a, a + eden);
  const rest0 = damonHeat(regions, a + eden, a + 256 * MiB);
  assert.ok(hot0 > 15 && hot0 > 2 * rest0, `eden ${hot0} vs rest ${rest0}`);
  k.updateAccessStream(pid, streamIds.get('young')!, accessSpecAt(streamOf(small, 'young'), a, 256 * MiB, move.every));
  k.advance(10_000);
  regions = k.damonRegions(pid);
  const hot1 = damonHeat(regions, a + eden, a + 2 * eden);
  const stale = damonHeat(regions, a, a + eden);
  assert.ok(hot1 > 15 && hot1 > 2 * stale, `new eden ${hot1} vs the old one ${stale}`);
  between(k.perfCounters(pid).accesses / (20 * (young.ratePerSec + old.ratePerSec)), 0.99, 1.01, 'accesses at the streams’ rates');
});

test('kvm-guest: KSM frees (count−1)/count of the duplicated pages and nearly all zero pages, splitting THPs', () => {
  const w = workload('kvm-guest');
  const ram = mappingOf(w, 'guest-ram');
  assert.deepEqual([...(ram.madvise ?? [])].sort(), ['MADV_HUGEPAGE', 'MADV_MERGEABLE'], 'what QEMU madvises guest RAM with');
  const n = w.count ?? 1;
  const dup = ram.content?.duplicated ?? 0;
  const zero = ram.content?.zero ?? 0;
  assert.equal(n, 4);
  assert.ok(dup >= 0.3, 'a large duplicated share');
  between(((n - 1) / n) * dup + zero, 0.39, 0.41, 'claimed KSM saving of written memory');
  const guest = specAt(w, 'guest');
  assert.equal(guest.pattern, 'uniform');
  assert.equal(guest.hotFraction, 0.5);
  between(thpSpeedup(guest), 1.2, 1.35, 'THP speed-up of a 1 GiB uniform working set');

  // On the kernel: the group's guests at 40 MiB each, their written pages laid out as `content` says
  // (duplicated pages hold the same value at the same index in every guest), then ksmd.
  const small = workload('kvm-guest', { mappings: [{ name: 'guest-ram', size: '40MiB' }] });
  const size = mappingOf(small, 'guest-ram').size;
  const populated = Math.floor((size * (ram.populate ?? 1)) / PAGE_BYTES);
  assert.equal((populated * PAGE_BYTES) % REGION, 0, 'the written part ends on a 2 MiB boundary (no zero THP tails)');
  const dupPages = Math.round(populated * dup);
  const zeroPages = Math.round(populated * zero);
  const k = kernel(1024);
  const pids: number[] = [];
  for (let g = 0; g < n; g++) {
    const { pid, addr } = launch(k, small, { streams: false });
    const a = addr.get('guest-ram')!;
    for (let i = 0; i < dupPages; i++) k.touch(pid, a + i * PAGE_BYTES, PAGE_BYTES, { fill: 0x1000_0000 + i });
    for (let i = dupPages; i < dupPages + zeroPages; i++) k.touch(pid, a + i * PAGE_BYTES, PAGE_BYTES, { fill: 0 });
    pids.push(pid);
  }
  const thpBefore = sum(pids.map((p) => smapsKiB(k, p, 'AnonHugePages')));
  assert.equal(thpBefore, n * populated * 4, 'MADV_HUGEPAGE: the written guest RAM is all THPs');
  k.writeFile('/sys/kernel/mm/ksm/pages_to_scan', '10000');
  k.writeFile('/sys/kernel/mm/ksm/run', '1');
  k.advance(3000);
  const sharing = Number(k.readFile('/sys/kernel/mm/ksm/pages_sharing'));
  const maxSharing = Number(k.readFile('/sys/kernel/mm/ksm/max_page_sharing'));
  const expected = dupPages * (n - 1) + zeroPages * n - Math.ceil((zeroPages * n) / maxSharing);
  between(sharing / expected, 0.99, 1.01, 'pages KSM freed vs the content shares');
  between(sharing / (n * populated), 0.39, 0.41, 'share of the written memory freed');
  const thpAfter = sum(pids.map((p) => smapsKiB(k, p, 'AnonHugePages')));
  const regionsWithMerged = Math.ceil((dupPages + zeroPages) / PAGES_PER_REGION);
  assert.equal(thpAfter, thpBefore - n * regionsWithMerged * 2048, 'every THP holding a merged page was split');
});

test('redis: a BGSAVE fork every 5 min whose 25 s child lets the parent’s writes split every THP', () => {
  const w = workload('redis');
  assert.deepEqual(w.forks, [{ at: 300_000, every: 300_000, childLifetime: 25_000 }]);
  const fork = w.forks[0];
  const forkTimes: number[] = [];
  for (let t = fork.at; t <= 3_600_000; t += fork.every ?? Infinity) forkTimes.push(t);
  assert.equal(forkTimes.length, 12, 'twelve snapshots an hour');
  assert.ok(fork.childLifetime >= 20_000 && fork.childLifetime <= 30_000 && fork.childLifetime < fork.every, 'one child at a time');

  const commands = specAt(w, 'commands');
  assert.equal(commands.pattern, 'zipf');
  const writesPerChild = commands.ratePerSec * commands.writeFraction * (fork.childLifetime / 1000);
  assert.equal(writesPerChild, 10e6);
  const reached = regionRates(commands).map((r) => 1 - Math.exp(-r * commands.writeFraction * (fork.childLifetime / 1000)));
  assert.ok(sum(reached) / reached.length >= 0.99, 'the parent writes to ≥ 99% of the 2 MiB regions during a snapshot');
  between(thpSpeedup(commands), 1.5, 1.8, 'THP speed-up of the commands');

  // On the kernel, 128 MiB collapsed into THPs (what a daemon would do), then a snapshot.
  const small = workload('redis', { mappings: [{ name: 'dataset', size: '128MiB' }] });
  const k = kernel(512);
  const { pid, addr } = launch(k, small);
  k.madvise(pid, addr.get('dataset')!, 128 * MiB, 'MADV_COLLAPSE');
  k.advance(2000);
  assert.equal(smapsKiB(k, pid, 'AnonHugePages'), 128 * 1024, 'THPs survive while nobody forks');
  const child = k.fork(pid);
  k.advance(fork.childLifetime);
  assert.ok(smapsKiB(k, pid, 'AnonHugePages') <= 0.01 * 128 * 1024, 'the child’s life split the parent’s THPs');
  k.exit(child);
  k.advance(1000);
  assert.ok(smapsKiB(k, pid, 'AnonHugePages') <= 0.01 * 128 * 1024, 'and they stay split after it exits');
});

test('batch: a sequential load that fills the buffer, then a uniform hot quarter that moves, then exit', () => {
  const w = workload('batch');
  const data = mappingOf(w, 'data');
  const job = streamOf(w, 'job');
  assert.equal(data.populate, 1, 'the buffer is allocated as the job starts');
  const [compute, moved] = job.phases ?? [];
  assert.ok(compute && moved);
  assert.ok(w.lifetime !== undefined && w.lifetime > moved.at, 'the job exits after the move');

  const load = specAt(w, 'job', 0);
  assert.equal(load.pattern, 'sequential');
  assert.equal(load.writeFraction, 1);
  const loadBytes = load.ratePerSec * 64 * (compute.at / 1000);
  between(loadBytes / data.size, 1, 1.2, 'the load phase writes the buffer about once');
  assert.equal(specAt(w, 'job', compute.at - 1).pattern, 'sequential');

  const hot = regionRates(specAt(w, 'job', compute.at));
  const hotAfter = regionRates(specAt(w, 'job', moved.at));
  const quarter = hot.length / 4;
  assert.equal(specAt(w, 'job', compute.at).pattern, 'uniform');
  between(sum(hot.slice(0, quarter)) / sum(hot), 0.9999, 1, 'compute: all in the first quarter');
  between(sum(hotAfter.slice(3 * quarter)) / sum(hotAfter), 0.9999, 1, 'after the move: all in the last quarter');
  assert.equal(sum(hotAfter.slice(0, quarter)), 0, 'the first quarter gets nothing any more');
  assert.deepEqual(regionRates(specAt(w, 'job', moved.at - 1)), hot, 'nothing moves before the phase');
  between(thpSpeedup(specAt(w, 'job', compute.at)), 1.15, 1.35, 'THP speed-up of the compute phase');
  between(thpSpeedup(load), 1, 1.05, 'THP speed-up of the load phase');

  // On the kernel, scaled to 256 MiB: DAMON sees the load sweep everything, then each hot quarter.
  const size = 256 * MiB;
  const small = workload('batch', { mappings: [{ name: 'data', size: '256MiB' }] });
  const k = kernel(512);
  const { pid, addr, streamIds } = launch(k, small);
  const a = addr.get('data')!;
  k.damonStart(pid);
  k.advance(compute.at);
  between(k.perfCounters(pid).accesses / (load.ratePerSec * (compute.at / 1000)), 0.99, 1.01, 'the load at its rate');
  const id = streamIds.get('job')!;
  k.updateAccessStream(pid, id, accessSpecAt(streamOf(small, 'job'), a, size, compute.at));
  k.advance(10_000);
  let regions = k.damonRegions(pid);
  assert.ok(damonHeat(regions, a, a + size / 4) > 4 * damonHeat(regions, a + size / 4, a + size), 'compute: the first quarter is hot');
  k.updateAccessStream(pid, id, accessSpecAt(streamOf(small, 'job'), a, size, moved.at));
  k.advance(10_000);
  regions = k.damonRegions(pid);
  assert.ok(damonHeat(regions, a + (3 * size) / 4, a + size) > 4 * damonHeat(regions, a, a + size / 4), 'after the move: the last quarter');
});

test('ml-training: an even sequential sweep of the input buffer and skewed, THP-friendly embedding lookups', () => {
  const w = workload('ml-training');
  const input = specAt(w, 'input');
  const lookups = specAt(w, 'lookups');
  assert.equal(input.pattern, 'sequential');
  const inputRegions = regionRates(input);
  between(Math.max(...inputRegions) / Math.min(...inputRegions), 1, 1.0001, 'every input region receives the same share');
  assert.ok(input.length / 64 / input.ratePerSec < 1, 'a sweep of the whole buffer in under a second');
  assert.ok(['zipf', 'uniform'].includes(lookups.pattern));
  assert.ok(topShare(regionRates(lookups), 0.1) >= 0.5, 'the hottest 10% of embedding regions take half the lookups');
  assert.ok(input.ratePerSec >= 5 * lookups.ratePerSec, 'the input takes most accesses');
  between(thpSpeedup(input), 1, 1.05, 'THPs gain the input sweep nothing');
  between(thpSpeedup(lookups), 1.5, 1.9, 'THP speed-up of the lookups (4 GiB zipf)');

  // On the kernel, scaled to 64 + 128 MiB: both streams run at their rates.
  const small = workload('ml-training', {
    mappings: [
      { name: 'input-buffer', size: '64MiB' },
      { name: 'embeddings', size: '128MiB' },
    ],
  });
  const k = kernel(512);
  const { pid } = launch(k, small);
  k.advance(3000);
  between(k.perfCounters(pid).accesses / (3 * (input.ratePerSec + lookups.ratePerSec)), 0.99, 1.01, 'accesses at the streams’ rates');
});

test('web: 32 staggered workers with small heaps, each gaining little from THPs', () => {
  const w = workload('web');
  const heap = mappingOf(w, 'heap');
  const requests = specAt(w, 'requests');
  assert.equal(w.count, 32);
  assert.equal(w.stagger, 250);
  assert.ok(heap.size <= 128 * MiB, 'a small heap per worker');
  assert.equal((w.count ?? 1) * requests.ratePerSec, 16e6, 'the pool makes 16M accesses/s');
  between(thpSpeedup(requests), 1, 1.15, 'THP speed-up of one worker (64 MiB uniform)');

  // On the kernel: the whole pool, heaps scaled to 8 MiB, started `stagger` apart.
  const small = workload('web', { mappings: [{ name: 'heap', size: '8MiB' }] });
  const k = kernel(1024);
  const pids: number[] = [];
  for (let i = 0; i < (small.count ?? 1); i++) {
    if (i > 0) k.advance(small.stagger ?? 0);
    pids.push(launch(k, small).pid);
  }
  k.advance(5000);
  assert.equal(pids.length, 32);
  const accesses = pids.map((p) => k.perfCounters(p).accesses);
  for (const [i, n] of accesses.entries()) assert.ok(n > 0, `worker ${i} runs`);
  assert.ok(accesses[0] > accesses[31], 'the first worker started earliest');
  const expected = sum(pids.map((_, i) => requests.ratePerSec * (5 + ((31 - i) * (small.stagger ?? 0)) / 1000)));
  between(sum(accesses) / expected, 0.9, 1.1, 'the pool’s accesses at count × rate');
});

test('fragmenter: only kernel churn, whose outstanding allocations are rate × lifetime', () => {
  const w = workload('fragmenter');
  assert.deepEqual(w.mappings, []);
  assert.equal(w.streams, undefined);
  const churn = w.churn;
  assert.ok(churn);
  const { unmovable = 0, reclaimable = 0, pageCache = 0 } = churn;
  const { unmovableLifetime = 0, reclaimableLifetime = 0, pageCacheDropEvery = 0 } = churn;
  assert.ok(unmovable > 0 && reclaimable > 0 && pageCache > 0, 'every kind of churn runs');
  assert.ok(unmovableLifetime > reclaimableLifetime && reclaimableLifetime > 0 && pageCacheDropEvery > 0);
  const mib = (pages: number): number => (pages * PAGE_BYTES) / MiB;
  assert.equal(mib(unmovable * (unmovableLifetime / 1000)), 150, 'unmovable outstanding at steady state (MiB)');
  assert.equal(mib(reclaimable * (reclaimableLifetime / 1000)), 240, 'slab outstanding at steady state (MiB)');
  assert.equal(mib(pageCache * (pageCacheDropEvery / 1000)), 3000, 'page cache read per drop period (MiB)');

  // On the kernel: three minutes of churn in one-second batches.
  const k = kernel(4096);
  const blocks = (): { unmovable: number; reclaimable: number } => {
    const m = /Node 0, zone\s+Normal\s+(\d+)\s+(\d+)\s+(\d+)/.exec(k.readFile('/proc/pagetypeinfo'));
    assert.ok(m);
    return { unmovable: Number(m[1]), reclaimable: Number(m[3]) };
  };
  const before = blocks();
  const seconds = 180;
  for (let s = 0; s < seconds; s++) {
    k.kernelAlloc(0, unmovable, 'unmovable', unmovableLifetime);
    k.kernelAlloc(0, reclaimable, 'reclaimable', reclaimableLifetime);
    k.pageCacheAdd(0, pageCache);
    k.advance(1000);
  }
  assert.equal(vmstat(k, 'nr_slab_unreclaimable'), unmovable * seconds, 'unmovable pages still within their lifetime');
  between(vmstat(k, 'nr_slab_reclaimable'), reclaimable * (reclaimableLifetime / 1000 - 1), reclaimable * (reclaimableLifetime / 1000), 'slab at steady state');
  assert.equal(vmstat(k, 'nr_file_pages'), pageCache * seconds, 'the page cache grows at its rate');
  const after = blocks();
  assert.ok(after.unmovable - before.unmovable >= Math.floor((unmovable * seconds) / PAGES_PER_REGION), 'unmovable pages took pageblocks');
  assert.ok(after.reclaimable - before.reclaimable >= Math.floor(vmstat(k, 'nr_slab_reclaimable') / PAGES_PER_REGION), 'and so did the slab');
});
