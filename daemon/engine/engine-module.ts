import { ContainerModule } from 'inversify';
import { KernelSettings } from '../act/kernel-settings.js';
import { ManagedService } from '../lifecycle/managed-service.js';
import { CollapseDaemon } from './collapse-daemon.js';
import { DaemonParts } from './daemon-parts.js';
import { daemonParts } from './daemon-parts-impl.js';

/**
 * Bindings of the daemon's engine: the kernel settings it holds and its loop (managed services, in
 * that order: the knobs are set before the first cycle and restored after the last), and the parts it
 * builds from the kernel port and the policy. The kernel port itself is bound by the platform (sim or Linux).
 */
export const engineModule = new ContainerModule(({ bind }) => {
  bind<DaemonParts>(DaemonParts).toConstantValue(daemonParts);
  bind(KernelSettings).toSelf().inSingletonScope();
  bind<ManagedService>(ManagedService).toService(KernelSettings);
  bind(CollapseDaemon).toSelf().inSingletonScope();
  bind<ManagedService>(ManagedService).toService(CollapseDaemon);
});
