import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_OPERATION_LIMITS, type OperationLimits } from './graphql/plugins/use-operation-limits.ts';

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
  /** When set, GET /metrics requires Authorization: Bearer <this token>. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  /** Outbound requests (vendor APIs) may reach private, loopback and link-local addresses (tests, a private proxy). */
  OUTBOUND_ALLOW_PRIVATE_NETWORKS: z.enum(['true', 'false'], { error: 'OUTBOUND_ALLOW_PRIVATE_NETWORKS must be true or false' }).default('false'),
  /** Hosts every connector may reach besides its vendor's documented API hosts (a proxy, a test stand-in). */
  OUTBOUND_ALLOWED_HOSTS: z
    .string()
    .default('')
    .refine((v) => v.split(',').map((h) => h.trim()).filter(Boolean).every((h) => isIP(h.replace(/^\[(.*)\]$/, '$1')) !== 0 || /^[A-Za-z0-9.-]+$/.test(h)), 'OUTBOUND_ALLOWED_HOSTS must be host names or IP addresses separated by commas, without scheme, port or path'),
  /** Proxies of yours in front of the hub: the client address is the one the outermost of them saw (X-Forwarded-For). 0: the socket's. */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  /** Failed authentications (SCIM token, API key, webhook signature) one client address may make per window before 429. */
  AUTH_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(20),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
});

export type Config = {
  port: number;
  host: string;
  publicUrl: string | undefined;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  pgliteSharedBuffersMb: number;
  redisUrl: string | undefined;
  adminApiKey: string | undefined;
  encryptionKey: string | undefined;
  plugins: string[];
  pullIntervalSeconds: number;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
  subscriberBufferEvents: number;
  subscriberMaxLagMs: number;
  eventsPollIntervalMs: number;
  revocationMaxAttempts: number;
  revocationRetryBaseMs: number;
  auditAnchorIntervalMs: number;
  requestLogRetentionDays: number;
  requestLogMaxRowsPerConnection: number;
  graphqlLimits: OperationLimits;
  metricsToken: string | undefined;
  outbound: { allowPrivateNetworks: boolean; allowedHosts: string[] };
  authFailures: { trustProxy: number; failuresPerAddress: number; windowSeconds: number };
};

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  return {
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
    auditAnchorIntervalMs: e.AUDIT_ANCHOR_INTERVAL_MS,
    requestLogRetentionDays: e.REQUEST_LOG_RETENTION_DAYS,
    requestLogMaxRowsPerConnection: e.REQUEST_LOG_MAX_ROWS_PER_CONNECTION,
    graphqlLimits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxCost: e.GRAPHQL_MAX_COST,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
    },
    metricsToken: e.METRICS_TOKEN,
    outbound: {
      allowPrivateNetworks: e.OUTBOUND_ALLOW_PRIVATE_NETWORKS === 'true',
      allowedHosts: e.OUTBOUND_ALLOWED_HOSTS.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    },
    authFailures: { trustProxy: e.TRUST_PROXY, failuresPerAddress: e.AUTH_FAILURES_PER_ADDRESS, windowSeconds: e.AUTH_FAILURE_WINDOW_SECONDS },
  };
}
