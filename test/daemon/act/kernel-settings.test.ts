// The THP knobs a policy holds: each read before its first write and put back at stop, or as soon as a
// reloaded policy drops it; a value the kernel refuses is logged and the daemon goes on; a dry run
// writes nothing. On the simulated kernel's sysfs, through the daemon's own port, in a small container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container } from 'inversify';
import { SimKernel } from '../../../kernel-model/index.js';
import { KernelSettings, knobValue } from '../../../daemon/act/kernel-settings.js';
import { DaemonOptions, defaultDaemonOptions } from '../../../daemon/config/daemon-options.js';
import { PolicyStore } from '../../../daemon/config/policy-store.js';
import { KernelPort } from '../../../daemon/kernel-port/kernel-port.js';
import { Clock } from '../../../daemon/schedule/clock.js';
import { DecisionLog } from '../../../daemon/telemetry/decision-log.js';
import { LoggerFactory } from '../../../daemon/telemetry/logger-factory.js';
import { SimKernelPort } from '../../../sim/kernel-port/sim-kernel-port.js';
import { CapturingLoggerFactory, type Captured } from '../../support/capturing-logger.js';

const THP = '/sys/kernel/mm/transparent_hugepage';
const DEFRAG = `${THP}/defrag`;
const KH_DEFRAG = `${THP}/khugepaged/defrag`;
const ENABLED = `${THP}/enabled`;

/** The simulated port, recording the daemon's reads and writes of knob files in order. */
class RecordingPort extends SimKernelPort {
  readonly io: string[] = [];

  override readFile(path: string): string {
    if (path.startsWith(THP)) this.io.push(`read ${path.slice(THP.length + 1)}`);
    return super.readFile(path);
  }

  override writeFile(path: string, text: string): void {
    this.io.push(`write ${path.slice(THP.length + 1)}=${text}`);
    super.writeFile(path, text);
  }
}

interface Fixture {
  settings: KernelSettings;
  port: RecordingPort;
  sim: SimKernel;
  store: PolicyStore;
  entries: Captured[];
  /** Writes the policy file with these knobs and reloads it. */
  reload(knobs: Record<string, string>): void;
  /** A knob's value as the kernel shows it (read as an observer, not the daemon). */
  knob(path: string): string;
}

const policyText = (knobs: Record<string, string>): string =>
  `version: 1\nclasses:\n  - name: all\n    match: {}\nkernelSettings:${Object.keys(knobs).length === 0 ? ' {}' : ''}\n${Object.entries(knobs).map(([k, v]) => `  ${k}: '${v}'\n`).join('')}`;

