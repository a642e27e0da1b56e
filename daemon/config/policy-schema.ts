/**
 * The policy file format (YAML or JSON): who gets huge pages, how fast, and when to stop. This zod schema
 * is the single definition: the loader (policy.ts) validates with it, `config/uhugepaged.schema.json` is
 * exported from it (`npm run schema`), and the daemon consumes its output type. Every field has a
 * default except the classes, so a policy says only what it changes; the shipped
 * `config/uhugepaged.yaml` writes every field out, with a comment.
 *
 * Units are human (`10s`, `50/s`, `5%`), as in scenario files (daemon/config/units.ts); the parsed policy
 * holds milliseconds, per-second rates and 0–1 fractions.
 */
import { z } from 'zod';
import { CronExpression, CronExpressionError } from '../schedule/cron-expression.js';
import { Duration, Fraction, Rate } from './zod-units.js';

export const numaRules = ['local-only', 'allow-remote'] as const;
export const scorerNames = ['benefit-cost', 'hawkeye', 'ingens-fairness', 'damos'] as const;

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, _ . - (starting with a letter or digit)');

/** A comm pattern: the 15-character command name with `*` and `?` wildcards. */
const CommPattern = z
  .string()
  .regex(/^[^\s/]{1,15}$|^[^\s/]*\*[^\s/]*$/, 'expected a command name (at most 15 characters, as in /proc/PID/comm), with * and ? as wildcards')
  .describe('A command name as in /proc/PID/comm; * matches any run of characters, ? one character.');

