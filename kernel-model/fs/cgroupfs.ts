/**
 * The cgroup v2 files of the memory controller under /sys/fs/cgroup (Linux kernel/cgroup/cgroup.c and
 * the cftypes of mm/memcontrol.c), served from MemControl's state:
 *
 *   file                  root  read                              write
 *   cgroup.procs          yes   pids of the cgroup, one a line    a pid (0: the writer) moves it here
 *   memory.current        no    bytes charged (subtree)           —
 *   memory.max            no    `max` or bytes                    `max` or bytes, K/M/G/T/P/E suffixes
 *   memory.high           no    `max` or bytes                    as memory.max
 *   memory.stat           yes   Linux 6.18's keys and order       —
 *   memory.events         no    low high max oom oom_kill oom_group_kill (subtree)
 *   memory.events.local   no    the same, this cgroup only
 *
 * Values are parsed as page_counter_memparse does: surrounding whitespace stripped, then `max` or
 * memparse (an unsigned C integer — decimal, 0x hex or 0 octal — with an optional one-letter binary
 * suffix), rounded down to whole pages. Anything else is EINVAL. A missing cgroup or file is ENOENT, a
 * cgroup directory read as a file EISDIR, a write to a read-only file EACCES. Other files of Linux's
 * cgroup directories (memory.min, memory.low, memory.swap.*, cgroup.controllers, ...) are not modelled.
 */
import { Cost } from '../mm/costs.js';
import { HPAGE_PMD_SIZE, PAGE_SIZE } from '../mm/constants.js';
import { CGROUP_ROOT, PAGE_COUNTER_MAX, cgroupDir, type MemCgroup } from '../mm/memcontrol.js';
import { MemcgEvent, memcgEventNames, memcgMemoryEventNames } from '../mm/memcontrol-items.js';
import type { Task } from '../mm/mm-types.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** One control file of a cgroup directory. */
interface CgroupFile {
  /** Present in the root cgroup too (cftypes without CFTYPE_NOT_ON_ROOT). */
  readonly onRoot: boolean;
  read(k: Kernel, cg: MemCgroup): string;
  write?(k: Kernel, cg: MemCgroup, text: string, writer: Task | undefined): void;
}

const files: Record<string, CgroupFile> = {
  'cgroup.procs': {
    onRoot: true,
    read: (k, cg) => k.memcg.tasksIn(cg, false).map((t) => `${t.pid}\n`).join(''),
    write: writeProcs,
  },
  'memory.current': { onRoot: false, read: (_k, cg) => `${cg.usage * PAGE_SIZE}\n` },
  'memory.max': {
    onRoot: false,
    read: (_k, cg) => tunable(cg.max),
    write: (k, cg, text, writer) => k.memcg.setMax(cg, memparseOrThrow(cg, 'memory.max', text), writer),
  },
  'memory.high': {
    onRoot: false,
    read: (_k, cg) => tunable(cg.high),
    write: (k, cg, text, writer) => k.memcg.setHigh(cg, memparseOrThrow(cg, 'memory.high', text), writer),
  },
  'memory.stat': { onRoot: true, read: memoryStat },
  'memory.events': { onRoot: false, read: (_k, cg) => memoryEvents(cg.memoryEvents) },
  'memory.events.local': { onRoot: false, read: (_k, cg) => memoryEvents(cg.memoryEventsLocal) },
};

/** Names of the control files a cgroup directory holds (a child cgroup may not take one of them). */
export const cgroupFileNames: readonly string[] = Object.keys(files);

/** The cgroup files. */
export class CgroupFs {
  constructor(private readonly k: Kernel) {}

  /** Whether `path` lies in the cgroup file system. */
  static owns(path: string): boolean {
    return path === CGROUP_ROOT || path.startsWith(`${CGROUP_ROOT}/`);
  }

  /** The text of a cgroup file. */
  read(path: string, reader: Task | undefined): string {
    const { cg, file } = this.resolve(path);
    reader?.chargeSys(Cost.procfsRead);
    return file.read(this.k, cg);
  }

  /** A write to a cgroup file. */
  write(path: string, text: string, writer: Task | undefined): void {
    const { cg, file } = this.resolve(path);
    if (!file.write) throw new SyscallError('EACCES', 'open', `${path} is read-only`);
    writer?.chargeSys(Cost.syscall);
    file.write(this.k, cg, text, writer);
  }

