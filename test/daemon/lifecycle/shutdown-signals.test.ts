import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simContainer } from '../../support/sim-container.js';
import { Application } from '../../../daemon/lifecycle/application.js';
import { ShutdownSignals } from '../../../daemon/lifecycle/shutdown-signals.js';

// process.emit delivers the event to the listeners without sending a real signal to the test runner.
test('SIGTERM stops the application gracefully and then exits 0', async () => {
  const c = simContainer({ logLevel: 'error' }).container;
  const app = c.get<Application>(Application);
  const codes: number[] = [];
  const exited = new Promise<void>((resolve) => {
    const uninstall = c.get(ShutdownSignals).install((code) => {
      codes.push(code);
      uninstall();
      resolve();
    });
    process.emit('SIGTERM', 'SIGTERM');
  });
  await exited;
  assert.equal(app.stopping, true);
  assert.deepEqual(codes, [0]);
});

test('a second SIGINT while stopping exits at once with 130', () => {
  const c = simContainer({ logLevel: 'error' }).container;
  const app = c.get<Application>(Application);
  void app.stop('already stopping');
  const codes: number[] = [];
  const uninstall = c.get(ShutdownSignals).install((code) => codes.push(code));
  process.emit('SIGINT', 'SIGINT');
  uninstall();
  assert.deepEqual(codes, [130]);
  assert.equal(process.listenerCount('SIGINT'), 0);
});
