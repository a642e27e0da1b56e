/**
 * The workload agent's twin on the simulated kernel: a SimKernel process that takes the same command
 * lines as test/real-kernel/agent/workload-agent.c and answers with the same reply objects (the protocol
 * is in agent-protocol.ts and the commands in the C file's header). A test writes a case once, as a
 * script, and runs it on both kernels.
 *
 * Where the C agent makes a syscall, the twin makes the SimKernel call of the same name; a SyscallError
 * becomes ret -1 with its errno. The only liberties are where the model has no such thing: `pin` is the
 * model's long-term pin where the agent lets a pipe hold the page; `capset` is not offered (a simulated
 * process gets its capabilities when spawned: the `caps` option), nor `lock` (a host file lock), since
 * nothing is shared across simulated machines.
 */
import { type SimKernel, SyscallError } from '../../kernel-model/index.js';
import { parseVmstat } from '../../daemon/kernel-port/procfs-parsers.js';
import { HPAGE_PMD_SIZE, PAGE_SIZE, anonHugeKbRange, hugeRegions, pagemap } from '../kernel-model/collapse/collapse-helpers.js';
import { KSM_COUNTERS, TRACKED_VMSTAT, parseAgentNumber, type AgentReply } from './agent-protocol.js';

const KSM = '/sys/kernel/mm/ksm';
const KSM_SCAN_TIMEOUT_MS = 20_000;
const KPF_ZERO_PAGE = 1n << 24n;
const PM_PFN_MASK = (1n << 55n) - 1n;

interface Region {
  addr: number;
  len: number;
}

/** A script mistake, reported as the agent does ({ usage }), not as a kernel answer. */
class Usage extends Error {}

/** Extra reply fields a command produced besides ret and errno. */
type Extras = Omit<AgentReply, 'cmd' | 'ret' | 'errno' | 'vmstat'>;

/** One agent process on a simulated kernel. */
export class SimAgent {
  readonly pid: number;
  private readonly regions = new Map<string, Region>();
  private readonly fds = new Map<string, number>();
  private child: number | undefined;

  constructor(private readonly k: SimKernel, opts: { uid?: number; caps?: readonly string[] } = {}) {
    this.pid = k.spawn({ comm: 'workload-agent', uid: opts.uid, caps: opts.caps, dumpable: true });
  }

  /** The line the agent prints when it starts. */
  ready(): AgentReply {
    return { cmd: 'ready', ret: 0, errno: null, pid: this.pid, release: 'simulated' };
  }

  /** Runs one command line and answers as the C agent would. */
  run(line: string): AgentReply {
    const args = line.trim().split(/\s+/);
    const cmd = args[0] ?? '';
    const before = this.vmstat();
    let ret = 0;
    let errno: string | null = null;
    let extras: Extras & { ret?: number } = {};
    try {
      extras = this.dispatch(cmd, args);
    } catch (e) {
      if (e instanceof Usage) return { cmd, usage: e.message };
      if (!(e instanceof SyscallError)) throw e;
      ret = -1;
      errno = e.errno;
    }
    if (typeof extras.ret === 'number') {
      ret = extras.ret;
      delete extras.ret;
    }
    const after = this.vmstat();
    const vmstat: Record<string, number> = {};
    for (const name of TRACKED_VMSTAT) if (after[name] !== before[name]) vmstat[name] = (after[name] ?? 0) - (before[name] ?? 0);
    return { cmd, ret, errno, ...extras, vmstat };
  }

  private vmstat(): Record<string, number> {
    return Object.fromEntries(parseVmstat(this.k.readFile('/proc/vmstat')));
  }

  private num(text: string | undefined, usage: string): number {
    const v = parseAgentNumber(text);
    if (v === undefined) throw new Usage(usage);
    return v;
  }

  /** NAME OFF LEN → an address and a length. */
  private range(args: string[]): { addr: number; len: number } {
    const region = this.regions.get(args[1] ?? '');
    const usage = 'CMD NAME OFF LEN ...';
    if (!region) throw new Usage(usage);
    return { addr: region.addr + this.num(args[2], usage), len: this.num(args[3], usage) };
  }

