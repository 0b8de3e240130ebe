// Everything a running Lifecycle Hub is made of, wired once: the database, the lifecycle engine,
// the connectors, secrets and authentication. HTTP (src/http) and GraphQL (src/graphql) sit on it.
import { BrowserSessionResolver } from '../tenancy/browser-sessions.ts';
import { ensureBootstrapAdminKey } from '../tenancy/api-keys.ts';
import { AuditSigner } from '../audit/anchor.ts';
import { CredentialRevocations } from '../tenancy/credential-revocations.ts';
import { ApiKeyAuthenticator } from '../tenancy/principal.ts';
import type { Config } from './config.ts';
import type { AnyConnector } from '../connectors/contract.ts';
import { loadConnectors } from '../connectors/loader.ts';
import { ConnectorOutbound } from '../connectors/outbound.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import { openDatabase, type Database } from '../storage/database.ts';
import { LifecycleEngine } from '../engine/engine.ts';
import { createEventBus, EventStream } from '../events/index.ts';
import { AuditAnchorer } from '../jobs/audit-anchoring.ts';
import { ConnectionHealthJob } from '../jobs/connection-health.ts';
import { ConnectionLifecycle } from '../tenancy/connection-lifecycle.ts';
import { RequestLogRetention } from '../jobs/request-log-retention.ts';
import { RevocationWorker } from '../jobs/revocation.ts';
import { SyncService, type SyncOptions } from '../jobs/sync.ts';
import { reportUserNameCollisions } from '../jobs/user-name-collisions.ts';
import { createLogger, type Logger } from './logger.ts';
import { HubMetrics } from '../observability/metrics.ts';
import { SecretBox } from '../secrets/index.ts';
import { rememberSecret } from '../secrets/redact.ts';
import { hostname } from 'node:os';
import { createOutbound } from '../outbound/index.ts';
import type { EndpointDeps } from '../webhooks/endpoints.ts';
import { WebhookWorker } from '../webhooks/worker.ts';

