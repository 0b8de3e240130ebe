import { createApiKey, revokeApiKey } from '../../tenancy/api-keys.ts';
import { actorOf } from '../../tenancy/principal.ts';
import { builder } from '../builder.ts';
import { assertOrganization, isUuid } from '../access.ts';
import { apiError, notFound } from '../errors.ts';

export const ApiKey = builder.prismaObject('ApiKey', {
  fields: (t) => ({
    id: t.exposeID('id'),
    organizationId: t.exposeID('organizationId', { nullable: true, description: 'null for an admin key.' }),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, to recognize it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ApiKeyPayload = builder.objectRef<{ apiKeyId: string; secret: string | null }>('ApiKeyPayload').implement({
  fields: (t) => ({
    apiKey: t.prismaField({ type: 'ApiKey', resolve: (query, p, _a, ctx) => ctx.hub.db.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: p.apiKeyId } }) }),
    secret: t.string({ nullable: true, description: 'The key itself: shown this once, stored only as a hash.', resolve: (p) => p.secret }),
  }),
});

builder.mutationFields((t) => ({
  createApiKey: t.fieldWithInput({
    type: ApiKeyPayload,
    authScopes: { authenticated: true },
    description: 'An organization-scoped key (or, for an admin key and no organizationId, another admin key).',
    input: { organizationId: t.input.id(), name: t.input.string({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const organizationId = input.organizationId ? assertOrganization(ctx, String(input.organizationId)) : null;
      if (!organizationId && ctx.principal?.kind !== 'admin') throw apiError('FORBIDDEN', 'only an admin key can create admin keys; pass organizationId');
      const { apiKey, secret } = await createApiKey(ctx.hub.db.sql, { organizationId, name: input.name }, actorOf(ctx.principal!));
      return { apiKeyId: apiKey.id, secret };
    },
  }),
  revokeApiKey: t.fieldWithInput({
    type: ApiKeyPayload,
    authScopes: { authenticated: true },
    description:
      'Takes effect at once on every instance: requests with the key are refused (UNAUTHENTICATED), its graphql-ws sockets are closed with code 4401 "API key revoked", and its SSE subscriptions end with an UNAUTHENTICATED error.',
    input: { apiKeyId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const principal = ctx.principal!;
      // Deny by default: only an admin is unscoped (a setup session never gets here: use-setup-restrictions.ts).
      const scope = principal.kind === 'admin' ? null : principal.organizationId;
      // Not a key id at all: the same NOT_FOUND as another organization's key (the database would refuse the cast).
      if (!isUuid(String(input.apiKeyId))) throw notFound('API key', String(input.apiKeyId));
      await revokeApiKey(ctx.hub.db.sql, String(input.apiKeyId), actorOf(ctx.principal!), { organizationId: scope });
      // Committed: every instance drops the key from its cache and ends its sockets and streams now.
      ctx.hub.credentials.revoked({ kind: 'api_key', id: String(input.apiKeyId) });
      return { apiKeyId: String(input.apiKeyId), secret: null };
    },
  }),
}));
