import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatStatus, statusKbFields, type ProcStatus, type TaskState } from '../../../kernel-model/fs/status.js';
import { parseRangeList, parseStatus } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

/** The set bits of a hex mask, plus `offset` (1 for signal numbers). */
function bitsOf(hex: string, offset: number): number[] {
  const mask = BigInt(`0x${hex}`);
  return Array.from({ length: 64 }, (_, b) => b).filter((b) => (mask >> BigInt(b)) & 1n).map((b) => b + offset);
}

const four = (s: string) => s.split('\t').map(Number) as [number, number, number, number];

/** The formatter's input rebuilt from the parsed golden file. */
function statusOf(text: string): ProcStatus {
  const r = parseStatus(text);
  const f = (key: string) => r.fields.get(key) ?? '';
  const n = (key: string) => Number(f(key));
  const [queued, limit] = f('SigQ').split('/').map(Number);
  return {
    name: r.name, umask: parseInt(f('Umask'), 8), state: r.state as TaskState, tgid: r.tgid, ngid: n('Ngid'),
    pid: r.pid, ppid: r.ppid, tracerPid: n('TracerPid'), uid: four(f('Uid')), gid: four(f('Gid')),
    fdSize: n('FDSize'), groups: f('Groups').trim().split(' ').filter((g) => g !== '').map(Number),
    pgid: n('NSpgid'), sid: n('NSsid'), kthread: f('Kthread') === '1',
    kb: Object.fromEntries(statusKbFields.map((k) => [k, r.kb.get(k) ?? NaN])),
    coreDumping: f('CoreDumping') === '1', thpEnabled: r.thpEnabled === true, threads: r.threads,
    sigQ: [queued ?? NaN, limit ?? NaN],
    sigPnd: bitsOf(f('SigPnd'), 1), shdPnd: bitsOf(f('ShdPnd'), 1), sigBlk: bitsOf(f('SigBlk'), 1),
    sigIgn: bitsOf(f('SigIgn'), 1), sigCgt: bitsOf(f('SigCgt'), 1),
    capInh: bitsOf(f('CapInh'), 0), capPrm: bitsOf(f('CapPrm'), 0), capEff: bitsOf(f('CapEff'), 0),
    capBnd: bitsOf(f('CapBnd'), 0), capAmb: bitsOf(f('CapAmb'), 0),
    noNewPrivs: f('NoNewPrivs') === '1', seccomp: n('Seccomp'), seccompFilters: n('Seccomp_filters'),
    speculationStoreBypass: f('Speculation_Store_Bypass'), speculationIndirectBranch: f('SpeculationIndirectBranch'),
    cpusAllowed: parseRangeList(f('Cpus_allowed_list')), nrCpuIds: 2,
    memsAllowed: parseRangeList(f('Mems_allowed_list')),
    voluntaryCtxtSwitches: n('voluntary_ctxt_switches'), nonvoluntaryCtxtSwitches: n('nonvoluntary_ctxt_switches'),
  };
}

test('formatStatus reproduces /proc/PID/status byte for byte', () => {
  const text = golden('proc-PID-status.txt');
  assert.equal(formatStatus(statusOf(text)), text);
});

const minimal: ProcStatus = {
  name: 'w', state: 'S', tgid: 5, pid: 5, ppid: 1, pgid: 5, sid: 5, kb: {}, thpEnabled: true, threads: 1,
  cpusAllowed: [0, 1, 2, 3, 8], nrCpuIds: 40, memsAllowed: [0, 1],
};

test('untracked fields print 0, empty sets and unknown speculation state', () => {
  const text = formatStatus(minimal);
  assert.match(text, /^Umask:\t0000$/m);
  assert.match(text, /^Groups:\t $/m);
  assert.match(text, /^VmRSS:\t {7}0 kB$/m);
  assert.match(text, /^CapEff:\t0000000000000000$/m);
  assert.match(text, /^Speculation_Store_Bypass:\tunknown$/m);
});

test('CPU and node bitmaps are chunked as %*pb prints them', () => {
  const text = formatStatus(minimal);
  assert.match(text, /^Cpus_allowed:\t00,0000010f$/m);
  assert.match(text, /^Cpus_allowed_list:\t0-3,8$/m);
  assert.match(text, /^Mems_allowed:\t(00000000,){31}00000003$/m);
  assert.match(text, /^Mems_allowed_list:\t0-1$/m);
});

test('the name escapes backslash and newline; parseStatus undoes it', () => {
  const text = formatStatus({ ...minimal, name: 'a\\b\nc' });
  assert.match(text, /^Name:\ta\\\\b\\nc$/m);
  assert.equal(parseStatus(text).name, 'a\\b\nc');
});
