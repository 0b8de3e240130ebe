// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database in DATA_DIR.
import { loadConfig } from '../hub/config.ts';
import { openDatabase } from './database.ts';

const config = loadConfig();
const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
console.log(db.appliedMigrations.length ? `Applied: ${db.appliedMigrations.join(', ')}` : 'The database is up to date.');
await db.close();
