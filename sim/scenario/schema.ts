/**
 * The scenario file format (YAML or JSON): a machine, its cgroups, and the workloads that run on it.
 * This zod schema is the single definition: the loader validates with it, `config/scenario.schema.json`
 * is exported from it (`npm run schema`), and the runner consumes its output types.
 *
 * A workload entry may name a preset (sim/scenario/presets.ts): the preset is a workload written in this
 * same format, and the entry's fields override it; lists of named items (mappings, streams) merge by
 * name. So an entry is validated twice: as written, with every field optional ("override" form, so a
 * typo or a bad unit is reported where the user wrote it), and after merging, with the required fields
 * required ("complete" form).
 */
import { z } from 'zod';
import { Duration, Fraction, Rate, Size } from '../../daemon/config/zod-units.js';

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, _ . - (starting with a letter or digit)');
const NodeId = z.number().int().min(0);
const CgroupPath = z
  .string()
  .regex(/^\/([A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*)?$/, 'expected a cgroup path such as /batch or /services/db (under /sys/fs/cgroup)');

export const presetNames = ['database', 'jvm', 'kvm-guest', 'redis', 'batch', 'ml-training', 'web', 'fragmenter'] as const;
export type PresetName = (typeof presetNames)[number];

export const madviseAdvices = ['MADV_HUGEPAGE', 'MADV_NOHUGEPAGE', 'MADV_MERGEABLE', 'MADV_UNMERGEABLE'] as const;
export const streamPatterns = ['uniform', 'zipf', 'sequential', 'strided'] as const;
export const mempolicyModes = ['default', 'local', 'preferred', 'bind', 'interleave'] as const;

// ---- machine ----------------------------------------------------------------------------------------

const NodeSpec = z.strictObject({ memory: Size.describe('Memory of the node.') });

const Age = z
  .strictObject({
    unmovable: Fraction.optional().describe('Share of each node left holding long-lived unmovable kernel allocations, scattered over its pageblocks (default 0).'),
    reclaimable: Fraction.optional().describe('Share of each node left holding reclaimable kernel allocations (slab caches; default 0).'),
    pageCache: Fraction.optional().describe('Share of each node left filled with clean page cache (default 0).'),
    nodes: z.array(NodeId).min(1).optional().describe('The nodes to age (default all).'),
    pollutedBlocks: Fraction.optional().describe('Share of the pageblocks those kernel allocations are scattered over (default: 16 times the unmovable and reclaimable share, at most 1); a polluted pageblock can no longer be compacted into a huge page.'),
  })
  .describe('Ages the machine before the workloads start, as days of uptime would: kernel allocations and page cache churn, leaving memory fragmented.');

const Machine = z.strictObject({
  nodes: z.array(NodeSpec).min(1).max(16).describe('NUMA nodes, in node-id order.'),
  distances: z.array(z.array(z.number().int().min(10).max(254))).optional().describe('SLIT distance matrix (default 10 local, 20 remote).'),
  swap: Size.optional().describe('Swap device size (default none).'),
  balloon: z.boolean().optional().describe('The machine is a guest whose virtio-balloon does free page reporting (default false).'),
  knobs: z
    .record(z.string().regex(/^\/(sys|proc\/sys)\//, 'expected a path under /sys/ or /proc/sys/'), z.union([z.string(), z.number()]))
    .optional()
    .describe('Initial sysfs/sysctl settings, written in order at boot, e.g. /sys/kernel/mm/transparent_hugepage/enabled: always.'),
  age: Age.optional(),
});

// ---- cgroups ----------------------------------------------------------------------------------------

const MemoryLimit = z.union([Size, z.literal('max')]);

const Cgroup = z.strictObject({
  path: CgroupPath.describe('The cgroup, e.g. /batch; parents are created as needed.'),
  memoryMax: MemoryLimit.optional().describe('memory.max (default max).'),
  memoryHigh: MemoryLimit.optional().describe('memory.high (default max).'),
});

// ---- workloads --------------------------------------------------------------------------------------

/** Each field's schema, and whether it is required in a complete workload. */
type Mode = 'override' | 'complete';

type Req<M extends Mode, T extends z.ZodType> = M extends 'complete' ? T : z.ZodOptional<T>;

function req<M extends Mode, T extends z.ZodType>(mode: M, schema: T): Req<M, T> {
  return (mode === 'complete' ? schema : schema.optional()) as Req<M, T>;
}

function mappingSchema<M extends Mode>(mode: M) {
  return z.strictObject({
    name: Name.describe('Name streams refer to.'),
    size: req(mode, Size.describe('Length of the mapping.')),
    align: Size.optional().describe('Alignment of its start (default 2MiB, as glibc does for large mappings).'),
    madvise: z.array(z.enum(madviseAdvices)).optional().describe('madvise(2) calls made on the whole mapping after mmap.'),
    populate: Fraction.optional().describe('Share of the mapping written at process start (default 1).'),
    content: z
      .strictObject({
        duplicated: Fraction.optional().describe('Share of pages whose content equals the same page of every other instance of this workload (default 0).'),
        zero: Fraction.optional().describe('Share of pages written with zeros (default 0).'),
      })
      .optional()
      .describe('What written pages hold; the rest is distinct. KSM merges duplicated and zero pages.'),
    mlock: z.boolean().optional().describe('mlock(2) the mapping.'),
  });
}

function moveSchema() {
  return z
    .strictObject({
      every: Duration.describe('Period of the move.'),
      by: Fraction.describe('How far the hot set moves each time, as a share of the mapping (wrapping around).'),
    })
    .describe('The hot set moves periodically.');
}

function phaseSchema() {
  return z.strictObject({
    at: Duration.describe('Time after the process started.'),
    rate: Rate.optional(),
    pattern: z.enum(streamPatterns).optional(),
    theta: z.number().gt(0).max(5).optional(),
    hotFraction: Fraction.optional(),
    hotOffset: Fraction.optional(),
    writeFraction: Fraction.optional(),
  });
}

function streamSchema<M extends Mode>(mode: M) {
  return z.strictObject({
    name: Name.describe('Name (for overrides and reports).'),
    mapping: req(mode, Name.describe('The mapping this stream accesses.')),
    rate: req(mode, Rate.describe('Accesses per second.')),
    pattern: req(mode, z.enum(streamPatterns).describe('How addresses are chosen.')),
    theta: z.number().gt(0).max(5).optional().describe('Zipf exponent (default 0.99).'),
    stride: Size.optional().describe('Bytes between accesses of a strided stream.'),
    hotFraction: Fraction.optional().describe('Share of the mapping the accesses are confined to (default 1).'),
    hotOffset: Fraction.optional().describe('Where that hot set sits: 0 at the start of the mapping, 1 at its end (default 0).'),
    writeFraction: Fraction.optional().describe('Share of accesses that write (default 0).'),
    phases: z.array(phaseSchema()).optional().describe('Changes at given times after the process started.'),
    move: moveSchema().optional(),
  });
}

function forkSchema() {
  return z.strictObject({
    at: Duration.describe('Time of the first fork after the process started.'),
    every: Duration.optional().describe('Repeat period (default: once).'),
    childLifetime: Duration.describe('How long the child lives (a snapshot writer), then exits.'),
  });
}

function churnSchema() {
  return z
    .strictObject({
      unmovable: Rate.optional().describe('Unmovable kernel pages allocated per second.'),
      unmovableLifetime: Duration.optional().describe('How long each unmovable allocation lives (default 10m).'),
      reclaimable: Rate.optional().describe('Reclaimable (slab) pages allocated per second.'),
      reclaimableLifetime: Duration.optional().describe('How long each reclaimable allocation lives (default 2m).'),
      pageCache: Rate.optional().describe('Page-cache pages read per second.'),
      pageCacheDropEvery: Duration.optional().describe('Period at which files are deleted, dropping half the page cache (default never).'),
    })
    .describe('Kernel activity instead of a process: slab and page-cache churn that fragments memory.');
}

/** A workload entry: a group of `count` identical processes, or kernel churn. */
export function workloadSchema<M extends Mode>(mode: M) {
  return z.strictObject({
    name: Name.describe('Name of the workload (process names are NAME, or NAME-i with count > 1).'),
    preset: z.enum(presetNames).optional().describe('A workload from the library to start from; the other fields override it.'),
    count: z.number().int().min(1).max(100_000).optional().describe('Identical processes in the group (default 1).'),
    comm: z.string().min(1).max(15).optional().describe('Command name, as /proc/PID/comm shows it (default the workload name, cut to 15 characters).'),
    uid: z.number().int().min(0).optional().describe('User id (default 0).'),
    cgroup: CgroupPath.optional().describe('Cgroup the processes start in (default /).'),
    node: z.union([NodeId, z.array(NodeId).min(1)]).optional().describe('Home node, or a list the group is spread over round-robin (default 0).'),
    mempolicy: z.strictObject({ mode: z.enum(mempolicyModes), nodes: z.array(NodeId).optional() }).optional().describe('set_mempolicy(2) of the processes.'),
    thpDisable: z.boolean().optional().describe('prctl(PR_SET_THP_DISABLE).'),
    memoryMerge: z.boolean().optional().describe('prctl(PR_SET_MEMORY_MERGE): KSM for the whole process.'),
    start: Duration.optional().describe('Start time (default 0).'),
    stagger: Duration.optional().describe('Delay between the starts of successive processes of the group (default 0).'),
    stop: Duration.optional().describe('Scenario time at which the processes exit (default: they run to the end).'),
    lifetime: Duration.optional().describe('How long each process lives after its own start, then exits (with stop, whichever comes first).'),
    mappings: req(mode, z.array(mappingSchema(mode)).describe('Anonymous private mappings.')),
    streams: z.array(streamSchema(mode)).optional().describe('What the processes keep doing to their mappings.'),
    forks: z.array(forkSchema()).optional().describe('fork(2) events, e.g. snapshots.'),
    churn: churnSchema().optional(),
    description: z.string().optional().describe('Free text.'),
  });
}

/** A workload entry as written (every field optional). */
export const WorkloadOverrideSchema = workloadSchema('override');
/** A workload after its preset is merged in. */
export const WorkloadSchema = workloadSchema('complete');

/** The file as written: workloads in override form. */
export const ScenarioFileSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Editors: the JSON Schema of this format.'),
    name: Name.optional().describe('Name (default: the file name).'),
    description: z.string().optional().describe('What the scenario represents and which problem it reproduces.'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional().describe('PRNG seed (default 1).'),
    duration: Duration.describe('Simulated time to run.'),
    hotThreshold: Rate.optional().describe('Accesses per second per 4 KiB page above which memory counts as hot (default 1).'),
    sampleEvery: Duration.optional().describe('Interval of the time series in reports (default 10s).'),
    machine: Machine,
    cgroups: z.array(Cgroup).optional(),
    workloads: z.array(WorkloadOverrideSchema).optional(),
  })
  .describe('A uhugepaged simulation scenario: a machine, its cgroups and the workloads that run on it.');

export type ScenarioFile = z.output<typeof ScenarioFileSchema>;
export type WorkloadOverride = z.output<typeof WorkloadOverrideSchema>;
export type Workload = z.output<typeof WorkloadSchema>;
export type MappingSpec = Workload['mappings'][number];
export type StreamSpec = NonNullable<Workload['streams']>[number];
export type ForkSpec = NonNullable<Workload['forks']>[number];
export type ChurnSpec = NonNullable<Workload['churn']>;
export type MachineSpec = ScenarioFile['machine'];
export type CgroupSpec = NonNullable<ScenarioFile['cgroups']>[number];

/** A validated scenario with presets merged in (what the runner runs). */
export interface Scenario {
  /** The file it came from, if any. */
  readonly file?: string;
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly hotThresholdPerSec: number;
  readonly sampleEveryMs: number;
  readonly machine: MachineSpec;
  readonly cgroups: readonly CgroupSpec[];
  readonly workloads: readonly Workload[];
}

/** The `$id` of the scenario files' JSON Schema (config/scenario.schema.json). */
export const scenarioSchemaId = 'urn:uhugepaged:schema:scenario';

/** The JSON Schema of scenario files (input form: units as written), as config/scenario.schema.json holds it. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ScenarioFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { $schema: schema.$schema, $id: scenarioSchemaId, title: 'uhugepaged scenario', ...schema };
}