  private dispatch(cmd: string, args: string[]): Extras & { ret?: number } {
    const k = this.k;
    switch (cmd) {
      case 'map':
        return this.map(args);
      case 'map_at': {
        const { addr, len } = this.range(args);
        k.mmap(this.pid, len, { addr });
        return {};
      }
      case 'munmap':
      case 'mlock':
      case 'pin': {
        const { addr, len } = this.range(args);
        k[cmd](this.pid, addr, len);
        return {};
      }
      case 'mprotect': {
        const { addr, len } = this.range(args);
        const prot = args[4];
        if (prot !== 'rw' && prot !== 'r' && prot !== 'none') throw new Usage('mprotect NAME OFF LEN r|rw|none');
        k.mprotect(this.pid, addr, len, prot);
        return {};
      }
      case 'madvise': {
        const { addr, len } = this.range(args);
        if (args[4] === undefined) throw new Usage('madvise NAME OFF LEN ADVICE');
        k.madvise(this.pid, addr, len, args[4]);
        return {};
      }
      case 'write': {
        const { addr, len } = this.range(args);
        const byte = args[4] === undefined ? undefined : this.num(args[4], 'write NAME OFF LEN [BYTE]');
        if (byte !== undefined && (byte < 0 || byte > 255)) throw new Usage('write NAME OFF LEN [BYTE]');
        // The model keeps one 32-bit value per page: a page filled with BYTE holds it four times over.
        if (len > 0) k.touch(this.pid, addr, len, byte === undefined ? {} : { fill: (byte * 0x01010101) >>> 0 });
        return {};
      }
      case 'read': {
        const { addr, len } = this.range(args);
        if (len > 0) k.touch(this.pid, addr, len, { write: false });
        return {};
      }
      case 'fork':
        if (this.child !== undefined) throw new Usage('one child at a time');
        this.child = k.fork(this.pid);
        return { pid: this.child };
      case 'reap':
        if (this.child === undefined) throw new Usage('no child to reap');
        k.exit(this.child);
        this.child = undefined;
        return {};
      case 'prctl':
        if (args[1] !== 'PR_SET_THP_DISABLE' || args.length !== 3) throw new Usage('unknown command');
        k.prctl(this.pid, 'PR_SET_THP_DISABLE', this.num(args[2], 'prctl PR_SET_THP_DISABLE ARG'));
        return {};
      case 'pidfd_open': {
        const name = args[1];
        if (name === undefined || args.length !== 3) throw new Usage('unknown command');
        const fd = k.pidfdOpen(this.pid, this.num(args[2], 'pidfd_open FDNAME PID'));
        this.fds.set(name, fd);
        return { fd };
      }
      case 'process_madvise':
        return { ret: this.processMadvise(args) };
      case 'report':
        return this.report(args);
      case 'ksm':
        if (args.length < 3 || args[1].includes('/')) throw new Usage('ksm KNOB VALUE');
        k.writeFile(`${KSM}/${args[1]}`, args[2]);
        return {};
      case 'ksm_scan':
        this.ksmScan(this.num(args[1], 'ksm_scan N'));
        return {};
      case 'zero_page':
        return { zero_page: this.readFaultMapsZeroPage() };
      default:
        throw new Usage('unknown command');
    }
  }

  /** Between 2 MiB PROT_NONE guards, on a 2 MiB boundary (plus 4 KiB unless aligned), as the agent maps. */
  private map(args: string[]): Extras {
    const usage = 'map NAME SIZE [aligned]';
    const name = args[1];
    const len = this.num(args[2], usage);
    if (name === undefined || this.regions.has(name) || name.length >= 32) throw new Usage(usage);
    const reserve = this.k.mmap(this.pid, len + 5 * HPAGE_PMD_SIZE, { align: HPAGE_PMD_SIZE, prot: 'none' });
    const addr = reserve + HPAGE_PMD_SIZE + (args[3] === 'aligned' ? 0 : PAGE_SIZE);
    // MAP_FIXED over the reservation: the model's fixed mmap refuses to replace, so unmap first.
    this.k.munmap(this.pid, addr, len);
    this.k.mmap(this.pid, len, { addr });
    this.regions.set(name, { addr, len });
    return { addr: `0x${addr.toString(16)}` };
  }

