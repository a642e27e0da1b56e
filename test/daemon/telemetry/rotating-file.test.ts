// The rotating log file: a burst through winston loses no line and splits none across a rotation (what
// winston's File transport got wrong), old files are numbered newest first and only maxFiles of them
// kept, a line larger than maxBytes gets a file of its own, and fs errors name the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { defaultDaemonOptions } from '../../../daemon/config/daemon-options.js';
import { LoggerFactoryImpl } from '../../../daemon/telemetry/logger-factory-impl.js';
import { RotatingFileStream } from '../../../daemon/telemetry/rotating-file.js';

const LOG = 'uhugepaged.log';

async function withDir(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-log-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The log's files oldest first (LOG.N .. LOG.1, LOG), checking that the numbers have no gap. */
function logFiles(dir: string): { name: string; text: string }[] {
  const names = readdirSync(dir);
  const rotated = names.filter((n) => n !== LOG).map((n) => Number(n.slice(LOG.length + 1))).sort((a, b) => a - b);
  assert.deepEqual(rotated, rotated.map((_, i) => i + 1), `numbered files without a gap: ${names.join(' ')}`);
  assert.ok(names.includes(LOG), `${LOG} exists`);
  return [...rotated.reverse().map((k) => `${LOG}.${k}`), LOG].map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

/** Writes each chunk, then ends the stream and waits until the file is closed. */
async function writeAll(stream: RotatingFileStream, chunks: readonly string[]): Promise<void> {
  for (const chunk of chunks) stream.write(chunk);
  await finished(stream.end());
}

/** `n` lines of 10 bytes each: `line 0000\n`, `line 0001\n`, ... */
const tenByteLines = (n: number): string[] => Array.from({ length: n }, (_, i) => `line ${String(i).padStart(4, '0')}\n`);

test('a burst of 50 000 lines through winston arrives whole and in order across the rotated files', () =>
  withDir(async (dir) => {
    const maxBytes = 64 * 1024;
    const loggers = new LoggerFactoryImpl({ ...defaultDaemonOptions, logFile: join(dir, LOG), logMaxBytes: maxBytes, logMaxFiles: 10_000 });
    const log = loggers.forClass('decide', 'Burst');
    const count = 50_000;
    for (let i = 0; i < count; i++) log.info('burst', { i, pad: 'x'.repeat(i % 97) });
    await loggers.close();

    const files = logFiles(dir);
    assert.ok(files.length > 20, `rotated many times, not ${files.length - 1}`);
    const seen: number[] = [];
    files.forEach(({ name, text }, f) => {
      assert.ok(Buffer.byteLength(text) <= maxBytes, `${name} holds ${Buffer.byteLength(text)} bytes`);
      assert.ok(text.endsWith('\n'), `${name} ends with a whole line`);
      const lines = text.slice(0, -1).split('\n');
      for (const line of lines) {
        const entry = JSON.parse(line) as { message: string; i: number; logger: string };
        assert.equal(entry.message, 'burst');
        assert.equal(entry.logger, 'decide:Burst');
        seen.push(entry.i);
      }
      const next = files[f + 1];
      if (next) {
        const firstOfNext = Buffer.byteLength(next.text.slice(0, next.text.indexOf('\n') + 1));
        assert.ok(Buffer.byteLength(text) + firstOfNext > maxBytes, `${name} was rotated only when the next line did not fit`);
      }
    });
    assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i));
  }));

test('with maxFiles 2 only the file and two rotated copies stay, holding the newest lines in order', () =>
  withDir(async (dir) => {
    const lines = tenByteLines(100);
    await writeAll(new RotatingFileStream({ file: join(dir, LOG), maxBytes: 100, maxFiles: 2 }), lines);
    assert.deepEqual(readdirSync(dir).sort(), [LOG, `${LOG}.1`, `${LOG}.2`]);
    const files = logFiles(dir);
    assert.deepEqual(files.map((f) => f.text), [lines.slice(70, 80), lines.slice(80, 90), lines.slice(90)].map((l) => l.join('')));
  }));

test('with maxFiles 0 the file is truncated in place and no copy is kept', () =>
  withDir(async (dir) => {
    const lines = tenByteLines(95);
    await writeAll(new RotatingFileStream({ file: join(dir, LOG), maxBytes: 100, maxFiles: 0 }), lines);
    assert.deepEqual(readdirSync(dir), [LOG]);
    assert.equal(readFileSync(join(dir, LOG), 'utf8'), lines.slice(90).join(''));
  }));

