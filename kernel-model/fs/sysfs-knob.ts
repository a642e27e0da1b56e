/**
 * Knob files of /sys/kernel/mm/transparent_hugepage/ and /sys/kernel/mm/ksm/: how they read, what a write
 * may contain, and the table of every file with its Linux 6.18 default.
 *
 * Reading. Choice files print every choice with the current one in brackets, then a newline:
 * `always [madvise] never\n` (mm/huge_memory.c `sysfs_emit(buf, "%s\n", output)`); numeric files print
 * `%u\n`/`%lu\n`. (The golden capture shows a trailing space after each THP value: an artefact of the
 * capture command, which also appends one to hpage_pmd_size's `%lu\n`.)
 *
 * Writing. Linux's store functions accept exactly three shapes:
 *   choice    `sysfs_streq`: the bare word, optionally followed by one newline; `[madvise]`, ` madvise`
 *             or `madvise\n\n` are EINVAL.
 *   unsigned  kstrtoul/kstrtouint in base 10: an optional `+`, decimal digits, optionally one newline;
 *             no `-`, no spaces, no `0x`. The store then checks its range (max_ptes_* <= 511,
 *             khugepaged/pages_to_scan >= 1, ...).
 *   bool      kstrtobool: only the first character counts (`1yYtT` true, `0nNfF` false), or `on`/`off`.
 * The parse functions return undefined wherever Linux fails the write (EINVAL, or ERANGE for a number
 * beyond 64 bits); state-dependent errors (EBUSY) are the caller's, and the table notes them.
 *
 * Unsigned long knobs accept up to 2^64-1 in Linux; the model stores numbers, so their range here stops at
 * Number.MAX_SAFE_INTEGER (a larger write is rejected instead of silently rounded).
 */

/**
 * How a writable knob validates what is written: one of `choices` (sysfs_streq), an unsigned decimal in
 * [min, max] (kstrtoul and the store's range check), or a kstrtobool flag stored as 0/1.
 */
export type KnobValidation =
  | { readonly kind: 'choice'; readonly choices: readonly string[] }
  | { readonly kind: 'unsigned'; readonly min: number; readonly max: number }
  | { readonly kind: 'bool' };

/** A file of a knob directory: a writable knob (mode 0644) or a read-only value or counter (0444). */
export type KnobSpec =
  | {
      /** Path relative to the knob directory. */
      readonly path: string;
      /** Accepts writes. */
      readonly writable: true;
      /** Value after boot: a choice word, or a number (bool knobs: 0 or 1). */
      readonly default: string | number;
      /** What a write may contain. */
      readonly validation: KnobValidation;
      /** Write rules that depend on state, when there are any. */
      readonly note?: string;
    }
  | {
      /** Path relative to the knob directory. */
      readonly path: string;
      /** Read-only: opening it for writing fails with EACCES, even for root (kernfs_fop_open). */
      readonly writable: false;
      /** Value after boot (counters start at 0). */
      readonly default: number;
    };

/** A knob file that accepts writes. */
export type WritableKnob = Extract<KnobSpec, { writable: true }>;

/** Where `thpKnobs` paths are rooted. */
export const THP_KNOB_DIR = '/sys/kernel/mm/transparent_hugepage';

/** Where `ksmKnobs` paths are rooted. */
export const KSM_KNOB_DIR = '/sys/kernel/mm/ksm';

const UINT_MAX = 2 ** 32 - 1;
const INT_MAX = 2 ** 31 - 1;
/** ULONG_MAX as far as a number holds integers exactly (see the file comment). */
const ULONG_MAX = Number.MAX_SAFE_INTEGER;
/** HPAGE_PMD_NR - 1, the largest max_ptes_* value. */
const MAX_PTES_LIMIT = 511;

/** The text of a choice file: every choice, the current one in brackets, then a newline. */
export function formatChoice(choices: readonly string[], current: string): string {
  if (!choices.includes(current)) throw new RangeError(`${current} is not one of ${choices.join(' ')}`);
  return `${choices.map((c) => (c === current ? `[${c}]` : c)).join(' ')}\n`;
}