  private processMadvise(args: string[]): number {
    const usage = 'process_madvise PIDFD ADVICE FLAGS ADDR:LEN[*COUNT]...';
    const [, fdText, advice, flagsText, ...vecs] = args;
    if (fdText === undefined || advice === undefined) throw new Usage(usage);
    const fd = this.fds.get(fdText) ?? this.num(fdText, usage);
    const flags = this.num(flagsText, usage);
    const iov: { base: number; len: number }[] = [];
    for (const v of vecs) {
      const m = /^([^:]+):([^*]+)(?:\*(.+))?$/.exec(v);
      if (!m) throw new Usage('an iovec is ADDR:LEN[*COUNT]');
      const base = this.num(m[1], usage);
      const len = this.num(m[2], usage);
      const count = m[3] === undefined ? 1 : this.num(m[3], usage);
      for (let i = 0; i < count; i++) iov.push({ base, len });
    }
    return this.k.processMadvise(this.pid, fd, iov, advice, flags);
  }

  private report(args: string[]): Extras {
    let pid = this.pid;
    if (args.length > 1) {
      if (args[1] !== 'child' || this.child === undefined) throw new Usage('report [child]');
      pid = this.child;
    }
    const regions: NonNullable<AgentReply['regions']> = {};
    for (const [name, r] of this.regions) {
      regions[name] = { anonHugeKb: anonHugeKbRange(this.k, pid, r.addr, r.addr + r.len), huge: hugeRegions(this.k, pid, r.addr, Math.floor(r.len / HPAGE_PMD_SIZE)) };
    }
    // Numeric lines only, as the agent's sscanf reads them (ksm_merge_any and ksm_mergeable say yes/no).
    const ksmStat: Record<string, number> = {};
    for (const line of this.k.readFile(`/proc/${pid}/ksm_stat`).split('\n')) {
      const m = /^([^: ]+)[: ]+(-?\d+)/.exec(line);
      if (m) ksmStat[m[1]] = Number(m[2]);
    }
    const ksm: Record<string, number> = {};
    for (const name of KSM_COUNTERS) ksm[name] = this.ksmCounter(name);
    return { regions, ksm_stat: ksmStat, ksm_merging_pages: Number(this.k.readFile(`/proc/${pid}/ksm_merging_pages`)), ksm };
  }

  private ksmCounter(name: string): number {
    return Number(this.k.readFile(`${KSM}/${name}`));
  }

  /** ksmd in whole full scans, stopped (run 0) once full_scans has moved n times; the agent's bound. */
  private ksmScan(n: number): void {
    const start = this.ksmCounter('full_scans');
    this.k.writeFile(`${KSM}/run`, '1');
    for (let ms = 0; this.ksmCounter('full_scans') < start + n; ms++) {
      if (ms > KSM_SCAN_TIMEOUT_MS) {
        this.k.writeFile(`${KSM}/run`, '0');
        // the agent answers ETIMEDOUT; the model has no such errno, and a model that never scans is broken
        throw new Error(`ksmd made no full scan in ${KSM_SCAN_TIMEOUT_MS} ms of simulated time`);
      }
      this.k.advance(1);
    }
    this.k.writeFile(`${KSM}/run`, '0');
  }

  /** A read fault of a fresh page, then kpageflags' ZERO_PAGE bit of what it mapped. */
  private readFaultMapsZeroPage(): boolean | null {
    const p = this.k.mmap(this.pid, PAGE_SIZE);
    this.k.touch(this.pid, p, PAGE_SIZE, { write: false });
    const pfn = (pagemap(this.k, this.pid, p, 1)[0] ?? 0n) & PM_PFN_MASK;
    this.k.munmap(this.pid, p, PAGE_SIZE);
    if (pfn === 0n) return null;
    const bytes = this.k.readBinary('/proc/kpageflags', Number(pfn) * 8, 8);
    return (new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true) & KPF_ZERO_PAGE) !== 0n;
  }
}
