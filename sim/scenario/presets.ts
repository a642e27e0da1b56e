/**
 * The workload library: named process groups a scenario's workload entry starts from (`preset: jvm`)
 * and overrides field by field. Each preset is written in the scenario file format itself (sizes as
 * `4GiB`, durations as `90s`, rates as `2M/s`, fractions as `30%`), so what a user reads here is what
 * they would write, and the loader validates preset and override with the same schema (schema.ts).
 *
 * Default sizes are moderate (a few GiB per process group) so a scenario fits a small simulated machine;
 * a scenario scales them with an override, e.g. `{ preset: database, mappings: [{ name: buffer-pool,
 * size: 32GiB }] }`.
 *
 * Rates are memory accesses per second, as the kernel model's access streams define them
 * (kernel-model/workload/access-pattern.ts): every access is priced by the MMU cost model, a
 * sequential access is one 64-byte cache line, and a busy process makes 1e6–5e7 of them a second
 * (a core whose every access misses the cache manages a few 1e7 a second, with memory-level
 * parallelism).
 *
 * The numbers quoted in each preset's comment are computed from the preset at its default size and
 * checked by test/sim/scenario/presets.test.ts; change a preset and its comment together.
 */
import type { PresetName } from './schema.js';

type Json = Record<string, unknown>;

/**
 * `database` — the buffer pool of an OLTP database server: MySQL/InnoDB (an anonymous private mmap of
 * `innodb_buffer_pool_size`; PostgreSQL's shared_buffers is a shared mapping, which this format does
 * not model, but its access shape is the same).
 *
 * - buffer-pool 4 GiB, fully populated (a warm server), no MADV_HUGEPAGE: neither database asks for
 *   THPs by default (InnoDB's `large-pages` and PostgreSQL's `huge_pages` use hugetlbfs instead), so
 *   under `enabled=madvise` only a collapse from outside gives it huge pages.
 * - lookups: 20M/s zipf θ 0.99 (the YCSB key popularity) over the whole pool, 20% writes (row updates
 *   dirtying their pages). Pages are skewed but, as in a hash-indexed pool, hot pages are scattered:
 *   the hottest 10% of 4 KiB pages take ≥ 80% of the lookups while the hottest 10% of 2 MiB regions
 *   take only 40–55% and the hottest 1% (21 regions, 42 MiB) 20–30%. THPs make a lookup ~1.9x cheaper
 *   in the model (random over 4 GiB; less than uniform access's 2–3x, as zipf's hottest pages keep
 *   their 4 KiB translations cached anyway), and that gain is spread over the whole pool: a collapse
 *   budget is best spent on the top regions first, with diminishing returns.
 * - scan: 4M/s sequential (≈ 256 MB/s, a reporting query's table scan) over the last quarter of the
 *   pool, read-only: THPs gain it nothing (~1.03x), yet its regions look busy to an access counter.
 */
const database: Json = {
  name: 'database',
  comm: 'mysqld',
  description: 'OLTP database: 4 GiB buffer pool, zipf 0.99 point lookups with 20% writes plus a sequential table scan; no MADV_HUGEPAGE.',
  mappings: [{ name: 'buffer-pool', size: '4GiB', populate: '100%' }],
  streams: [
    { name: 'lookups', mapping: 'buffer-pool', pattern: 'zipf', theta: 0.99, rate: '20M/s', writeFraction: '20%' },
    { name: 'scan', mapping: 'buffer-pool', pattern: 'sequential', rate: '4M/s', hotFraction: '25%', hotOffset: '100%', writeFraction: 0 },
  ],
};

