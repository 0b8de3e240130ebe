// Subscriptions: deprovisionEvents and lifecycleEvents, over graphql-ws (/graphql, protocol
// graphql-transport-ws) and SSE (graphql-yoga). Events come from the event stream (src/events):
// committed rows only, resumable with `after`, bounded per subscriber.
import { GraphQLError } from 'graphql';
import { EventSubscription, StreamError, type StreamEvent } from '../../events/index.ts';
import { lastEventId } from '../../events/read.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { assertOrganization } from '../access.ts';
import { apiError } from '../errors.ts';
import { UserStateEnum } from './enums.ts';

type EventUser = NonNullable<StreamEvent['user']>;
type EventGroup = NonNullable<StreamEvent['group']>;
type EventConnection = NonNullable<StreamEvent['connection']>;

const LifecycleEventUser = builder.objectRef<EventUser>('LifecycleEventUser').implement({
  description: 'The user an event is about, as it is when the event is read (a hard-deleted user has no personal fields left).',
  fields: (t) => ({
    id: t.exposeID('id'),
    externalId: t.exposeString('externalId', { nullable: true }),
    userName: t.exposeString('userName', { nullable: true }),
    email: t.exposeString('email', { nullable: true }),
    displayName: t.exposeString('displayName', { nullable: true }),
    state: t.field({ type: UserStateEnum, resolve: (u) => u.state as 'ACTIVE' | 'DEPROVISIONED' | 'DELETED' }),
  }),
});

const LifecycleEventGroup = builder.objectRef<EventGroup>('LifecycleEventGroup').implement({
  fields: (t) => ({ id: t.exposeID('id'), displayName: t.exposeString('displayName') }),
});

const LifecycleEventConnection = builder.objectRef<EventConnection>('LifecycleEventConnection').implement({
  description: 'The connection (source) whose delivery caused the event.',
  fields: (t) => ({ id: t.exposeID('id'), provider: t.exposeString('provider'), name: t.exposeString('name') }),
});

type Revoked = { id: string; externalRef: string; kind?: string; upstream: boolean };
const RevokedAccess = builder.objectRef<Revoked>('RevokedAccess').implement({
  description: 'A session or credential revoked by a deprovision.',
  fields: (t) => ({
    id: t.exposeID('id'),
    externalRef: t.exposeString('externalRef', { description: 'Your (or the upstream provider’s) id for it.' }),
    kind: t.string({ nullable: true, description: 'For credentials: api_key, oauth_token, ssh_key...', resolve: (r) => r.kind ?? null }),
    upstream: t.exposeBoolean('upstream', { description: 'Owned by a connector that is asked to revoke it at the source (see revocationStatus).' }),
  }),
});

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** What every event type says after its id: its type, its three times, the delivery it came with. */
const envelopeFields = (t: PothosSchemaTypes.ObjectFieldBuilder<Types, StreamEvent>) => ({
  type: t.exposeString('type'),
  occurredAt: t.expose('occurredAt', { type: 'DateTime', description: 'When the source says it happened (the source’s signal).' }),
  receivedAt: t.expose('receivedAt', { type: 'DateTime', description: 'When the hub received the delivery.' }),
  enforcedAt: t.expose('enforcedAt', { type: 'DateTime', description: 'When the change was committed (access removed).' }),
  deliveryId: t.exposeString('deliveryId', { nullable: true }),
});

const dataOf = (e: StreamEvent) => e.data as Record<string, unknown>;
const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

export const LifecycleEvent = builder.objectRef<StreamEvent>('LifecycleEvent').implement({
  description: 'A committed lifecycle change (user.provisioned, user.deprovisioned, membership.added, credential.revocation_failed, ...).',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Increases in commit order within an organization: pass the last one you saw as `after` to resume.' }),
    ...envelopeFields(t),
    user: t.field({ type: LifecycleEventUser, nullable: true, resolve: (e) => e.user }),
    group: t.field({ type: LifecycleEventGroup, nullable: true, resolve: (e) => e.group }),
    connection: t.field({ type: LifecycleEventConnection, nullable: true, resolve: (e) => e.connection }),
    data: t.field({ type: 'JSON', description: 'What changed, as recorded with the event.', resolve: dataOf }),
  }),
});

