/**
 * Access sampling with DAMON, through its sysfs interface (/sys/kernel/mm/damon/admin).
 *
 *   one kdamond of the daemon's, one context of `vaddr` operations, one target per sampled process;
 *   targets change online: the directories are rewritten and `commit` written to the kdamond's state;
 *   results: one `stat` scheme per target (it does nothing to memory, only counts), each with a `target`
 *   filter that keeps its own target's regions, so that a scheme's tried regions are one process's
 *   regions — a context's tried regions carry no target index of their own. Writing
 *   `update_schemes_tried_regions` to the state makes kdamond fill them at its next aggregation; the
 *   write waits that long, so it is made off the event loop (FileAccess.writeFileAwaited) and
 *   `regions` returns the last complete reading while it runs.
 *
 * DAMON's attributes belong to the context, not to a target: the intervals are the first target's
 * (the daemon asks the same of every process), and max_nr_regions, a bound on the context's total, is
 * the sum of what each target asked for.
 *
 * The kdamond is turned on with the first target and off with the last; `close` removes its directory.
 * What it started is recorded (damon-ownership.ts) so that a restart after a crash can clean it up.
 */
import { KernelPortError, type AccessRegion, type SamplingAttrs } from '../kernel-port.js';
import type { AccessSampler } from './access-sampler.js';
import { contextDir, kdamondDir, KDAMONDS, nrKdamonds, writeDamonRecord } from './damon-ownership.js';
import type { FileAccess } from './file-access.js';

const ULONG_MAX = '18446744073709551615';
const UINT_MAX = '4294967295';

interface Target {
  readonly pid: number;
  readonly attrs: SamplingAttrs;
}

export class DamonSysfsSampler implements AccessSampler {
  readonly mechanism = 'damon';
  private targets: Target[] = [];
  private readonly results = new Map<number, AccessRegion[]>();
  /** Bumped at each change of targets: a reading begun before one is dropped. */
  private generation = 0;
  private refreshing: Promise<void> | undefined;
  private on = false;
  private kdamondPid = -1;