/**
 * `jvm` — a Java service on HotSpot with the G1 collector (the default since JDK 9): a 4 GiB heap
 * (-Xms4g -Xmx4g, fully touched as the service warms up) divided into regions, some of them eden.
 *
 * - heap 4 GiB, no MADV_HUGEPAGE: HotSpot madvises the heap only with -XX:+UseTransparentHugePages,
 *   which is off by default; this preset models the default. Add `madvise: [MADV_HUGEPAGE]` to the heap
 *   mapping to model the flag.
 * - young: the eden, 12.5% of the heap (512 MiB), 30M/s uniform with 60% writes (bump allocation and
 *   initialisation of new objects). After every young collection (every 10 s: ~50 MB/s of allocation
 *   fills the eden) G1 takes fresh free regions as eden, so the hot set `move`s by its own size every
 *   10 s: the regions that were hottest become cold garbage-free space, and any THP work spent on them
 *   is stranded.
 * - old: 6M/s zipf θ 0.8 over the whole heap (long-lived caches and sessions, skewed but broad), 5%
 *   writes (field updates, card marking).
 * Per byte the eden takes 40× the old generation's mean rate: every 2 MiB region of the eden is hotter
 * than the old generation's hottest region (~28× its mean). Yet THPs make an eden access only ~1.25x
 * cheaper (a 512 MiB uniform working set) and an old-generation access ~2.3x (zipf over 4 GiB): a
 * policy ranking regions by access density picks the eden, whose THPs are stranded every 10 s, while
 * the larger, steadier gain is spread thin over the old generation.
 */
const jvm: Json = {
  name: 'jvm',
  comm: 'java',
  description: 'Java service (G1): 4 GiB heap, a 512 MiB eden hot and write-heavy that moves every 10 s, a zipf 0.8 old generation; no MADV_HUGEPAGE (JVM default).',
  mappings: [{ name: 'heap', size: '4GiB', populate: '100%' }],
  streams: [
    {
      name: 'young',
      mapping: 'heap',
      pattern: 'uniform',
      rate: '30M/s',
      hotFraction: '12.5%',
      hotOffset: 0,
      writeFraction: '60%',
      move: { every: '10s', by: '12.5%' },
    },
    { name: 'old', mapping: 'heap', pattern: 'zipf', theta: 0.8, rate: '6M/s', writeFraction: '5%' },
  ],
};

/**
 * `kvm-guest` — QEMU/KVM virtual machines cloned from one image (a VDI pool or a CI fleet): 4 guests of
 * 2 GiB each. QEMU madvises guest RAM with MADV_HUGEPAGE (always) and MADV_MERGEABLE (`mem-merge=on`,
 * its default), which puts THPs and KSM in direct conflict — the seeds' KVM scenario.
 *
 * - guest-ram 2 GiB, 90% written (a guest that has been up for a while has touched nearly all its
 *   RAM: its page cache fills what its processes leave).
 * - content: 40% of the written pages are duplicated across the guests (the same kernel, libraries
 *   and page cache of the same base image) and 10% are zero (freed guest memory, zeroed buffers). KSM
 *   can therefore free 3 of every 4 copies of the duplicated pages and nearly all the zero pages:
 *   0.75 × 40% + 10% = 40% of the guests' written memory — and every THP with a merged subpage is split.
 * - guest: 5M/s uniform over half the guest RAM (the guest's working set), 20% writes: moderate, but
 *   a write to a merged page breaks it (cow_ksm). THPs make its accesses ~1.27x cheaper at this size
 *   (1 GiB uniform); scale the guests up and random access over GiBs under two-dimensional page walks
 *   gains 2–3x.
 */
const kvmGuest: Json = {
  name: 'kvm-guest',
  comm: 'qemu-system-x86',
  description: 'KVM guests: 4 × 2 GiB guest RAM with MADV_HUGEPAGE and MADV_MERGEABLE, 40% of pages duplicated across guests and 10% zero; uniform 5M/s over half the RAM.',
  count: 4,
  mappings: [
    {
      name: 'guest-ram',
      size: '2GiB',
      madvise: ['MADV_HUGEPAGE', 'MADV_MERGEABLE'],
      populate: '90%',
      content: { duplicated: '40%', zero: '10%' },
    },
  ],
  streams: [{ name: 'guest', mapping: 'guest-ram', pattern: 'uniform', rate: '5M/s', hotFraction: '50%', writeFraction: '20%' }],
};

