/**
 * What triggers a policy reload in service mode: SIGHUP, and a change of the file (watched; bursts of
 * change events, as editors save in several writes, are taken as one after a short pause on the
 * daemon's clock).
 */
import { watch, type FSWatcher } from 'node:fs';
import { inject, injectable } from 'inversify';
import { debounceTime, Subject, type Subscription } from 'rxjs';
import type { ManagedService } from '../lifecycle/managed-service.js';
import { Clock } from '../schedule/clock.js';
import { PolicyStore } from './policy-store.js';

/** Quiet time after the last change event before the file is read again, ms. */
const SETTLE_MS = 200;

@injectable()
export class PolicyReloader implements ManagedService {
  readonly name = 'policy-reloader';
  private watcher: FSWatcher | undefined;
  private readonly changed = new Subject<void>();
  private subscription: Subscription | undefined;
  private readonly onHup = (): void => void this.store.reload();

  constructor(
    @inject(PolicyStore) private readonly store: PolicyStore,
    @inject(Clock) private readonly clock: Clock,
  ) {}

  onStart(): void {
    process.on('SIGHUP', this.onHup);
    this.subscription = this.changed.pipe(debounceTime(SETTLE_MS, this.clock.scheduler)).subscribe(() => this.store.reload());
    this.watcher = watch(this.store.file, () => this.changed.next());
  }

  onStop(): void {
    process.off('SIGHUP', this.onHup);
    this.watcher?.close();
    this.watcher = undefined;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }
}
