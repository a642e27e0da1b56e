import { ContainerModule } from 'inversify';
import { Application } from './application.js';
import { ApplicationImpl } from './application-impl.js';
import { LoopHeartbeat } from './loop-heartbeat.js';
import { LoopHeartbeatImpl } from './loop-heartbeat-impl.js';
import { ShutdownSignals } from './shutdown-signals.js';

/** Bindings of the lifecycle feature: the service runner, its signal handling, and the loop's heartbeat. */
export const lifecycleModule = new ContainerModule(({ bind }) => {
  bind<Application>(Application).to(ApplicationImpl).inSingletonScope();
  bind(ShutdownSignals).toSelf().inSingletonScope();
  bind<LoopHeartbeat>(LoopHeartbeat).to(LoopHeartbeatImpl).inSingletonScope();
});