/**
 * `redis` — a Redis server with RDB snapshots: a 2 GiB dataset, single-threaded.
 *
 * - dataset 2 GiB, fully populated, no MADV_HUGEPAGE. Redis ≥ 6.2 with `disable-thp yes` (its
 *   default) calls PR_SET_THP_DISABLE only when `enabled=always`; set `thpDisable: true` to model
 *   that. Under `madvise` it takes THPs only from a collapse.
 * - commands: 2M/s zipf θ 0.99 (100–200k commands/s, ~10 dependent memory accesses each, YCSB key
 *   popularity), 20% writes; THPs make them ~1.65x cheaper (zipf over 2 GiB).
 * - forks: BGSAVE every 5 minutes (`save 300 10` style), the first at 5 min; the child writes the RDB
 *   file for 25 s and exits. The child shares every page copy-on-write, so each parent write splits the
 *   THP it lands in and copies one 4 KiB page: in the child's 25 s the parent makes 10M writes, which
 *   reach ≥ 99% of the 2 MiB regions — each snapshot splits nearly every THP of the dataset, and the
 *   collapse work is lost every 5 minutes (the reason Redis asks users to disable THPs).
 */
const redis: Json = {
  name: 'redis',
  comm: 'redis-server',
  description: 'Redis: 2 GiB dataset, zipf 0.99 at 2M/s with 20% writes, BGSAVE fork every 5 min whose 25 s child COW-splits the THPs.',
  mappings: [{ name: 'dataset', size: '2GiB', populate: '100%' }],
  streams: [{ name: 'commands', mapping: 'dataset', pattern: 'zipf', theta: 0.99, rate: '2M/s', writeFraction: '20%' }],
  forks: [{ at: '5m', every: '5m', childLifetime: '25s' }],
};

/**
 * `batch` — an analytics job (a Spark executor or a sort/join step): it loads a partition, computes on
 * part of it, moves on to another part, and exits.
 *
 * - data 2 GiB, written when the process starts (`populate` 100%): all of it is faulted in at once,
 *   as THPs or not depending on `enabled` and on the free 2 MiB blocks of a fragmented machine. (The
 *   model's streams fault at most 512 pages a second, far slower than a real load, so the allocation
 *   is done by `populate` and the load phase below carries the load's accesses.)
 * - job: phases of one stream:
 *   0–30 s load: sequential writes at 1.2M/s (≈ 77 MB/s of 64-byte lines, a disk or network read),
 *     which write the 2 GiB once in ~28 s; sequential access gains nothing from THPs.
 *   30 s compute: 20M/s uniform over the first quarter (512 MiB), 30% writes: random access, which
 *     THPs make ~1.25x cheaper.
 *   5 min: the hot quarter moves to the last quarter of the buffer (the next partition): the first
 *     quarter receives nothing any more.
 *   8 min: the job exits (`lifetime`), freeing everything: THPs collapsed late are wasted.
 */
const batch: Json = {
  name: 'batch',
  comm: 'analytics',
  description: 'Batch job: writes 2 GiB sequentially in ~30 s, computes uniformly over one quarter, moves to another quarter at 5 min, exits at 8 min.',
  lifetime: '8m',
  mappings: [{ name: 'data', size: '2GiB', populate: '100%' }],
  streams: [
    {
      name: 'job',
      mapping: 'data',
      pattern: 'sequential',
      rate: '1.2M/s',
      writeFraction: '100%',
      phases: [
        { at: '30s', pattern: 'uniform', rate: '20M/s', hotFraction: '25%', hotOffset: 0, writeFraction: '30%' },
        { at: '5m', hotOffset: '100%' },
      ],
    },
  ],
};

