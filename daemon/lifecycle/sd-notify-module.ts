import { ContainerModule } from 'inversify';
import { LibsystemdLink } from './libsystemd-link.js';
import { ManagedService } from './managed-service.js';
import { SdNotify } from './sd-notify.js';
import { ServiceManagerLink } from './service-manager-link.js';

/**
 * Bindings of the service-manager notifications (sd-notify.ts), for the Linux run path: loaded after the
 * daemon's own modules, so that SdNotify starts after the loop and stops first (STOPPING=1 goes out as
 * the stop begins). Simulation does not load it.
 */
export const sdNotifyModule = new ContainerModule(({ bind }) => {
  bind<ServiceManagerLink>(ServiceManagerLink).to(LibsystemdLink).inSingletonScope();
  bind(SdNotify).toSelf().inSingletonScope();
  bind<ManagedService>(ManagedService).toService(SdNotify);
});
