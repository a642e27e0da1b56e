import { ContainerModule } from 'inversify';
import { Application } from './application.js';
import { ApplicationImpl } from './application-impl.js';
import { ShutdownSignals } from './shutdown-signals.js';

/** Bindings of the lifecycle feature: the service runner and its signal handling. */
export const lifecycleModule = new ContainerModule(({ bind }) => {
  bind<Application>(Application).to(ApplicationImpl).inSingletonScope();
  bind(ShutdownSignals).toSelf().inSingletonScope();
});
