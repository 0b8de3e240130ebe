import { z } from 'zod';

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
});

export type Config = {
  port: number;
  host: string;
  publicUrl: string | undefined;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  adminApiKey: string | undefined;
  encryptionKey: string | undefined;
  plugins: string[];
  pullIntervalSeconds: number;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
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
    redisUrl: e.REDIS_URL,
    adminApiKey: e.ADMIN_API_KEY,
    encryptionKey: e.ENCRYPTION_KEY,
    plugins: e.LIFECYCLE_PLUGINS.split(',').map((s) => s.trim()).filter(Boolean),
    pullIntervalSeconds: e.PULL_INTERVAL_SECONDS,
    logLevel: e.LOG_LEVEL,
  };
}