/**
 * `ml-training` — a recommendation-model training process (DLRM-style, PyTorch on CPU memory): a data
 * loader streams batches through a staging buffer while the model looks up and updates embedding
 * tables.
 *
 * - input-buffer 2 GiB and embeddings 4 GiB, both populated, no MADV_HUGEPAGE (PyTorch's CPU allocator
 *   madvises only with THP_MEM_ALLOC_ENABLE=1).
 * - input: 50M/s sequential (3.2 GB/s of 64-byte lines) over the buffer, half writes (decode into the
 *   buffer, read back to form batches): it sweeps the 2 GiB in under a second, every 2 MiB region
 *   receives the same share, and THPs gain it nothing.
 * - lookups: 10M/s zipf θ 1.05 (feature popularity in click logs is heavy-tailed) over the tables, half
 *   writes (each looked-up row gets its sparse gradient update): the hottest 10% of 2 MiB regions take
 *   ≥ 50% of the lookups — random access over 4 GiB, which THPs make ~1.7x cheaper.
 * The process is a mix whose average gain from THPs hides where it comes from: a policy that ranks
 * regions by access count alone would favour the input buffer (5× the accesses) where THPs gain nothing.
 */
const mlTraining: Json = {
  name: 'ml-training',
  comm: 'python3',
  description: 'ML training: 50M/s sequential sweep of a 2 GiB input buffer plus 10M/s zipf 1.05 lookups with updates on 4 GiB of embedding tables.',
  mappings: [
    { name: 'input-buffer', size: '2GiB', populate: '100%' },
    { name: 'embeddings', size: '4GiB', populate: '100%' },
  ],
  streams: [
    { name: 'input', mapping: 'input-buffer', pattern: 'sequential', rate: '50M/s', writeFraction: '50%' },
    { name: 'lookups', mapping: 'embeddings', pattern: 'zipf', theta: 1.05, rate: '10M/s', writeFraction: '50%' },
  ],
};

/**
 * `web` — the worker pool of a web application server (PHP-FPM, gunicorn, Apache prefork): 32
 * processes started a quarter second apart, each with a 64 MiB heap, three quarters touched.
 *
 * - requests: 500k/s uniform with 30% writes per worker (16M/s for the pool): each worker's working
 *   set is small, so THPs gain one worker little (the calibration's 1.05–1.25x at 32–128 MiB; the
 *   model's ~1.1x at 64 MiB) while the pool's 2 GiB spread over 32 address spaces is costly to scan:
 *   a policy should not spend its budget here first.
 */
const web: Json = {
  name: 'web',
  comm: 'php-fpm',
  description: 'Web workers: 32 processes with 64 MiB heaps (75% touched), uniform 500k/s each with 30% writes; little to gain from THPs.',
  count: 32,
  stagger: '250ms',
  mappings: [{ name: 'heap', size: '64MiB', populate: '75%' }],
  streams: [{ name: 'requests', mapping: 'heap', pattern: 'uniform', rate: '500k/s', writeFraction: '30%' }],
};

/**
 * `fragmenter` — the kernel's own activity on a long-running host, without a process: network and
 * filesystem traffic allocating unmovable buffers, slab caches (dentries, inodes) and page cache from a
 * backup or log shipper reading files, some of which are deleted periodically.
 *
 * - unmovable 64 pages/s living 10 min each: ~150 MiB outstanding at steady state, scattered over
 *   pageblocks as they steal from movable ones; each such page pins its 2 MiB block against
 *   compaction (Contiguitas' finding: unmovable allocations are the main cause of fragmentation).
 * - reclaimable 512 pages/s living 2 min: ~240 MiB of slab, freed by shrinkers under pressure.
 * - pageCache 2560 pages/s (10 MiB/s of file reads), half dropped every 5 min: ~3000 MiB read per
 *   period, which fills free memory until reclaim and leaves holes when files are deleted.
 * Together they make THP allocation at fault and collapse depend on compaction.
 */
const fragmenter: Json = {
  name: 'fragmenter',
  description: 'Kernel churn: 64 unmovable pages/s (10 min), 512 reclaimable pages/s (2 min), 10 MiB/s of page cache half dropped every 5 min.',
  mappings: [],
  churn: {
    unmovable: '64/s',
    unmovableLifetime: '10m',
    reclaimable: '512/s',
    reclaimableLifetime: '2m',
    pageCache: '2560/s',
    pageCacheDropEvery: '5m',
  },
};

