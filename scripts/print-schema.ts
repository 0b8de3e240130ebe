// Writes schema.graphql from the Pothos schema, and from it the UI's gql.tada introspection
// (ui/shared/graphql-env.d.ts). `--check` exits 1 when either checked-in file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printedSchema } from '../src/graphql/schema.ts';
import { UI_SCHEMA_TYPES_PATH, uiSchemaTypes } from './ui-schema-types.ts';

const root = join(import.meta.dirname, '..');
const printed = printedSchema();
const outputs = [
  { path: join(root, 'schema.graphql'), text: printed },
  { path: join(root, UI_SCHEMA_TYPES_PATH), text: uiSchemaTypes(printed) },
];
const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
if (process.argv.includes('--check')) {
  const stale = outputs.filter(({ path, text }) => read(path) !== text).map(({ path }) => path.slice(root.length + 1));
  if (stale.length) {
    console.error(`${stale.join(' and ')} out of date: run \`npm run schema:print\` and commit.`);
    process.exit(1);
  }
  console.log('schema.graphql and the UI\'s schema types are up to date.');
} else {
  for (const { path, text } of outputs) {
    writeFileSync(path, text);
    console.log(`Wrote ${path}`);
  }
}
