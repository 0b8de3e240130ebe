// The connection lifecycle in GraphQL: `connection(id)`, its first sync, live counts, health and
// SCIM tokens, and the mutations createScimToken, revokeScimToken and deleteConnection.
import { deleteConnection } from '../../tenancy/connection-deletion.ts';
import { connectionChanged } from '../../tenancy/connections.ts';
import { actorOf } from '../../tenancy/principal.ts';
import { createScimToken, revokeScimToken } from '../../tenancy/scim-tokens.ts';
import { builder } from '../builder.ts';
import { assertConfigurableConnection, configurableConnectionOrganization, connectionOrganization, isUuid } from '../access.ts';
import type { GraphQLContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { ConnectionDispositionEnum } from './enums.ts';

// Fails closed: only an admin key is unscoped; every other principal (organization key, setup
// session) is held to its organization.
const scope = (ctx: GraphQLContext) => (ctx.principal?.kind === 'admin' ? null : (ctx.principal?.organizationId ?? '00000000-0000-0000-0000-000000000000'));

interface FirstSync { startedAt: Date; completedAt: Date | null; users: number; groups: number; memberships: number }
interface Counts { users: number; activeUsers: number; groups: number; memberships: number }

const ConnectionFirstSync = builder.objectRef<FirstSync>('ConnectionFirstSync').implement({
  description:
    'The first sync: from the first authenticated request (or successful pull) until it went quiet — nothing received for ' +
    'FIRST_SYNC_QUIET_SECONDS (default 60) — or the first backfill (syncConnection) finished, whichever came first. ' +
    'The counts are what this connection created in that time (all it created so far while it runs).',
  fields: (t) => ({
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'Null while the first sync is still running.' }),
    users: t.exposeInt('users'),
    groups: t.exposeInt('groups'),
    memberships: t.exposeInt('memberships'),
  }),
});

const ConnectionCounts = builder.objectRef<Counts>('ConnectionCounts').implement({
  description: 'What the connection holds now.',
  fields: (t) => ({
    users: t.exposeInt('users', { description: 'Users not deleted at the source (active and deprovisioned).' }),
    activeUsers: t.exposeInt('activeUsers'),
    groups: t.exposeInt('groups', { description: 'Groups not deleted.' }),
    memberships: t.exposeInt('memberships', { description: 'Active memberships in its groups.' }),
  }),
});

interface Health { lastSuccessAt: Date | null; lastFailureAt: Date | null; recentFailures: number; lastError: string | null; statusChangedAt: Date | null; lastRejectedCredentialsAt: Date | null }
const ConnectionHealth = builder.objectRef<Health>('ConnectionHealth').implement({
  fields: (t) => ({
    lastSuccessAt: t.expose('lastSuccessAt', { type: 'DateTime', nullable: true, description: 'Last request or pull that worked (written at most every 10 s).' }),
    lastFailureAt: t.expose('lastFailureAt', { type: 'DateTime', nullable: true }),
    recentFailures: t.exposeInt('recentFailures', { description: 'Requests or pulls failed in a row; FAILING at CONNECTION_FAILING_AFTER (default 5). 5xx and refused input (400, 413, 422) count; 404, 409, 412 and 429 do not.' }),
    lastError: t.exposeString('lastError', { nullable: true, description: "The last pull or backfill error, else the last failed request's." }),
    statusChangedAt: t.expose('statusChangedAt', { type: 'DateTime', nullable: true }),
    lastRejectedCredentialsAt: t.expose('lastRejectedCredentialsAt', {
      type: 'DateTime',
      nullable: true,
      description: "Last request to the connection's URL whose bearer token (SCIM) or signature (webhooks) did not verify: usually a token or secret pasted wrong. Written at most every 10 s; such requests are not in `requestLog`, since anyone can send one.",
    }),
  }),
});

