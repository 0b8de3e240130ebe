// Everything a running Lifecycle Hub is made of, wired once: the database, the lifecycle engine,
// the connectors, secrets and authentication. HTTP (src/http) and GraphQL (src/graphql) sit on it.
import { ensureBootstrapAdminKey } from './admin/api-keys.ts';
import { AuditAnchorer, AuditSigner } from './audit/anchor.ts';
import { ApiKeyAuthenticator } from './auth/principal.ts';
import type { Config } from './config.ts';
import type { AnyConnector } from './connectors/contract.ts';
import { loadConnectors } from './connectors/loader.ts';
import { ConnectorOutbound } from './connectors/outbound.ts';
import type { ConnectorRegistry } from './connectors/registry.ts';
import { openDatabase, type Database } from './db/database.ts';
import { LifecycleEngine } from './engine/engine.ts';
import { createEventBus, EventStream } from './events/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { RequestLogRetention } from './maintenance/request-log-retention.ts';
import { reportUserNameCollisions } from './maintenance/user-name-collisions.ts';
import { HubMetrics } from './observability/metrics.ts';
import { RevocationWorker } from './revocation/worker.ts';
import { SecretBox } from './secrets/index.ts';
import { rememberSecret } from './secrets/redact.ts';
import { SyncService, type SyncOptions } from './sync/index.ts';

export interface Hub {
  readonly config: Config;
  readonly db: Database;
  readonly engine: LifecycleEngine;
  /** Committed lifecycle events for subscriptions (src/events). */
  readonly events: EventStream;
  /** Revokes upstream-owned sessions and credentials at their source (src/revocation). */
  readonly revocations: RevocationWorker;
  /** Signs audit chain heads with a key that is not in the database (src/audit). */
  readonly auditSigner: AuditSigner;
  readonly registry: ConnectorRegistry;
  /** Each connector's outbound guard (ctx.outbound) and the check of configured API base URLs. */
  readonly outbound: ConnectorOutbound;
  readonly box: SecretBox;
  readonly auth: ApiKeyAuthenticator;
  readonly logger: Logger;
  /** Prometheus metrics (src/observability), served at GET /metrics. */
  readonly metrics: HubMetrics;
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
  for (const secret of [config.adminApiKey, config.encryptionKey, config.metricsToken]) rememberSecret(secret);
  const registry = await loadConnectors(config.plugins, options.connectors);
  const { box, generated, path } = SecretBox.load({ encryptionKey: config.encryptionKey, dataDir: config.dataDir });
  if (!config.encryptionKey && config.databaseUrl) {
    logger.warn({ path }, 'ENCRYPTION_KEY is not set: connector secrets are encrypted with a key kept in DATA_DIR. Set ENCRYPTION_KEY (the same on every instance) before running several instances.');
  }
  const db = options.db ?? (await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize, pgliteSharedBuffersMb: config.pgliteSharedBuffersMb }));
  if (db.appliedMigrations.length) logger.info({ migrations: db.appliedMigrations }, 'applied database migrations');
  await reportUserNameCollisions(db.sql, logger).catch((error: unknown) => logger.warn({ err: error }, 'could not read the recorded userName collisions'));
  const engine = new LifecycleEngine({
    sql: db.sql,
    revokesUpstream: registry.revokesUpstream,
    onError: (error, context) => logger.error({ err: error, context }, 'lifecycle engine error'),
  });
  const events = new EventStream({ sql: db.sql, bus: createEventBus(config.redisUrl, logger), logger, maxBuffered: config.subscriberBufferEvents, maxLagMs: config.subscriberMaxLagMs, pollIntervalMs: config.eventsPollIntervalMs });
  engine.onCommitted((committed) => events.committed(committed));
  const metrics = new HubMetrics({
    providerOf: async (connectionId) => (await db.sql.query<{ provider: string }>('SELECT provider FROM directory_connection WHERE id = $1', [connectionId]))[0]?.provider ?? null,
  });
  engine.onCommitted((committed) => metrics.committed(committed));
  events.onFanOut((fanned) => metrics.published(fanned));
  metrics.gauge('event_subscribers', 'Lifecycle event subscriptions on this instance (deprovisionEvents, lifecycleEvents; graphql-ws and SSE).', () => events.snapshot().subscribers);
  metrics.gauge('event_bus_healthy', '1 when cross-instance event notifications flow (always 1 without REDIS_URL).', () => (events.bus.healthy ? 1 : 0));
  const auth = new ApiKeyAuthenticator(db.sql, { adminApiKey: config.adminApiKey });
  const bootstrapAdminKey = config.adminApiKey ? null : await ensureBootstrapAdminKey(db.sql);
  const closers: Array<() => Promise<void> | void> = [];
  const auditSigner = new AuditSigner(box);
  const anchorer = new AuditAnchorer({ sql: db.sql, signer: auditSigner, logger, intervalMs: config.auditAnchorIntervalMs });
  const outbound = new ConnectorOutbound(config.outbound);
  const revocations = new RevocationWorker({
    sql: db.sql, engine, registry, box, logger, outbound,
    maxAttempts: config.revocationMaxAttempts,
    retryBaseMs: config.revocationRetryBaseMs,
  });
  const hub: Hub = {
    config,
    db,
    engine,
    events,
    revocations,
    auditSigner,
    registry,
    outbound,
    box,
    auth,
    logger,
    metrics,
    sync: undefined as unknown as SyncService,
    publicUrl: config.publicUrl ?? `http://localhost:${config.port}`,
    onClose: (fn) => closers.push(fn),
    async close() {
      for (const fn of closers.reverse()) await fn();
      await engine.idle();
      await events.close();
      if (!options.db) await db.close();
    },
  };
  (hub as { sync: SyncService }).sync = new SyncService(hub, { pullIntervalMs: config.pullIntervalSeconds * 1000, ...options.sync });
  hub.onClose(() => hub.sync.stop());
  hub.sync.start();
  revocations.start();
  hub.onClose(() => revocations.stop());
  anchorer.start();
  hub.onClose(() => anchorer.stop());
  const requestLogRetention = new RequestLogRetention({ sql: db.sql, logger, retentionDays: config.requestLogRetentionDays, maxRowsPerConnection: config.requestLogMaxRowsPerConnection });
  requestLogRetention.start();
  hub.onClose(() => requestLogRetention.stop());
  return { hub, bootstrapAdminKey, generatedEncryptionKey: generated ? (path ?? null) : null };
}
