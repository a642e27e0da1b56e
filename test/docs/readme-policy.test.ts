// The README's annotated policy must be a valid policy, and the very one it says it is
// (config/policies/priority-mix.yaml), so that the two cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy, parsePolicy } from '../../daemon/config/policy.js';
import { projectRoot } from '../support/paths.js';

test('the README policy example parses, and equals config/policies/priority-mix.yaml', () => {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const yaml = /<!-- policy: priority-mix -->\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(yaml, 'the README has no "priority-mix" policy block');
  const shown = parsePolicy(yaml, 'README.md');
  const { $schema: _editorsOnly, ...file } = loadPolicy(join(projectRoot, 'config/policies/priority-mix.yaml'));
  assert.deepEqual(shown, file);
});
