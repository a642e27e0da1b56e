// The DAMON sysfs sampler and the sampler choice, on a fake sysfs in a temporary directory
// (test/support/fake-damon-files.ts): its own kdamond set up, targets changed online, each process's
// regions read from its own scheme's tried regions, everything removed on close; a kdamond it did not
// start left alone (and the fallback chosen); a crashed run's kdamond cleaned up at the next start, and
// not one that only looks recorded.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { KernelPortError } from '../../../../daemon/kernel-port/kernel-port.js';
import { DAMON_DEFAULT_ATTRS } from '../../../../daemon/kernel-port/linux/access-sampler.js';
import { KDAMONDS, readDamonRecord } from '../../../../daemon/kernel-port/linux/damon-ownership.js';
import { DamonSysfsSampler } from '../../../../daemon/kernel-port/linux/damon-sysfs-sampler.js';
import { chooseAccessSampler } from '../../../../daemon/kernel-port/linux/sampler-choice.js';
import { FakeDamonFiles } from '../../../support/fake-damon-files.js';

const STATE = '/run/uhugepaged/damon.json';
const attrs = { ...DAMON_DEFAULT_ATTRS, sampleIntervalMs: 20, aggrIntervalMs: 2000, maxNrRegions: 50 };
const region = (start: number, nrAccesses: number) => ({ start, end: start + 0x200000, nrAccesses, age: 3 });

function fake(t: TestContext, opts?: { damon?: boolean; coreFilters?: boolean }): FakeDamonFiles {
  const files = new FakeDamonFiles(opts);
  t.after(() => files.remove());
  return files;
}

function choose(files: FakeDamonFiles, errors: unknown[] = []) {
  return chooseAccessSampler(files, { stateFile: STATE, now: () => 0, onError: (e) => errors.push(e) });
}

const read = (files: FakeDamonFiles, path: string) => files.readFile(path).trim();

for (const coreFilters of [true, false]) {
  test(`DAMON: its own kdamond, a target and a filtered stat scheme per process, results per process (${coreFilters ? 'core_filters' : 'filters'})`, async (t) => {
    const files = fake(t, { coreFilters });
    files.spawn(100);
    files.spawn(200);
    files.monitored.set(100, [region(0x10000000, 40)]);
    files.monitored.set(200, [region(0x20000000, 7), region(0x20200000, 0)]);
    const errors: unknown[] = [];
    const { sampler, reason } = choose(files, errors);
    assert.equal(sampler.mechanism, 'damon', reason);
    assert.ok(sampler instanceof DamonSysfsSampler);
    assert.equal(read(files, `${KDAMONDS}/nr_kdamonds`), '1');
    assert.equal(read(files, `${KDAMONDS}/0/state`), 'off', 'nothing runs before the first target');

    sampler.start(100, attrs);
    sampler.start(200, attrs);
    const ctx = `${KDAMONDS}/0/contexts/0`;
    assert.equal(read(files, `${KDAMONDS}/0/state`), 'on');
    assert.equal(read(files, `${ctx}/operations`), 'vaddr');
    assert.equal(read(files, `${ctx}/monitoring_attrs/intervals/sample_us`), '20000');
    assert.equal(read(files, `${ctx}/monitoring_attrs/intervals/aggr_us`), '2000000');
    assert.equal(read(files, `${ctx}/monitoring_attrs/nr_regions/max`), '100', 'the context bound is the sum of the targets\'');
    assert.equal(read(files, `${ctx}/targets/1/pid_target`), '200');
    assert.ok(files.writes.some(([p, v]) => p === `${KDAMONDS}/0/state` && v === 'commit'), 'the second target is committed online');
    assert.throws(() => sampler.start(100, attrs), (e) => e instanceof KernelPortError && e.errno === 'EBUSY');
    const record = readDamonRecord(files, STATE);
    assert.deepEqual(record, { kdamond: 0, kdamondPid: Number(read(files, `${KDAMONDS}/0/pid`)), targets: [100, 200] });

    assert.deepEqual(sampler.regions(100), [], 'no reading yet');
    await sampler.pendingReading;
    assert.deepEqual(sampler.regions(100), [region(0x10000000, 40)]);
    assert.deepEqual(sampler.regions(200), [region(0x20000000, 7), region(0x20200000, 0)]);
    assert.throws(() => sampler.regions(300), (e) => e instanceof KernelPortError && e.errno === 'EINVAL');

    files.exit(100);
    assert.throws(() => sampler.regions(100), (e) => e instanceof KernelPortError && e.errno === 'ESRCH');
    sampler.stop(100);
    assert.equal(read(files, `${ctx}/targets/nr_targets`), '1');
    assert.equal(read(files, `${ctx}/targets/0/pid_target`), '200');
    await sampler.pendingReading;
    sampler.regions(200);
    await sampler.pendingReading;
    assert.deepEqual(sampler.regions(200), [region(0x20000000, 7), region(0x20200000, 0)], 'scheme 0 now filters for pid 200');

    await sampler.close();
    assert.equal(read(files, `${KDAMONDS}/nr_kdamonds`), '0');
    assert.equal(files.exists(STATE), false);
    assert.deepEqual(errors, []);
  });
}

