// A fake sysfs and procfs in a temporary directory for the Linux port's samplers: plain files, with what
// DAMON's sysfs does on a write done here — nr_* files create their directories (nr_kdamonds rebuilds
// every kdamond and is refused with EBUSY while one runs), `state` turns a kdamond on and off, checks
// its targets on `on` and `commit` (EINVAL for a pid that is gone), and on
// `update_schemes_tried_regions` fills each scheme's tried_regions with the regions its filters let
// through. Processes are directories /proc/PID.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KernelPortError, type AccessRegion } from '../../daemon/kernel-port/kernel-port.js';
import { KDAMONDS } from '../../daemon/kernel-port/linux/damon-ownership.js';
import { HostFileAccess, type FileAccess } from '../../daemon/kernel-port/linux/file-access.js';

export class FakeDamonFiles implements FileAccess {
  readonly root = mkdtempSync(join(tmpdir(), 'uhp-fake-sysfs-'));
  private readonly host = new HostFileAccess(this.root);
  private nextKdamondPid = 4000;
  /** Regions kdamond would find per monitored pid. */
  readonly monitored = new Map<number, AccessRegion[]>();
  /** Every write made, in order (path and text). */
  readonly writes: [string, string][] = [];

  constructor(opts: { damon?: boolean; coreFilters?: boolean } = {}) {
    if (opts.damon ?? true) this.put(`${KDAMONDS}/nr_kdamonds`, '0');
    this.coreFilters = opts.coreFilters ?? true;
  }

  private readonly coreFilters: boolean;

  /** Removes the temporary directory. */
  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Writes a file of the tree as the kernel would show it (no write semantics). */
  put(path: string, text: string): void {
    mkdirSync(dirname(join(this.root, path)), { recursive: true });
    writeFileSync(join(this.root, path), text);
  }

  spawn(pid: number): void {
    mkdirSync(join(this.root, `proc/${pid}`), { recursive: true });
    this.put(`/proc/${pid}/clear_refs`, '');
  }

  exit(pid: number): void {
    rmSync(join(this.root, `proc/${pid}`), { recursive: true, force: true });
  }

  /** A kdamond someone else set up and started: `paddr`, on. */
  foreignKdamond(index: number): void {
    const kd = `${KDAMONDS}/${index}`;
    this.put(`${KDAMONDS}/nr_kdamonds`, String(index + 1));
    this.put(`${kd}/state`, 'on');
    this.put(`${kd}/pid`, '72');
    this.put(`${kd}/contexts/nr_contexts`, '1');
    this.put(`${kd}/contexts/0/operations`, 'paddr');
    this.put(`${kd}/contexts/0/targets/nr_targets`, '0');
  }

  readFile(path: string): string {
    return this.host.readFile(path);
  }

  readBinary(path: string, offset: number, length: number): Uint8Array {
    return this.host.readBinary(path, offset, length);
  }

  readDir(path: string): string[] {
    return this.host.readDir(path);
  }

  exists(path: string): boolean {
    return this.host.exists(path);
  }

  writeOwnFile(path: string, text: string): void {
    this.host.writeOwnFile(path, text);
  }

  removeOwnFile(path: string): void {
    this.host.removeOwnFile(path);
  }

  writeFileAwaited(path: string, text: string): Promise<void> {
    return new Promise((resolve) => {
      this.writeFile(path, text);
      resolve();
    });
  }

  writeFile(path: string, text: string): void {
    if (!this.exists(path)) throw new KernelPortError('ENOENT', 'write', path);
    this.writes.push([path, text]);
    const n = Number(text);
    if (path === `${KDAMONDS}/nr_kdamonds`) return this.setKdamonds(n);
    if (path.endsWith('/contexts/nr_contexts')) return this.setContexts(dirname(path), n);
    if (path.endsWith('/targets/nr_targets')) return this.setDirs(dirname(path), n, (d) => this.put(`${d}/pid_target`, '0'), text);
    if (path.endsWith('/schemes/nr_schemes')) return this.setDirs(dirname(path), n, (d) => this.scheme(d), text);
    if (/filters\/nr_filters$/.test(path)) return this.setDirs(dirname(path), n, (d) => ['type', 'target_idx', 'matching', 'allow'].forEach((f) => this.put(`${d}/${f}`, f === 'type' ? 'anon' : f === 'target_idx' ? '0' : 'N')), text);
    if (/kdamonds\/\d+\/state$/.test(path)) return this.command(dirname(path), text);
    this.put(path, text);
  }

  private running(): boolean {
    const n = Number(this.readFile(`${KDAMONDS}/nr_kdamonds`));
    return Array.from({ length: n }, (_, i) => this.readFile(`${KDAMONDS}/${i}/state`)).some((s) => s === 'on');
  }

  private setKdamonds(n: number): void {
    if (this.running()) throw new KernelPortError('EBUSY', 'write', `${KDAMONDS}/nr_kdamonds`);
    const old = Number(this.readFile(`${KDAMONDS}/nr_kdamonds`));
    for (let i = 0; i < old; i++) rmSync(join(this.root, `${KDAMONDS}/${i}`), { recursive: true, force: true });
    for (let i = 0; i < n; i++) {
      this.put(`${KDAMONDS}/${i}/state`, 'off');
      this.put(`${KDAMONDS}/${i}/pid`, '-1');
      this.put(`${KDAMONDS}/${i}/contexts/nr_contexts`, '0');
    }
    this.put(`${KDAMONDS}/nr_kdamonds`, String(n));
  }

