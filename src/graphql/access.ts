// Tenant isolation for GraphQL: every lookup by id goes through one of these, which answer
// NOT_FOUND alike for "missing" and "another organization's", so ids leak nothing.
import { canAccessOrganization } from '../auth/principal.ts';
import type { GraphQLContext } from './context.ts';
import { notFound } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function assertOrganization(ctx: GraphQLContext, organizationId: string | null | undefined, what = 'organization'): string {
  if (!organizationId || !UUID.test(organizationId) || !canAccessOrganization(ctx.principal, organizationId)) throw notFound(what, String(organizationId));
  return organizationId;
}

async function owned(ctx: GraphQLContext, what: string, id: string, load: () => Promise<{ organizationId: string } | null>): Promise<string> {
  if (!UUID.test(id)) throw notFound(what, id);
  const row = await load();
  if (!row || !canAccessOrganization(ctx.principal, row.organizationId)) throw notFound(what, id);
  return row.organizationId;
}

export const userOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'user', id, () => ctx.hub.db.prisma.directoryUser.findUnique({ where: { id }, select: { organizationId: true } }));

export const groupOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'group', id, () => ctx.hub.db.prisma.directoryGroup.findUnique({ where: { id }, select: { organizationId: true } }));

export const connectionOrganization = (ctx: GraphQLContext, id: string) =>
  owned(ctx, 'connection', id, () => ctx.hub.db.prisma.directoryConnection.findUnique({ where: { id }, select: { organizationId: true } }));

export const isUuid = (id: string) => UUID.test(id);