const CgroupPath = z
  .string()
  .regex(/^\/([A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*)?$/, 'expected a cgroup path such as /batch or /services/db (under /sys/fs/cgroup)')
  .describe('A cgroup and everything below it.');

const Cron = z
  .string()
  .superRefine((expr, ctx) => {
    try {
      new CronExpression(expr);
    } catch (e) {
      if (!(e instanceof CronExpressionError)) throw e;
      ctx.addIssue({ code: 'custom', message: `expected a cron expression (5 fields, or 6 with seconds first): ${e.reasons.join('; ')}` });
    }
  })
  .describe('A cron expression: minute hour day-of-month month day-of-week (or seconds first, 6 fields), in UTC.');

const Match = z
  .strictObject({
    comm: z.array(CommPattern).min(1).optional().describe('Command names (any of them).'),
    cgroup: z.array(CgroupPath).min(1).optional().describe('Cgroups (any of them), each with its descendants.'),
    uid: z.array(z.number().int().min(0)).min(1).optional().describe('Real user ids (any of them).'),
    pid: z.array(z.number().int().min(1)).min(1).optional().describe('Process ids (any of them).'),
  })
  .describe('Which processes: a process matches when it matches every field given (any value within a field); {} matches every process.');

const Eligibility = z
  .strictObject({
    minAccessRate: Rate.prefault('1/s').describe('Accesses per second a 2 MiB region must show (from access sampling) to be a candidate.'),
    maxNonePages: z.number().int().min(0).max(511).prefault(64).describe('Most absent 4 KiB pages a region may have: MADV_COLLAPSE fills them with zeroes, whatever khugepaged/max_ptes_none says, so this bounds the bloat.'),
    maxSwapPages: z.number().int().min(0).max(512).prefault(0).describe('Most swapped-out pages a region may have (a collapse swaps them in).'),
    maxSharedPages: z.number().int().min(0).max(512).prefault(0).describe('Most pages a region may share with other processes (a collapse copies them, ending the sharing).'),
    exclude: Match.optional().describe('Processes of the class that are never touched.'),
    maxCollapsesPerSecPerProcess: Rate.prefault('8/s').describe('Collapses per second in any one process of the class, at most.'),
  })
  .describe('Which regions of the class may be collapsed.');

const Class = z
  .strictObject({
    name: Name.describe('The class name, used in logs and metrics.'),
    match: Match,
    weight: z.number().positive().prefault(1).describe('Importance relative to other classes: scores are multiplied by it.'),
    budgetShare: Fraction.optional().describe('Share of the global budgets reserved for this class while it has candidates; a class with none lends its reserve to the others (unreserved budget goes to the best candidates of any class).'),
    eligibility: Eligibility.prefault({}),
    numa: z
      .enum(numaRules)
      .prefault('local-only')
      .describe('local-only: the huge page must end up on the node that uses the memory (migrate the region first if needed, or skip it); allow-remote: a remote huge page is better than none (for workloads that span nodes).'),
  })
  .describe('A class of workloads. A process belongs to the first class it matches.');

const Budgets = z
  .strictObject({
    collapsesPerSec: Rate.prefault('16/s').describe('Collapses per second, all classes together.'),
    cpuMsPerSec: z.number().min(0).max(1000).prefault(50).describe('Milliseconds of collapse work (copying, stalls caused) per second of time: 50 is 5% of one CPU.'),
    concurrency: z.number().int().min(1).max(64).prefault(1).describe('process_madvise calls in flight at once.'),
    observeCpuMsPerSec: z.number().min(0).max(1000).prefault(10).describe('Milliseconds per second the daemon may spend reading /proc and sampling accesses.'),
    catchUp: z
      .strictObject({
        duration: Duration.prefault('30s').describe('How long after the daemon starts the catch-up budgets hold (0: none).'),
        factor: z.number().min(1).max(100).prefault(16).describe('What the budgets (collapses and collapse milliseconds per second, each class\'s per-process rate, and the observation budget) are multiplied by meanwhile.'),
      })
      .prefault({})
      .describe('A backlog at start: the hot memory that went without huge pages before the daemon ran is worked off at a higher rate, then the budgets fall back to their steady values.'),
  })
  .describe('Global budgets: when one is spent, the cycle stops acting and the rest waits for the next.');

const Guards = z
  .strictObject({
    minFreeHugePagesPerNode: z.number().int().min(0).prefault(0).describe('Stop collapsing onto a node with fewer free 2 MiB blocks than this (0: off — MADV_COLLAPSE compacts and reclaims clean cache itself, and failures back it off; raise it where compaction is costly).'),
    minFreeMemory: Fraction.prefault('5%').describe('Stop collapsing onto a node whose available memory (free, clean page cache, reclaimable slab) is below this share of it: below it a collapse would reclaim anonymous memory, i.e. swap.'),
    maxPsiMemorySome: Fraction.prefault('10%').describe('Stop all collapses while /proc/pressure/memory "some" avg10 is above this.'),
    maxCompactStallsPerSec: Rate.prefault('10/s').describe('Stop all collapses while direct compaction stalls (compact_stall in /proc/vmstat) exceed this rate.'),
    memcgHeadroom: Fraction.prefault('10%').describe('Skip a cgroup whose usage is within this share of its memory.max (a collapse charges it the absent pages and can make it reclaim).'),
  })
  .describe('When to stop acting: never cause reclaim storms or stalls.');

const Retry = z
  .strictObject({
    EAGAIN: Duration.prefault('10s').describe('A busy or transiently unmovable region: retry it after this.'),
    ENOMEM: Duration.prefault('60s').describe('No huge page could be allocated: collapse nothing on that node for this long (as khugepaged’s alloc_sleep_millisecs).'),
    EBUSY: Duration.prefault('30s').describe('The cgroup could not be charged: skip the cgroup for this long, and until it has headroom.'),
  })
  .describe('What to do after a failed collapse, per errno. EINVAL regions are remembered until their mapping or residency changes; ESRCH forgets the process; EPERM and EACCES are reported once.');

const Pacing = z
  .strictObject({
    interval: Duration.prefault('1s').describe('Time between two decide cycles at the start.'),
    minInterval: Duration.prefault('500ms').describe('The shortest interval backoff may reach.'),
    maxInterval: Duration.prefault('30s').describe('The longest interval backoff may reach.'),
    slowCollapse: Duration.prefault('50ms').describe('A collapse slower than this doubles the interval; one faster than half of it halves the interval.'),
    retry: Retry.prefault({}),
  })
  .describe('How often the daemon acts, and how it backs off.');

const Scorer = z
  .strictObject({
    name: z.enum(scorerNames).describe('benefit-cost: modelled MMU-overhead reduction per second over the cost of the collapse; hawkeye: per-process MMU overhead, smoothed; ingens-fairness: weight × need / huge pages held; damos: weights on size, access frequency and age.'),
    weight: z.number().min(0).prefault(1).describe('Weight of this scorer in the combined score.'),
    smoothing: Fraction.optional().describe('hawkeye: the weight of the newest measurement in its moving average (default 30%).'),
    sizeWeight: z.number().min(0).optional().describe('damos: weight of the region size (default 0).'),
    frequencyWeight: z.number().min(0).optional().describe('damos: weight of the access frequency (default 1).'),
    ageWeight: z.number().min(0).optional().describe('damos: weight of the time the region has kept its frequency (default 1).'),
  })
  .describe('A scorer of candidate regions.');

const Schedules = z
  .strictObject({
    fullRescan: Cron.prefault('*/10 * * * *').describe('When to re-read every process fully (between rescans only candidates are read).'),
    summary: Cron.prefault('0 * * * *').describe('When to log a summary of what was done.'),
  })
  .describe('Periodic work, as cron expressions.');

const KnobPath = z
  .string()
  .regex(/^\/sys\/kernel\/mm\/transparent_hugepage\/[a-z0-9_./-]+$/, 'expected a file under /sys/kernel/mm/transparent_hugepage/')
  .refine((p) => !p.includes('..'), 'expected a path without ..');

const KernelSettings = z
  .record(KnobPath, z.union([z.string(), z.number()]).transform(String))
  .prefault({})
  .describe('THP knobs the daemon sets while it runs and puts back when it stops (file → value), e.g. defrag: never, so that faults never stall in reclaim and compaction while the daemon makes the huge pages.');

export const PolicyFileSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path of the JSON Schema, for editors.'),
    version: z.literal(1).describe('The policy format version: 1.'),
    killSwitch: z.boolean().prefault(false).describe('true stops every action at once; observation and logging go on.'),
    classes: z.array(Class).min(1).describe('Classes of workloads, in match order (a process belongs to the first that matches; one that matches none is left alone).'),
    budgets: Budgets.prefault({}),
    guards: Guards.prefault({}),
    pacing: Pacing.prefault({}),
    scorers: z.array(Scorer).min(1).prefault([{ name: 'benefit-cost' }]).describe('How candidates are ranked: the weighted sum of these scorers.'),
    schedules: Schedules.prefault({}),
    kernelSettings: KernelSettings,
  })
  .describe('A uhugepaged policy.');

/** A policy as written (units as strings). */
export type PolicyFileInput = z.input<typeof PolicyFileSchema>;
/** A validated policy (milliseconds, per-second rates, 0–1 fractions; every default filled in). */
export type Policy = z.output<typeof PolicyFileSchema>;
export type PolicyClass = Policy['classes'][number];

/** The `$id` of the exported JSON Schema. */
export const policySchemaId = 'urn:uhugepaged:schema:policy';

/** The JSON Schema of policy files (written to config/uhugepaged.schema.json by `npm run schema`). */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PolicyFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { $schema: schema.$schema, $id: policySchemaId, title: 'uhugepaged policy', ...schema };
}
