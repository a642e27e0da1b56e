// config/scenario.schema.json is generated from the zod schema (scripts/export-schemas.mjs); this test
// fails as soon as the committed file differs from what the schema produces now, so it cannot go stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../support/paths.js';
import { scenarioJsonSchema, scenarioSchemaId } from '../../../sim/scenario/schema.js';

const file = join(projectRoot, 'config', 'scenario.schema.json');

test('config/scenario.schema.json is what scenarioJsonSchema() produces now', () => {
  const committed = readFileSync(file, 'utf8');
  const now = `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
  assert.ok(committed === now, 'config/scenario.schema.json is stale: run `npm run build && npm run schema` and commit the result');
});

test('the exported schema names itself and describes the file format in input form (units as written)', () => {
  const schema = JSON.parse(readFileSync(file, 'utf8')) as {
    $schema: string;
    $id: string;
    title: string;
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { anyOf?: { type: string; pattern?: string }[] }>;
  };
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(schema.$id, scenarioSchemaId);
  assert.equal(schema.title, 'uhugepaged scenario');
  assert.deepEqual([...schema.required].sort(), ['duration', 'machine']);
  assert.equal(schema.additionalProperties, false);
  // A duration is written as a number or a string with a unit.
  assert.deepEqual(schema.properties.duration.anyOf?.map((o) => o.type), ['number', 'string']);
  assert.match('90s', new RegExp(schema.properties.duration.anyOf?.[1].pattern ?? '$^'));
});
