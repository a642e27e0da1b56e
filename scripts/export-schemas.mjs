// Writes the JSON Schemas of the configuration file formats from their zod definitions:
//   config/scenario.schema.json    from sim/scenario/schema.ts (scenarioJsonSchema)
//   config/uhugepaged.schema.json  from daemon/config/policy-schema.ts (policyJsonSchema)
// Usage: npm run build && npm run schema. test/sim/scenario/schema-export.test.ts and
// test/daemon/config/policy.test.ts fail when a committed schema differs from what the definitions produce now.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));

async function load(path) {
  try {
    return await import(new URL(`../dist/${path}`, import.meta.url).href);
  } catch (error) {
    console.error(`export-schemas: cannot load dist/${path} (run \`npm run build\` first): ${error.message}`);
    process.exit(1);
  }
}

const outputs = [
  ['scenario.schema.json', (await load('sim/scenario/schema.js')).scenarioJsonSchema()],
  ['uhugepaged.schema.json', (await load('daemon/config/policy-schema.js')).policyJsonSchema()],
];
for (const [name, schema] of outputs) {
  const out = join(root, 'config', name);
  writeFileSync(out, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`export-schemas: wrote ${out}`);
}
