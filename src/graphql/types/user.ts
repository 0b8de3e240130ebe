import { actorOf, canAccessOrganization } from '../../tenancy/principal.ts';
import { formatRoles } from '../../engine/roles.ts';
import type { GraphQLContext } from '../context.ts';
import { builder } from '../builder.ts';
import { isUuid, userOrganization } from '../access.ts';
import { notFound } from '../errors.ts';
import { CONNECTION_PAGE_SIZE } from '../page-size.ts';
import { UserStateEnum } from './enums.ts';
import { CredentialKindEnum } from './session.ts';
import { Group } from './group.ts';

const EmailAddress = builder.objectRef<{ value: string; type?: string | null; primary?: boolean | null; verified?: boolean | null }>('EmailAddress').implement({
  fields: (t) => ({
    value: t.exposeString('value'),
    type: t.string({ nullable: true, resolve: (e) => e.type ?? null }),
    primary: t.boolean({ resolve: (e) => e.primary ?? false }),
    verified: t.boolean({ nullable: true, resolve: (e) => e.verified ?? null }),
  }),
});

const RoleAssignment = builder.objectRef<{ workspace: string | null; role: string }>('RoleAssignment').implement({
  fields: (t) => ({
    workspace: t.string({ nullable: true, description: 'null for the organization itself.', resolve: (r) => r.workspace }),
    role: t.exposeString('role'),
  }),
});

export const User = builder.prismaObject('DirectoryUser', {
  name: 'User',
  description: "A person as one connection's source knows them.",
  // Select mode: a query reads the columns its fields need (a users page does not carry every
  // user's custom attributes, source data and emails through the database, Prisma and the heap).
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    organizationId: t.exposeID('organizationId'),
    sourceId: t.exposeString('sourceId', { description: 'The id at the source (for SCIM, the resource id this hub issued).' }),
    externalId: t.exposeString('externalId', { nullable: true }),
    userName: t.exposeString('userName', { nullable: true }),
    email: t.exposeString('email', { nullable: true, description: 'The primary email.' }),
    emails: t.field({ type: [EmailAddress], select: { emails: true }, resolve: (u) => (Array.isArray(u.emails) ? (u.emails as never[]) : []) }),
    givenName: t.exposeString('givenName', { nullable: true }),
    familyName: t.exposeString('familyName', { nullable: true }),
    displayName: t.exposeString('displayName', { nullable: true }),
    title: t.exposeString('title', { nullable: true }),
    department: t.exposeString('department', { nullable: true }),
    employeeNumber: t.exposeString('employeeNumber', { nullable: true }),
    manager: t.expose('manager', { type: 'JSON', nullable: true }),
    customAttributes: t.expose('customAttributes', { type: 'JSON' }),
    state: t.expose('state', { type: UserStateEnum }),
    deprovisionedAt: t.expose('deprovisionedAt', { type: 'DateTime', nullable: true }),
    deprovisionReason: t.exposeString('deprovisionReason', { nullable: true }),
    isAdmin: t.exposeBoolean('isAdmin', { description: "Holds the organization's top-ranked role." }),
    roles: t.stringList({
      select: { roles: true },
      description: 'Effective roles: "role" for the organization, "workspace:role" for a workspace.',
      resolve: (u) => formatRoles((u.roles ?? {}) as Record<string, string>),
    }),
    roleAssignments: t.field({
      select: { roles: true },
      type: [RoleAssignment],
      resolve: (u) => Object.entries((u.roles ?? {}) as Record<string, string>).map(([workspace, role]) => ({ workspace: workspace || null, role })),
    }),
    groups: t.field({
      type: [Group],
      description: 'Groups the user is an active, direct member of.',
      select: (_args, _ctx, nestedSelection) => ({
        memberships: {
          where: { suspendedAt: null, removedAt: null },
          select: { group: nestedSelection(true) },
          orderBy: { groupId: 'asc' },
        },
      }),
      // The selection above loads the memberships with the parent, in the same statement.
      resolve: (u) => (u as unknown as { memberships: Array<{ group: never }> }).memberships.map((m) => m.group),
    }),
    lastSyncedAt: t.expose('lastSyncedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    connection: t.relation('connection'),
    sessions: t.relation('sessions', { query: { orderBy: { createdAt: 'desc' }, take: 500 } }),
    credentials: t.relation('credentials', { query: { orderBy: { createdAt: 'desc' }, take: 500 } }),
    auditTrail: t.prismaField({
      type: ['AuditEvent'],
      description: 'Audit rows about this user, its sessions and its credentials, oldest first.',
      args: { first: t.arg.int({ defaultValue: 200 }) },
      select: { organizationId: true },
      resolve: (query, u, args, ctx) =>
        ctx.hub.db.prisma.auditEvent.findMany({
          ...query,
          where: { organizationId: u.organizationId, OR: [{ targetId: u.id }, { data: { path: ['userId'], equals: u.id } }] },
          orderBy: { seq: 'asc' },
          take: Math.min(Math.max(args.first ?? 200, 1), 1000),
        }),
    }),
  }),
});

