import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Container } from 'inversify';
import { DaemonOptions, defaultDaemonOptions } from '../../../daemon/config/daemon-options.js';
import { Application } from '../../../daemon/lifecycle/application.js';
import { ApplicationImpl } from '../../../daemon/lifecycle/application-impl.js';
import { ManagedService } from '../../../daemon/lifecycle/managed-service.js';
import { Clock } from '../../../daemon/schedule/clock.js';
import { WallClock } from '../../../daemon/schedule/wall-clock.js';
import { LoggerFactory } from '../../../daemon/telemetry/logger-factory.js';
import { CapturingLoggerFactory } from '../../support/capturing-logger.js';

/** A small container with fakes bound to the tokens the Application needs. */
function setup(services: ManagedService[], shutdownTimeoutMs = 1000) {
  const c = new Container();
  const logs = new CapturingLoggerFactory();
  c.bind<DaemonOptions>(DaemonOptions).toConstantValue({ ...defaultDaemonOptions, shutdownTimeoutMs });
  c.bind<LoggerFactory>(LoggerFactory).toConstantValue(logs);
  c.bind<Clock>(Clock).to(WallClock);
  for (const s of services) c.bind<ManagedService>(ManagedService).toConstantValue(s);
  c.bind<Application>(Application).to(ApplicationImpl).inSingletonScope();
  return { app: c.get<Application>(Application), logs };
}

function recorder(name: string, events: string[], extra: Partial<ManagedService> = {}): ManagedService {
  return {
    name,
    onStart: () => void events.push(`start ${name}`),
    onStop: () => void events.push(`stop ${name}`),
    ...extra,
  };
}

test('services start in binding order and stop in reverse', async () => {
  const events: string[] = [];
  const { app } = setup([recorder('a', events), recorder('b', events), recorder('c', events)]);
  await app.start();
  await app.stop('test');
  assert.deepEqual(events, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
});

test('a service that fails to start is logged, not stopped, and does not stop the others', async () => {
  const events: string[] = [];
  const broken = recorder('broken', events, { onStart: () => { throw new Error('no such file'); } });
  const { app, logs } = setup([recorder('a', events), broken, recorder('c', events)]);
  await app.start();
  await app.stop('test');
  assert.deepEqual(events, ['start a', 'start c', 'stop c', 'stop a']);
  const failure = logs.entries.find((e) => e.message === 'onStart failed');
  assert.equal(failure?.service, 'broken');
  assert.equal(failure?.error, 'no such file');
});

test('stop is idempotent: a second call returns the same promise and stops nothing twice', async () => {
  const events: string[] = [];
  const { app } = setup([recorder('a', events)]);
  await app.start();
  const first = app.stop('SIGTERM');
  const second = app.stop('SIGINT');
  assert.equal(first, second);
  assert.equal(app.stopping, true);
  await first;
  assert.deepEqual(events, ['start a', 'stop a']);
});

test('a service whose stop hangs is abandoned after the shutdown timeout; the others still stop', async () => {
  const events: string[] = [];
  const hanging = recorder('hanging', events, { onStop: () => new Promise<void>(() => undefined) });
  const { app, logs } = setup([recorder('a', events), hanging], 50);
  await app.start();
  await app.stop('test');
  assert.deepEqual(events, ['start a', 'start hanging', 'stop a']);
  assert.ok(logs.entries.some((e) => e.message === 'onStop timed out' && e.service === 'hanging'));
});
