import { ContainerModule } from 'inversify';
import { DecisionLog } from './decision-log.js';
import { LoggerFactory } from './logger-factory.js';
import { LoggerFactoryImpl } from './logger-factory-impl.js';

/** Bindings of the telemetry feature: logging and the decision log (metrics join when the daemon issue lands). */
export const telemetryModule = new ContainerModule(({ bind }) => {
  bind<LoggerFactory>(LoggerFactory).to(LoggerFactoryImpl).inSingletonScope();
  bind(DecisionLog).toSelf().inSingletonScope();
});
