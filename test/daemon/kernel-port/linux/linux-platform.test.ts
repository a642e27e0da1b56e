// `run --kernel linux` binds the production container to this host: the Linux port, the wall clock and
// node-cron. Every service resolves, and building it starts nothing in the kernel (no syscall thread).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildContainer } from '../../../../daemon/container.js';
import { CollapseDaemon } from '../../../../daemon/engine/collapse-daemon.js';
import { KernelPort } from '../../../../daemon/kernel-port/kernel-port.js';
import { LinuxKernelPort } from '../../../../daemon/kernel-port/linux/linux-kernel-port.js';
import { Application } from '../../../../daemon/lifecycle/application.js';
import { bindLinuxPlatform } from '../../../../daemon/lifecycle/linux-run.js';
import { Clock } from '../../../../daemon/schedule/clock.js';
import { CronSource } from '../../../../daemon/schedule/cron-source.js';
import { NodeCronSource } from '../../../../daemon/schedule/node-cron-source.js';
import { WallClock } from '../../../../daemon/schedule/wall-clock.js';
import { LoggerFactory } from '../../../../daemon/telemetry/logger-factory.js';

test('the Linux platform: the port, the wall clock and node-cron, and every service resolves', (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'uhp-state-'));
  const container = buildContainer({ logLevel: 'error' });
  const port = new LinuxKernelPort({ stateDir });
  t.after(async () => {
    await port.dispose();
    await container.get<LoggerFactory>(LoggerFactory).close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  bindLinuxPlatform(container, port);
  assert.equal(container.get(KernelPort), port);
  assert.equal(port.kind, 'linux');
  assert.equal(container.get(Clock), port.clock, 'one clock');
  assert.ok(port.clock instanceof WallClock);
  assert.ok(container.get(CronSource) instanceof NodeCronSource);
  assert.ok(container.get(CollapseDaemon) instanceof CollapseDaemon);
  assert.ok(container.get(Application));
  assert.equal(port.threadStarted, false);
  assert.equal(port.samplingReason, '', 'the sampler is chosen at open, not at construction');
});