const presets: Readonly<Record<PresetName, Json>> = {
  database,
  jvm,
  'kvm-guest': kvmGuest,
  redis,
  batch,
  'ml-training': mlTraining,
  web,
  fragmenter,
};

/** One line per preset, for docs and `--help`. */
export const presetDescriptions: Record<PresetName, string> = Object.fromEntries(
  Object.entries(presets).map(([name, w]) => [name, w.description as string]),
) as Record<PresetName, string>;

/** The preset's workload in file format (units as strings): a fresh deep copy the caller may change. */
export function presetWorkload(name: PresetName): Json {
  const preset = presets[name];
  if (preset === undefined) throw new RangeError(`no workload preset named ${JSON.stringify(name)}`);
  return structuredClone(preset);
}

/**
 * A workload entry merged over its base (a preset), as a new object; neither input is changed.
 *
 * - The override wins: a key it gives replaces or merges into the base's; a key it leaves out (or gives
 *   as `undefined`) keeps the base's value. So the result's `name` and `preset` are the override's.
 * - Plain objects merge key by key, recursively (`content`, `churn`, `move`, `mempolicy`).
 * - Lists of named items (every item on both sides an object with a string `name`: `mappings`,
 *   `streams`) merge by name: an override item whose name the base has merges into that item (so
 *   `{ name: heap, size: 8GiB }` resizes the heap and keeps its other fields), one with a new name is
 *   appended; base items the override does not name stay, in their order.
 * - Every other list (`madvise`, `phases`, `forks`, a node list) and every scalar is replaced whole,
 *   and so is an empty list: `streams: []` leaves no streams.
 * - `null` removes the key: `{ lifetime: null }` lets a preset's processes run to the end, `{ churn: null }`
 *   drops the churn, `{ streams: [{ name: scan, hotFraction: null }] }` restores that field's default.
 *   Nulls inside override values the base lacks (a new item, a new object) are dropped the same way:
 *   the override never adds a null. (A named item cannot be removed from a list this way; give a
 *   stream rate 0 to silence it.)
 * - Keys are set as own data properties, so a `__proto__` key in a parsed file is data, never a
 *   prototype.
 */
export function mergeWorkload(base: Json, override: Json): Json {
  return mergeObjects(base, override);
}

function mergeObjects(base: Json, override: Json): Json {
  const out = clone(base) as Json;
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    if (value === null) delete out[key];
    else setKey(out, key, mergeValues(Object.hasOwn(base, key) ? base[key] : undefined, value));
  }
  return out;
}

function mergeValues(base: unknown, override: unknown): unknown {
  if (isPlainObject(override)) return mergeObjects(isPlainObject(base) ? base : {}, override);
  if (Array.isArray(override)) {
    if (Array.isArray(base) && override.length > 0 && allNamed(base) && allNamed(override)) return mergeNamed(base, override);
    return override.map((item) => (item === null ? null : mergeValues(undefined, item)));
  }
  return override;
}

function mergeNamed(base: readonly Json[], override: readonly Json[]): Json[] {
  const out = base.map((item) => clone(item) as Json);
  for (const item of override) {
    const i = out.findIndex((b) => b.name === item.name);
    if (i >= 0) out[i] = mergeObjects(out[i], item);
    else out.push(mergeObjects({}, item));
  }
  return out;
}

/** A deep copy of plain objects and arrays, exactly as they are (nulls included). */
function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isPlainObject(value)) {
    const out: Json = {};
    for (const [key, v] of Object.entries(value)) setKey(out, key, clone(v));
    return out;
  }
  return value;
}

function setKey(obj: Json, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

function allNamed(items: readonly unknown[]): items is Json[] {
  return items.every((item) => isPlainObject(item) && typeof item.name === 'string');
}

function isPlainObject(value: unknown): value is Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