  private resolve(path: string): { cg: MemCgroup; file: CgroupFile } {
    const rel = cgroupPathOf(path);
    if (rel === undefined) throw new SyscallError('ENOENT', 'open', path);
    if (this.k.memcg.lookup(rel)) throw new SyscallError('EISDIR', 'read', path);
    const cut = rel.lastIndexOf('/');
    const cg = this.k.memcg.lookup(cut === 0 ? '/' : rel.slice(0, cut));
    const file = files[rel.slice(cut + 1)];
    if (!cg || !file || (cg === this.k.memcg.root && !file.onRoot)) throw new SyscallError('ENOENT', 'open', path);
    return { cg, file };
  }
}

/**
 * The cgroup path (`/`, `/a/b`) of a path under /sys/fs/cgroup, with `.`, `..`, repeated and trailing
 * slashes resolved as path lookup would; undefined when the path leads outside the hierarchy.
 */
export function cgroupPathOf(fsPath: string): string | undefined {
  const parts: string[] = [];
  for (const p of fsPath.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  const full = `/${parts.join('/')}`;
  if (full === CGROUP_ROOT) return '/';
  return full.startsWith(`${CGROUP_ROOT}/`) ? full.slice(CGROUP_ROOT.length) : undefined;
}

/**
 * mkdir(2) under /sys/fs/cgroup (cgroup_mkdir): EEXIST for an existing cgroup or file, ENOENT without a
 * parent, EINVAL for a newline in the name, EBUSY when every memcg id is taken; EPERM outside the
 * hierarchy (the model's other file systems take no directories).
 */
export function cgroupMkdir(k: Kernel, fsPath: string): void {
  const rel = cgroupPathOf(fsPath);
  if (rel === undefined) throw new SyscallError('EPERM', 'mkdir', fsPath);
  const cut = rel.lastIndexOf('/');
  const parent = k.memcg.lookup(cut === 0 ? '/' : rel.slice(0, cut));
  if (parent && cgroupFileNames.includes(rel.slice(cut + 1)) && (parent !== k.memcg.root || files[rel.slice(cut + 1)].onRoot)) {
    throw new SyscallError('EEXIST', 'mkdir', fsPath);
  }
  k.memcg.mkdir(rel);
}

/** rmdir(2) under /sys/fs/cgroup (cgroup_rmdir): ENOENT, EBUSY (tasks, children, the root); EPERM outside. */
export function cgroupRmdir(k: Kernel, fsPath: string): void {
  const rel = cgroupPathOf(fsPath);
  if (rel === undefined) throw new SyscallError('EPERM', 'rmdir', fsPath);
  k.memcg.rmdir(rel);
}

/**
 * The cgroup `spawn({ cgroup })` names — a cgroup path (`/a/b`) or its directory
 * (`/sys/fs/cgroup/a/b`) — as a cgroup path; undefined when no such cgroup exists.
 */
export function spawnCgroupPath(k: Kernel, spec: string): string | undefined {
  const rel = cgroupPathOf(CgroupFs.owns(spec) ? spec : `${CGROUP_ROOT}/${spec}`);
  return rel !== undefined && k.memcg.lookup(rel) ? rel : undefined;
}

/** seq_puts_memcg_tunable: `max` or bytes. */
function tunable(pages: number): string {
  return pages === PAGE_COUNTER_MAX ? 'max\n' : `${pages * PAGE_SIZE}\n`;
}

function memparseOrThrow(cg: MemCgroup, file: string, text: string): number {
  const pages = pageCounterMemparse(text);
  if (pages === undefined) throw new SyscallError('EINVAL', 'write', `${cgroupDir(cg.path)}/${file}: ${JSON.stringify(text)}`);
  return pages;
}

const U64 = (1n << 64n) - 1n;

/**
 * page_counter_memparse: `max`, or memparse's byte count rounded down to pages and capped at
 * PAGE_COUNTER_MAX (so a huge count reads back as `max`); undefined when Linux answers EINVAL.
 * memparse is simple_strtoull(base 0) — arithmetic modulo 2^64 like the kernel's — then an optional
 * K, M, G, T, P or E (either case); nothing may follow.
 */
export function pageCounterMemparse(text: string): number | undefined {
  const buf = text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
  if (buf === 'max') return PAGE_COUNTER_MAX;
  const m = /^(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))?([kKmMgGtTpPeE]?)$/.exec(buf);
  // "0x" without hex digits parses as 0 followed by "x", which is not a suffix.
  if (!m) return undefined;
  let bytes = 0n;
  if (m[1] !== undefined) bytes = BigInt(`0x${m[1]}`);
  else if (m[2] !== undefined) bytes = BigInt(`0o${m[2] === '0' ? '0' : m[2].slice(1)}`);
  else if (m[3] !== undefined) bytes = BigInt(m[3]);
  bytes &= U64;
  const shift = BigInt(10 * ' kmgtpe'.indexOf(m[4].toLowerCase() || ' '));
  bytes = (bytes << shift) & U64;
  const pages = bytes / BigInt(PAGE_SIZE);
  return pages >= BigInt(PAGE_COUNTER_MAX) ? PAGE_COUNTER_MAX : Number(pages);
}

