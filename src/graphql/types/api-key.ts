import { createApiKey, revokeApiKey } from '../../admin/api-keys.ts';
import { actorOf } from '../../auth/principal.ts';
import { builder } from '../builder.ts';
import { assertOrganization } from '../access.ts';
import { apiError } from '../errors.ts';

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
    input: { apiKeyId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const scope = ctx.principal?.kind === 'organization' ? ctx.principal.organizationId : null;
      await revokeApiKey(ctx.hub.db.sql, String(input.apiKeyId), actorOf(ctx.principal!), { organizationId: scope });
      ctx.hub.auth.forget();
      return { apiKeyId: String(input.apiKeyId), secret: null };
    },
  }),
}));