export const DeprovisionEvent = builder.objectRef<StreamEvent>('DeprovisionEvent').implement({
  description: 'A user lost access: sessions and credentials revoked, memberships ended, roles dropped, all in one commit.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Pass the last one you saw as `after` to resume without loss.' }),
    ...envelopeFields(t),
    reason: t.string({ nullable: true, resolve: (e) => (typeof dataOf(e).reason === 'string' ? (dataOf(e).reason as string) : null) }),
    warnings: t.stringList({ resolve: (e) => list<string>(dataOf(e).warnings) }),
    user: t.field({ type: LifecycleEventUser, nullable: true, resolve: (e) => e.user }),
    connection: t.field({ type: LifecycleEventConnection, nullable: true, resolve: (e) => e.connection }),
    revokedSessions: t.idList({ description: 'Ids of the sessions revoked.', resolve: (e) => list<string>(dataOf(e).revokedSessions) }),
    revokedCredentials: t.idList({ description: 'Ids of the credentials revoked.', resolve: (e) => list<string>(dataOf(e).revokedCredentials) }),
    endedMemberships: t.idList({
      description: 'Ids of the groups whose membership ended (suspended: restored if the user is reactivated).',
      resolve: (e) => list<{ groupId: string }>(dataOf(e).endedMemberships).map((m) => m.groupId),
    }),
    revokedSessionRefs: t.field({ type: [RevokedAccess], resolve: (e) => list<Revoked>(dataOf(e).revokedSessionRefs) }),
    revokedCredentialRefs: t.field({ type: [RevokedAccess], resolve: (e) => list<Revoked>(dataOf(e).revokedCredentialRefs) }),
    endedGroups: t.field({
      type: [LifecycleEventGroup],
      resolve: (e) => list<{ groupId: string; displayName: string | null }>(dataOf(e).endedMemberships).map((m) => ({ id: m.groupId, displayName: m.displayName ?? '' })),
    }),
    previousRoles: t.field({ type: 'JSON', description: 'Roles the user held: { "": "admin", "<workspace>": "member" }.', resolve: (e) => dataOf(e).previousRoles ?? {} }),
  }),
});

const afterDescription = 'The id of the last event you received: every later event of the organization is replayed, in order, then live ones follow.';

builder.subscriptionType({});

builder.subscriptionFields((t) => ({
  deprovisionEvents: t.field({
    type: DeprovisionEvent,
    description: 'Each deprovision of the organization, the moment it is committed. Resumable with `after`.',
    args: { organizationId: t.arg.id({ required: true }), after: t.arg.id({ description: afterDescription }) },
    subscribe: (_root, args, ctx) => open(ctx, String(args.organizationId), args.after == null ? null : String(args.after), ['user.deprovisioned']),
    resolve: (event) => event,
  }),
  lifecycleEvents: t.field({
    type: LifecycleEvent,
    description: 'Every lifecycle event of the organization (optionally only some types), the moment it is committed. Resumable with `after`.',
    args: {
      organizationId: t.arg.id({ required: true }),
      types: t.arg.stringList({ description: 'Only these types, e.g. ["user.deprovisioned", "credential.revocation_failed"].' }),
      after: t.arg.id({ description: afterDescription }),
    },
    subscribe: (_root, args, ctx) => open(ctx, String(args.organizationId), args.after == null ? null : String(args.after), args.types ?? null),
    resolve: (event) => event,
  }),
}));

async function open(ctx: GraphQLContext, organizationIdArg: string, after: string | null | undefined, types: readonly string[] | null): Promise<AsyncIterableIterator<StreamEvent>> {
  const organizationId = assertOrganization(ctx, organizationIdArg);
  if (after != null && !/^\d{1,19}$/.test(after)) throw apiError('BAD_USER_INPUT', 'after must be the id of a lifecycle event (digits)', { field: 'after' });
  if (types && (types.length > 100 || types.some((type) => type.length > 100))) throw apiError('BAD_USER_INPUT', 'types takes at most 100 event types', { field: 'types' });
  const subscription = await ctx.hub.events.subscribe(organizationId, { after: after != null ? BigInt(after) : null, types });
  return withCodes(subscription);
}

/** Stream errors reach the client as GraphQL errors with a code and where to resume from. */
function withCodes(subscription: EventSubscription): AsyncIterableIterator<StreamEvent> {
  return {
    next: () =>
      subscription.next().catch((error: unknown) => {
        if (!(error instanceof StreamError)) throw error;
        throw new GraphQLError(error.message, { extensions: { code: error.code, retryable: true, lastDeliveredId: error.lastDeliveredId, resumeAfter: error.resumeAfter } });
      }),
    return: () => subscription.return(),
    throw: (error?: unknown) => subscription.throw(error),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

builder.queryFields((t) => ({
  latestLifecycleEventId: t.id({
    nullable: true,
    description: "The organization's newest lifecycle event id (null: none yet). Subscribe with it as `after` to start from now without a race.",
    authScopes: { authenticated: true },
    args: { organizationId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = await lastEventId(ctx.hub.db.sql, assertOrganization(ctx, String(args.organizationId)));
      return id === 0n ? null : id.toString();
    },
  }),
}));