builder.queryFields((t) => ({
  user: t.prismaField({
    type: 'DirectoryUser',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { authenticated: true },
    resolve: async (query, _root, args, ctx) => {
      const id = String(args.id);
      await userOrganization(ctx, id);
      return ctx.hub.db.prisma.directoryUser.findUnique({ ...query, where: { id } });
    },
  }),
  accessCheck: t.field({
    type: builder.objectRef<{ allowed: boolean; reason: string; userId: string | null }>('AccessDecision').implement({
      fields: (f) => ({
        allowed: f.exposeBoolean('allowed'),
        reason: f.exposeString('reason'),
        userId: f.exposeID('userId', { nullable: true }),
      }),
    }),
    description: 'Whether a user (and optionally one of their sessions) may still act. Cheap enough to call on every request.',
    authScopes: { authenticated: true },
    args: { userId: t.arg.id(), sessionId: t.arg.id() },
    resolve: (_root, args, ctx) => accessCheck(ctx, args.userId ? String(args.userId) : null, args.sessionId ? String(args.sessionId) : null),
  }),
}));

async function accessCheck(ctx: GraphQLContext, userId: string | null, sessionId: string | null) {
  if (!userId && !sessionId) throw notFound('user', '(none given)');
  const prisma = ctx.hub.db.prisma;
  let user: { id: string; organizationId: string; state: string } | null = null;
  let session: { revokedAt: Date | null; userId: string } | null = null;
  if (sessionId) {
    if (!isUuid(sessionId)) throw notFound('session', sessionId);
    const row = await prisma.session.findUnique({
      where: { id: sessionId },
      select: { revokedAt: true, userId: true, user: { select: { id: true, organizationId: true, state: true } } },
    });
    if (!row || !canAccessOrganization(ctx.principal, row.user.organizationId)) throw notFound('session', sessionId);
    if (userId && row.userId !== userId) return { allowed: false, reason: 'the session belongs to another user', userId };
    session = row;
    user = row.user;
  } else if (userId) {
    if (!isUuid(userId)) throw notFound('user', userId);
    user = await prisma.directoryUser.findUnique({ where: { id: userId }, select: { id: true, organizationId: true, state: true } });
    if (!user || !canAccessOrganization(ctx.principal, user.organizationId)) throw notFound('user', userId);
  }
  if (!user) throw notFound('user', String(userId));
  if (user.state !== 'ACTIVE') return { allowed: false, reason: `the user is ${user.state.toLowerCase()}`, userId: user.id };
  if (session?.revokedAt) return { allowed: false, reason: 'the session was revoked', userId: user.id };
  return { allowed: true, reason: 'the user is active', userId: user.id };
}

const UserPayload = builder.objectRef<{ userId: string; warnings: string[] }>('UserPayload').implement({
  fields: (t) => ({
    user: t.prismaField({
      type: 'DirectoryUser',
      resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.directoryUser.findUniqueOrThrow({ ...query, where: { id: p.userId } }),
    }),
    warnings: t.exposeStringList('warnings', { description: 'Things done that deserve attention, such as deprovisioning the last admin.' }),
  }),
});

