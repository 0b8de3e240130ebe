import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import WithInputPlugin from '@pothos/plugin-with-input';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { canAccessOrganization } from '../auth/principal.ts';
import type PrismaTypes from '../generated/pothos-prisma-types.ts';
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import type { GraphQLContext } from './context.ts';
import { apiError } from './errors.ts';

export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  AuthScopes: {
    authenticated: boolean;
    admin: boolean;
    organization: string;
  };
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, WithInputPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({
      authenticated: ctx.principal !== null,
      admin: ctx.principal?.kind === 'admin',
      organization: (organizationId) => canAccessOrganization(ctx.principal, organizationId),
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.principal ? apiError('FORBIDDEN', 'this key may not do that') : apiError('UNAUTHENTICATED', 'send an API key: Authorization: Bearer <key>'),
  },
  prisma: {
    client: (ctx) => ctx.hub.db.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    maxConnectionSize: 500,
    defaultConnectionSize: 50,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
  },
  withInput: {
    typeOptions: {},
    argOptions: { required: true },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({});
builder.mutationType({});