export interface Hub {
  readonly config: Config;
  readonly db: Database;
  readonly engine: LifecycleEngine;
  /** Committed lifecycle events for subscriptions (src/events). */
  readonly events: EventStream;
  /** Revokes upstream-owned sessions and credentials at their source (src/jobs/revocation.ts). */
  readonly revocations: RevocationWorker;
  /** Signs audit chain heads with a key that is not in the database (src/audit). */
  readonly auditSigner: AuditSigner;
  readonly registry: ConnectorRegistry;
  /** Each connector's outbound guard (ctx.outbound) and the check of configured API base URLs. */
  readonly outbound: ConnectorOutbound;
  readonly box: SecretBox;
  readonly auth: ApiKeyAuthenticator;
  /** Console and setup browser sessions, from their cookies (src/tenancy/browser-sessions.ts). */
  readonly browserSessions: BrowserSessionResolver;
  /** Ends what runs under a revoked credential, on every instance (src/tenancy/credential-revocations.ts). */
  readonly credentials: CredentialRevocations;
  readonly logger: Logger;
  /** Prometheus metrics (src/observability), served at GET /metrics. */
  readonly metrics: HubMetrics;
  /** Connection statuses (activated, failing, stale, recovered): src/tenancy/connection-lifecycle.ts. */
  readonly lifecycle: ConnectionLifecycle;
  /** Finds STALE connections, expiring SCIM tokens and quiet first syncs (src/jobs/connection-health.ts). */
  readonly connectionHealth: ConnectionHealthJob;
  /** Backfill runs (syncConnection) and the pull poller (src/jobs). */
  readonly sync: SyncService;
  /** Outbound webhooks (src/webhooks): what endpoint changes need, and the delivery worker. */
  readonly webhooks: { deps: EndpointDeps; worker: WebhookWorker };
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
  const credentials = new CredentialRevocations({ bus: events.bus, sql: db.sql, auth, logger });
  const bootstrapAdminKey = config.adminApiKey ? null : await ensureBootstrapAdminKey(db.sql);
  const closers: Array<() => Promise<void> | void> = [];
  const auditSigner = new AuditSigner(box);
  const anchorer = new AuditAnchorer({ sql: db.sql, signer: auditSigner, logger, intervalMs: config.auditAnchorIntervalMs });
  const outbound = new ConnectorOutbound(config.outbound);
  const revocations = new RevocationWorker({
    sql: db.sql, engine, registry, box, logger, outbound,
    maxAttempts: config.revocationMaxAttempts,
    retryBaseMs: config.revocationRetryBaseMs,
    callTimeoutMs: config.revocationCallTimeoutMs,
  });
  const lifecycle = new ConnectionLifecycle({ sql: db.sql, engine, logger, failingAfter: config.connectionLifecycle.failingAfter });
  const connectionHealth = new ConnectionHealthJob({ sql: db.sql, engine, lifecycle, logger, intervalMs: config.connectionLifecycle.healthIntervalMs, ...config.connectionLifecycle });
  // Receivers are anywhere (no host allow-list); private networks only with OUTBOUND_ALLOW_PRIVATE_NETWORKS.
  const webhookPolicy = { name: 'webhook delivery', allowedHosts: null, allowPrivateNetworks: config.outbound.allowPrivateNetworks, limits: { connectTimeoutMs: Math.min(10_000, config.webhooks.timeoutMs), responseTimeoutMs: config.webhooks.timeoutMs } };
  const webhookWorker = new WebhookWorker({
    sql: db.sql, box, logger, metrics,
    outbound: createOutbound(webhookPolicy),
    retryScheduleMs: config.webhooks.retryScheduleMs,
    disableAfterMs: config.webhooks.disableAfterMs,
    timeoutMs: config.webhooks.timeoutMs,
    logRetentionMs: config.webhooks.logRetentionMs,
    host: config.publicUrl ? new URL(config.publicUrl).hostname : hostname(),
    onEvents: (committed) => engine.publish(committed),
  });
  // Deliveries are queued with the events they carry: the worker runs right after the commit.
  engine.onCommitted((committed) => webhookWorker.committed(committed));
  const hub: Hub = {
    config,
    lifecycle,
    connectionHealth,
    db,
    engine,
    events,
    revocations,
    auditSigner,
    registry,
    outbound,
    box,
    auth,
    browserSessions: new BrowserSessionResolver(db.sql, { adminApiKey: config.adminApiKey }),
    credentials,
    logger,
    metrics,
    sync: undefined as unknown as SyncService,
    webhooks: { deps: { sql: db.sql, box, policy: webhookPolicy }, worker: webhookWorker },
    publicUrl: config.publicUrl ?? `http://localhost:${config.port}`,
    onClose: (fn) => closers.push(fn),
    async close() {
      for (const fn of closers.reverse()) await fn();
      await engine.idle();
      await events.close();
      if (!options.db) await db.close();
    },
  };
  (hub as { sync: SyncService }).sync = new SyncService({ db, box: hub.box, engine, registry: hub.registry, outbound: hub.outbound, logger, metrics: hub.metrics, lifecycle }, { pullIntervalMs: config.pullIntervalSeconds * 1000, ...options.sync });
  const requestLogRetention = new RequestLogRetention({ sql: db.sql, logger, retentionDays: config.requestLogRetentionDays, maxRowsPerConnection: config.requestLogMaxRowsPerConnection });
  hub.onClose(() => credentials.stop());
  // The background jobs (src/jobs/README.md): each stops, after its run in progress, at close.
  for (const job of [hub.sync, revocations, anchorer, requestLogRetention, connectionHealth, webhookWorker]) {
    job.start();
    hub.onClose(() => job.stop());
  }
  return { hub, bootstrapAdminKey, generatedEncryptionKey: generated ? (path ?? null) : null };
}
