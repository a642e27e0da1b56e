// The start-up checks on this machine's real kernel: every probe runs (MADV_COLLAPSE on the test's own
// memory, process_madvise and PIDFD_SELF with no iovec), /proc and /sys are read as they are. Run as
// root on a kernel with MADV_COLLAPSE, nothing may be refused; the findings are printed so that what
// the host offers (DAMON busy or not, THP settings) is on record. It skips, saying why, when it
// cannot judge: not Linux, or not root (a refusal would then be the right answer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { platform } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatFindings, preflightRefusals } from '../../daemon/lifecycle/preflight.js';
import { preflightThisHost } from '../../daemon/lifecycle/preflight-host.js';

const shippedPolicy = fileURLToPath(new URL('../../../config/uhugepaged.yaml', import.meta.url));

test('the whole preflight on this host, as root: no refusal', (t) => {
  if (platform() !== 'linux') {
    t.skip(`not Linux (${platform()})`);
    return;
  }
  if (process.geteuid?.() !== 0) {
    t.skip('not root: the capability checks would rightly refuse, so a refusal here says nothing');
    return;
  }
  const findings = preflightThisHost(shippedPolicy, false);
  t.diagnostic(`\n${formatFindings(findings)}`);
  const checks = new Set(findings.map((f) => f.check));
  for (const check of ['thp', 'madv-collapse', 'process-madvise', 'pidfd-self', 'damon', 'capabilities', 'kernel-settings', 'policy-file', 'pid-namespace']) {
    assert.ok(checks.has(check), `no ${check} finding`);
  }
  const madv = findings.find((f) => f.check === 'madv-collapse');
  if (madv?.level === 'refuse') {
    t.skip(`this kernel has no MADV_COLLAPSE, so the daemon rightly refuses: ${madv.message}`);
    return;
  }
  assert.deepEqual(preflightRefusals(findings), [], formatFindings(preflightRefusals(findings)));
  assert.equal(findings.find((f) => f.check === 'process-madvise')?.level, 'ok', 'pidfd_open and process_madvise answered 0');
});