test('DAMON: a target that exited before the commit is dropped, and the others committed', (t) => {
  const files = fake(t);
  files.spawn(100);
  files.spawn(200);
  const { sampler } = choose(files);
  sampler.start(100, attrs);
  // Pid 100 exits just before the kernel takes the commit: the kernel refuses it (EINVAL).
  const write = files.writeFile.bind(files);
  files.writeFile = (path, text) => {
    if (text === 'commit') files.exit(100);
    write(path, text);
  };
  sampler.start(200, attrs);
  assert.equal(read(files, `${KDAMONDS}/0/state`), 'on');
  assert.equal(read(files, `${KDAMONDS}/0/contexts/0/targets/nr_targets`), '1');
  assert.equal(read(files, `${KDAMONDS}/0/contexts/0/targets/0/pid_target`), '200');
});

test('a kdamond uhugepaged did not start is left alone, and the clear_refs sampler is chosen', (t) => {
  const files = fake(t);
  files.foreignKdamond(0);
  const { sampler, reason } = choose(files);
  assert.equal(sampler.mechanism, 'clear-refs');
  assert.match(reason, /kdamond 0 \(on, paddr operations\)/);
  assert.match(reason, /EBUSY/);
  assert.deepEqual(files.writes, [], 'not one write to DAMON');
  assert.equal(read(files, `${KDAMONDS}/0/state`), 'on');
  assert.equal(files.exists(STATE), false);
});

test('no DAMON sysfs interface: the clear_refs sampler, saying so', (t) => {
  const files = fake(t, { damon: false });
  const { sampler, reason } = choose(files);
  assert.equal(sampler.mechanism, 'clear-refs');
  assert.match(reason, /absent/);
});

test('after a crash, the next start stops and removes the kdamond the state file records, then sets up its own', (t) => {
  const files = fake(t);
  files.spawn(100);
  const first = choose(files).sampler;
  first.start(100, attrs);
  const crashedPid = read(files, `${KDAMONDS}/0/pid`);
  assert.equal(read(files, `${KDAMONDS}/0/state`), 'on');
  // The process dies without close(): its kdamond runs on. A new run:
  const second = choose(files);
  assert.equal(second.cleanedUp, 'stopped and removed kdamond 0, left by an earlier run');
  assert.equal(second.sampler.mechanism, 'damon');
  assert.equal(read(files, `${KDAMONDS}/nr_kdamonds`), '1');
  assert.equal(read(files, `${KDAMONDS}/0/state`), 'off', 'the new one waits for its first target');
  assert.notEqual(read(files, `${KDAMONDS}/0/pid`), crashedPid);
  assert.deepEqual(readDamonRecord(files, STATE), { kdamond: 0, kdamondPid: -1, targets: [] });
});

