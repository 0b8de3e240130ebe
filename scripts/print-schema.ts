// Writes schema.graphql from the Pothos schema. `--check` exits 1 when the checked-in file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printedSchema } from '../src/graphql/schema.ts';

const path = join(import.meta.dirname, '..', 'schema.graphql');
const printed = printedSchema();
if (process.argv.includes('--check')) {
  const current = (() => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  })();
  if (current !== printed) {
    console.error('schema.graphql is out of date: run `npm run schema:print` and commit it.');
    process.exit(1);
  }
  console.log('schema.graphql is up to date.');
} else {
  writeFileSync(path, printed);
  console.log(`Wrote ${path}`);
}
