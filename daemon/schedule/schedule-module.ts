import { ContainerModule } from 'inversify';
import { Clock } from './clock.js';
import { WallClock } from './wall-clock.js';

/** Bindings of the scheduling feature. Simulation rebinds {@link Clock} to virtual time. */
export const scheduleModule = new ContainerModule(({ bind }) => {
  bind<Clock>(Clock).to(WallClock).inSingletonScope();
});
