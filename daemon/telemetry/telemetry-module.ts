import { ContainerModule } from 'inversify';
import { ManagedService } from '../lifecycle/managed-service.js';
import { DaemonMetrics } from './daemon-metrics.js';
import { DecisionLog } from './decision-log.js';
import { LoggerFactory } from './logger-factory.js';
import { LoggerFactoryImpl } from './logger-factory-impl.js';
import { MetricsServer } from './metrics-server.js';

/** Bindings of the telemetry feature: logging, the decision log, and the Prometheus metrics and endpoint. */
export const telemetryModule = new ContainerModule(({ bind }) => {
  bind<LoggerFactory>(LoggerFactory).to(LoggerFactoryImpl).inSingletonScope();
  bind(DecisionLog).toSelf().inSingletonScope();
  bind(DaemonMetrics).toSelf().inSingletonScope();
  bind(MetricsServer).toSelf().inSingletonScope();
  bind<ManagedService>(ManagedService).toService(MetricsServer);
});
