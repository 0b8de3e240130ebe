// WorkOS connection config (keys fixed by clients and scripts; optional ones may be added) and the
// SDK client built from it.
import { createHash } from 'node:crypto';
import { WorkOS } from '@workos-inc/node';
import { z } from 'zod';
import { refusalIn, safeLine, summarizeUpstream, type OutboundHttp } from 'lifecycle-hub/connector';
import { apiBaseUrl } from '../shared/api-base-url.ts';

export const DEFAULT_API_BASE_URL = 'https://api.workos.com';
/** The WorkOS API host (@workos-inc/node's DEFAULT_HOSTNAME; WorkOS's API reference names the same). */
export const WORKOS_API_HOSTS = ['api.workos.com'];

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

// One SDK client per distinct key and endpoint (per outbound guard): building one per webhook
// would be wasted work.
const clientsByOutbound = new WeakMap<OutboundHttp, Map<string, WorkOS>>();

/** The SDK client, sending through the hub's outbound guard (the SDK's fetchFn option). */
export function workosClient(config: WorkosConfig, outbound: OutboundHttp): WorkOS {
  const base = new URL(config.apiBaseUrl ?? DEFAULT_API_BASE_URL);
  const key = createHash('sha256').update(`${config.apiKey}\u0000${base.origin}\u0000${config.apiMaxRetries ?? ''}`).digest('hex');
  let clients = clientsByOutbound.get(outbound);
  if (!clients) clientsByOutbound.set(outbound, (clients = new Map()));
  let client = clients.get(key);
  if (!client) {
    if (clients.size >= 256) clients.clear();
    client = new WorkOS(config.apiKey, {
      apiHostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      https: base.protocol === 'https:',
      ...(base.port ? { port: Number(base.port) } : {}),
      ...(config.apiMaxRetries !== undefined ? { maxRetries: config.apiMaxRetries } : {}),
      fetchFn: outbound.fetch,
    });
    clients.set(key, client);
  }
  return client;
}

/**
 * A WorkOS API failure as an error that says what to do. The answer is summarized (status, its
 * code, its message on a 4xx, the request id), never copied: the SDK keeps the raw body on its
 * errors (rawData, a ParseError's rawBody and message) and this error has none of it.
 */
export function workosFailure(error: unknown, doing: string, config: WorkosConfig): Error {
  const refused = refusalIn(error);
  if (refused) return refused;
  // The SDK wraps what its HTTP client threw, other than an HTTP error, as "Unexpected error: …".
  const wrapped = error instanceof Error && error.message.startsWith('Unexpected error:');
  const e = ((wrapped ? (error as { cause?: unknown }).cause : error) ?? {}) as { name?: unknown; status?: unknown; rawStatus?: unknown; code?: unknown; message?: unknown; requestID?: unknown; cause?: unknown };
  const secrets = [config.apiKey, config.webhookSecret];
  if (e.name === 'ParseError') {
    return new Error(`WorkOS answered ${summarizeUpstream({ status: Number(e.rawStatus), requestId: e.requestID })} with a body that is not JSON while ${doing} (a proxy or an outage page in between?)`);
  }
  if (wrapped) {
    // No answer (fetch failed): say why the connection failed.
    const network = e.cause as { code?: unknown; message?: unknown } | undefined;
    const why = safeLine(network?.code ?? network?.message, secrets) ?? 'no answer';
    return new Error(`could not reach WorkOS at ${config.apiBaseUrl ?? DEFAULT_API_BASE_URL} while ${doing}: ${why}. Check the connection's apiBaseUrl and the network`);
  }
  // Not an answer of WorkOS's (an SDK error reading one): as it is.
  if (typeof e.status !== 'number') return error instanceof Error ? error : new Error(String(error));
  const summary = summarizeUpstream({ status: e.status, code: e.code, message: e.message, requestId: e.requestID }, secrets);
  if (e.status === 401) return new Error(`WorkOS refused the apiKey while ${doing} (${summary}). Update the connection's apiKey (WorkOS Dashboard → API Keys)`);
  if (e.status === 429) return new Error(`WorkOS rate-limited the hub while ${doing} (${summary}); the next sync or poll retries`);
  return new Error(`WorkOS answered ${summary} while ${doing}`);
}
