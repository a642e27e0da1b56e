/**
 * Loads a scenario file (YAML, or JSON when the name ends in .json) into a validated `Scenario`, or
 * fails with a `ScenarioError` listing every problem found, each with the file, line, column, the path
 * inside the file (`workloads[0].mappings[1].size`) and what was expected against what was found.
 *
 * The generic machinery — syntax, positions, zod's issues in words, placing problems in the file — is
 * the daemon's, shared with its policy files (daemon/config/config-file.ts). What is here is the
 * scenario's own: presets merged into workloads, and what a scenario means.
 *
 * Stages, each reporting all of its problems before the loader stops:
 *   0. syntax: YAML (or JSON) syntax errors, duplicate keys, unusable keys and aliases;
 *   1. the file as written, against `ScenarioFileSchema` (workloads in override form);
 *   2. each workload after its preset is merged in, against `WorkloadSchema` (complete form);
 *   3. meaning: references (nodes, mappings, cgroups), uniqueness, sizes and alignments, and the knobs,
 *      which a small simulated kernel must accept.
 */
import { basename, extname } from 'node:path';
import {
  ConfigFileError,
  issueFindings,
  parseSource,
  place,
  readSourceText,
  reportInternalErrors,
  type Finding,
  type MergedData,
  type Path,
  type Problem,
  type Seg,
} from '../../daemon/config/config-file.js';
import { isRecord } from '../../daemon/config/zod-messages.js';
import { SimKernel, SyscallError } from '../../kernel-model/index.js';
import { mergeWorkload, presetWorkload } from './presets.js';
import { ScenarioFileSchema, WorkloadSchema, type Scenario, type ScenarioFile, type Workload } from './schema.js';

export { formatPath, formatProblem, type Problem } from '../../daemon/config/config-file.js';

/** A scenario file that cannot be used, with every problem found in it (one per line in `message`). */
export class ScenarioError extends ConfigFileError {
  constructor(problems: readonly Problem[]) {
    super(problems);
    this.name = 'ScenarioError';
  }
}

/** The same problems as a ScenarioError. */
function asScenarioError(e: ConfigFileError): ScenarioError {
  return e instanceof ScenarioError ? e : new ScenarioError(e.problems);
}

/** Parses and validates the text of a scenario file; `file` names it in problems and gives the default name. */
export function parseScenario(text: string, file: string): Scenario {
  try {
    return reportInternalErrors(file, () => parseScenarioUnguarded(text, file));
  } catch (e) {
    throw e instanceof ConfigFileError ? asScenarioError(e) : e;
  }
}

/** Reads, parses and validates a scenario file; a file that cannot be read is a ScenarioError naming it. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readSourceText(file);
  } catch (e) {
    throw e instanceof ConfigFileError ? asScenarioError(e) : e;
  }
  return parseScenario(text, file);
}

function parseScenarioUnguarded(text: string, file: string): Scenario {
  const source = parseSource(text, file);
  const raw = source.value;

  // Stage 1: the file as written. In an entry with a preset, `key: null` removes the preset's key
  // (presets.ts, mergeWorkload): such keys are not validated here.
  const checked = withoutPresetNulls(raw);
  const written = ScenarioFileSchema.safeParse(checked);
  if (!written.success) {
    throw new ScenarioError(place(source, issueFindings(written.error.issues, checked, ScenarioFileSchema)));
  }
  const sf = written.data;
  const rawRoot = raw as Record<string, unknown>;

  // Stage 2: each workload with its preset merged in, complete.
  const rawEntries = Array.isArray(rawRoot.workloads) ? (rawRoot.workloads as unknown[]) : [];
  const mergedEntries: unknown[] = [];
  const findings: Finding[] = [];
  const workloads: Workload[] = [];
  (sf.workloads ?? []).forEach((w, i) => {
    const entry = rawEntries[i] as Record<string, unknown>;
    let merged: Record<string, unknown>;
    if (w.preset !== undefined) {
      try {
        merged = mergeWorkload(presetWorkload(w.preset), entry);
      } catch (e) {
        findings.push({ path: ['workloads', i, 'preset'], message: `cannot merge preset ${JSON.stringify(w.preset)}: ${e instanceof Error ? e.message : String(e)}` });
        mergedEntries.push(entry);
        return;
      }
    } else merged = entry;
    // A churn workload has no mappings: the complete form's list is then empty (stage 3 checks which).
    if (!isRecord(merged)) merged = {};
    if (!Object.prototype.hasOwnProperty.call(merged, 'mappings')) merged = { ...merged, mappings: [] };
    mergedEntries.push(merged);
    const complete = WorkloadSchema.safeParse(merged);
    if (complete.success) workloads.push(complete.data);
    else {
      const inEntry = issueFindings(complete.error.issues, merged, WorkloadSchema);
      findings.push(...inEntry.map((f) => ({ ...f, path: ['workloads', i, ...f.path] })));
    }
  });
  const mergedRoot: MergedData = { data: { ...rawRoot, workloads: mergedEntries }, byName: insideWorkload };
  if (findings.length > 0) throw new ScenarioError(place(source, findings, mergedRoot));

  // Stage 3: meaning.
  const meaning = semanticFindings(sf, workloads);
  if (meaning.length > 0) throw new ScenarioError(place(source, meaning, mergedRoot));

  return {
    file,
    name: sf.name ?? basename(file, extname(file)),
    description: sf.description ?? '',
    seed: sf.seed ?? 1,
    durationMs: sf.duration,
    hotThresholdPerSec: sf.hotThreshold ?? 1,
    sampleEveryMs: sf.sampleEvery ?? 10_000,
    machine: sf.machine,
    cgroups: sf.cgroups ?? [],
    workloads,
  };
}

/**
 * Whether a path leads inside a workload (`workloads[i].mappings[k]...`): there, merging with a preset
 * put the preset's named items first, so an item of the file is found by its name.
 */
