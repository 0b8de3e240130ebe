import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_OPERATION_LIMITS, type OperationLimits } from '../graphql/plugins/use-operation-limits.ts';
import { isExactOrigin } from '../http/cors.ts';
import { isFrameAncestorsList } from '../http/frame-ancestors.ts';

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  /** Absolute base URL clients and identity providers reach this server at (scimBaseUrl, webhookUrl). */
  PUBLIC_URL: z.url().optional(),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),
  /** The embedded database's buffer cache, in MB (PostgreSQL's shared_buffers; its WASM memory holds it whole). */
  PGLITE_SHARED_BUFFERS_MB: z.coerce.number().int().min(1).max(4096).default(128),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// URL')
    .optional(),
  ADMIN_API_KEY: z.string().min(16, 'ADMIN_API_KEY must be at least 16 characters').optional(),
  /** 32 bytes, base64 or hex: encrypts connector secrets. Generated under DATA_DIR when unset. */
  ENCRYPTION_KEY: z.string().optional(),
  LIFECYCLE_PLUGINS: z.string().default(''),
  /** How often connections with an ordered feed (WorkOS Events API...) are read; webhooks also wake them. */
  PULL_INTERVAL_SECONDS: z.coerce.number().positive().max(86_400).default(60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Undelivered events a subscription may hold before it is closed with SUBSCRIBER_TOO_SLOW. */
  SUBSCRIBER_BUFFER_EVENTS: z.coerce.number().int().min(10).max(1_000_000).default(1000),
  /** Safety-net database poll of each organization with subscribers (notifications do the work; this catches a lost one). */
  EVENTS_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
  /** How long a subscription may stay behind (after overflowing its buffer) before it is closed. */
  SUBSCRIBER_MAX_LAG_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** Attempts to revoke an upstream session or credential before it is marked FAILED. */
  REVOCATION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  /** First retry delay; each next one doubles (with jitter), up to 15 minutes. */
  REVOCATION_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(2000),
  /** A connector's revoke call taking longer is cancelled (its request closed) and retried. */
  REVOCATION_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** How often each organization's audit chain head is signed (when it moved). */
  AUDIT_ANCHOR_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
  // connection.requestLog keeps this many days, and at most this many rows per connection.
  REQUEST_LOG_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(30),
  REQUEST_LOG_MAX_ROWS_PER_CONNECTION: z.coerce.number().int().min(100).max(10_000_000).default(10_000),
  /** Bounds on one GraphQL operation (HTTP and graphql-ws); see src/graphql/plugins/use-operation-limits.ts. */
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(1).max(1000).default(DEFAULT_OPERATION_LIMITS.maxDepth),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(1).max(100_000_000).default(DEFAULT_OPERATION_LIMITS.maxCost),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(100_000).default(DEFAULT_OPERATION_LIMITS.maxAliases),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(100_000).default(DEFAULT_OPERATION_LIMITS.maxDirectives),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(10_000_000).default(DEFAULT_OPERATION_LIMITS.maxTokens),
  /** Browser origins allowed to call /graphql from another origin (src/http/cors.ts); none by default. */
  CORS_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(isExactOrigin, 'CORS_ALLOWED_ORIGINS takes exact origins, comma-separated, as browsers send them: scheme://host[:port] in lower case, no path, no trailing slash, no wildcard (e.g. https://app.example.com)'))),
  /**
   * Who may embed the setup portal in a frame: the CSP frame-ancestors source list of the portal
   * pages (src/http/ui.ts; checked by src/http/frame-ancestors.ts), e.g. "'self' https://app.example.com".
   */
  SETUP_FRAME_ANCESTORS: z
    .string()
    .default("'self'")
    .refine(isFrameAncestorsList, "SETUP_FRAME_ANCESTORS takes CSP frame-ancestors sources separated by spaces: 'self', 'none', or origins such as https://app.example.com or https://*.example.com")
    .transform((value) => value.trim().split(/\s+/).join(' ')),
  /** When set, GET /metrics requires Authorization: Bearer <this token>. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  /** Outbound requests (vendor APIs) may reach private, loopback and link-local addresses (tests, a private proxy). */
  OUTBOUND_ALLOW_PRIVATE_NETWORKS: z.enum(['true', 'false'], { error: 'OUTBOUND_ALLOW_PRIVATE_NETWORKS must be true or false' }).default('false'),
  /** Hosts every connector may reach besides its vendor's documented API hosts (a proxy, a test stand-in). */
  OUTBOUND_ALLOWED_HOSTS: z
    .string()
    .default('')
    .refine((v) => v.split(',').map((h) => h.trim()).filter(Boolean).every((h) => isIP(h.replace(/^\[(.*)\]$/, '$1')) !== 0 || /^[A-Za-z0-9.-]+$/.test(h)), 'OUTBOUND_ALLOWED_HOSTS must be host names or IP addresses separated by commas, without scheme, port or path'),
  /** A connection whose last this many requests or pulls failed in a row is FAILING (src/tenancy/connection-lifecycle.ts). */
  CONNECTION_FAILING_AFTER: z.coerce.number().int().min(1).max(10_000).default(5),
  /** An ACTIVE connection nothing was received from for this long is STALE. */
  CONNECTION_STALE_AFTER_SECONDS: z.coerce.number().positive().max(31_536_000).default(86_400),
  /** firstSync.completedAt: the first sync is complete once nothing was received for this long (or the first backfill finished). */
  FIRST_SYNC_QUIET_SECONDS: z.coerce.number().positive().max(86_400).default(60),
  /** connection.token_expiring is emitted this long before a SCIM token's expiresAt. */
  SCIM_TOKEN_EXPIRY_WARNING_SECONDS: z.coerce.number().positive().max(31_536_000).default(7 * 86_400),
  /** How often the connection-health job looks for STALE connections, expiring tokens and quiet first syncs. */
  CONNECTION_HEALTH_INTERVAL_MS: z.coerce.number().int().min(50).max(86_400_000).default(60_000),
  /** Proxies of yours in front of the hub: the client address is the one the outermost of them saw (X-Forwarded-For). 0: the socket's. */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  /** Failed authentications (SCIM token, API key, webhook signature) one client address may make per window before 429. */
  AUTH_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(20),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Seconds before each webhook retry after the first attempt (Svix's schedule: 5 s … 10 h, about a day in all). */
  WEBHOOK_RETRY_SCHEDULE_SECONDS: z
    .string()
    .default('5,300,1800,7200,18000,36000,36000')
    .transform((list) => list.split(',').map((s) => Number(s.trim())))
    .pipe(z.array(z.number().positive().max(7 * 86_400)).min(1).max(50)),
  /** An endpoint whose deliveries have failed (no success between) for this long is disabled. */
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce.number().positive().max(24 * 365).default(120),
  /** Delivered and failed webhook deliveries (and their attempt log) are kept this many days. */
  WEBHOOK_LOG_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(30),
  /** One webhook request (connect to last byte) taking longer fails and is retried. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
});

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = Settings.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  return parsed.data;
}

// The settings as the hub uses them; their type is derived from here, so it cannot drift from the parsing.
const Settings = Env.transform((e) => ({
  port: e.PORT,
  host: e.HOST,
  publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
  dataDir: e.DATA_DIR,
  databaseUrl: e.DATABASE_URL,
  databasePoolSize: e.DATABASE_POOL_SIZE,
  pgliteSharedBuffersMb: e.PGLITE_SHARED_BUFFERS_MB,
  redisUrl: e.REDIS_URL,
  adminApiKey: e.ADMIN_API_KEY,
  encryptionKey: e.ENCRYPTION_KEY,
  plugins: e.LIFECYCLE_PLUGINS.split(',').map((s) => s.trim()).filter(Boolean),
  pullIntervalSeconds: e.PULL_INTERVAL_SECONDS,
  logLevel: e.LOG_LEVEL,
  subscriberBufferEvents: e.SUBSCRIBER_BUFFER_EVENTS,
  subscriberMaxLagMs: e.SUBSCRIBER_MAX_LAG_MS,
  eventsPollIntervalMs: e.EVENTS_POLL_INTERVAL_MS,
  revocationMaxAttempts: e.REVOCATION_MAX_ATTEMPTS,
  revocationRetryBaseMs: e.REVOCATION_RETRY_BASE_MS,
  revocationCallTimeoutMs: e.REVOCATION_CALL_TIMEOUT_MS,
  auditAnchorIntervalMs: e.AUDIT_ANCHOR_INTERVAL_MS,
  requestLogRetentionDays: e.REQUEST_LOG_RETENTION_DAYS,
  requestLogMaxRowsPerConnection: e.REQUEST_LOG_MAX_ROWS_PER_CONNECTION,
  graphqlLimits: <OperationLimits>{
    maxDepth: e.GRAPHQL_MAX_DEPTH,
    maxCost: e.GRAPHQL_MAX_COST,
    maxAliases: e.GRAPHQL_MAX_ALIASES,
    maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
    maxTokens: e.GRAPHQL_MAX_TOKENS,
  },
  corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS,
  setupFrameAncestors: e.SETUP_FRAME_ANCESTORS.trim().split(/\s+/).join(' '),
  metricsToken: e.METRICS_TOKEN,
  outbound: {
    allowPrivateNetworks: e.OUTBOUND_ALLOW_PRIVATE_NETWORKS === 'true',
    allowedHosts: e.OUTBOUND_ALLOWED_HOSTS.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
  },
  connectionLifecycle: {
    failingAfter: e.CONNECTION_FAILING_AFTER,
    staleAfterMs: e.CONNECTION_STALE_AFTER_SECONDS * 1000,
    firstSyncQuietMs: e.FIRST_SYNC_QUIET_SECONDS * 1000,
    tokenExpiryWarningMs: e.SCIM_TOKEN_EXPIRY_WARNING_SECONDS * 1000,
    healthIntervalMs: e.CONNECTION_HEALTH_INTERVAL_MS,
  },
  webhooks: {
    retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE_SECONDS.map((seconds) => Math.round(seconds * 1000)),
    disableAfterMs: Math.round(e.WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000),
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    logRetentionMs: Math.round(e.WEBHOOK_LOG_RETENTION_DAYS * 86_400_000),
  },
  authFailures: { trustProxy: e.TRUST_PROXY, failuresPerAddress: e.AUTH_FAILURES_PER_ADDRESS, windowSeconds: e.AUTH_FAILURE_WINDOW_SECONDS },
}));

export type Config = z.output<typeof Settings>;
