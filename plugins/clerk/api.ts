// Clerk's Backend API through @clerk/backend: the backfill (users, then organizations with their
// memberships), drift confirmation, and upstream revocation.
import { createClerkClient, type ClerkClient } from '@clerk/backend';
import { isClerkAPIResponseError } from '@clerk/backend/errors';
import { refusalIn, safeLine, summarizeUpstream, type BackfillPage, type ConnectorContext, type LifecycleCommandInput, type RevocationTarget } from 'lifecycle-hub/connector';
import { ClerkMembership, ClerkOrganization, ClerkUser, organizationGroupId, organizationGroups, roleGroupId, upsertUser, type ClerkOptions } from './translate.ts';

export interface ClerkConfig extends ClerkOptions {
  webhookSigningSecret: string;
  secretKey: string;
  apiUrl?: string;
  banOnLinkedDeprovision?: boolean;
}

const PAGE = 100;

/** Clerk's Backend API host (@clerk/backend's API_URL; Clerk's docs name the same). */
export const CLERK_API_HOSTS = ['api.clerk.com'];

export function clerkClient(config: ClerkConfig): ClerkClient {
  return createClerkClient({ secretKey: config.secretKey, ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}) });
}

/**
 * A Clerk API failure as an error that says what to do. Clerk's answer is summarized (status, its
 * error code, its message on a 4xx, the trace id), never copied.
 */
export function clerkFailure(error: unknown, doing: string, config: ClerkConfig): Error {
  const refused = refusalIn(error);
  if (refused) return refused;
  if (!isClerkAPIResponseError(error)) return error instanceof Error ? error : new Error(String(error));
  const detail = error.errors[0];
  const secrets = [config.secretKey, config.webhookSigningSecret];
  const trace = error.clerkTraceId ? `; Clerk trace id ${safeLine(error.clerkTraceId, secrets, 100)}` : '';
  const summary = `${summarizeUpstream({ status: error.status, code: detail?.code, message: detail?.longMessage ?? detail?.message }, secrets)}${trace}`;
  if (error.status === undefined) {
    // No answer: the message is the hub's own fetch error ("fetch failed"), not Clerk's.
    return new Error(`could not reach Clerk at ${config.apiUrl ?? 'https://api.clerk.com'} while ${doing}: ${safeLine(detail?.message, secrets) ?? 'no details'}. Check the connection's apiUrl and the network`);
  }
  if (error.status === 401 || error.status === 403) return new Error(`Clerk refused the secretKey while ${doing} (${summary}). Update the connection's secretKey (Clerk Dashboard → API keys)`);
  if (error.status === 429) return new Error(`Clerk rate-limited the hub while ${doing}${error.retryAfter ? `; retry after ${error.retryAfter} s` : ''} (${summary})`);
  return new Error(`Clerk answered ${summary} while ${doing}`);
}

/** One Backend API call: through the hub's outbound guard (@clerk/backend only uses the global fetch). */
async function call<T>(ctx: ConnectorContext<ClerkConfig>, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await ctx.outbound.run(fn, { signal: ctx.signal });
  } catch (error) {
    throw clerkFailure(error, doing, ctx.connection.config);
  }
}

/**
 * Users first (ordered by creation, so users created meanwhile land at the end), then every
 * organization with its full member list per role. Memberships of users the listing did not
 * return (created after it passed) are left to their webhooks.
 */
