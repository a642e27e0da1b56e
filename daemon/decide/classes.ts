/**
 * Which class of the policy a process belongs to: the first class whose `match` it meets, unless the
 * class's `eligibility.exclude` also takes it (then the process is left alone, and said to be excluded).
 * A match field is met when any of its values is (comm by glob, cgroup as the path or an ancestor of it,
 * uid, pid), and a match when every field it gives is; `{}` takes every process.
 *
 * What a process is comes from the files a real kernel shows: `/proc/PID/status` (Name, the real Uid)
 * and `/proc/PID/cgroup`: the memory controller's cgroup — its v1 hierarchy's path where the host mounts
 * the controller there (v1 and hybrid hosts), the unified hierarchy's path otherwise — and which of the
 * two it is, since the memory files differ (guards.ts).
 */
import type { PolicyClass } from '../config/policy-schema.js';
import type { KernelPort } from '../kernel-port/kernel-port.js';
import { parseProcCgroup, parseStatus } from '../kernel-port/procfs-parsers.js';

/** What class matching looks at. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly comm: string;
  readonly uid: number;
  /** The process's memory cgroup, as a path in `cgroupHierarchy`. */
  readonly cgroup: string;
  readonly cgroupHierarchy: CgroupHierarchy;
}

/** Which cgroup hierarchy a path is in: cgroup v1's memory controller, or the unified (v2) hierarchy. */
export type CgroupHierarchy = 'v1' | 'v2';

type Match = PolicyClass['match'];

/** The outcome for one process. */
export type ClassOutcome = { readonly cls: PolicyClass; readonly excluded: boolean } | undefined;

/** A comm glob (`*`, `?`) as an anchored regular expression. */
function globRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Whether `path` is `ancestor` or lies below it. */
function underCgroup(path: string, ancestor: string): boolean {
  return ancestor === '/' || path === ancestor || path.startsWith(`${ancestor}/`);
}

interface CompiledMatch {
  readonly comm?: readonly RegExp[];
  readonly cgroup?: readonly string[];
  readonly uid?: ReadonlySet<number>;
  readonly pid?: ReadonlySet<number>;
}

function compile(m: Match): CompiledMatch {
  return {
    comm: m.comm?.map(globRegExp),
    cgroup: m.cgroup,
    uid: m.uid ? new Set(m.uid) : undefined,
    pid: m.pid ? new Set(m.pid) : undefined,
  };
}

function meets(m: CompiledMatch, p: ProcessIdentity): boolean {
  if (m.comm && !m.comm.some((re) => re.test(p.comm))) return false;
  if (m.cgroup && !m.cgroup.some((c) => underCgroup(p.cgroup, c))) return false;
  if (m.uid && !m.uid.has(p.uid)) return false;
  if (m.pid && !m.pid.has(p.pid)) return false;
  return true;
}

/** The policy's classes, compiled once per policy (a reload compiles anew). */
export class ClassMatcher {
  private readonly compiled: { cls: PolicyClass; match: CompiledMatch; exclude: CompiledMatch | undefined }[];

  constructor(classes: readonly PolicyClass[]) {
    this.compiled = classes.map((cls) => ({ cls, match: compile(cls.match), exclude: cls.eligibility.exclude ? compile(cls.eligibility.exclude) : undefined }));
  }

  /** The process's class (the first that matches), whether that class excludes it, or undefined when none matches. */
  classify(p: ProcessIdentity): ClassOutcome {
    for (const c of this.compiled) {
      if (!meets(c.match, p)) continue;
      return { cls: c.cls, excluded: c.exclude !== undefined && meets(c.exclude, p) };
    }
    return undefined;
  }
}

/** A process's identity from its status and cgroup files; KernelPortError (ESRCH, ENOENT) when it is gone. */
export function readIdentity(port: KernelPort, pid: number): ProcessIdentity {
  const status = parseStatus(port.readFile(`/proc/${pid}/status`));
  const uid = Number((status.fields.get('Uid') ?? '').split(/\s+/)[0]);
  const cgroups = parseProcCgroup(port.readFile(`/proc/${pid}/cgroup`));
  // A controller is bound to one hierarchy: when v1 has memory, the unified one does not.
  const v1Memory = cgroups.v1.get('memory');
  const memcg = v1Memory !== undefined ? { cgroup: v1Memory, cgroupHierarchy: 'v1' as const } : { cgroup: cgroups.unified ?? '/', cgroupHierarchy: 'v2' as const };
  return { pid, comm: status.name, uid: Number.isInteger(uid) ? uid : -1, ...memcg };
}
