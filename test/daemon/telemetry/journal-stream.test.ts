// Journal-friendly logs: the format is chosen only when stderr is the very stream JOURNAL_STREAM
// names, and its lines carry the syslog priority, no timestamp, one line per record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type winston from 'winston';
import { journalFormat, stderrIsJournal, type FdIdentity } from '../../../daemon/telemetry/journal-stream.js';

/** winston's key of the formatted line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

const stderrAt = (dev: bigint, ino: bigint): FdIdentity => () => ({ dev, ino });

test('JOURNAL_STREAM counts only when it names stderr’s device and inode', () => {
  assert.equal(stderrIsJournal({ JOURNAL_STREAM: '8:12345' }, stderrAt(8n, 12345n)), true);
  assert.equal(stderrIsJournal({ JOURNAL_STREAM: '8:12345' }, stderrAt(8n, 99n)), false, 'inherited, but stderr was redirected');
  assert.equal(stderrIsJournal({ JOURNAL_STREAM: '8:12345' }, stderrAt(9n, 12345n)), false);
  assert.equal(stderrIsJournal({}, stderrAt(8n, 12345n)), false, 'no journal');
  assert.equal(stderrIsJournal({ JOURNAL_STREAM: 'garbage' }, stderrAt(8n, 12345n)), false);
  const closed: FdIdentity = () => {
    throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
  };
  assert.equal(stderrIsJournal({ JOURNAL_STREAM: '8:12345' }, closed), false, 'stderr closed');
});

test('a journal line is <priority>[logger] message {fields}, with no timestamp and no line break', () => {
  const line = (info: Record<string, unknown>): string => {
    const out = journalFormat.transform({ ...info } as winston.Logform.TransformableInfo) as Record<string | symbol, unknown>;
    return String(out[MESSAGE]);
  };
  const stamp = '2026-12-02T10:00:00.000Z';
  assert.equal(line({ level: 'info', message: 'started', logger: 'engine:CollapseDaemon', timestamp: stamp, pid: 42 }), '<6>[engine:CollapseDaemon] started {"pid":42}');
  assert.equal(line({ level: 'error', message: 'boom', timestamp: stamp }), '<3>boom');
  assert.equal(line({ level: 'warn', message: 'w' }), '<4>w');
  assert.equal(line({ level: 'verbose', message: 'v' }), '<7>v');
  assert.equal(line({ level: 'debug', message: 'd' }), '<7>d');
  const withStack = line({ level: 'error', message: 'failed', stack: 'Error: failed\n    at x (y.js:1:1)' });
  assert.equal(withStack.includes('\n'), false, 'a stack stays on the record’s line');
  assert.match(withStack, /^<3>failed \{"stack":"Error: failed\\n {4}at x/);
});

test('the identity is read with fstat from the descriptor itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-journal-'));
  const a = openSync(join(dir, 'a'), 'w');
  const b = openSync(join(dir, 'b'), 'w');
  try {
    const { dev, ino } = fstatSync(a, { bigint: true });
    const env = { JOURNAL_STREAM: `${dev}:${ino}` };
    assert.equal(stderrIsJournal(env, undefined, a), true);
    assert.equal(stderrIsJournal(env, undefined, b), false, 'another file on the same device');
  } finally {
    closeSync(a);
    closeSync(b);
    rmSync(dir, { recursive: true, force: true });
  }
});