builder.mutationFields((t) => ({
  deprovisionUser: t.fieldWithInput({
    type: UserPayload,
    authScopes: { authenticated: true },
    description: 'Deprovisions a user by hand (audited with this key as the actor).',
    input: { userId: t.input.id({ required: true }), reason: t.input.string() },
    resolve: async (_root, { input }, ctx) => {
      const userId = String(input.userId);
      const organizationId = await userOrganization(ctx, userId);
      const outcome = await ctx.hub.engine.execute({
        organizationId,
        actor: actorOf(ctx.principal!),
        commands: [{ type: 'deactivateUser', user: { userId }, reason: input.reason ?? undefined }],
      });
      return { userId, warnings: outcome.results.flatMap((r) => r.warnings ?? []) };
    },
  }),
  reactivateUser: t.fieldWithInput({
    type: UserPayload,
    authScopes: { authenticated: true },
    input: { userId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const userId = String(input.userId);
      const organizationId = await userOrganization(ctx, userId);
      const outcome = await ctx.hub.engine.execute({ organizationId, actor: actorOf(ctx.principal!), commands: [{ type: 'reactivateUser', user: { userId } }] });
      return { userId, warnings: outcome.results.flatMap((r) => r.warnings ?? []) };
    },
  }),
  registerSession: t.fieldWithInput({
    type: builder.objectRef<{ id: string }>('RegisterSessionPayload').implement({
      fields: (f) => ({
        session: f.prismaField({ type: 'Session', resolve: (query, p, _a, ctx) => ctx.hub.db.prisma.session.findUniqueOrThrow({ ...query, where: { id: p.id } }) }),
      }),
    }),
    authScopes: { authenticated: true },
    description: 'Registers a session of your app so the hub revokes it when the user is offboarded.',
    input: { userId: t.input.id({ required: true }), externalRef: t.input.string({ required: true, description: 'Your id for the session.' }) },
    resolve: async (_root, { input }, ctx) => {
      const userId = String(input.userId);
      const organizationId = await userOrganization(ctx, userId);
      const outcome = await ctx.hub.engine.execute({
        organizationId,
        actor: actorOf(ctx.principal!),
        commands: [{ type: 'registerSession', user: { userId }, externalRef: input.externalRef }],
      });
      return { id: outcome.results[0]?.created?.id ?? (await existingId(ctx, 'session', userId, input.externalRef)) };
    },
  }),
  registerCredential: t.fieldWithInput({
    type: builder.objectRef<{ id: string }>('RegisterCredentialPayload').implement({
      fields: (f) => ({
        credential: f.prismaField({ type: 'Credential', resolve: (query, p, _a, ctx) => ctx.hub.db.prisma.credential.findUniqueOrThrow({ ...query, where: { id: p.id } }) }),
      }),
    }),
    authScopes: { authenticated: true },
    description: 'Registers a non-human credential the user created (API key, token, SSH key, service account) so it is revoked at offboarding.',
    input: {
      userId: t.input.id({ required: true }),
      kind: t.input.field({ type: CredentialKindEnum, required: true }),
      externalRef: t.input.string({ required: true }),
      name: t.input.string(),
    },
    resolve: async (_root, { input }, ctx) => {
      const userId = String(input.userId);
      const organizationId = await userOrganization(ctx, userId);
      const outcome = await ctx.hub.engine.execute({
        organizationId,
        actor: actorOf(ctx.principal!),
        commands: [{ type: 'registerCredential', user: { userId }, kind: input.kind, externalRef: input.externalRef, name: input.name ?? undefined }],
      });
      return { id: outcome.results[0]?.created?.id ?? (await existingId(ctx, 'credential', userId, input.externalRef, input.kind)) };
    },
  }),
}));

async function existingId(ctx: GraphQLContext, table: 'session' | 'credential', userId: string, externalRef: string, kind?: string): Promise<string> {
  const row =
    table === 'session'
      ? await ctx.hub.db.prisma.session.findUnique({ where: { userId_externalRef: { userId, externalRef } }, select: { id: true } })
      : await ctx.hub.db.prisma.credential.findUnique({ where: { userId_kind_externalRef: { userId, kind: kind!, externalRef } }, select: { id: true } });
  if (!row) throw notFound(table, externalRef);
  return row.id;
}


// Declared here rather than in group.ts: User and Group refer to each other.
builder.prismaObjectField(Group, 'members', (t) =>
  t.connection({
    type: User,
    description: 'Active direct members.',
    resolve: async (g, args, ctx) => {
      const first = Math.min(args.first ?? CONNECTION_PAGE_SIZE.default, CONNECTION_PAGE_SIZE.max);
      const after = args.after ? Buffer.from(args.after, 'base64url').toString() : undefined;
      const rows = await ctx.hub.db.prisma.groupMembership.findMany({
        where: { groupId: g.id, suspendedAt: null, removedAt: null, ...(after ? { userId: { gt: after } } : {}) },
        orderBy: { userId: 'asc' },
        take: first + 1,
        include: { user: true },
      });
      const page = rows.slice(0, first);
      return {
        edges: page.map((m) => ({ cursor: Buffer.from(m.userId).toString('base64url'), node: m.user })),
        pageInfo: {
          hasNextPage: rows.length > first,
          hasPreviousPage: !!after,
          startCursor: page[0] ? Buffer.from(page[0].userId).toString('base64url') : null,
          endCursor: page.at(-1) ? Buffer.from(page.at(-1)!.userId).toString('base64url') : null,
        },
      };
    },
  }),
);