  private setContexts(dir: string, n: number): void {
    if (n > 1) throw new KernelPortError('EINVAL', 'write', `${dir}/nr_contexts`);
    this.put(`${dir}/nr_contexts`, String(n));
    if (n === 0) return;
    const ctx = `${dir}/0`;
    this.put(`${ctx}/avail_operations`, 'vaddr\nfvaddr\npaddr\n');
    this.put(`${ctx}/operations`, 'vaddr');
    for (const f of ['sample_us', 'aggr_us', 'update_us']) this.put(`${ctx}/monitoring_attrs/intervals/${f}`, '0');
    for (const f of ['min', 'max']) this.put(`${ctx}/monitoring_attrs/nr_regions/${f}`, '0');
    this.put(`${ctx}/targets/nr_targets`, '0');
    this.put(`${ctx}/schemes/nr_schemes`, '0');
  }

  private setDirs(dir: string, n: number, make: (d: string) => void, text: string): void {
    for (const name of this.readDir(dir)) if (/^\d+$/.test(name)) rmSync(join(this.root, `${dir}/${name}`), { recursive: true, force: true });
    for (let i = 0; i < n; i++) make(`${dir}/${i}`);
    this.put(`${dir}/${dir.endsWith('targets') ? 'nr_targets' : dir.endsWith('schemes') ? 'nr_schemes' : 'nr_filters'}`, text);
  }

  private scheme(d: string): void {
    this.put(`${d}/action`, 'stat');
    for (const r of ['sz', 'nr_accesses', 'age']) for (const m of ['min', 'max']) this.put(`${d}/access_pattern/${r}/${m}`, '0');
    this.put(`${d}/${this.coreFilters ? 'core_filters' : 'filters'}/nr_filters`, '0');
    this.put(`${d}/tried_regions/total_bytes`, '0');
  }

  private targets(ctx: string): number[] {
    const n = Number(this.readFile(`${ctx}/targets/nr_targets`));
    return Array.from({ length: n }, (_, i) => Number(this.readFile(`${ctx}/targets/${i}/pid_target`)));
  }

  private command(kd: string, cmd: string): void {
    const ctx = `${kd}/contexts/0`;
    const state = this.readFile(`${kd}/state`);
    const checkTargets = (): void => {
      if (this.targets(ctx).some((pid) => !this.exists(`/proc/${pid}`))) throw new KernelPortError('EINVAL', 'write', `${kd}/state`);
    };
    switch (cmd) {
      case 'on':
        if (state === 'on') throw new KernelPortError('EBUSY', 'write', `${kd}/state`);
        checkTargets();
        this.put(`${kd}/state`, 'on');
        this.put(`${kd}/pid`, String(this.nextKdamondPid++));
        return;
      case 'off':
        this.put(`${kd}/state`, 'off');
        this.put(`${kd}/pid`, '-1');
        return;
      case 'commit':
        if (state !== 'on') throw new KernelPortError('EINVAL', 'write', `${kd}/state`);
        checkTargets();
        return;
      case 'update_schemes_tried_regions':
        if (state !== 'on') throw new KernelPortError('EINVAL', 'write', `${kd}/state`);
        return this.fillTriedRegions(ctx);
      default:
        throw new KernelPortError('EINVAL', 'write', `${kd}/state`);
    }
  }

  /** Each scheme's tried regions: the monitored regions of every target its filters do not take out. */
  private fillTriedRegions(ctx: string): void {
    const targets = this.targets(ctx);
    const nSchemes = Number(this.readFile(`${ctx}/schemes/nr_schemes`));
    for (let s = 0; s < nSchemes; s++) {
      const sd = `${ctx}/schemes/${s}`;
      const fd = this.exists(`${sd}/core_filters`) ? `${sd}/core_filters` : `${sd}/filters`;
      const nf = Number(this.readFile(`${fd}/nr_filters`));
      const kept = targets.filter((_, t) => {
        for (let f = 0; f < nf; f++) {
          if (this.readFile(`${fd}/${f}/type`) !== 'target') continue;
          const matches = Number(this.readFile(`${fd}/${f}/target_idx`)) === t;
          const matching = this.readFile(`${fd}/${f}/matching`) === 'Y';
          // A filter that matches (criterion met, or not met with matching=N) takes the region out.
          if (matches === matching) return false;
        }
        return true;
      });
      for (const name of this.readDir(`${sd}/tried_regions`)) if (/^\d+$/.test(name)) rmSync(join(this.root, `${sd}/tried_regions/${name}`), { recursive: true });
      const regions = kept.flatMap((pid) => this.monitored.get(pid) ?? []);
      regions.forEach((r, i) => {
        for (const [f, v] of [['start', r.start], ['end', r.end], ['nr_accesses', r.nrAccesses], ['age', r.age]] as const) this.put(`${sd}/tried_regions/${i}/${f}`, String(v));
      });
      this.put(`${sd}/tried_regions/total_bytes`, String(regions.reduce((b, r) => b + r.end - r.start, 0)));
    }
  }
}
