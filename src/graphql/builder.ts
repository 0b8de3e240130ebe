import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import WithInputPlugin from '@pothos/plugin-with-input';
import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { canAccessOrganization } from '../tenancy/principal.ts';
import type PrismaTypes from '../generated/pothos-prisma-types.ts';
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import type { GraphQLContext } from './context.ts';
import { apiError } from './errors.ts';
import { CONNECTION_PAGE_SIZE } from './page-size.ts';
import { untrustedValueError } from './plugins/use-safe-variables.ts';

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
    maxConnectionSize: CONNECTION_PAGE_SIZE.max,
    defaultConnectionSize: CONNECTION_PAGE_SIZE.default,
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
// JSON arguments (a connection's config) are checked like variables: a literal object may hold a
// "__proto__" field too (use-safe-variables.ts).
const checkedJson = <T>(value: T): T => {
  const error = untrustedValueError(value, 'a JSON argument');
  if (error) throw error;
  return value;
};
builder.addScalarType(
  'JSON',
  new GraphQLScalarType({
    ...JSONResolver.toConfig(),
    parseValue: (value) => checkedJson(JSONResolver.parseValue(value)),
    parseLiteral: (ast, variables) => checkedJson(JSONResolver.parseLiteral(ast, variables)),
  }),
);

builder.queryType({});
builder.mutationType({});