test('after a crash, a recorded kdamond below another one is stopped and stays recorded', (t) => {
  const files = fake(t);
  files.spawn(100);
  choose(files).sampler.start(100, attrs);
  // Someone else starts a kdamond of their own after ours (their nr_kdamonds write needs ours off, so
  // build the state directly): index 0 ours, running; index 1 theirs, running.
  files.foreignKdamond(1);
  files.put(`${KDAMONDS}/nr_kdamonds`, '2');
  const next = choose(files);
  assert.equal(read(files, `${KDAMONDS}/0/state`), 'off', 'ours is stopped');
  assert.equal(read(files, `${KDAMONDS}/1/state`), 'on', 'theirs runs on');
  assert.match(next.cleanedUp ?? '', /not the last directory/);
  assert.equal(next.sampler.mechanism, 'clear-refs');
  assert.deepEqual(readDamonRecord(files, STATE), { kdamond: 0, kdamondPid: -1, targets: [100] }, 'still recorded, for a later run to remove');
});

test('after a crash, a recorded kdamond whose removal another running kdamond refuses (EBUSY) is stopped and stays recorded', (t) => {
  const files = fake(t);
  files.spawn(100);
  files.foreignKdamond(0);
  // Ours, index 1, running, as a crashed run left it.
  const ours = `${KDAMONDS}/1`;
  files.put(`${KDAMONDS}/nr_kdamonds`, '2');
  files.put(`${ours}/state`, 'on');
  files.put(`${ours}/pid`, '4100');
  files.put(`${ours}/contexts/0/operations`, 'vaddr');
  files.put(`${ours}/contexts/0/targets/nr_targets`, '1');
  files.put(`${ours}/contexts/0/targets/0/pid_target`, '100');
  files.writeOwnFile(STATE, JSON.stringify({ kdamond: 1, kdamondPid: 4100, targets: [100] }));
  const next = choose(files);
  assert.match(next.cleanedUp ?? '', /stopped kdamond 1, .*another kdamond runs \(EBUSY\)/);
  assert.equal(read(files, `${ours}/state`), 'off');
  assert.equal(read(files, `${KDAMONDS}/0/state`), 'on', 'theirs runs on');
  assert.equal(read(files, `${KDAMONDS}/nr_kdamonds`), '2');
  assert.equal(next.sampler.mechanism, 'clear-refs');
  assert.deepEqual(readDamonRecord(files, STATE), { kdamond: 1, kdamondPid: -1, targets: [100] });
});

test('a state file naming a kdamond that is no longer ours (another pid, other operations) leaves it alone', (t) => {
  const files = fake(t);
  files.foreignKdamond(0);
  files.writeOwnFile(STATE, JSON.stringify({ kdamond: 0, kdamondPid: 4000, targets: [] }));
  const { sampler, cleanedUp } = choose(files);
  assert.match(cleanedUp ?? '', /left the kdamond recorded by an earlier run alone: kdamond 0 has operations 'paddr'/);
  assert.equal(sampler.mechanism, 'clear-refs');
  assert.equal(read(files, `${KDAMONDS}/0/state`), 'on');
  assert.deepEqual(files.writes, []);
  assert.equal(files.exists(STATE), false, 'the stale record is dropped');
});

test('a recorded vaddr kdamond now running as another pid is not ours either', (t) => {
  const files = fake(t);
  files.spawn(100);
  choose(files).sampler.start(100, attrs);
  const record = readDamonRecord(files, STATE);
  assert.ok(record);
  files.writeOwnFile(STATE, JSON.stringify({ ...record, kdamondPid: record.kdamondPid + 1 }));
  const { cleanedUp } = choose(files);
  assert.match(cleanedUp ?? '', /runs as pid \d+, not the recorded/);
  assert.equal(read(files, `${KDAMONDS}/0/state`), 'on');
});
