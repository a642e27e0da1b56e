/**
 * The arms of `uhugepaged compare`: what runs the scenario's workloads besides the kernel, and with which
 * THP settings. An arm is plain data (it crosses into worker threads), made from a name of the `--arms`
 * list:
 *
 *   kernel-default      this host's defaults: enabled=madvise, defrag=madvise, khugepaged at its defaults
 *   kernel-aggressive   the defaults with khugepaged tuned hard: pages_to_scan ×16, scan_sleep_millisecs
 *                       1000, defrag=always (and khugepaged/defrag 1)
 *   thp-always          the defaults with enabled=always
 *   uhugepaged          the daemon under the shipped policy, on the host's defaults
 *   uhugepaged:FILE     the daemon under the policy FILE, on the host's defaults
 *   oracle              the upper bound (sim/compare/oracle.ts, docs/oracle.md)
 *
 * Each arm's knobs are written over the scenario's own (`machine.knobs`): the THP settings below replace
 * the scenario's, every other knob (KSM, NUMA placement, ...) is kept. Besides the arms, every scenario
 * runs once more, hidden, with enabled=never (`NO_THP_ARM`): the base of the relative figures.
 */
import type { ArmKind } from './report-schema.js';
import type { Scenario } from '../scenario/schema.js';

const THP = '/sys/kernel/mm/transparent_hugepage';

/** This host's THP settings (Linux 6.18 defaults with enabled=madvise): the base of every arm. */
export const HOST_DEFAULT_KNOBS: Readonly<Record<string, string>> = {
  [`${THP}/enabled`]: 'madvise',
  [`${THP}/defrag`]: 'madvise',
  [`${THP}/khugepaged/defrag`]: '1',
  [`${THP}/khugepaged/pages_to_scan`]: '4096',
  [`${THP}/khugepaged/scan_sleep_millisecs`]: '10000',
  [`${THP}/khugepaged/alloc_sleep_millisecs`]: '60000',
  [`${THP}/khugepaged/max_ptes_none`]: '511',
  [`${THP}/khugepaged/max_ptes_swap`]: '64',
  [`${THP}/khugepaged/max_ptes_shared`]: '256',
};

/** One arm: its name in the report, its kind, the THP knobs it runs with and, for the daemon, its policy. */
export interface ArmSpec {
  readonly name: string;
  readonly kind: ArmKind;
  /** Written over the scenario's knobs, in order. */
  readonly knobs: Readonly<Record<string, string>>;
  /** The daemon's policy file (uhugepaged arms). */
  readonly policyFile?: string;
}

/** The kernel's arms, in report order. */
export const KERNEL_ARMS: readonly ArmSpec[] = [
  { name: 'kernel-default', kind: 'kernel', knobs: HOST_DEFAULT_KNOBS },
  {
    name: 'kernel-aggressive',
    kind: 'kernel',
    knobs: {
      ...HOST_DEFAULT_KNOBS,
      [`${THP}/defrag`]: 'always',
      [`${THP}/khugepaged/defrag`]: '1',
      [`${THP}/khugepaged/pages_to_scan`]: String(4096 * 16),
      [`${THP}/khugepaged/scan_sleep_millisecs`]: '1000',
    },
  },
  { name: 'thp-always', kind: 'kernel', knobs: { ...HOST_DEFAULT_KNOBS, [`${THP}/enabled`]: 'always' } },
];

/** The hidden reference: no THPs at all (enabled=never), for the reductions and throughputRel. */
export const NO_THP_ARM: ArmSpec = { name: 'no-thp', kind: 'kernel', knobs: { ...HOST_DEFAULT_KNOBS, [`${THP}/enabled`]: 'never' } };

/** A problem with the `--arms` list. */
export class ArmError extends Error {}

/** The arm `uhugepaged` (shipped policy) or `uhugepaged:FILE`. */
export function daemonArm(name: string, policyFile: string): ArmSpec {
  return { name, kind: 'uhugepaged', knobs: HOST_DEFAULT_KNOBS, policyFile };
}

/** Every arm's name accepted by `--arms` (a `uhugepaged:FILE` for any FILE besides). */
export function builtInArmNames(): string[] {
  return [...KERNEL_ARMS.map((a) => a.name), 'uhugepaged', 'oracle'];
}

/**
 * The arms of a comma-separated list, in its order. `resolvePolicy` maps a policy path as written to the
 * file to use; `shippedPolicy` is the policy of plain `uhugepaged`. Throws ArmError on an unknown or
 * repeated name.
 */
export function parseArms(list: string, shippedPolicy: string, resolvePolicy: (file: string) => string = (f) => f): ArmSpec[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new ArmError('expected at least one arm');
  const arms: ArmSpec[] = [];
  for (const name of names) {
    if (arms.some((a) => a.name === name)) throw new ArmError(`arm "${name}" is listed twice`);
    const kernel = KERNEL_ARMS.find((a) => a.name === name);
    if (kernel) arms.push(kernel);
    else if (name === 'uhugepaged') arms.push(daemonArm(name, shippedPolicy));
    else if (name.startsWith('uhugepaged:') && name.length > 'uhugepaged:'.length) arms.push(daemonArm(name, resolvePolicy(name.slice('uhugepaged:'.length))));
    else if (name === 'oracle') arms.push({ name, kind: 'oracle', knobs: HOST_DEFAULT_KNOBS });
    else throw new ArmError(`unknown arm "${name}"; expected one of ${builtInArmNames().join(', ')} or uhugepaged:POLICY-FILE`);
  }
  return arms;
}

/** The scenario as the arm runs it: the arm's knobs written over the scenario's. */
export function applyArm(scenario: Scenario, arm: ArmSpec): Scenario {
  const knobs: Record<string, string | number> = { ...(scenario.machine.knobs ?? {}), ...arm.knobs };
  return { ...scenario, machine: { ...scenario.machine, knobs } };
}