export const ScimToken = builder.prismaObject('ScimToken', {
  description: 'A bearer token a SCIM client authenticates with. At most two are active per connection, so one can be rotated without downtime. The secret is shown once, at creation.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    lastFour: t.exposeString('lastFour', { nullable: true, description: "The secret's last four characters; null for the token migrated from before they were kept." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Written at most once a minute.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'It no longer authenticates from then; `connection.token_expiring` is emitted SCIM_TOKEN_EXPIRY_WARNING_SECONDS (default 7 days) before.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const count = async (ctx: GraphQLContext, sql: string, params: unknown[]) => ((await ctx.hub.db.sql.query<{ n: number }>(sql, params))[0]?.n ?? 0);

builder.prismaObjectFields('DirectoryConnection', (t) => ({
  firstSync: t.field({
    type: ConnectionFirstSync,
    nullable: true,
    description: 'Null until the first authenticated request (or successful pull).',
    select: { firstRequestAt: true, firstSyncCompletedAt: true },
    resolve: async (c, _args, ctx) => {
      if (!c.firstRequestAt) return null;
      const until = c.firstSyncCompletedAt;
      const params = [c.id, until];
      const [users, groups, memberships] = await Promise.all([
        count(ctx, 'SELECT count(*)::int AS n FROM directory_user WHERE connection_id = $1 AND ($2::timestamptz IS NULL OR created_at <= $2)', params),
        count(ctx, 'SELECT count(*)::int AS n FROM directory_group WHERE connection_id = $1 AND ($2::timestamptz IS NULL OR created_at <= $2)', params),
        count(ctx, 'SELECT count(*)::int AS n FROM group_membership m JOIN directory_group g ON g.id = m.group_id WHERE g.connection_id = $1 AND ($2::timestamptz IS NULL OR m.created_at <= $2)', params),
      ]);
      return { startedAt: c.firstRequestAt, completedAt: until, users, groups, memberships };
    },
  }),
  counts: t.field({
    type: ConnectionCounts,
    resolve: async (c, _args, ctx) => {
      const [row] = await ctx.hub.db.sql.query<Counts>(
        `SELECT (SELECT count(*)::int FROM directory_user WHERE connection_id = $1 AND source_deleted_at IS NULL) AS users,
                (SELECT count(*)::int FROM directory_user WHERE connection_id = $1 AND state = 'ACTIVE') AS "activeUsers",
                (SELECT count(*)::int FROM directory_group WHERE connection_id = $1 AND deleted_at IS NULL) AS groups,
                (SELECT count(*)::int FROM group_membership m JOIN directory_group g ON g.id = m.group_id
                  WHERE g.connection_id = $1 AND m.suspended_at IS NULL AND m.removed_at IS NULL) AS memberships`,
        [c.id],
      );
      return row!;
    },
  }),
  health: t.field({
    type: ConnectionHealth,
    select: { lastSuccessAt: true, lastFailureAt: true, recentFailures: true, lastError: true, statusChangedAt: true, rejectedCredentialsAt: true },
    resolve: async (c, _args, ctx) => {
      const lastFailed = c.lastError
        ? null
        : ((await ctx.hub.db.sql.query<{ error: string }>(
          `SELECT status::text || COALESCE(': ' || error, '') AS error FROM connection_request_log
           WHERE connection_id = $1 AND (status >= 500 OR (status >= 400 AND status NOT IN (404, 409, 412, 429))) ORDER BY id DESC LIMIT 1`,
          [c.id],
        ))[0]?.error ?? null);
      return { lastSuccessAt: c.lastSuccessAt, lastFailureAt: c.lastFailureAt, recentFailures: c.recentFailures, lastError: c.lastError ?? lastFailed, statusChangedAt: c.statusChangedAt, lastRejectedCredentialsAt: c.rejectedCredentialsAt };
    },
  }),
  scimTokens: t.relation('scimTokens', { description: 'Active and revoked, oldest first.', query: { orderBy: { createdAt: 'asc' } } }),
}));

builder.queryFields((t) => ({
  connection: t.prismaField({
    type: 'DirectoryConnection',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { authenticated: true },
    resolve: async (query, _root, args, ctx) => {
      const id = String(args.id);
      await configurableConnectionOrganization(ctx, id);
      return ctx.hub.db.prisma.directoryConnection.findFirst({ ...query, where: { id, deletedAt: null } });
    },
  }),
}));

const CreateScimTokenPayload = builder.objectRef<{ tokenId: string; secret: string }>('CreateScimTokenPayload').implement({
  fields: (t) => ({
    token: t.prismaField({ type: 'ScimToken', resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.scimToken.findUniqueOrThrow({ ...query, where: { id: p.tokenId } }) }),
    secret: t.exposeString('secret', { description: 'The bearer token: shown this once, stored only as a hash.' }),
  }),
});

const RevokeScimTokenPayload = builder.objectRef<{ tokenId: string }>('RevokeScimTokenPayload').implement({
  fields: (t) => ({
    token: t.prismaField({ type: 'ScimToken', resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.scimToken.findUniqueOrThrow({ ...query, where: { id: p.tokenId } }) }),
  }),
});

const DeleteConnectionPayload = builder.objectRef<{ deletedConnectionId: string }>('DeleteConnectionPayload').implement({
  fields: (t) => ({ deletedConnectionId: t.exposeID('deletedConnectionId') }),
});

builder.mutationFields((t) => ({
  createScimToken: t.fieldWithInput({
    type: CreateScimTokenPayload,
    authScopes: { authenticated: true },
    description: 'Issues another SCIM bearer token (shown once). At most two are active per connection: with two, revoke one first (SCIM_TOKEN_LIMIT).',
    input: {
      connectionId: t.input.id({ required: true }),
      name: t.input.string({ description: '1 to 100 characters; default "Token <date>".' }),
      expiresAt: t.input.field({ type: 'DateTime', description: 'In the future; the token stops authenticating then.' }),
    },
    resolve: async (_root, { input }, ctx) => {
      const connectionId = String(input.connectionId);
      await configurableConnectionOrganization(ctx, connectionId);
      const issues = (provider: string) => ctx.hub.registry.get(provider)?.issuesBearerToken === true;
      return createScimToken(ctx.hub.db.sql, { connectionId, name: input.name, expiresAt: input.expiresAt ?? null }, actorOf(ctx.principal!), scope(ctx), issues);
    },
  }),
  revokeScimToken: t.fieldWithInput({
    type: RevokeScimTokenPayload,
    authScopes: { authenticated: true },
    description: 'Revokes a SCIM token: it stops authenticating at once, on every instance.',
    input: { tokenId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const tokenId = String(input.tokenId);
      if (!isUuid(tokenId)) throw notFound('SCIM token', tokenId);
      const token = await ctx.hub.db.prisma.scimToken.findUnique({ where: { id: tokenId }, select: { connection: { select: { id: true, organizationId: true, deletedAt: true } } } });
      assertConfigurableConnection(ctx, token && !token.connection.deletedAt ? token.connection : null, 'SCIM token', tokenId);
      const { connectionId } = await revokeScimToken(ctx.hub.db.sql, tokenId, actorOf(ctx.principal!), scope(ctx));
      connectionChanged(connectionId);
      ctx.hub.events.bus.publishCredentialRevoked({ kind: 'scim_token', id: tokenId });
      return { tokenId };
    },
  }),
  deleteConnection: t.fieldWithInput({
    type: DeleteConnectionPayload,
    authScopes: { authenticated: true },
    description:
      'Deletes a connection: audited (`connection.deleted`), its SCIM tokens stop working at once on every instance, and its users are ' +
      'deprovisioned (DEPROVISION_USERS) or kept, detached from any source (KEEP_USERS). Returns once every user is handled.',
    input: { connectionId: t.input.id({ required: true }), disposition: t.input.field({ type: ConnectionDispositionEnum, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const connectionId = String(input.connectionId);
      await connectionOrganization(ctx, connectionId);
      await deleteConnection(ctx.hub, connectionId, input.disposition, actorOf(ctx.principal!), scope(ctx));
      return { deletedConnectionId: connectionId };
    },
  }),
}));
