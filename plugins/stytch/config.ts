// Stytch B2B connection config (keys fixed by clients and scripts; optional ones may be added) and
// the SDK client built from it.
import { createHash } from 'node:crypto';
import { B2BClient, StytchError } from 'stytch';
import { z } from 'zod';
import { refusalIn, summarizeUpstream, type OutboundHttp } from 'lifecycle-hub/connector';
import { apiBaseUrl } from '../shared/api-base-url.ts';

/** Stytch's API hosts: live projects use api.stytch.com, test projects test.stytch.com (Stytch's docs, the SDK's envs). */
export const STYTCH_API_HOSTS = ['api.stytch.com', 'test.stytch.com'];

const environment = (id: string) => /^[a-z]+-(test|live)-/.exec(id)?.[1];

export const stytchConfigSchema = z
  .strictObject({
    webhookSigningSecret: z
      .string({ error: 'is required: the signing secret of your Stytch webhook endpoint, whsec_… (Stytch Dashboard → Webhooks)' })
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be the Svix signing secret of your Stytch webhook endpoint: "whsec_" followed by base64 (Stytch Dashboard → Webhooks)'),
    projectId: z
      .string({ error: 'is required: your Stytch project id, project-test-… or project-live-…' })
      .regex(/^project-(test|live)-[0-9a-f-]+$/, 'must be a Stytch project id: project-test-… or project-live-… (Stytch Dashboard → API Keys)'),
    secret: z
      .string({ error: 'is required: your Stytch project secret, secret-test-… or secret-live-…' })
      .regex(/^secret-(test|live)-[A-Za-z0-9_=-]+$/, 'must be a Stytch project secret: secret-test-… or secret-live-… (Stytch Dashboard → API Keys)'),
    stytchOrganizationId: z
      .string({ error: "is required: the Stytch organization whose members this connection follows, organization-test-… or organization-live-…" })
      .regex(/^organization-(test|live)-[0-9a-f-]+$/, 'must be a Stytch organization id: organization-test-… or organization-live-…'),
    apiBaseUrl: apiBaseUrl('https://api.stytch.com').optional(),
  })
  .superRefine((config, ctx) => {
    const project = environment(config.projectId);
    if (environment(config.secret) !== project) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: `is a ${environment(config.secret)} secret but projectId is a ${project} project: use the secret of the same project` });
    }
    if (environment(config.stytchOrganizationId) !== project) {
      ctx.addIssue({ code: 'custom', path: ['stytchOrganizationId'], message: `is a ${environment(config.stytchOrganizationId)} organization but projectId is a ${project} project` });
    }
  });

export type StytchConfig = z.infer<typeof stytchConfigSchema>;

// One SDK client per distinct project, secret and endpoint, per outbound guard (the SDK warns once
// per client about a custom plain-http `env`, which only a local stand-in uses).
const clientsByOutbound = new WeakMap<OutboundHttp, Map<string, B2BClient>>();

/** The SDK client, sending through the hub's outbound guard (the SDK's `dispatcher` option). */
export function stytchClient(config: StytchConfig, outbound: OutboundHttp): B2BClient {
  const key = createHash('sha256').update(`${config.projectId}\u0000${config.secret}\u0000${config.apiBaseUrl ?? ''}`).digest('hex');
  let clients = clientsByOutbound.get(outbound);
  if (!clients) clientsByOutbound.set(outbound, (clients = new Map()));
  let client = clients.get(key);
  if (!client) {
    if (clients.size >= 256) clients.clear();
    const base = config.apiBaseUrl ? `${new URL(config.apiBaseUrl).origin}/` : undefined;
    client = new B2BClient({
      project_id: config.projectId,
      secret: config.secret,
      // The SDK passes `timeout` to fetch, which ignores it: the guard's own timeouts bound each call.
      timeout: 30_000,
      dispatcher: outbound.dispatcher,
      // custom_base_url must be https; a loopback stand-in is reached through `env`.
      ...(base ? (base.startsWith('https://') ? { custom_base_url: base } : { env: base }) : {}),
    });
    clients.set(key, client);
  }
  return client;
}

/**
 * A Stytch API failure as an error that says what to do. StytchError's message is the whole JSON
 * answer and a RequestError's may quote the start of a body that is not JSON: neither is copied;
 * the status, error_type, error_message (on a 4xx) and request id are.
 */
export function stytchFailure(error: unknown, doing: string, config: StytchConfig): Error {
  const refused = refusalIn(error);
  if (refused) return refused;
  const secrets = [config.secret, config.webhookSigningSecret];
  if (error instanceof StytchError) {
    const summary = summarizeUpstream({ status: error.status_code, code: error.error_type, message: error.error_message, requestId: error.request_id }, secrets);
    if (error.status_code === 401 || error.status_code === 403) return new Error(`Stytch refused the projectId and secret while ${doing} (${summary}). Update the connection's secret (Stytch Dashboard → API Keys)`);
    return new Error(`Stytch answered ${summary} while ${doing}`);
  }
  const message = (error as Error | null)?.message ?? '';
  if (message.startsWith('Unable to parse JSON')) return new Error(`Stytch answered with a body that is not JSON while ${doing} (a proxy or an outage page in between?)`);
  if ((error as Error | null)?.name === 'RequestError' || message === 'fetch failed') {
    return new Error(`could not reach Stytch while ${doing}: ${message === 'fetch failed' ? 'no answer' : 'the request failed'}. Check the connection's apiBaseUrl and the network`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
