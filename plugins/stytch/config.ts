// Stytch B2B connection config (keys fixed by clients and scripts; optional ones may be added) and
// the SDK client built from it.
import { createHash } from 'node:crypto';
import { B2BClient } from 'stytch';
import { z } from 'zod';
import { apiBaseUrl } from '../shared/api-base-url.ts';

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

// One SDK client per distinct project, secret and endpoint (the SDK warns once per client about a
// custom plain-http `env`, which only a local stand-in uses).
const clients = new Map<string, B2BClient>();

export function stytchClient(config: StytchConfig): B2BClient {
  const key = createHash('sha256').update(`${config.projectId}\u0000${config.secret}\u0000${config.apiBaseUrl ?? ''}`).digest('hex');
  let client = clients.get(key);
  if (!client) {
    if (clients.size >= 256) clients.clear();
    const base = config.apiBaseUrl ? `${new URL(config.apiBaseUrl).origin}/` : undefined;
    client = new B2BClient({
      project_id: config.projectId,
      secret: config.secret,
      timeout: 30_000,
      // custom_base_url must be https; a loopback stand-in is reached through `env`.
      ...(base ? (base.startsWith('https://') ? { custom_base_url: base } : { env: base }) : {}),
    });
    clients.set(key, client);
  }
  return client;
}
