// The composition root must be able to build every object it binds: a binding whose constructor
// parameters lack @inject, or whose token has no binding, fails here rather than at start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Container, type ContainerModuleLoadOptions } from 'inversify';
import { throwError } from 'rxjs';
import { buildContainer, daemonModules } from '../../daemon/container.js';
import { LoggerFactory } from '../../daemon/telemetry/logger-factory.js';
import { Application } from '../../daemon/lifecycle/application.js';
import { ShutdownSignals } from '../../daemon/lifecycle/shutdown-signals.js';
import { Clock } from '../../daemon/schedule/clock.js';
import { KernelPort } from '../../daemon/kernel-port/kernel-port.js';
import { SimKernel } from '../../kernel-model/index.js';
import { SimKernelPort } from '../../sim/kernel-port/sim-kernel-port.js';
import { ArrayTransport, type Captured } from '../support/capturing-logger.js';
import { simContainer } from '../support/sim-container.js';

test('every binding of every daemon module resolves', () => {
  const container = new Container();
  const bound: unknown[] = [];
  const options: ContainerModuleLoadOptions = {
    bind: (id) => {
      bound.push(id);
      return container.bind(id);
    },
    isBound: (id, o) => container.isBound(id, o),
    onActivation: (id, a) => container.onActivation(id, a),
    onDeactivation: (id, d) => container.onDeactivation(id, d),
    rebind: (id) => container.rebind(id),
    rebindAsync: (id) => container.rebindAsync(id),
    unbind: (id) => container.unbind(id),
    unbindAsync: (id) => container.unbindAsync(id),
  };
  for (const module of daemonModules({ logLevel: 'error' })) void module.load(options);
  // The platform binds the kernel port (here the simulated kernel's, as `run --kernel sim` does).
  container.bind<KernelPort>(KernelPort).toConstantValue(new SimKernelPort(new SimKernel()));
  assert.ok(bound.length >= 5, `only ${bound.length} bindings found`);
  for (const id of bound) {
    const all = container.getAll(id as symbol);
    assert.ok(all.length > 0, `${String(id)} resolved to nothing`);
    for (const value of all) assert.notEqual(value, undefined, `${String(id)} resolved to undefined`);
  }
});

test('buildContainer gives singletons of the core services', () => {
  const c = simContainer({ logLevel: 'error' }).container;
  assert.equal(c.get(Application), c.get(Application));
  assert.equal(c.get(LoggerFactory), c.get(LoggerFactory));
  assert.ok(c.get(ShutdownSignals) instanceof ShutdownSignals);
  assert.equal(typeof c.get<Clock>(Clock).now(), 'number');
});

test('a child logger is named area:Class and keeps structured fields', () => {
  const c = buildContainer({ logLevel: 'info' });
  const factory = c.get<LoggerFactory>(LoggerFactory);
  const entries: Captured[] = [];
  factory.root.clear().add(new ArrayTransport(entries));
  factory.forClass('act', 'CollapseExecutor').info('collapsed', { pid: 42 });
  assert.equal(entries.length, 1);
  assert.equal(entries[0]?.logger, 'act:CollapseExecutor');
  assert.equal(entries[0]?.pid, 42);
  assert.equal(entries[0]?.message, 'collapsed');
});

test('an error no rxjs subscriber handles is logged, not lost', async () => {
  const c = buildContainer({ logLevel: 'info' });
  const entries: Captured[] = [];
  c.get<LoggerFactory>(LoggerFactory).root.clear().add(new ArrayTransport(entries));
  const subscription = throwError(() => new Error('boom')).subscribe();
  // rxjs reports unhandled errors on a later macrotask.
  await new Promise((resolve) => setTimeout(resolve, 10));
  subscription.unsubscribe();
  const logged = entries.find((e) => e.message === 'unhandled error in an rxjs stream');
  assert.equal(logged?.error, 'boom');
  assert.equal(logged?.logger, 'daemon:rxjs');
});
