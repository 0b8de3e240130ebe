// A real Lifecycle Hub on 127.0.0.1 and a random port, on this run's kind of database.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/hub/config.ts';
import type { AnyConnector } from '../../src/connectors/contract.ts';
import type { Database } from '../../src/storage/database.ts';
import { createHub, type Hub } from '../../src/hub/hub.ts';
import { startServer, type RunningServer } from '../../src/http/server.ts';
import { createLogger, type Logger } from '../../src/hub/logger.ts';
import type { SyncOptions } from '../../src/jobs/sync.ts';
import { openTestDatabase } from './db.ts';

export interface TestHub {
  hub: Hub;
  server: RunningServer;
  db: Database;
  url: string;
  adminKey: string;
  /** POST /graphql with a key (the admin key by default); returns the parsed body and status. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<{ status: number; data: T; errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }> }>;
  /** Like gql but throws on errors and returns data. */
  gqlOk<T = any>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<T>;
  close(): Promise<void>;
}

export async function startTestHub(options: { connectors?: AnyConnector[]; env?: Record<string, string>; db?: Database; sync?: SyncOptions; logger?: Logger } = {}): Promise<TestHub> {
  const db = options.db ?? (await openTestDatabase());
  const dataDir = mkdtempSync(join(tmpdir(), 'lh-hub-'));
  const adminKey = `test-admin-${randomBytes(16).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ADMIN_API_KEY: adminKey,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Vendor SDKs are pointed at stand-ins on 127.0.0.1: allowed as an operator would allow a
    // proxy (a test that checks the defaults sets these to '').
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    // Every test talks from 127.0.0.1, and the abuse suite sends wrong credentials on purpose: the
    // per-address throttle is tested where a test sets its own limit.
    AUTH_FAILURES_PER_ADDRESS: '1000000',
    ...options.env,
  });
  const { hub } = await createHub(config, { db, connectors: options.connectors, logger: options.logger ?? createLogger(config.logLevel), sync: options.sync });
  // A test that needs links with the hub's real address (PUBLIC_URL) passes PORT with it (freePort()).
  const server = await startServer(hub, { port: Number(options.env?.PORT ?? 0), host: '127.0.0.1' });
  const gql: TestHub['gql'] = async (query, variables, key = adminKey) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data: any; errors?: any[] };
    return { status: response.status, data: body.data, errors: body.errors };
  };
  return {
    hub,
    server,
    db,
    url: server.url,
    adminKey,
    gql,
    async gqlOk(query, variables, key) {
      const result = await gql(query, variables, key);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data;
    },
    async close() {
      await server.stop();
      await hub.close();
      if (!options.db) await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