/**
 * __cgroup_procs_write: one pid (kstrtoint, base 0; 0 means the writer) is moved into the cgroup.
 * EINVAL for anything else or a negative number, ESRCH for no such live process.
 */
function writeProcs(k: Kernel, cg: MemCgroup, text: string, writer: Task | undefined): void {
  const buf = text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(buf);
  const pid = !m ? NaN : m[1] !== undefined ? parseInt(m[1], 16) : m[2] !== undefined ? parseInt(m[2], 8) : Number(m[3]);
  if (!Number.isInteger(pid) || pid > 2 ** 31 - 1) throw new SyscallError('EINVAL', 'write', `${cgroupDir(cg.path)}/cgroup.procs: ${JSON.stringify(text)}`);
  const task = pid === 0 ? writer : k.task(pid);
  if (!task) throw new SyscallError('ESRCH', 'write', `${cgroupDir(cg.path)}/cgroup.procs: no process ${pid}`);
  k.memcg.attach(task, cg);
}

/** memory.stat (memcg_stat_format): every key of 6.18 in order; what the model does not track is 0. */
function memoryStat(k: Kernel, cg: MemCgroup): string {
  let thps = 0;
  for (const c of k.memcg.all()) if (c.isDescendantOf(cg)) thps += c.localThps;
  const state: Record<string, number> = { anon: cg.usage * PAGE_SIZE, anon_thp: thps * HPAGE_PMD_SIZE };
  const ev = cg.events;
  let out = '';
  for (const name of memoryStateNames) {
    out += `${name} ${state[name] ?? 0}\n`;
    if (name === 'slab_unreclaimable') out += 'slab 0\n';
  }
  out += `pgscan ${ev[MemcgEvent.pgscan_kswapd] + ev[MemcgEvent.pgscan_direct] + ev[MemcgEvent.pgscan_proactive] + ev[MemcgEvent.pgscan_khugepaged]}\n`;
  out += `pgsteal ${ev[MemcgEvent.pgsteal_kswapd] + ev[MemcgEvent.pgsteal_direct] + ev[MemcgEvent.pgsteal_proactive] + ev[MemcgEvent.pgsteal_khugepaged]}\n`;
  memcgEventNames.forEach((name, i) => (out += `${name} ${ev[i]}\n`));
  return out;
}

/**
 * The state part of memory.stat (mm/memcontrol.c memory_stats[] of 6.18 with CONFIG_ZSWAP, CONFIG_SWAP,
 * CONFIG_TRANSPARENT_HUGEPAGE and CONFIG_NUMA_BALANCING; `hugetlb` is printed only with the
 * memory_hugetlb_accounting mount option, so not here). `slab` follows `slab_unreclaimable`.
 */
const memoryStateNames = [
  'anon', 'file', 'kernel', 'kernel_stack', 'pagetables', 'sec_pagetables', 'percpu', 'sock', 'vmalloc', 'shmem',
  'zswap', 'zswapped', 'file_mapped', 'file_dirty', 'file_writeback', 'swapcached', 'anon_thp', 'file_thp', 'shmem_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable', 'slab_unreclaimable',
  'workingset_refault_anon', 'workingset_refault_file', 'workingset_activate_anon', 'workingset_activate_file',
  'workingset_restore_anon', 'workingset_restore_file', 'workingset_nodereclaim',
  'pgdemote_kswapd', 'pgdemote_direct', 'pgdemote_khugepaged', 'pgdemote_proactive', 'pgpromote_success',
] as const;

/** __memory_events_show. */
function memoryEvents(events: Float64Array): string {
  return memcgMemoryEventNames.map((name, i) => `${name} ${events[i]}\n`).join('');
}
