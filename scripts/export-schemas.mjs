// Writes the JSON Schemas of the configuration file formats from their zod definitions:
//   config/scenario.schema.json   from sim/scenario/schema.ts (scenarioJsonSchema)
// Usage: npm run build && npm run schema. test/sim/scenario/schema-export.test.ts fails when a
// committed schema differs from what the definitions produce now.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));

let schemaModule;
try {
  schemaModule = await import(new URL('../dist/sim/scenario/schema.js', import.meta.url).href);
} catch (error) {
  console.error(`export-schemas: cannot load dist/sim/scenario/schema.js (run \`npm run build\` first): ${error.message}`);
  process.exit(1);
}

const out = join(root, 'config', 'scenario.schema.json');
writeFileSync(out, `${JSON.stringify(schemaModule.scenarioJsonSchema(), null, 2)}\n`);
console.log(`export-schemas: wrote ${out}`);