  private constructor(
    private readonly files: FileAccess,
    private readonly stateFile: string,
    private readonly index: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  /**
   * Creates the daemon's kdamond directory (left off) and records it. The caller has made sure every
   * existing kdamond directory is gone: DAMON rebuilds them all on a write of nr_kdamonds. A refusal
   * (EBUSY while a kdamond runs, EACCES, no vaddr operations) is a KernelPortError, with nothing left.
   */
  static setUp(files: FileAccess, stateFile: string, onError: (e: unknown) => void): DamonSysfsSampler {
    const index = nrKdamonds(files);
    files.writeFile(`${KDAMONDS}/nr_kdamonds`, String(index + 1));
    writeDamonRecord(files, stateFile, { kdamond: index, kdamondPid: -1, targets: [] });
    try {
      files.writeFile(`${kdamondDir(index)}/contexts/nr_contexts`, '1');
      const ctx = contextDir(index);
      const avail = files.exists(`${ctx}/avail_operations`) ? files.readFile(`${ctx}/avail_operations`).split(/\s+/) : ['vaddr'];
      if (!avail.includes('vaddr')) throw new KernelPortError('EINVAL', 'damon_setup', `no vaddr operations (available: ${avail.join(' ').trim()})`);
      files.writeFile(`${ctx}/operations`, 'vaddr');
      files.writeFile(`${ctx}/targets/nr_targets`, '0');
      files.writeFile(`${ctx}/schemes/nr_schemes`, '0');
    } catch (e) {
      files.writeFile(`${KDAMONDS}/nr_kdamonds`, String(index));
      files.removeOwnFile(stateFile);
      throw e;
    }
    return new DamonSysfsSampler(files, stateFile, index, onError);
  }

  start(pid: number, attrs: SamplingAttrs): void {
    if (this.targets.some((t) => t.pid === pid)) throw new KernelPortError('EBUSY', 'damon_start', `pid ${pid} is sampled already`);
    if (!this.files.exists(`/proc/${pid}`)) throw new KernelPortError('ESRCH', 'damon_start', `pid ${pid}`);
    this.targets.push({ pid, attrs });
    this.apply();
  }

  stop(pid: number): void {
    if (!this.targets.some((t) => t.pid === pid)) return;
    this.targets = this.targets.filter((t) => t.pid !== pid);
    this.results.delete(pid);
    this.apply();
  }

  regions(pid: number): AccessRegion[] {
    if (!this.targets.some((t) => t.pid === pid)) throw new KernelPortError('EINVAL', 'damon_regions', `pid ${pid} is not sampled`);
    if (!this.files.exists(`/proc/${pid}`)) throw new KernelPortError('ESRCH', 'damon_regions', `pid ${pid}`);
    this.refresh();
    return this.results.get(pid) ?? [];
  }

  /** The reading in flight, if any (tests wait for it). */
  get pendingReading(): Promise<void> | undefined {
    return this.refreshing;
  }

  async close(): Promise<void> {
    this.targets = [];
    this.generation++;
    this.turnOff();
    await this.refreshing;
    const kd = kdamondDir(this.index);
    if (nrKdamonds(this.files) === this.index + 1) {
      try {
        this.files.writeFile(`${KDAMONDS}/nr_kdamonds`, String(this.index));
      } catch (e) {
        // EBUSY: a kdamond that is not ours started meanwhile; ours stays, stopped and recorded.
        if (!(e instanceof KernelPortError && e.errno === 'EBUSY')) throw e;
        this.record();
        return;
      }
      this.files.removeOwnFile(this.stateFile);
    } else if (this.files.exists(`${kd}/state`)) this.record();
  }

  private state(): string {
    return this.files.readFile(`${kdamondDir(this.index)}/state`).trim();
  }

  private turnOff(): void {
    if (this.state() === 'on') this.files.writeFile(`${kdamondDir(this.index)}/state`, 'off');
    this.on = false;
    this.kdamondPid = -1;
    this.record();
  }

  /** Writes the targets and their schemes, then starts kdamond or commits the change to it. */
  private apply(retry = true): void {
    this.generation++;
    if (this.targets.length === 0) {
      this.turnOff();
      return;
    }
    const ctx = contextDir(this.index);
    const first = this.targets[0].attrs;
    const intervals = `${ctx}/monitoring_attrs/intervals`;
    this.files.writeFile(`${intervals}/sample_us`, String(Math.round(first.sampleIntervalMs * 1000)));
    this.files.writeFile(`${intervals}/aggr_us`, String(Math.round(first.aggrIntervalMs * 1000)));
    this.files.writeFile(`${intervals}/update_us`, String(Math.round(first.updateIntervalMs * 1000)));
    const maxRegions = this.targets.reduce((sum, t) => sum + t.attrs.maxNrRegions, 0);
    const nrRegions = `${ctx}/monitoring_attrs/nr_regions`;
    this.files.writeFile(`${nrRegions}/max`, String(Math.max(maxRegions, first.minNrRegions)));
    this.files.writeFile(`${nrRegions}/min`, String(first.minNrRegions));
    this.files.writeFile(`${ctx}/targets/nr_targets`, String(this.targets.length));
    this.targets.forEach((t, i) => this.files.writeFile(`${ctx}/targets/${i}/pid_target`, String(t.pid)));
    this.files.writeFile(`${ctx}/schemes/nr_schemes`, String(this.targets.length));
    this.targets.forEach((_, i) => this.writeScheme(i));
    const stateFile = `${kdamondDir(this.index)}/state`;
    try {
      if (this.on && this.state() === 'on') this.files.writeFile(stateFile, 'commit');
      else {
        this.files.writeFile(stateFile, 'on');
        this.on = true;
        this.kdamondPid = Number(this.files.readFile(`${kdamondDir(this.index)}/pid`).trim());
      }
    } catch (e) {
      // EINVAL: a target exited between our check and the kernel's (DAMON takes no dead pid).
      const alive = this.targets.filter((t) => this.files.exists(`/proc/${t.pid}`));
      if (!retry || !(e instanceof KernelPortError && e.errno === 'EINVAL') || alive.length === this.targets.length) throw e;
      this.targets = alive;
      this.apply(false);
      return;
    }
    this.record();
  }

  /** Scheme i: `stat` on every region of target i, and only of target i. */
  private writeScheme(i: number): void {
    const dir = `${contextDir(this.index)}/schemes/${i}`;
    this.files.writeFile(`${dir}/action`, 'stat');
    for (const [range, max] of [['sz', ULONG_MAX], ['nr_accesses', UINT_MAX], ['age', UINT_MAX]] as const) {
      this.files.writeFile(`${dir}/access_pattern/${range}/min`, '0');
      this.files.writeFile(`${dir}/access_pattern/${range}/max`, max);
    }
    // Linux 6.15 split the filters into core_filters and ops_filters; a target filter is a core one.
    const filters = this.files.exists(`${dir}/core_filters`) ? `${dir}/core_filters` : `${dir}/filters`;
    this.files.writeFile(`${filters}/nr_filters`, '1');
    this.files.writeFile(`${filters}/0/type`, 'target');
    this.files.writeFile(`${filters}/0/target_idx`, String(i));
    // Not matching "target i" is what the filter takes out: regions of every other target.
    this.files.writeFile(`${filters}/0/matching`, 'N');
    if (this.files.exists(`${filters}/0/allow`)) this.files.writeFile(`${filters}/0/allow`, 'N');
  }

  private record(): void {
    writeDamonRecord(this.files, this.stateFile, { kdamond: this.index, kdamondPid: this.kdamondPid, targets: this.targets.map((t) => t.pid) });
  }

  /** Asks kdamond for its next aggregation's regions, unless a reading is already on its way. */
  private refresh(): void {
    if (this.refreshing !== undefined || !this.on) return;
    const generation = this.generation;
    const pids = this.targets.map((t) => t.pid);
    this.refreshing = this.files
      .writeFileAwaited(`${kdamondDir(this.index)}/state`, 'update_schemes_tried_regions')
      .then(() => {
        if (generation !== this.generation) return;
        pids.forEach((pid, i) => this.results.set(pid, this.triedRegions(i)));
      })
      .catch((e: unknown) => this.onError(e))
      .finally(() => (this.refreshing = undefined));
  }

  private triedRegions(scheme: number): AccessRegion[] {
    const dir = `${contextDir(this.index)}/schemes/${scheme}/tried_regions`;
    const read = (r: string, f: string): number => Number(this.files.readFile(`${dir}/${r}/${f}`).trim());
    return this.files
      .readDir(dir)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(a) - Number(b))
      .map((r) => ({ start: read(r, 'start'), end: read(r, 'end'), nrAccesses: read(r, 'nr_accesses'), age: read(r, 'age') }));
  }
}
