import { ContainerModule } from 'inversify';
import { LoggerFactory } from './logger-factory.js';
import { LoggerFactoryImpl } from './logger-factory-impl.js';

/** Bindings of the telemetry feature: logging (metrics join when the daemon issue lands). */
export const telemetryModule = new ContainerModule(({ bind }) => {
  bind<LoggerFactory>(LoggerFactory).to(LoggerFactoryImpl).inSingletonScope();
});
