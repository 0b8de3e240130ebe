// Tenant isolation for GraphQL: every lookup by id goes through one of these, which answer
// NOT_FOUND alike for "missing" and "another organization's", so ids leak nothing. A setup session
// (src/tenancy/principal.ts) is refused with FORBIDDEN in its own organization (it knows it) and
// reaches only its own connection and that connection's groups.
import { isUuid } from '../storage/sql.ts';
import { canAccessOrganization, canConfigureConnection, canSetUpOrganization, isSetupSessionOf, type SetupPrincipal } from '../tenancy/principal.ts';
import type { GraphQLContext } from './context.ts';
import { apiError, notFound } from './errors.ts';

const setupRefused = (what: string) => apiError('FORBIDDEN', `a setup session may only set up its own directory connection, not this ${what}`);

export function assertOrganization(ctx: GraphQLContext, organizationId: string | null | undefined, what = 'organization'): string {
  if (!organizationId || !isUuid(organizationId)) throw notFound(what, String(organizationId));
  if (canAccessOrganization(ctx.principal, organizationId)) return organizationId;
  if (isSetupSessionOf(ctx.principal, organizationId)) throw setupRefused(what);
  throw notFound(what, organizationId);
}

/** The organization itself as a setup session may read it too (its name and roles: the fields it may select). */
export function assertSetUpOrganization(ctx: GraphQLContext, organizationId: string | null | undefined): string {
  if (!organizationId || !isUuid(organizationId) || !canSetUpOrganization(ctx.principal, organizationId)) throw notFound('organization', String(organizationId));
  return organizationId;
}

/**
 * createDirectoryConnection by a setup session: in its organization, a SCIM connection, once, and
 * only when its link named no connection; the deprovisioning policy stays the SaaS's to choose.
 */
export function assertSetupMayCreateConnection(setup: SetupPrincipal, organizationId: string, input: { provider: string; deprovisionPolicy?: unknown }): string {
  if (!isUuid(organizationId) || setup.organizationId !== organizationId) throw notFound('organization', organizationId);
  if (setup.connectionId) throw apiError('FORBIDDEN', 'this setup session already has its connection: set that one up');
  if (input.provider !== 'scim') throw apiError('FORBIDDEN', 'a setup session creates SCIM connections only (provider "scim")');
  if (input.deprovisionPolicy != null) throw apiError('FORBIDDEN', "a setup session cannot choose the deprovisioning policy: that is the organization's setting");
  return organizationId;
}

async function owned<R extends { organizationId: string }>(ctx: GraphQLContext, what: string, id: string, load: () => Promise<R | null>, allowed: (row: R) => boolean): Promise<string> {
  if (!isUuid(id)) throw notFound(what, id);
  const row = await load();
  if (!row) throw notFound(what, id);
  if (allowed(row)) return row.organizationId;
  if (isSetupSessionOf(ctx.principal, row.organizationId)) throw setupRefused(what);
  throw notFound(what, id);
}

const inOrganization = (ctx: GraphQLContext) => (row: { organizationId: string }) => canAccessOrganization(ctx.principal, row.organizationId);

export const userOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'user', id, () => ctx.hub.db.prisma.directoryUser.findUnique({ where: { id }, select: { organizationId: true } }), inOrganization(ctx));

export const groupOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'group', id, () => ctx.hub.db.prisma.directoryGroup.findUnique({ where: { id }, select: { organizationId: true } }), inOrganization(ctx));

export const connectionOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'connection', id, () => ctx.hub.db.prisma.directoryConnection.findUnique({ where: { id, deletedAt: null }, select: { organizationId: true } }), inOrganization(ctx));

// The same, letting a setup session through for its own connection (canConfigureConnection): only
// for what it may do (the list in src/graphql/plugins/use-setup-restrictions.ts), everything else
// keeps the strict ones above.

/** A group, or for a setup session a group of its own connection (group(id), setGroupMapping, removeGroupMapping). */
export const configurableGroupOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'group', id, () => ctx.hub.db.prisma.directoryGroup.findUnique({ where: { id }, select: { organizationId: true, connectionId: true } }),
    (group) => canConfigureConnection(ctx.principal, { id: group.connectionId, organizationId: group.organizationId }));

/** A connection, or for a setup session its own (connection(id), pause/resume, test mode, SCIM tokens). */
export const configurableConnectionOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'connection', id, () => ctx.hub.db.prisma.directoryConnection.findUnique({ where: { id, deletedAt: null }, select: { id: true, organizationId: true } }),
    (connection) => canConfigureConnection(ctx.principal, connection));

/**
 * For an object of a connection loaded by its own id (a SCIM token for revokeScimToken): its
 * connection must be configurable by the principal; NOT_FOUND as `what` otherwise (FORBIDDEN for a
 * setup session of the same organization). Returns the organization.
 */
export function assertConfigurableConnection(ctx: GraphQLContext, connection: { id: string; organizationId: string } | null, what: string, id: string): string {
  if (connection && canConfigureConnection(ctx.principal, connection)) return connection.organizationId;
  if (connection && isSetupSessionOf(ctx.principal, connection.organizationId)) throw setupRefused(what);
  throw notFound(what, id);
}

export { isUuid };

export const webhookEndpointOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'webhook endpoint', id, () => ctx.hub.db.prisma.webhookEndpoint.findUnique({ where: { id }, select: { organizationId: true } }), inOrganization(ctx));

/** Delivery ids are positive bigints in decimal; anything else names no delivery. */
export async function webhookDeliveryOrganization(ctx: GraphQLContext, id: string): Promise<string> {
  if (!/^\d{1,18}$/.test(id)) throw notFound('webhook delivery', id);
  const row = await ctx.hub.db.prisma.webhookDelivery.findUnique({ where: { id: BigInt(id) }, select: { organizationId: true } });
  if (!row || !canAccessOrganization(ctx.principal, row.organizationId)) throw notFound('webhook delivery', id);
  return row.organizationId;
}
