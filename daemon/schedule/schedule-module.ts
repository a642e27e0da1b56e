import { ContainerModule } from 'inversify';
import { Clock } from './clock.js';
import { CronSource } from './cron-source.js';
import { NodeCronSource } from './node-cron-source.js';
import { WallClock } from './wall-clock.js';

/**
 * Bindings of the scheduling feature. Simulation rebinds {@link Clock} to virtual time and
 * {@link CronSource} to ClockCronSource (node-cron's matcher on that clock).
 */
export const scheduleModule = new ContainerModule(({ bind }) => {
  bind<Clock>(Clock).to(WallClock).inSingletonScope();
  bind<CronSource>(CronSource).to(NodeCronSource).inSingletonScope();
});
