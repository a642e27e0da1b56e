import { ContainerModule } from 'inversify';
import { ManagedService } from '../lifecycle/managed-service.js';
import { KillSwitch } from './kill-switch.js';
import { PolicyReloader } from './policy-reloader.js';
import { PolicyStore } from './policy-store.js';

/** Bindings of the configuration feature: the policy in force, its reload on SIGHUP or file change, the kill switch. */
export const configModule = new ContainerModule(({ bind }) => {
  bind(PolicyStore).toSelf().inSingletonScope();
  bind(PolicyReloader).toSelf().inSingletonScope();
  bind<ManagedService>(ManagedService).toService(PolicyReloader);
  bind(KillSwitch).toSelf().inSingletonScope();
  bind<ManagedService>(ManagedService).toService(KillSwitch);
});
