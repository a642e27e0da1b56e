/**
 * The composition root: the only place that knows every feature module. It builds an inversify
 * container from the modules (each holds bindings only) and routes rxjs's unhandled errors to the log.
 * The platform — the kernel port, and the clock and cron source when they are not the wall clock's —
 * is bound by whoever runs the daemon (sim/daemon/ for the simulated kernel).
 */
import { Container, ContainerModule } from 'inversify';
import { config as rxjsConfig } from 'rxjs';
import { configModule } from './config/config-module.js';
import { DaemonOptions, defaultDaemonOptions } from './config/daemon-options.js';
import { engineModule } from './engine/engine-module.js';
import { lifecycleModule } from './lifecycle/lifecycle-module.js';
import { scheduleModule } from './schedule/schedule-module.js';
import { LoggerFactory } from './telemetry/logger-factory.js';
import { telemetryModule } from './telemetry/telemetry-module.js';

/** Every feature module of the daemon, in load order, plus the options as a constant binding. */
export function daemonModules(options: Partial<DaemonOptions> = {}): ContainerModule[] {
  const resolved: DaemonOptions = { ...defaultDaemonOptions, ...options };
  const optionsModule = new ContainerModule(({ bind }) => {
    bind<DaemonOptions>(DaemonOptions).toConstantValue(resolved);
  });
  return [optionsModule, telemetryModule, scheduleModule, configModule, engineModule, lifecycleModule];
}

/** Builds the daemon's container and installs the process-wide rxjs error hook. */
export function buildContainer(options: Partial<DaemonOptions> = {}): Container {
  const container = new Container();
  container.load(...daemonModules(options));
  const log = container.get<LoggerFactory>(LoggerFactory).forClass('daemon', 'rxjs');
  rxjsConfig.onUnhandledError = (error: unknown) => {
    log.error('unhandled error in an rxjs stream', {
      error: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
  };
  return container;
}
