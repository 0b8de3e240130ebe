import type { Prisma } from '../../generated/prisma/client.ts';
import { createOrganization, updateIdentitySettings } from '../../tenancy/organizations.ts';
import { actorOf } from '../../tenancy/principal.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { builder } from '../builder.ts';
import { assertOrganization, assertSetUpOrganization, isUuid } from '../access.ts';
import { apiError } from '../errors.ts';
import { User } from './user.ts';
import { IdentityLinkingEnum, UserStateEnum } from './enums.ts';

export const Organization = builder.prismaObject('Organization', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    slug: t.exposeString('slug'),
    roleRanking: t.exposeStringList('roleRanking', { description: 'Roles from lowest to highest; the last is the admin role.' }),
    defaultRole: t.exposeString('defaultRole', { nullable: true, description: 'The role of a user no mapped group grants one.' }),
    identityLinking: t.expose('identityLinking', { type: IdentityLinkingEnum }),
    authoritativeConnectionId: t.exposeID('authoritativeConnectionId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    connections: t.relation('connections', { query: { where: { deletedAt: null }, orderBy: { createdAt: 'asc' } } }),
    // Keyset pagination (id > after) rather than Prisma's `cursor`: with a cursor, Prisma gives up
    // relation joins and loads the page's memberships and groups in statements of their own; this
    // way a page of users with groups and roles is one statement (test/graphql/users-page-statements).
    users: t.connection(
      {
        type: User,
        args: {
          state: t.arg({ type: UserStateEnum, description: 'Default: every state but DELETED.' }),
          search: t.arg.string({ description: 'Part of an email, userName or display name; or an exact externalId.' }),
          connectionId: t.arg.id(),
        },
        resolve: async (organization, args, ctx, info) => {
          const where = { organizationId: organization.id, ...usersWhere(args) };
          const connection = await resolveCursorConnection(
            { args, toCursor: (user) => (user as { id: string }).id, defaultSize: 50, maxSize: 500 },
            ({ before, after, limit, inverted }) => {
              if ((after && !isUuid(after)) || (before && !isUuid(before))) throw apiError('BAD_USER_INPUT', 'after and before take a cursor from this connection');
              return ctx.hub.db.prisma.directoryUser.findMany({
                ...queryFromInfo({ context: ctx, info, path: ['edges', 'node'], typeName: 'User' }),
                where: { ...where, ...(after || before ? { id: { ...(after ? { gt: after } : {}), ...(before ? { lt: before } : {}) } } : {}) },
                orderBy: { id: inverted ? 'desc' : 'asc' },
                take: limit,
              });
            },
          );
          // totalCount only when selected (graphql-js calls the function then).
          return { ...connection, totalCount: () => ctx.hub.db.prisma.directoryUser.count({ where }) } as never;
        },
      },
      { name: 'OrganizationUsersConnection', fields: (c) => ({ totalCount: c.int({ resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount() }) }) },
      { name: 'OrganizationUsersConnectionEdge' },
    ),
    setupLinks: t.relation('setupLinks', {
      description: 'Setup links handed to this organization, newest first (at most 200).',
      query: { orderBy: { createdAt: 'desc' }, take: 200 },
    }),
    // Newest first, paged by seq (the chain's own order, unique per organization and indexed): the
    // console's audit screen. Not a Relay connection: seq is already the cursor auditors know.
    auditLog: t.relation('auditEvents', {
      description: 'Audit rows, newest first. Page back with `beforeSeq` = the last row\'s seq. The whole log: GET /audit/<organizationId>.csv.',
      args: {
        first: t.arg.int({ defaultValue: 50, description: 'How many (at most 200).' }),
        beforeSeq: t.arg.string({ description: 'Only rows before this seq.' }),
      },
      query: (args) => {
        if (args.beforeSeq != null && !/^[1-9]\d{0,18}$/.test(args.beforeSeq)) throw apiError('BAD_USER_INPUT', 'beforeSeq takes a seq of this log (a positive integer)', { field: 'beforeSeq' });
        return {
          where: args.beforeSeq != null ? { seq: { lt: BigInt(args.beforeSeq) } } : {},
          orderBy: { seq: 'desc' as const },
          take: Math.min(Math.max(args.first ?? 50, 1), 200),
        };
      },
    }),
    groups: t.relatedConnection('groups', {
      cursor: 'id',
      totalCount: true,
      args: { search: t.arg.string() },
      query: (args) => ({
        where: { deletedAt: null, ...(args.search ? { displayName: { contains: args.search, mode: 'insensitive' as const } } : {}) },
        orderBy: { id: 'asc' },
      }),
    }),
  }),
});