test('a line larger than maxBytes goes into a file of its own', () =>
  withDir(async (dir) => {
    const big = (c: string): string => `${c.repeat(299)}\n`;
    await writeAll(new RotatingFileStream({ file: join(dir, LOG), maxBytes: 100, maxFiles: 10 }), [big('a'), 'small 1\n', big('b'), 'small 2\n']);
    assert.deepEqual(logFiles(dir).map((f) => f.text), [big('a'), 'small 1\n', big('b'), 'small 2\n']);
  }));

test('lines written while corked are laid out as if written one by one', () =>
  withDir(async (dir) => {
    const lines = tenByteLines(57);
    await writeAll(new RotatingFileStream({ file: join(dir, 'plain.log'), maxBytes: 100, maxFiles: 10 }), lines);
    const corked = new RotatingFileStream({ file: join(dir, LOG), maxBytes: 100, maxFiles: 10 });
    corked.cork();
    for (const line of lines) corked.write(line);
    corked.uncork();
    await finished(corked.end());
    for (const [name, plain] of [[LOG, 'plain.log'], [`${LOG}.1`, 'plain.log.1'], [`${LOG}.5`, 'plain.log.5']] as const) {
      assert.equal(readFileSync(join(dir, name), 'utf8'), readFileSync(join(dir, plain), 'utf8'), name);
    }
    assert.equal(readFileSync(join(dir, LOG), 'utf8'), lines.slice(50).join(''));
  }));

test('a file already there is appended to, and its size counts towards maxBytes', () =>
  withDir(async (dir) => {
    writeFileSync(join(dir, LOG), 'x'.repeat(89) + '\n');
    await writeAll(new RotatingFileStream({ file: join(dir, LOG), maxBytes: 100, maxFiles: 1 }), ['line 0000\n', 'line 0001\n']);
    assert.equal(readFileSync(join(dir, `${LOG}.1`), 'utf8'), `${'x'.repeat(89)}\nline 0000\n`);
    assert.equal(readFileSync(join(dir, LOG), 'utf8'), 'line 0001\n');
  }));

test('a rotation moves only the files below the first missing number', () =>
  withDir(async (dir) => {
    for (const [name, text] of [[LOG, 'now\n'], [`${LOG}.1`, 'one\n'], [`${LOG}.3`, 'three\n']]) writeFileSync(join(dir, name), text);
    await writeAll(new RotatingFileStream({ file: join(dir, LOG), maxBytes: 8, maxFiles: 5 }), ['next\n']);
    const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
    assert.deepEqual(readdirSync(dir).sort(), [LOG, `${LOG}.1`, `${LOG}.2`, `${LOG}.3`]);
    assert.deepEqual([read(LOG), read(`${LOG}.1`), read(`${LOG}.2`), read(`${LOG}.3`)], ['next\n', 'now\n', 'one\n', 'three\n']);
  }));

test('a missing directory is an error naming the file, from the stream and from the logger factory', () =>
  withDir((dir) => {
    const file = join(dir, 'missing', LOG);
    const message = `cannot open the log file ${file}: its directory ${join(dir, 'missing')} does not exist`;
    assert.throws(() => new RotatingFileStream({ file, maxBytes: 100, maxFiles: 1 }), { message });
    assert.throws(() => new LoggerFactoryImpl({ ...defaultDaemonOptions, logFile: file }), { message });
  }));

test('a directory removed while logging makes the next rotation fail as a stream error naming the file', () =>
  withDir(async (dir) => {
    const sub = join(dir, 'logs');
    const file = join(sub, LOG);
    mkdirSync(sub);
    const stream = new RotatingFileStream({ file, maxBytes: 100, maxFiles: 1 });
    stream.write('x'.repeat(95) + '\n');
    rmSync(sub, { recursive: true });
    stream.write('line 0000\n');
    await assert.rejects(finished(stream), { message: `cannot open the log file ${file}: its directory ${sub} does not exist` });
    assert.ok(stream.destroyed, 'the stream is done after the error');
  }));

test('closing the logger factory without a log file ends the logger and leaves stderr open', async () => {
  const loggers = new LoggerFactoryImpl({ ...defaultDaemonOptions, logLevel: 'error' });
  await loggers.close();
  await loggers.close();
  assert.equal(loggers.root.writable, false, 'the logger is ended');
  assert.ok(process.stderr.writable, 'stderr is still open');
});
