// Reading decision logs: rotated copies oldest first, malformed lines counted with their place, an
// unreadable file named in the error; and the tuned policy written through the YAML document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileError } from '../../../daemon/config/config-file.js';
import { LogReadError, readLogRecords, type LogRecord } from '../../../daemon/tune/log-reader.js';
import { tunedPolicyText } from '../../../daemon/tune/tuned-policy.js';

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-tune-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('log reader: FILE.2, FILE.1, then FILE; non-JSON lines counted, not fatal', () =>
  withDir(async (dir) => {
    const log = join(dir, 'log.jsonl');
    writeFileSync(`${log}.2`, '{"n":1}\n{"n":2}\n');
    writeFileSync(`${log}.1`, '{"n":3}\nnot json\n[1,2]\n\n');
    writeFileSync(log, '{"n":4}\n');
    const seen: LogRecord[] = [];
    const stats = await readLogRecords([log], (r) => seen.push(r));
    assert.deepEqual(seen.map((r) => r.n), [1, 2, 3, 4]);
    assert.deepEqual(stats.files, [`${log}.2`, `${log}.1`, log]);
    assert.equal(stats.lines, 7);
    assert.equal(stats.malformed, 2);
    assert.deepEqual(stats.malformedSamples, [`${log}.1:2`, `${log}.1:3`]);
  }));

test('log reader: a missing file is a LogReadError naming it', () =>
  withDir(async (dir) => {
    const missing = join(dir, 'nope.jsonl');
    await assert.rejects(readLogRecords([missing], () => undefined), (e: unknown) => e instanceof LogReadError && e.message === `${missing}: cannot read the log: no such file (ENOENT)`);
  }));

test('tuned policy: changes applied, comments and flow lists kept; an invalid result is refused', () => {
  const text = '# my policy\nversion: 1\nclasses:\n  # the databases\n  - name: db\n    match:\n      comm: [postgress, mysqld]\nbudgets:\n  collapsesPerSec: 2/s # too small\n';
  const { text: out, policy } = tunedPolicyText(text, 'tuned.yaml', [
    { path: ['budgets', 'collapsesPerSec'], pathText: 'budgets.collapsesPerSec', from: '2/s', to: '8/s' },
    { path: ['classes', 0, 'match', 'comm'], pathText: 'classes[0].match.comm', from: ['postgress', 'mysqld'], to: ['postgres', 'mysqld'] },
  ]);
  assert.equal(policy.budgets.collapsesPerSec, 8);
  assert.deepEqual(policy.classes[0].match.comm, ['postgres', 'mysqld']);
  assert.match(out, /^# my policy\n/);
  assert.match(out, /# the databases\n/);
  assert.match(out, /comm: \[postgres, mysqld\]/);
  assert.match(out, /collapsesPerSec: 8\/s # too small/);
  assert.throws(() => tunedPolicyText(text, 'tuned.yaml', [{ path: ['budgets', 'collapsesPerSec'], pathText: 'budgets.collapsesPerSec', from: '2/s', to: 'lots' }]), ConfigFileError);
});