export function usersWhere(args: { state?: 'ACTIVE' | 'DEPROVISIONED' | 'DELETED' | null; search?: string | null; connectionId?: string | null }): Prisma.DirectoryUserWhereInput {
  const search = args.search?.trim();
  return {
    state: args.state ?? { not: 'DELETED' },
    ...(args.connectionId ? { connectionId: args.connectionId } : {}),
    ...(search
      ? {
          OR: [
            { email: { contains: search, mode: 'insensitive' } },
            { userName: { contains: search, mode: 'insensitive' } },
            { displayName: { contains: search, mode: 'insensitive' } },
            { externalId: search },
          ],
        }
      : {}),
  };
}

builder.queryFields((t) => ({
  organization: t.prismaField({
    type: 'Organization',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { authenticated: true },
    resolve: (query, _root, args, ctx) => {
      // A setup session reads its own (only the fields use-setup-restrictions.ts lets it select).
      const id = assertSetUpOrganization(ctx, String(args.id));
      return ctx.hub.db.prisma.organization.findUnique({ ...query, where: { id } });
    },
  }),
  organizations: t.prismaField({
    type: ['Organization'],
    description: 'Every organization this key may see: all for an admin key, its own for an organization key.',
    authScopes: { authenticated: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.hub.db.prisma.organization.findMany({
        ...query,
        // Deny by default: only an admin sees every organization.
        where: ctx.principal?.kind === 'admin' ? {} : { id: ctx.principal?.organizationId ?? '00000000-0000-0000-0000-000000000000' },
        orderBy: { createdAt: 'asc' },
        take: 1000,
      }),
  }),
}));

const OrganizationPayload = builder.objectRef<{ organizationId: string }>('OrganizationPayload').implement({
  fields: (t) => ({
    organization: t.prismaField({
      type: 'Organization',
      resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.organization.findUniqueOrThrow({ ...query, where: { id: p.organizationId } }),
    }),
  }),
});

builder.mutationFields((t) => ({
  createOrganization: t.fieldWithInput({
    type: OrganizationPayload,
    authScopes: { admin: true },
    input: {
      name: t.input.string({ required: true }),
      slug: t.input.string({ required: true, description: 'Lower-case letters, digits and dashes; unique.' }),
    },
    resolve: async (_root, { input }, ctx) => {
      const org = await createOrganization(ctx.hub.db.sql, input, actorOf(ctx.principal!));
      return { organizationId: org.id };
    },
  }),
  updateOrganizationSettings: t.fieldWithInput({
    type: OrganizationPayload,
    authScopes: { authenticated: true },
    input: {
      organizationId: t.input.id({ required: true }),
      roleRanking: t.input.stringList({ description: 'Lowest first; the last is the admin role.' }),
      defaultRole: t.input.string(),
      clearDefaultRole: t.input.boolean({ description: 'Give users no mapped group reaches no role at all.' }),
      identityLinking: t.input.field({ type: IdentityLinkingEnum }),
      authoritativeConnectionId: t.input.id(),
    },
    resolve: async (_root, { input }, ctx) => {
      const organizationId = assertOrganization(ctx, String(input.organizationId));
      const actor = actorOf(ctx.principal!);
      const defaultRole = input.clearDefaultRole ? null : (input.defaultRole ?? undefined);
      if (input.roleRanking || defaultRole !== undefined) {
        // Roles of every member follow: the engine recomputes them in the same transaction.
        await ctx.hub.engine.execute({ organizationId, actor, commands: [{ type: 'setRoleSettings', roleRanking: input.roleRanking ?? undefined, defaultRole }] });
      }
      await updateIdentitySettings(ctx.hub.db.sql, organizationId, {
        identityLinking: input.identityLinking ?? undefined,
        authoritativeConnectionId: input.authoritativeConnectionId === undefined ? undefined : (input.authoritativeConnectionId as string | null),
      }, actor);
      return { organizationId };
    },
  }),
}));