function insideWorkload(path: Path): boolean {
  return path[0] === 'workloads' && path.length > 3;
}

/** The file's data with the null-valued keys of workload entries that name a preset left out. */
function withoutPresetNulls(raw: unknown): unknown {
  if (!isRecord(raw) || !Array.isArray(raw.workloads)) return raw;
  const strip = (v: unknown, depth: number): unknown => {
    if (depth > 64) return v;
    if (Array.isArray(v)) return v.map((x) => strip(x, depth + 1));
    if (!isRecord(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x !== null) Object.defineProperty(out, k, { value: strip(x, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const workloads = (raw.workloads as unknown[]).map((w) => (isRecord(w) && w.preset !== undefined && w.preset !== null ? strip(w, 0) : w));
  return { ...raw, workloads };
}

// ---- stage 3: meaning -----------------------------------------------------------------------------

const MiB = 1 << 20;
const PAGE = 4096;

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

function names(list: readonly { name: string }[]): string {
  return [...new Set(list.map((x) => x.name))].join(', ');
}

/** Findings about what the validated file means; paths are the file's. */
function semanticFindings(sf: ScenarioFile, workloads: readonly Workload[]): Finding[] {
  const out: Finding[] = [];
  const add = (path: Path, message: string): void => void out.push({ path, message });
  const m = sf.machine;
  const nodeCount = m.nodes.length;
  const nodeRange = nodeCount === 1 ? 'the machine has 1 node (0)' : `the machine has ${nodeCount} nodes (0–${nodeCount - 1})`;
  const checkNode = (path: Path, id: number): void => {
    if (id >= nodeCount) add(path, `node ${id} does not exist: ${nodeRange}`);
  };

  if (sf.duration <= 0) add(['duration'], 'expected a duration > 0, got 0');
  if (sf.sampleEvery !== undefined && sf.sampleEvery <= 0) add(['sampleEvery'], 'expected a duration > 0, got 0');

  // The machine.
  m.nodes.forEach((n, i) => {
    const path = ['machine', 'nodes', i, 'memory'];
    if (n.memory % MiB !== 0) add(path, `expected a whole number of MiB, got ${n.memory} bytes (${(n.memory / MiB).toFixed(3)} MiB)`);
    else if (n.memory < 64 * MiB) add(path, `expected at least 64MiB, got ${n.memory / MiB}MiB`);
  });
  m.age?.nodes?.forEach((n, k) => checkNode(['machine', 'age', 'nodes', k], n));
  if (m.distances) {
    const d = m.distances;
    if (d.length !== nodeCount) add(['machine', 'distances'], `expected a ${nodeCount}×${nodeCount} matrix (one row per node), got ${d.length} row${d.length === 1 ? '' : 's'}`);
    d.forEach((row, i) => {
      if (row.length !== nodeCount) add(['machine', 'distances', i], `expected ${nodeCount} distance${nodeCount === 1 ? '' : 's'} (one per node), got ${row.length}`);
      row.forEach((v, j) => {
        if (i === j && v !== 10) add(['machine', 'distances', i, j], `expected 10 (a node's distance to itself), got ${v}`);
        if (i !== j && v <= 10) add(['machine', 'distances', i, j], `expected a distance > 10 between two nodes, got ${v}`);
      });
    });
  }

  // Cgroups.
  const cgroups = sf.cgroups ?? [];
  const firstCgroup = new Map<string, number>();
  cgroups.forEach((c, i) => {
    const prior = firstCgroup.get(c.path);
    if (prior !== undefined) add(['cgroups', i, 'path'], `duplicate cgroup ${JSON.stringify(c.path)} (also cgroups[${prior}])`);
    else firstCgroup.set(c.path, i);
  });
  const knownCgroups = new Set<string>(['/']);
  for (const c of cgroups) {
    const parts = c.path.split('/').filter(Boolean);
    for (let k = 1; k <= parts.length; k++) knownCgroups.add(`/${parts.slice(0, k).join('/')}`);
  }

  // Workloads.
  const firstWorkload = new Map<string, number>();
  workloads.forEach((w, i) => {
    const at = (...rest: Seg[]): Seg[] => ['workloads', i, ...rest];
    const prior = firstWorkload.get(w.name);
    if (prior !== undefined) add(at('name'), `duplicate workload name ${JSON.stringify(w.name)} (also workloads[${prior}])`);
    else firstWorkload.set(w.name, i);

    if (typeof w.node === 'number') checkNode(at('node'), w.node);
    else w.node?.forEach((n, k) => checkNode(at('node', k), n));
    if (w.mempolicy) {
      const { mode, nodes } = w.mempolicy;
      nodes?.forEach((n, k) => checkNode(at('mempolicy', 'nodes', k), n));
      if ((mode === 'bind' || mode === 'interleave' || mode === 'preferred') && (nodes ?? []).length === 0) {
        add(at('mempolicy', nodes ? 'nodes' : 'mode'), `mode ${mode} needs nodes: expected a list such as nodes: [0]`);
      }
      if (mode === 'preferred' && nodes && nodes.length > 1) add(at('mempolicy', 'nodes'), `mode preferred takes one node, got ${nodes.length}`);
      if ((mode === 'default' || mode === 'local') && nodes && nodes.length > 0) add(at('mempolicy', 'nodes'), `mode ${mode} takes no nodes (set_mempolicy would fail with EINVAL), got ${nodes.length}`);
    }
    if (w.lifetime !== undefined && w.lifetime <= 0) add(at('lifetime'), 'expected a duration > 0, got 0');
    if (w.cgroup !== undefined && !knownCgroups.has(w.cgroup)) {
      const listed = cgroups.length > 0 ? cgroups.map((c) => c.path).join(', ') : 'none';
      add(at('cgroup'), `cgroup ${JSON.stringify(w.cgroup)} is not declared: expected / or a path of cgroups[] or one of its parents (declared: ${listed})`);
    }
    if (w.start !== undefined && w.stop !== undefined && w.stop <= w.start) add(at('stop'), `expected a stop time after start (${w.start} ms), got ${w.stop} ms`);
    else if (w.start === undefined && w.stop !== undefined && w.stop <= 0) add(at('stop'), `expected a stop time after start (0 ms), got ${w.stop} ms`);

    if (w.churn) {
      if (w.mappings.length > 0) add(at('mappings'), `a churn workload has no mappings (it is kernel activity, not a process), got ${w.mappings.length}`);
      if (w.streams && w.streams.length > 0) add(at('streams'), `a churn workload has no streams, got ${w.streams.length}`);
      if (w.forks && w.forks.length > 0) add(at('forks'), `a churn workload has no forks, got ${w.forks.length}`);
      if (w.churn.pageCacheDropEvery !== undefined && w.churn.pageCacheDropEvery <= 0) add(at('churn', 'pageCacheDropEvery'), 'expected a period > 0, got 0');
    } else if (w.mappings.length === 0) {
      add(at('mappings'), 'a workload needs at least one mapping (or churn, for kernel activity): expected mappings: [{ name, size }]');
    }

    // Names are unique in the entry as written (merging with a preset would fold duplicates together).
    const asWritten = sf.workloads?.[i];
    for (const [list, what] of [[asWritten?.mappings, 'mapping'], [asWritten?.streams, 'stream']] as const) {
      const seen = new Map<string, number>();
      list?.forEach((item, k) => {
        const prior = seen.get(item.name);
        const key = what === 'mapping' ? 'mappings' : 'streams';
        if (prior !== undefined) out.push({ path: at(key, k, 'name'), written: true, message: `duplicate ${what} name ${JSON.stringify(item.name)} (also ${key}[${prior}])` });
        else seen.set(item.name, k);
      });
    }

    const mappingNames = new Set(w.mappings.map((mp) => mp.name));
    w.mappings.forEach((mp, k) => {
      if (mp.size <= 0) add(at('mappings', k, 'size'), `expected a size > 0, got ${mp.size}`);
      else if (mp.size % PAGE !== 0) add(at('mappings', k, 'size'), `expected a multiple of 4KiB (4096 bytes), got ${mp.size} bytes`);
      if (mp.align !== undefined && !(isPowerOfTwo(mp.align) && mp.align >= PAGE)) add(at('mappings', k, 'align'), `expected a power of two ≥ 4KiB (4096), got ${mp.align}`);
      const c = mp.content;
      if (c && (c.duplicated ?? 0) + (c.zero ?? 0) > 1 + 1e-9) {
        add(at('mappings', k, 'content'), `duplicated + zero must be at most 1 (the rest is distinct), got ${c.duplicated ?? 0} + ${c.zero ?? 0} = ${+((c.duplicated ?? 0) + (c.zero ?? 0)).toFixed(6)}`);
      }
    });

    w.streams?.forEach((s, j) => {
      if (!mappingNames.has(s.mapping)) {
        const known = w.mappings.length > 0 ? `mappings: ${names(w.mappings)}` : 'it has no mappings';
        add(at('streams', j, 'mapping'), `no mapping named ${JSON.stringify(s.mapping)} in workload ${JSON.stringify(w.name)} (${known})`);
      }
      const strided = s.pattern === 'strided' || (s.phases ?? []).some((p) => p.pattern === 'strided');
      if (strided && s.stride === undefined) add(at('streams', j, 'stride'), 'missing required key "stride": a strided stream needs the bytes between its accesses, e.g. stride: 4KiB');
      if (s.stride !== undefined && s.stride < 64) add(at('streams', j, 'stride'), `expected a stride ≥ 64 bytes (a cache line), got ${s.stride}`);
      if (s.move && s.move.every <= 0) add(at('streams', j, 'move', 'every'), 'expected a period > 0, got 0');
    });

    w.forks?.forEach((f, k) => {
      if (f.every !== undefined && f.every <= 0) add(at('forks', k, 'every'), 'expected a period > 0, got 0');
    });
  });

  // Knobs: the kernel must take each value, in order.
  out.push(...knobFindings(sf));
  return out;
}

/** Writes each knob into a small simulated kernel with as many nodes; a refusal is a finding. */
function knobFindings(sf: ScenarioFile): Finding[] {
  const knobs = Object.entries(sf.machine.knobs ?? {});
  if (knobs.length === 0) return [];
  const kernel = new SimKernel({ nodes: sf.machine.nodes.map(() => ({ memoryMiB: 64 })), balloon: sf.machine.balloon ?? false });
  const out: Finding[] = [];
  for (const [path, value] of knobs) {
    const text = String(value);
    try {
      kernel.writeFile(path, text);
    } catch (e) {
      let message: string;
      if (e instanceof SyscallError && (e.errno === 'ENOENT' || e.errno === 'ENOTDIR')) message = `the kernel has no file ${path} (${e.errno})`;
      else if (e instanceof SyscallError) {
        let current = '';
        try {
          const read = kernel.readFile(path).trim();
          if (read.length > 0 && read.length <= 100 && !read.includes('\n')) current = `; the file reads: ${read}`;
        } catch {
          // unreadable: nothing to add
        }
        message = `the kernel refused the value ${JSON.stringify(text)} (${e.syscall}: ${e.errno})${current}`;
      } else message = `the kernel refused the value ${JSON.stringify(text)}: ${e instanceof Error ? e.message : String(e)}`;
      out.push({ path: ['machine', 'knobs', path], message });
    }
  }
  return out;
}
