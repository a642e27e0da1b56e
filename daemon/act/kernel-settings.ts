/**
 * The THP knobs a policy asks the daemon to hold while it runs (policy `kernelSettings`): each knob's
 * value is read before the first write and put back when the daemon stops, or when a reloaded policy no
 * longer names it. The point is to take huge-page placement away from the fault path where that path
 * does harm — `defrag: never` means a fault never reclaims or compacts to get a huge page (the swap
 * storms of the __GFP_THISNODE threads), and the daemon makes the huge pages later, within budgets and
 * guards. With --dry-run nothing is written; what would be is logged.
 *
 * A write the kernel refuses (EINVAL for a value it does not know, EACCES without root) is logged as an
 * error and the daemon goes on without that setting.
 */
import { inject, injectable } from 'inversify';
import { skip, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import { DaemonOptions } from '../config/daemon-options.js';
import type { Policy } from '../config/policy-schema.js';
import { PolicyStore } from '../config/policy-store.js';
import { KernelPortError, KernelPort } from '../kernel-port/kernel-port.js';
import type { ManagedService } from '../lifecycle/managed-service.js';
import { LoggerFactory } from '../telemetry/logger-factory.js';

/** The value a knob file shows: the bracketed choice of a `[a] b c` list, or the trimmed text. */
export function knobValue(text: string): string {
  const chosen = /\[([^\]]+)\]/.exec(text);
  return chosen ? chosen[1] : text.trim();
}

@injectable()
export class KernelSettings implements ManagedService {
  readonly name = 'kernel-settings';
  private readonly log: Logger;
  /** Knob → its value before the daemon first wrote it. */
  private readonly original = new Map<string, string>();
  private subscription: Subscription | undefined;

  constructor(
    @inject(KernelPort) private readonly port: KernelPort,
    @inject(PolicyStore) private readonly store: PolicyStore,
    @inject(DaemonOptions) private readonly options: DaemonOptions,
    @inject(LoggerFactory) loggers: LoggerFactory,
  ) {
    this.log = loggers.forClass('act', 'KernelSettings');
  }

  onStart(): void {
    this.apply(this.store.current);
    this.subscription = this.store.changes$.pipe(skip(1)).subscribe((p) => this.apply(p));
  }

  onStop(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    for (const knob of [...this.original.keys()]) this.restore(knob);
  }

  /** The knobs the daemon holds now, with their original values. */
  get held(): ReadonlyMap<string, string> {
    return this.original;
  }

  private apply(policy: Policy): void {
    const wanted = policy.kernelSettings;
    for (const knob of [...this.original.keys()]) if (!(knob in wanted)) this.restore(knob);
    for (const [knob, value] of Object.entries(wanted)) {
      if (this.options.dryRun) {
        this.log.info('dry run: would set', { knob, value });
        continue;
      }
      try {
        const before = knobValue(this.port.readFile(knob));
        if (!this.original.has(knob)) this.original.set(knob, before);
        if (before === value) continue;
        this.port.writeFile(knob, value);
        this.log.info('set', { knob, value, was: before });
      } catch (e) {
        if (!(e instanceof KernelPortError)) throw e;
        this.log.error('could not set a kernel setting of the policy; going on without it', { knob, value, errno: e.errno });
      }
    }
  }

  private restore(knob: string): void {
    const value = this.original.get(knob)!;
    this.original.delete(knob);
    try {
      this.port.writeFile(knob, value);
      this.log.info('restored', { knob, value });
    } catch (e) {
      if (!(e instanceof KernelPortError)) throw e;
      this.log.error('could not restore a kernel setting', { knob, value, errno: e.errno });
    }
  }
}
