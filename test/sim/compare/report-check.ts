// The report.json schema as a zod schema, checked against the TypeScript types at compile time (each
// object schema `satisfies` a ZodType of its type, so a field added to one and not the other fails the
// build), and used by the tests to check what compare writes.
import { z } from 'zod';
import type { ArmMetrics, ArmReport, CompareReport, ScenarioReport } from '../../../sim/compare/report-schema.js';

const count = z.number().int().min(0);
const nonNeg = z.number().min(0);
const share = z.number().min(0).max(1);
const collapseCounts = z.record(z.string(), count).and(z.object({ ok: count, EAGAIN: count, ENOMEM: count, EBUSY: count, EINVAL: count }));

const ArmMetricsSchema = z.strictObject({
  hotThpCoverage: share,
  mmuOverheadPct: z.number().min(0).max(100),
  mmuOverheadReductionPct: z.number().max(100),
  throughputRel: z.number().positive(),
  collapseCpuMs: nonNeg,
  scanCpuMs: nonNeg,
  compactStallMs: nonNeg,
  thpSwapOutPages: count,
  remoteThpFraction: share,
  faultLatencyP99Us: nonNeg.nullable(),
  collapses: collapseCounts,
  hotThpCoverageEnd: share,
  throughputRelByWorkload: z.record(z.string(), z.number().positive()),
  remoteThpFractionByWorkload: z.record(z.string(), share),
  faultLatencyP50Us: nonNeg.nullable(),
  cpuMs: z.strictObject({ khugepaged: nonNeg, daemonObserve: nonNeg, daemonAct: nonNeg, kcompactd: nonNeg }),
  swapOutPages: count,
  thpBloatBytes: nonNeg,
  thpBloatBytesEnd: count,
  collapsesBy: z.strictObject({ khugepaged: collapseCounts, daemon: collapseCounts }),
  thpFaultAlloc: count,
  thpFaultFallback: count,
  oomKills: count,
}) satisfies z.ZodType<ArmMetrics>;

const ArmReportSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(['kernel', 'uhugepaged', 'oracle']),
  metrics: ArmMetricsSchema,
  policyFile: z.string().optional(),
  series: z.array(z.strictObject({ tMs: nonNeg, hotThpCoverage: share, mmuOverheadPct: z.number().min(0).max(100) })),
}) satisfies z.ZodType<ArmReport>;

const ScenarioReportSchema = z.strictObject({
  name: z.string().min(1),
  durationMs: z.number().int().positive(),
  seed: count,
  arms: z.array(ArmReportSchema).min(1),
  reference: z.strictObject({
    name: z.literal('no-thp'),
    mmuOverheadPct: z.number().min(0).max(100),
    speedVs4k: z.number().positive(),
    speedVs4kByWorkload: z.record(z.string(), z.number().positive()),
    swapOutPages: count,
  }),
  machine: z.strictObject({ memoryBytes: z.number().int().positive(), nodes: z.number().int().positive(), workloadsFittingNode: z.array(z.string()) }).optional(),
  goals: z
    .array(
      z.strictObject({
        arm: z.string().min(1),
        goal: z.enum(['oracle-share', 'kernel-default', 'cpu-per-reduction', 'no-swap-storm', 'local-thp']),
        met: z.boolean(),
        detail: z.string().min(1),
      }),
    )
    .optional(),
}) satisfies z.ZodType<ScenarioReport>;

/** The schema of report.json. */
export const CompareReportSchema = z.strictObject({ scenarios: z.array(ScenarioReportSchema).min(1) }) satisfies z.ZodType<CompareReport>;
