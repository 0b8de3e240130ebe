// WorkOS connection config (keys fixed by clients and scripts; optional ones may be added) and the
// SDK client built from it.
import { createHash } from 'node:crypto';
import { WorkOS } from '@workos-inc/node';
import { z } from 'zod';
import { apiBaseUrl } from '../shared/api-base-url.ts';

export const DEFAULT_API_BASE_URL = 'https://api.workos.com';

export const workosConfigSchema = z.strictObject({
  webhookSecret: z
    .string({ error: 'is required: the signing secret of your WorkOS webhook endpoint (WorkOS Dashboard → Webhooks)' })
    .min(1, 'is required: the signing secret of your WorkOS webhook endpoint (WorkOS Dashboard → Webhooks)'),
  apiKey: z
    .string({ error: 'is required: a WorkOS secret API key (sk_…), used for backfill and the Events API' })
    .regex(/^sk_[A-Za-z0-9_]+$/, 'must be a WorkOS secret API key: it starts with "sk_" (WorkOS Dashboard → API Keys)'),
  apiBaseUrl: apiBaseUrl(DEFAULT_API_BASE_URL).optional(),
  directoryId: z
    .string({ error: 'must be a WorkOS directory id such as directory_01E…' })
    .regex(/^directory_[0-9A-Za-z]+$/, 'must be a WorkOS directory id such as directory_01E…')
    .optional(),
  /** Narrows Events API reads and directory listing to one WorkOS organization. */
  organizationId: z
    .string({ error: 'must be a WorkOS organization id such as org_01E…' })
    .regex(/^org_[0-9A-Za-z]+$/, 'must be a WorkOS organization id such as org_01E…')
    .optional(),
  useEventsApi: z.boolean({ error: 'must be true or false' }).optional(),
  /** dsync.deleted: "deprovision" (default) deletes the directory's users and groups here, "ignore" only acknowledges it. */
  onDirectoryDeleted: z.enum(['deprovision', 'ignore'], { error: 'must be "deprovision" or "ignore"' }).optional(),
  /** Retries of a failed WorkOS API call (429/5xx/network), with backoff; the SDK's default is 3. */
  apiMaxRetries: z.number({ error: 'must be a whole number from 0 to 10' }).int('must be a whole number from 0 to 10').min(0).max(10).optional(),
});

export type WorkosConfig = z.infer<typeof workosConfigSchema>;

// One SDK client per distinct key and endpoint: building one per webhook would be wasted work.
const clients = new Map<string, WorkOS>();

export function workosClient(config: WorkosConfig): WorkOS {
  const base = new URL(config.apiBaseUrl ?? DEFAULT_API_BASE_URL);
  const key = createHash('sha256').update(`${config.apiKey}\u0000${base.origin}\u0000${config.apiMaxRetries ?? ''}`).digest('hex');
  let client = clients.get(key);
  if (!client) {
    if (clients.size >= 256) clients.clear();
    client = new WorkOS(config.apiKey, {
      apiHostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      https: base.protocol === 'https:',
      ...(base.port ? { port: Number(base.port) } : {}),
      ...(config.apiMaxRetries !== undefined ? { maxRetries: config.apiMaxRetries } : {}),
    });
    clients.set(key, client);
  }
  return client;
}