function withSettings(knobs: Record<string, string>, options: Partial<DaemonOptions>, body: (fx: Fixture) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-knobs-'));
  try {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, policyText(knobs));
    const sim = new SimKernel({ nodes: [{ memoryMiB: 128 }] });
    const port = new RecordingPort(sim);
    const loggers = new CapturingLoggerFactory();
    const container = new Container();
    container.bind<DaemonOptions>(DaemonOptions).toConstantValue({ ...defaultDaemonOptions, policyFile: file, ...options });
    container.bind<LoggerFactory>(LoggerFactory).toConstantValue(loggers);
    container.bind<KernelPort>(KernelPort).toConstantValue(port);
    container.bind<Clock>(Clock).toConstantValue(port.clock);
    container.bind(DecisionLog).toSelf().inSingletonScope();
    container.bind(PolicyStore).toSelf().inSingletonScope();
    container.bind(KernelSettings).toSelf().inSingletonScope();
    const store = container.get(PolicyStore);
    body({
      settings: container.get(KernelSettings), port, sim, store, entries: loggers.entries,
      reload: (next) => {
        writeFileSync(file, policyText(next));
        assert.equal(store.reload(), true);
      },
      knob: (path) => knobValue(sim.readFile(path)),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('knobValue: the bracketed choice of a list, or the trimmed text', () => {
  assert.equal(knobValue('always defer defer+madvise [madvise] never\n'), 'madvise');
  assert.equal(knobValue('1\n'), '1');
});

test('at start each knob is read, then set; at stop each is put back to what it was', () => {
  withSettings({ [DEFRAG]: 'never', [KH_DEFRAG]: '0' }, {}, (fx) => {
    assert.equal(fx.knob(DEFRAG), 'madvise');
    fx.settings.onStart();
    assert.deepEqual(fx.port.io, ['read defrag', 'write defrag=never', 'read khugepaged/defrag', 'write khugepaged/defrag=0']);
    assert.equal(fx.knob(DEFRAG), 'never');
    assert.equal(fx.knob(KH_DEFRAG), '0');
    assert.deepEqual([...fx.settings.held], [[DEFRAG, 'madvise'], [KH_DEFRAG, '1']]);
    fx.settings.onStop();
    assert.equal(fx.knob(DEFRAG), 'madvise');
    assert.equal(fx.knob(KH_DEFRAG), '1');
    assert.equal(fx.settings.held.size, 0);
    assert.deepEqual(fx.entries.filter((e) => e.message === 'set' || e.message === 'restored').map((e) => `${e.message} ${String(e.knob)}`), [
      `set ${DEFRAG}`, `set ${KH_DEFRAG}`, `restored ${DEFRAG}`, `restored ${KH_DEFRAG}`,
    ]);
  });
});

test('a knob already at the wanted value is not written', () => {
  withSettings({ [DEFRAG]: 'madvise' }, {}, (fx) => {
    fx.settings.onStart();
    assert.deepEqual(fx.port.io, ['read defrag']);
    assert.equal(fx.settings.held.get(DEFRAG), 'madvise');
    fx.settings.onStop();
  });
});

test('a reload that drops a knob restores it at once; one that changes a value keeps the original to restore', () => {
  withSettings({ [DEFRAG]: 'never', [ENABLED]: 'always' }, {}, (fx) => {
    fx.settings.onStart();
    fx.reload({ [DEFRAG]: 'defer' });
    assert.equal(fx.knob(ENABLED), 'madvise', 'dropped: put back');
    assert.equal(fx.knob(DEFRAG), 'defer');
    assert.deepEqual([...fx.settings.held], [[DEFRAG, 'madvise']], 'the value before the daemon, not the one it set');
    fx.reload({});
    assert.equal(fx.knob(DEFRAG), 'madvise');
    assert.equal(fx.settings.held.size, 0);
    fx.port.io.length = 0;
    fx.settings.onStop();
    assert.deepEqual(fx.port.io, [], 'nothing left to restore');
    fx.reload({ [DEFRAG]: 'never' });
    assert.equal(fx.knob(DEFRAG), 'madvise', 'after stop, reloads are no longer followed');
  });
});

test('a value the kernel refuses is logged with its errno, and the other knobs are still set', () => {
  withSettings({ [DEFRAG]: 'sometimes', [ENABLED]: 'always' }, {}, (fx) => {
    assert.doesNotThrow(() => fx.settings.onStart());
    const error = fx.entries.find((e) => e.level === 'error');
    assert.deepEqual(error && { message: error.message, knob: error.knob, value: error.value, errno: error.errno }, {
      message: 'could not set a kernel setting of the policy; going on without it', knob: DEFRAG, value: 'sometimes', errno: 'EINVAL',
    });
    assert.equal(fx.knob(DEFRAG), 'madvise');
    assert.equal(fx.knob(ENABLED), 'always');
    fx.settings.onStop();
    assert.equal(fx.knob(ENABLED), 'madvise');
    assert.equal(fx.knob(DEFRAG), 'madvise');
    assert.equal(fx.entries.filter((e) => e.level === 'error').length, 1, 'restoring the refused knob is no error');
  });
});

test('dry run: nothing is written, at start, on reload or at stop; what would be is logged', () => {
  withSettings({ [DEFRAG]: 'never' }, { dryRun: true }, (fx) => {
    fx.settings.onStart();
    fx.reload({ [DEFRAG]: 'defer', [ENABLED]: 'always' });
    fx.settings.onStop();
    assert.deepEqual(fx.port.io.filter((op) => op.startsWith('write')), []);
    assert.equal(fx.knob(DEFRAG), 'madvise');
    assert.deepEqual(fx.entries.filter((e) => e.message === 'dry run: would set').map((e) => `${String(e.knob)}=${String(e.value)}`), [
      `${DEFRAG}=never`, `${DEFRAG}=defer`, `${ENABLED}=always`,
    ]);
  });
});
