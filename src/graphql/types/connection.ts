import { createConnection, rotateConnectionSecret, updateConnection } from '../../tenancy/connections.ts';
import { actorOf } from '../../tenancy/principal.ts';
import type { Hub } from '../../hub/hub.ts';
import { builder } from '../builder.ts';
import { assertOrganization, assertSetupMayCreateConnection, configurableConnectionOrganization, connectionOrganization } from '../access.ts';
import { bindSetupConnection } from '../../tenancy/browser-sessions.ts';
import { apiError } from '../errors.ts';
import { ConnectionStatusEnum, DeprovisionPolicyEnum } from './enums.ts';

const services = (hub: Hub) => ({ sql: hub.db.sql, registry: hub.registry, box: hub.box, outbound: hub.outbound });

export function connectionUrls(hub: Hub, connection: { id: string; provider: string }) {
  const connector = hub.registry.get(connection.provider);
  return {
    scimBaseUrl: connector?.endpoints ? `${hub.publicUrl}${connector.endpoints.basePath}/${connection.id}` : null,
    webhookUrl: connector?.inbound ? `${hub.publicUrl}/webhooks/${connection.id}` : null,
  };
}

export const DirectoryConnection = builder.prismaObject('DirectoryConnection', {
  description: 'A source of identity lifecycle for one organization: an identity provider pushing SCIM, or a Clerk, WorkOS or Stytch account.',
  fields: (t) => ({
    id: t.exposeID('id'),
    organizationId: t.exposeID('organizationId'),
    provider: t.exposeString('provider'),
    name: t.exposeString('name'),
    status: t.expose('status', { type: ConnectionStatusEnum }),
    testMode: t.exposeBoolean('testMode', { description: 'Dry run: what would change is audited; nothing is applied.' }),
    deprovisionPolicy: t.expose('deprovisionPolicy', { type: DeprovisionPolicyEnum }),
    deprovisionOnDrift: t.exposeBoolean('deprovisionOnDrift'),
    deniedAttributes: t.exposeStringList('deniedAttributes', { description: 'Attribute names never stored from this source.' }),
    config: t.expose('config', { type: 'JSON', description: 'Non-secret configuration. Secret fields are never returned.' }),
    secretFields: t.stringList({
      description: 'Names of the configuration fields stored encrypted (values are never returned).',
      resolve: (c, _args, ctx) => [...(ctx.hub.registry.get(c.provider)?.secretFields ?? [])],
    }),
    scimBaseUrl: t.string({ nullable: true, resolve: (c, _args, ctx) => connectionUrls(ctx.hub, c).scimBaseUrl }),
    webhookUrl: t.string({ nullable: true, resolve: (c, _args, ctx) => connectionUrls(ctx.hub, c).webhookUrl }),
    lastSyncedAt: t.expose('lastSyncedAt', { type: 'DateTime', nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    lastErrorAt: t.expose('lastErrorAt', { type: 'DateTime', nullable: true }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'Set by deleteConnection; a deleted connection is reached only from its users and audit trail.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    organization: t.relation('organization'),
  }),
});

const ConnectionPayload = builder.objectRef<{ connectionId: string; secret?: string | null }>('ConnectionPayload').implement({
  fields: (t) => ({
    connection: t.prismaField({
      type: 'DirectoryConnection',
      resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.directoryConnection.findUniqueOrThrow({ ...query, where: { id: p.connectionId } }),
    }),
    secret: t.string({
      nullable: true,
      description: 'A bearer token the hub issued (SCIM): shown this once, stored only as a hash.',
      resolve: (p) => p.secret ?? null,
    }),
  }),
});

/** The organization a change is confined to: none for an admin, the principal's own otherwise (deny by default). */
const scope = (ctx: { principal: { kind: string; organizationId?: string } | null }) =>
  ctx.principal?.kind === 'admin' ? null : (ctx.principal?.organizationId ?? '00000000-0000-0000-0000-000000000000');

builder.mutationFields((t) => ({
  createDirectoryConnection: t.fieldWithInput({
    type: ConnectionPayload,
    authScopes: { authenticated: true },
    input: {
      organizationId: t.input.id({ required: true }),
      provider: t.input.string({ required: true, description: '"scim", "clerk", "workos", "stytch" or a partner connector id.' }),
      name: t.input.string({ required: true }),
      config: t.input.field({ type: 'JSON', description: "The connector's configuration; see its documentation." }),
      testMode: t.input.boolean(),
      deprovisionPolicy: t.input.field({ type: DeprovisionPolicyEnum }),
    },
    resolve: async (_root, { input }, ctx) => {
      const setup = ctx.principal?.kind === 'setup' ? ctx.principal : null;
      const organizationId = setup ? assertSetupMayCreateConnection(setup, String(input.organizationId), input) : assertOrganization(ctx, String(input.organizationId));
      const { connectionId, secret } = await createConnection(
        services(ctx.hub),
        { organizationId, provider: input.provider, name: input.name, config: input.config, testMode: input.testMode ?? undefined, deprovisionPolicy: input.deprovisionPolicy ?? undefined },
        actorOf(ctx.principal!),
      );
      if (setup) {
        // The session's one connection from now on (and this request's too).
        if (!(await bindSetupConnection(ctx.hub.db.sql, setup.browserSession.id, connectionId))) throw apiError('FORBIDDEN', 'this setup session already created its connection');
        setup.connectionId = connectionId;
      }
      return { connectionId, secret };
    },
  }),
  pauseConnection: t.fieldWithInput({
    type: ConnectionPayload,
    authScopes: { authenticated: true },
    description: 'Stops applying changes from this connection; its sources are told to retry later.',
    input: { connectionId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.connectionId);
      await configurableConnectionOrganization(ctx, id);
      await updateConnection(services(ctx.hub), id, { status: 'PAUSED' }, actorOf(ctx.principal!), scope(ctx));
      return { connectionId: id };
    },
  }),
  resumeConnection: t.fieldWithInput({
    type: ConnectionPayload,
    authScopes: { authenticated: true },
    input: { connectionId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.connectionId);
      await configurableConnectionOrganization(ctx, id);
      await updateConnection(services(ctx.hub), id, { status: 'RESUMED' }, actorOf(ctx.principal!), scope(ctx));
      return { connectionId: id };
    },
  }),
  setConnectionTestMode: t.fieldWithInput({
    type: ConnectionPayload,
    authScopes: { authenticated: true },
    input: { connectionId: t.input.id({ required: true }), testMode: t.input.boolean({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.connectionId);
      await configurableConnectionOrganization(ctx, id);
      await updateConnection(services(ctx.hub), id, { testMode: input.testMode }, actorOf(ctx.principal!), scope(ctx));
      return { connectionId: id };
    },
  }),
  updateConnectionSettings: t.fieldWithInput({
    type: ConnectionPayload,
    authScopes: { authenticated: true },
    input: {
      connectionId: t.input.id({ required: true }),
      name: t.input.string(),
      deprovisionPolicy: t.input.field({ type: DeprovisionPolicyEnum }),
      deprovisionOnDrift: t.input.boolean(),
      deniedAttributes: t.input.stringList(),
    },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.connectionId);
      await connectionOrganization(ctx, id);
      await updateConnection(
        services(ctx.hub),
        id,
        {
          name: input.name ?? undefined,
          deprovisionPolicy: input.deprovisionPolicy ?? undefined,
          deprovisionOnDrift: input.deprovisionOnDrift ?? undefined,
          deniedAttributes: input.deniedAttributes ?? undefined,
        },
        actorOf(ctx.principal!),
        scope(ctx),
      );
      return { connectionId: id };
    },
  }),
  rotateConnectionSecret: t.fieldWithInput({
    type: ConnectionPayload,
    authScopes: { authenticated: true },
    description: 'Issues a new bearer token (shown once) and revokes every other one of the connection at once (create + revoke all). To rotate without downtime, use createScimToken, then revokeScimToken.',
    input: { connectionId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.connectionId);
      await connectionOrganization(ctx, id);
      const secret = await rotateConnectionSecret(services(ctx.hub), id, actorOf(ctx.principal!), scope(ctx), (revoked) => ctx.hub.events.bus.publishCredentialRevoked(revoked));
      return { connectionId: id, secret };
    },
  }),
}));
