import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clockTicks, formatStat, type ProcStat } from '../../../kernel-model/fs/stat.js';
import { parseStat } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

/** Signal numbers of a legacy decimal mask. */
const signalsOf = (mask: number) => Array.from({ length: 31 }, (_, b) => b + 1).filter((s) => (mask >> (s - 1)) & 1);

test('formatStat reproduces /proc/PID/stat byte for byte', () => {
  const text = golden('proc-PID-stat.txt');
  const { itrealvalue, nswap, cnswap, ...r } = parseStat(text);
  assert.deepEqual([itrealvalue, nswap, cnswap], [0, 0, 0]);
  const s: ProcStat = {
    ...r, signal: signalsOf(r.signal), blocked: signalsOf(r.blocked), sigignore: signalsOf(r.sigignore), sigcatch: signalsOf(r.sigcatch),
  };
  assert.equal(formatStat(s), text);
});

const base: ProcStat = {
  pid: 42, comm: 'w', state: 'S', ppid: 1, pgrp: 42, session: 42, minflt: 7, majflt: 1, utime: 250, stime: 3,
  priority: 20, nice: 0, numThreads: 1, starttime: 100, vsize: 4096, rss: 1,
};

test('untracked fields take Linux\'s values for an ordinary process: 52 fields', () => {
  const text = formatStat(base);
  const fields = text.trimEnd().split(' ');
  assert.equal(fields.length, 52);
  assert.equal(fields[7], '-1');
  assert.equal(fields[24], '18446744073709551615');
  assert.equal(fields[37], '17');
});

test('a comm with spaces and parentheses survives the round trip', () => {
  const comm = 'a) (b c)';
  const r = parseStat(formatStat({ ...base, comm }));
  assert.equal(r.comm, comm);
  assert.equal(r.state, 'S');
  assert.equal(r.utime, 250);
});

test('clockTicks converts milliseconds to whole 100 Hz ticks', () => {
  assert.deepEqual([clockTicks(0), clockTicks(9.9), clockTicks(10), clockTicks(1234)], [0, 0, 1, 123]);
});
