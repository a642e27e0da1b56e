// Hot reload: a valid file takes effect whole and is logged as what changed; an invalid one is rejected
// with its problems and the old policy stays; SIGHUP and a change of the file both trigger it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { ConfigFileError } from '../../../daemon/config/config-file.js';
import { defaultDaemonOptions } from '../../../daemon/config/daemon-options.js';
import { PolicyReloader } from '../../../daemon/config/policy-reloader.js';
import { PolicyStore } from '../../../daemon/config/policy-store.js';
import type { Policy } from '../../../daemon/config/policy-schema.js';
import { WallClock } from '../../../daemon/schedule/wall-clock.js';
import { DecisionLog } from '../../../daemon/telemetry/decision-log.js';
import { CapturingLoggerFactory } from '../../support/capturing-logger.js';

const policyText = (collapsesPerSec: string): string => `version: 1\nclasses:\n  - name: all\n    match: {}\nbudgets:\n  collapsesPerSec: ${collapsesPerSec}\n`;

function withPolicy(text: string, body: (file: string, store: PolicyStore, loggers: CapturingLoggerFactory) => Promise<void> | void): Promise<void> | void {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-policy-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, text);
  const loggers = new CapturingLoggerFactory();
  const scheduler = new VirtualTimeScheduler();
  const log = new DecisionLog(loggers, { now: () => scheduler.now(), scheduler });
  const done = (): void => rmSync(dir, { recursive: true, force: true });
  let result: Promise<void> | void;
  try {
    result = body(file, new PolicyStore({ ...defaultDaemonOptions, policyFile: file }, log), loggers);
  } catch (e) {
    done();
    throw e;
  }
  if (result instanceof Promise) return result.finally(done);
  done();
}

test('a valid new file takes effect whole, and what changed is logged', () =>
  withPolicy(policyText('16/s'), (file, store, loggers) => {
    const seen: Policy[] = [];
    const sub = store.changes$.subscribe((p) => seen.push(p));
    assert.equal(store.current.budgets.collapsesPerSec, 16);
    writeFileSync(file, policyText('64/s'));
    assert.equal(store.reload(), true);
    assert.equal(store.current.budgets.collapsesPerSec, 64, 'a budget change takes effect');
    assert.equal(seen.length, 2);
    const changed = loggers.entries.find((e) => e.message === 'policy changed');
    assert.deepEqual(changed?.changes, [{ path: 'budgets.collapsesPerSec', from: 16, to: 64 }]);
    assert.equal(store.reload(), true, 'the same file again');
    assert.equal(seen.length, 2, 'nothing changed: nothing emitted');
    sub.unsubscribe();
  }));

test('an invalid file is rejected with its problems, and the old policy stays', () =>
  withPolicy(policyText('16/s'), (file, store, loggers) => {
    writeFileSync(file, policyText('lots'));
    assert.equal(store.reload(), false);
    assert.equal(store.current.budgets.collapsesPerSec, 16);
    const rejected = loggers.entries.find((e) => e.message === 'policy rejected, the previous one stays');
    assert.ok(rejected);
    assert.match(String((rejected.problems as string[])[0]), /policy\.yaml:6:20: budgets\.collapsesPerSec: expected a rate/);
  }));

test('an invalid file at start-up is refused', () => {
  assert.throws(() => withPolicy('version: 1\n', () => undefined), ConfigFileError);
});

test('SIGHUP and a change of the file reload it (service mode)', () =>
  withPolicy(policyText('16/s'), async (file, store) => {
    const reloader = new PolicyReloader(store, new WallClock());
    reloader.onStart();
    try {
      writeFileSync(file, policyText('32/s'));
      process.emit('SIGHUP');
      assert.equal(store.current.budgets.collapsesPerSec, 32, 'SIGHUP reloads at once');
      writeFileSync(file, policyText('48/s'));
      const rate = (): number => store.current.budgets.collapsesPerSec;
      for (let waited = 0; rate() !== 48 && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      assert.equal(rate(), 48, 'the file change was seen');
    } finally {
      reloader.onStop();
    }
    assert.equal(process.listenerCount('SIGHUP'), 0, 'the handler is removed on stop');
  }));
