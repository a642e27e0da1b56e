// A node:test reporter that prints nothing but the closing line `N passed, N failed, N skipped`.
// Suites (describe blocks) are not counted, only the tests in them; todo tests count as skipped.
export default async function* summary(source) {
  let passed = 0, failed = 0, skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    if (data.details?.type === 'suite') {
      // A suite fails on its own only when its hooks or body throw; count that as a failure.
      if (event.type === 'test:fail' && data.details?.error?.failureType !== 'subtestsFailed') failed++;
      continue;
    }
    if (data.skip !== undefined || data.todo !== undefined) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
