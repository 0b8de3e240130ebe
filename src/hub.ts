// Everything a running Lifecycle Hub is made of, wired once: the database, the lifecycle engine,
// the connectors, secrets and authentication. HTTP (src/http) and GraphQL (src/graphql) sit on it.
import { ensureBootstrapAdminKey } from './admin/api-keys.ts';
import { ApiKeyAuthenticator } from './auth/principal.ts';
import type { Config } from './config.ts';
import type { AnyConnector } from './connectors/contract.ts';
import { loadConnectors } from './connectors/loader.ts';
import type { ConnectorRegistry } from './connectors/registry.ts';
import { openDatabase, type Database } from './db/database.ts';
import { LifecycleEngine } from './engine/engine.ts';
import { createLogger, type Logger } from './logger.ts';
import { SecretBox } from './secrets/index.ts';
import { SyncService, type SyncOptions } from './sync/index.ts';

export interface Hub {
  readonly config: Config;
  readonly db: Database;
  readonly engine: LifecycleEngine;
  readonly registry: ConnectorRegistry;
  readonly box: SecretBox;
  readonly auth: ApiKeyAuthenticator;
  readonly logger: Logger;
  /** Backfill runs (syncConnection) and the pull poller. */
  readonly sync: SyncService;
  /** Absolute base URL for scimBaseUrl / webhookUrl; set from PUBLIC_URL or the listening address. */
  publicUrl: string;
  /** Work to stop at shutdown (pollers, workers), registered by whoever starts it. */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export interface HubOptions {
  /** Connectors in addition to the built-in ones and LIFECYCLE_PLUGINS (tests, embedding). */
  connectors?: AnyConnector[];
  logger?: Logger;
  /** An already open database (tests). */
  db?: Database;
  sync?: SyncOptions;
}

export async function createHub(config: Config, options: HubOptions = {}): Promise<{ hub: Hub; bootstrapAdminKey: string | null; generatedEncryptionKey: string | null }> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const registry = await loadConnectors(config.plugins, options.connectors);
  const { box, generated, path } = SecretBox.load({ encryptionKey: config.encryptionKey, dataDir: config.dataDir });
  if (!config.encryptionKey && config.databaseUrl) {
    logger.warn({ path }, 'ENCRYPTION_KEY is not set: connector secrets are encrypted with a key kept in DATA_DIR. Set ENCRYPTION_KEY (the same on every instance) before running several instances.');
  }
  const db = options.db ?? (await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize }));
  if (db.appliedMigrations.length) logger.info({ migrations: db.appliedMigrations }, 'applied database migrations');
  const engine = new LifecycleEngine({
    sql: db.sql,
    revokesUpstream: registry.revokesUpstream,
    onError: (error, context) => logger.error({ err: error, context }, 'lifecycle engine error'),
  });
  const auth = new ApiKeyAuthenticator(db.sql, { adminApiKey: config.adminApiKey });
  const bootstrapAdminKey = config.adminApiKey ? null : await ensureBootstrapAdminKey(db.sql);
  const closers: Array<() => Promise<void> | void> = [];
  const hub: Hub = {
    config,
    db,
    engine,
    registry,
    box,
    auth,
    logger,
    sync: undefined as unknown as SyncService,
    publicUrl: config.publicUrl ?? `http://localhost:${config.port}`,
    onClose: (fn) => closers.push(fn),
    async close() {
      for (const fn of closers.reverse()) await fn();
      await engine.idle();
      if (!options.db) await db.close();
    },
  };
  (hub as { sync: SyncService }).sync = new SyncService(hub, { pullIntervalMs: config.pullIntervalSeconds * 1000, ...options.sync });
  hub.onClose(() => hub.sync.stop());
  hub.sync.start();
  return { hub, bootstrapAdminKey, generatedEncryptionKey: generated ? (path ?? null) : null };
}
