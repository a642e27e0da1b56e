// The kill switch: on from the policy field or from SIGUSR2 (toggled), logged and shown in the metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { defaultDaemonOptions } from '../../../daemon/config/daemon-options.js';
import { KILL_SWITCH_SIGNAL, KillSwitch } from '../../../daemon/config/kill-switch.js';
import { PolicyStore } from '../../../daemon/config/policy-store.js';
import { DaemonMetrics } from '../../../daemon/telemetry/daemon-metrics.js';
import { DecisionLog } from '../../../daemon/telemetry/decision-log.js';
import { CapturingLoggerFactory } from '../../support/capturing-logger.js';

const text = (kill: boolean): string => `version: 1\nkillSwitch: ${kill}\nclasses:\n  - name: all\n    match: {}\n`;

test('the kill switch follows the policy field and SIGUSR2, and says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-kill-'));
  try {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, text(false));
    const loggers = new CapturingLoggerFactory();
    const scheduler = new VirtualTimeScheduler();
    const store = new PolicyStore({ ...defaultDaemonOptions, policyFile: file }, new DecisionLog(loggers, { now: () => 0, scheduler }));
    const metrics = new DaemonMetrics();
    const kill = new KillSwitch(store, metrics, loggers);
    const seen: boolean[] = [];
    const watching = kill.active$.subscribe((a) => seen.push(a));
    kill.onStart();
    try {
      assert.equal(kill.active, false);
      process.emit(KILL_SWITCH_SIGNAL);
      assert.equal(kill.active, true);
      assert.match(await metrics.text(), /uhugepaged_kill_switch 1/);
      process.emit(KILL_SWITCH_SIGNAL);
      assert.equal(kill.active, false);
      writeFileSync(file, text(true));
      store.reload();
      assert.equal(kill.active, true, 'the policy field turns it on');
      process.emit(KILL_SWITCH_SIGNAL);
      process.emit(KILL_SWITCH_SIGNAL);
      assert.equal(kill.active, true, 'a signal does not override the policy field');
      writeFileSync(file, text(false));
      store.reload();
      assert.equal(kill.active, false);
      assert.deepEqual(seen, [false, true, false, true, false]);
      assert.equal(loggers.entries.filter((e) => String(e.message).startsWith('kill switch')).length, 4);
    } finally {
      kill.onStop();
      watching.unsubscribe();
    }
    assert.equal(process.listenerCount(KILL_SWITCH_SIGNAL), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