export async function* backfill(ctx: ConnectorContext<ClerkConfig>): AsyncIterable<BackfillPage> {
  const config = ctx.connection.config;
  const clerk = clerkClient(config);
  const listedAt = new Date();
  const users = new Set<string>();

  for (let offset = 0; ; offset += PAGE) {
    if (ctx.signal?.aborted) return;
    const page = await call(ctx, 'listing users', () => clerk.users.getUserList({ limit: PAGE, offset, orderBy: '+created_at' }));
    const parsed = page.data.map((u) => ClerkUser.parse(u.raw));
    for (const u of parsed) users.add(u.id);
    yield { commands: parsed.map((u) => upsertUser(u, config)), seenUserSourceIds: parsed.map((u) => u.id), total: page.totalCount };
    if (page.data.length < PAGE || offset + PAGE >= page.totalCount) break;
  }

  for (let offset = 0; ; offset += PAGE) {
    if (ctx.signal?.aborted) return;
    const orgs = await call(ctx, 'listing organizations', () => clerk.organizations.getOrganizationList({ limit: PAGE, offset, orderBy: '+created_at' }));
    for (const organization of orgs.data) {
      const org = ClerkOrganization.parse(organization.raw);
      const members: ClerkMembership[] = [];
      for (let from = 0; ; from += PAGE) {
        const page = await call(ctx, `listing the members of organization ${org.id}`, () => clerk.organizations.getOrganizationMembershipList({ organizationId: org.id, limit: PAGE, offset: from }));
        members.push(...page.data.map((m) => ClerkMembership.parse(m.raw)));
        if (page.data.length < PAGE || from + PAGE >= page.totalCount) break;
      }
      const listed = members.filter((m) => users.has(m.public_user_data.user_id));
      const roles = new Map<string, string | null | undefined>(listed.map((m) => [m.role, m.role_name]));
      const groups = organizationGroups(org, [...roles].map(([key, name]) => ({ key, name })));
      const roleKeys = groups.slice(1).map((g) => (g as { sourceId: string }).sourceId);
      const replace = (sourceId: string, of: ClerkMembership[]): LifecycleCommandInput => ({
        type: 'replaceMembers', group: { sourceId }, users: of.map((m) => ({ sourceId: m.public_user_data.user_id })), occurredAt: listedAt,
      });
      yield {
        commands: [
          ...groups,
          replace(organizationGroupId(org.id), listed),
          ...roleKeys.map((sourceId) => replace(sourceId, listed.filter((m) => roleGroupId(org.id, m.role) === sourceId))),
        ],
        seenUserSourceIds: [],
      };
    }
    if (orgs.data.length < PAGE || offset + PAGE >= orgs.totalCount) break;
  }
}

/** Which of these users Clerk still has (a user the offset listing skipped is not drift). */
export async function stillExists(sourceIds: string[], ctx: ConnectorContext<ClerkConfig>): Promise<string[]> {
  const config = ctx.connection.config;
  const found = await call(ctx, 'looking users up', () => clerkClient(config).users.getUserList({ userId: sourceIds, limit: 100 }));
  return found.data.map((u) => u.id);
}

/**
 * Revokes at Clerk. A session: sessions.revokeSession (gone already counts as done). A user whose
 * person another, authoritative source deprovisioned: banned when the connection says so
 * (banOnLinkedDeprovision), otherwise every active session revoked. Throws to be retried.
 */
export async function revoke(target: RevocationTarget, ctx: ConnectorContext<ClerkConfig>): Promise<void> {
  const config = ctx.connection.config;
  const clerk = clerkClient(config);
  const revokeSession = async (sessionId: string) => {
    try {
      await ctx.outbound.run(() => clerk.sessions.revokeSession(sessionId), { signal: ctx.signal });
    } catch (error) {
      if (isClerkAPIResponseError(error) && error.status === 404) {
        ctx.logger.info({ sessionId }, 'Clerk no longer has this session: nothing to revoke');
        return;
      }
      // Refused for another reason: a session that already ended (signed out, expired, banned)
      // is as good as revoked; only an active one is worth a retry.
      if (isClerkAPIResponseError(error) && error.status !== undefined && error.status >= 400 && error.status < 500 && ![401, 403, 429].includes(error.status)) {
        const current = await ctx.outbound.run(() => clerk.sessions.getSession(sessionId), { signal: ctx.signal }).catch(() => null);
        if (current && current.status !== 'active') {
          ctx.logger.info({ sessionId, status: current.status }, 'the Clerk session has already ended');
          return;
        }
      }
      throw clerkFailure(error, `revoking session ${sessionId}`, config);
    }
  };
  switch (target.type) {
    case 'session':
      return revokeSession(target.externalRef);
    case 'credential':
      // This connector registers no credentials; nothing of Clerk's to revoke.
      ctx.logger.warn({ credentialId: target.id }, 'Clerk owns no credentials: nothing to revoke upstream');
      return;
    case 'user': {
      if (config.banOnLinkedDeprovision) {
        await call(ctx, `banning user ${target.user.sourceId}`, () => clerk.users.banUser(target.user.sourceId));
        return;
      }
      const active: string[] = [];
      for (let offset = 0; ; offset += PAGE) {
        const page = await call(ctx, `listing the sessions of user ${target.user.sourceId}`, () => clerk.sessions.getSessionList({ userId: target.user.sourceId, status: 'active', limit: PAGE, offset }));
        active.push(...page.data.map((s) => s.id));
        if (page.data.length < PAGE || offset + PAGE >= page.totalCount) break;
      }
      for (const id of active) await revokeSession(id);
      return;
    }
  }
}
