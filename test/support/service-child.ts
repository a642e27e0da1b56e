// The daemon as the Linux run path builds it (the composition root, the service-manager notifications,
// the shutdown signals) on the wall clock, with a fake kernel port standing in for the Linux one: for
// tests that run it as a child process under a notify socket and a journal-like stderr.
// Usage: node service-child.js POLICY_FILE
import { buildContainer } from '../../daemon/container.js';
import { KernelPort } from '../../daemon/kernel-port/kernel-port.js';
import { Application } from '../../daemon/lifecycle/application.js';
import { sdNotifyModule } from '../../daemon/lifecycle/sd-notify-module.js';
import { ShutdownSignals } from '../../daemon/lifecycle/shutdown-signals.js';
import { Clock } from '../../daemon/schedule/clock.js';
import { LoggerFactory } from '../../daemon/telemetry/logger-factory.js';
import { FakeKernelPort } from './fake-kernel-port.js';

const policyFile = process.argv[2];
const container = buildContainer({ policyFile, logLevel: 'info' });
const port = new FakeKernelPort(container.get<Clock>(Clock));
port.spawn({ pid: 4242, comm: 'worker', anonKb: 64 << 10 });
container.bind<KernelPort>(KernelPort).toConstantValue(port);
container.load(sdNotifyModule);
const loggers = container.get<LoggerFactory>(LoggerFactory);
container.get(ShutdownSignals).install((code) => {
  void loggers.close().then(() => process.exit(code));
});
await container.get<Application>(Application).start();
loggers.root.info('child: daemon started');