/** What `sysfs_streq` accepts: one of `choices`, with at most one trailing newline; else undefined. */
export function parseChoiceWrite(choices: readonly string[], text: string): string | undefined {
  const word = text.endsWith('\n') ? text.slice(0, -1) : text;
  return choices.find((c) => c === word);
}

/** kstrtoul in base 10, then the store's range check: the number, or undefined where Linux fails. */
export function parseUnsignedWrite(text: string, min: number, max: number): number | undefined {
  const digits = /^\+?([0-9]+)\n?$/.exec(text)?.[1];
  if (digits === undefined) return undefined;
  const value = BigInt(digits);
  return value >= BigInt(min) && value <= BigInt(max) ? Number(value) : undefined;
}

/** kstrtobool: 1 or 0 from the first character (or `on`/`off`), or undefined where Linux fails. */
export function parseBoolWrite(text: string): 0 | 1 | undefined {
  if (/^[1yYtT]/.test(text) || /^[oO][nN]/.test(text)) return 1;
  if (/^[0nNfF]/.test(text) || /^[oO][fF]/.test(text)) return 0;
  return undefined;
}

/** What a write of `text` to the knob sets it to, or undefined where Linux fails the write. */
export function parseKnobWrite(knob: WritableKnob, text: string): string | number | undefined {
  const v = knob.validation;
  switch (v.kind) {
    case 'choice':
      return parseChoiceWrite(v.choices, text);
    case 'unsigned':
      return parseUnsignedWrite(text, v.min, v.max);
    case 'bool':
      return parseBoolWrite(text);
  }
}

/** The text a read of the knob returns when it holds `value`. */
export function formatKnob(knob: KnobSpec, value: string | number): string {
  if (knob.writable && knob.validation.kind === 'choice') return formatChoice(knob.validation.choices, String(value));
  return `${value}\n`;
}

/** A writable choice knob. */
function choice(path: string, choices: readonly string[], def: string, note?: string): WritableKnob {
  return { path, writable: true, default: def, validation: { kind: 'choice', choices }, ...(note ? { note } : {}) };
}

/** A writable unsigned knob. */
function unsigned(path: string, def: number, min: number, max: number, note?: string): WritableKnob {
  return { path, writable: true, default: def, validation: { kind: 'unsigned', min, max }, ...(note ? { note } : {}) };
}

/** A writable kstrtobool knob. */
function bool(path: string, def: 0 | 1): WritableKnob {
  return { path, writable: true, default: def, validation: { kind: 'bool' } };
}

/** A read-only file. */
function readOnly(path: string, def = 0): KnobSpec {
  return { path, writable: false, default: def };
}

/** mTHP sizes with a hugepages-<size>kB directory on x86-64 (orders 1..9; order 1 is file/shmem only). */
const mthpSizesKb = [8, 16, 32, 64, 128, 256, 512, 1024, 2048] as const;

/** Stats of every size, of anonymous sizes only, and of shmem sizes, as mm/huge_memory.c groups them. */
const anyStats = ['split', 'split_failed', 'swpin', 'swpin_fallback', 'swpin_fallback_charge', 'swpout', 'swpout_fallback', 'zswpout'];
const anonStats = ['anon_fault_alloc', 'anon_fault_fallback', 'anon_fault_fallback_charge', 'nr_anon', 'nr_anon_partially_mapped', 'split_deferred'];
const shmemStats = ['shmem_alloc', 'shmem_fallback', 'shmem_fallback_charge'];

/** The files of one hugepages-<size>kB directory; only 2 MiB (PMD size) inherits by default. */
function mthpKnobs(sizeKb: number): KnobSpec[] {
  const dir = `hugepages-${sizeKb}kB`;
  const def = sizeKb === 2048 ? 'inherit' : 'never';
  const anon = sizeKb >= 16;
  const stats = [...anyStats, ...shmemStats, ...(anon ? anonStats : [])].sort();
  return [
    ...(anon ? [choice(`${dir}/enabled`, ['always', 'inherit', 'madvise', 'never'], def)] : []),
    choice(`${dir}/shmem_enabled`, ['always', 'inherit', 'within_size', 'advise', 'never'], def,
      sizeKb === 2048 ? undefined : 'inherit is EINVAL while the top-level shmem_enabled is force'),
    ...stats.map((s) => readOnly(`${dir}/stats/${s}`)),
  ];
}

