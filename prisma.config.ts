// Prisma CLI configuration. The server itself never needs the CLI: it migrates with the wasm schema
// engine (src/storage/migrate.ts). With DATABASE_URL set, `npx prisma migrate deploy` and `migrate status`
// read the same _prisma_migrations table and agree with it.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/lifecycle_hub' },
});