/**
 * Every file under /sys/kernel/mm/transparent_hugepage/ (paths relative to it), with Linux 6.18 defaults
 * as on the reference host (`enabled` madvise), plus the model-only `numa_fault_policy`.
 */
export const thpKnobs: readonly KnobSpec[] = [
  choice('enabled', ['always', 'madvise', 'never'], 'madvise'),
  choice('defrag', ['always', 'defer', 'defer+madvise', 'madvise', 'never'], 'madvise'),
  unsigned('use_zero_page', 1, 0, 1),
  readOnly('hpage_pmd_size', 2097152),
  choice('shmem_enabled', ['always', 'within_size', 'advise', 'never', 'deny', 'force'], 'never',
    'force is EINVAL while a size other than 2048kB has shmem_enabled inherit'),
  bool('shrink_underused', 1),
  unsigned('khugepaged/defrag', 1, 0, 1),
  unsigned('khugepaged/max_ptes_none', 511, 0, MAX_PTES_LIMIT),
  unsigned('khugepaged/max_ptes_swap', 64, 0, MAX_PTES_LIMIT),
  unsigned('khugepaged/max_ptes_shared', 256, 0, MAX_PTES_LIMIT),
  unsigned('khugepaged/pages_to_scan', 4096, 1, UINT_MAX),
  readOnly('khugepaged/pages_collapsed'),
  readOnly('khugepaged/full_scans'),
  unsigned('khugepaged/scan_sleep_millisecs', 10000, 0, UINT_MAX),
  unsigned('khugepaged/alloc_sleep_millisecs', 60000, 0, UINT_MAX),
  ...mthpSizesKb.flatMap(mthpKnobs),
  choice('numa_fault_policy', ['thisnode', 'remote', 'local-first'], 'local-first',
    'model only: where a THP fault may place its huge page (reference section 6)'),
];

/** Every file under /sys/kernel/mm/ksm/ (paths relative to it), with Linux 6.18 defaults. */
export const ksmKnobs: readonly KnobSpec[] = [
  unsigned('sleep_millisecs', 20, 0, UINT_MAX),
  unsigned('pages_to_scan', 100, 0, UINT_MAX, 'EINVAL while advisor_mode is scan-time'),
  unsigned('run', 0, 0, 2, '1 runs ksmd, 0 stops it, 2 stops it and unmerges every KSM page'),
  readOnly('pages_scanned'),
  readOnly('pages_shared'),
  readOnly('pages_sharing'),
  readOnly('pages_unshared'),
  readOnly('pages_volatile'),
  readOnly('pages_skipped'),
  readOnly('ksm_zero_pages'),
  readOnly('full_scans'),
  unsigned('merge_across_nodes', 1, 0, 1, 'EBUSY while KSM pages exist'),
  unsigned('max_page_sharing', 256, 2, INT_MAX, 'EBUSY while KSM pages exist'),
  readOnly('stable_node_chains'),
  readOnly('stable_node_dups'),
  unsigned('stable_node_chains_prune_millisecs', 2000, 0, UINT_MAX),
  bool('use_zero_pages', 0),
  readOnly('general_profit'),
  bool('smart_scan', 1),
  choice('advisor_mode', ['none', 'scan-time'], 'none'),
  unsigned('advisor_max_cpu', 70, 0, ULONG_MAX),
  unsigned('advisor_min_pages_to_scan', 500, 0, ULONG_MAX),
  unsigned('advisor_max_pages_to_scan', 30000, 0, ULONG_MAX),
  unsigned('advisor_target_scan_time', 200, 1, ULONG_MAX),
];
