// Stytch B2B: Svix-signed webhooks (verified with the svix library), members.search for backfill
// and sessions.revoke for revocation through the `stytch` SDK. See README.md beside this file.
import { StytchError } from 'stytch';
import { Webhook } from 'svix';
import { defineConnector, PayloadError, VerificationError, type BackfillPage, type ConnectorContext, type LifecycleCommandInput } from 'lifecycle-hub/connector';
import { STYTCH_API_HOSTS, stytchClient, stytchConfigSchema, stytchFailure, type StytchConfig } from './config.ts';
import { StytchPayloadError, eventFromWebhookBody, memberSchema, type StytchEvent, type StytchMember } from './payloads.ts';
import { SEARCH_STATUSES, memberCommands, memberGroups, translateEvent } from './translate.ts';

const PAGE_SIZE = 500;

/** A member from the API, checked like a webhook's: a malformed answer is an error naming the field. */
function apiMember(raw: unknown): StytchMember {
  const parsed = memberSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new Error(`Stytch members.search returned a member the hub cannot read: ${[...issue.path].join('.')}: ${issue.message}`);
}

/** One API call through the hub's outbound guard, its failure summarized (stytchFailure). */
async function call<T>(ctx: ConnectorContext<StytchConfig>, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await ctx.outbound.run(fn, { signal: ctx.signal });
  } catch (error) {
    throw stytchFailure(error, doing, ctx.connection.config);
  }
}

/** Svix sends `svix-*` headers; the Standard Webhooks names `webhook-*` are accepted too. */
function svixHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['id', 'timestamp', 'signature']) {
    const value = headers.get(`svix-${name}`) ?? headers.get(`webhook-${name}`);
    if (value !== null) out[`webhook-${name}`] = value;
  }
  return out;
}

export const stytchConnector = defineConnector({
  id: 'stytch',
  displayName: 'Stytch B2B',
  description: 'Members and SCIM groups of one Stytch B2B organization: Svix-signed webhooks, members.search backfill, sessions.revoke.',
  configSchema: stytchConfigSchema,
  secretFields: ['webhookSigningSecret', 'secret'],
  api: { hosts: STYTCH_API_HOSTS, baseUrlField: 'apiBaseUrl' },

  async inbound(request, ctx) {
    const config = ctx.connection.config;
    const headers = svixHeaders(request.headers);
    if (!headers['webhook-id'] || !headers['webhook-timestamp'] || !headers['webhook-signature']) {
      throw new VerificationError('missing svix-id, svix-timestamp or svix-signature header');
    }
    try {
      // HMAC-SHA256 over "<id>.<timestamp>.<body>", constant-time, timestamps within ±5 minutes.
      new Webhook(config.webhookSigningSecret).verify(request.rawBody, headers);
    } catch (error) {
      throw new VerificationError(`Svix signature does not verify with this connection's webhookSigningSecret: ${(error as Error).message}`);
    }
    let event: StytchEvent;
    try {
      event = eventFromWebhookBody(request.rawBody);
    } catch (error) {
      if (error instanceof StytchPayloadError) throw new PayloadError(`not a Stytch event: ${error.message}`);
      throw error;
    }
    // The event id is Stytch's; the Svix message id (the same across retries) when there is none.
    const deliveryId = event.eventId ?? headers['webhook-id'];
    if (event.projectId && event.projectId !== config.projectId) return { deliveryId, ignored: `event of project ${event.projectId}; this connection is ${config.projectId}` };
    let translation;
    try {
      translation = translateEvent(event, config.stytchOrganizationId);
    } catch (error) {
      throw new PayloadError(`not a Stytch event: ${(error as Error).message}`);
    }
    return 'ignored' in translation ? { deliveryId, ignored: translation.ignored } : { deliveryId, commands: translation.commands };
  },

  /**
   * Every member of the organization through members.search (cursor paging), deleted ones included
   * (by status) so the hub deprovisions them rather than guessing from their absence; the SCIM
   * connection's groups; and, for each group listed, the members that list it in their SCIM
   * attributes (added, never removed: Stytch has no listing of a group's members, so removals come
   * from webhooks).
   */
  async *backfill(ctx): AsyncIterable<BackfillPage> {
    const config = ctx.connection.config;
    const stytch = stytchClient(config, ctx.outbound);
    // Deleted members this connection never held need no tombstone.
    const known = ctx.knownSourceIds ? new Set(await ctx.knownSourceIds('user')) : null;
    const listedAt = new Date();
    const memberships = new Map<string, Array<{ id: string; at: Date }>>();
    let scimConnectionId: string | null = null;
    let cursor: string | undefined;
    do {
      // Thrown, not returned: a listing cut short must not read as complete (drift).
      ctx.signal?.throwIfAborted();
      const page = await call(ctx, 'searching members', () =>
        stytch.organizations.members.search({
          organization_ids: [config.stytchOrganizationId],
          limit: PAGE_SIZE,
          ...(cursor ? { cursor } : {}),
          query: { operator: 'AND', operands: [{ filter_name: 'statuses', filter_value: SEARCH_STATUSES }] },
        }),
      );
      scimConnectionId ??= page.organizations?.[config.stytchOrganizationId]?.scim_active_connection?.connection_id || null;
      const commands: LifecycleCommandInput[] = [];
      const seen: string[] = [];
      for (const raw of page.members) {
        const member = apiMember(raw);
        if (member.organization_id !== config.stytchOrganizationId) continue;
        if (member.status === 'deleted') {
          if (!known || known.has(member.member_id)) commands.push(...memberCommands(member));
          continue;
        }
        seen.push(member.member_id);
        commands.push(...memberCommands(member));
        for (const group of memberGroups(member)) {
          const list = memberships.get(group.id) ?? [];
          list.push({ id: member.member_id, at: new Date(Date.parse(member.updated_at ?? '') || listedAt.getTime()) });
          memberships.set(group.id, list);
        }
      }
      const total = page.results_metadata?.total;
      yield { commands, seenUserSourceIds: seen, ...(typeof total === 'number' && total >= 0 ? { total } : {}) };
      cursor = page.results_metadata?.next_cursor || undefined;
    } while (cursor);

    if (!scimConnectionId) return;
    let groupCursor: string | undefined;
    do {
      ctx.signal?.throwIfAborted();
      const connectionId = scimConnectionId;
      const page = await call(ctx, 'listing SCIM groups', () =>
        stytch.scim.connection.getGroups({ organization_id: config.stytchOrganizationId, connection_id: connectionId, limit: PAGE_SIZE, ...(groupCursor ? { cursor: groupCursor } : {}) }),
      );
      for (const group of page.scim_groups) {
        // Each member stamps its own membership with its updated_at: a removal the hub saw later stands.
        const members = memberships.get(group.group_id) ?? [];
        yield {
          commands: [
            { type: 'upsertGroup', sourceId: group.group_id, displayName: group.group_name, sourceData: { organization_id: group.organization_id, connection_id: scimConnectionId }, occurredAt: listedAt },
            ...members.map((m): LifecycleCommandInput => ({ type: 'addMembers', group: { sourceId: group.group_id }, users: [{ sourceId: m.id }], occurredAt: m.at })),
          ],
          seenUserSourceIds: [],
        };
      }
      groupCursor = page.next_cursor || undefined;
    } while (groupCursor);
  },

  /** A session by its member_session_id; a whole member (every session) when another source deprovisioned them. */
  async revoke(target, ctx) {
    if (target.type === 'credential') throw new Error(`Stytch holds no ${target.kind} credentials: this connector never registers any, so there is nothing to revoke upstream`);
    const stytch = stytchClient(ctx.connection.config, ctx.outbound);
    const request = target.type === 'session' ? { member_session_id: target.externalRef } : { member_id: target.user.sourceId };
    try {
      await ctx.outbound.run(() => stytch.sessions.revoke(request), { signal: ctx.signal });
    } catch (error) {
      // Already gone at Stytch is what was asked for.
      if (error instanceof StytchError && error.status_code === 404) {
        ctx.logger.info({ target: target.type, errorType: error.error_type }, 'Stytch revocation target already gone');
        return;
      }
      throw stytchFailure(error, `revoking the ${target.type === 'session' ? 'session' : "member's sessions"}`, ctx.connection.config);
    }
  },
});

export default stytchConnector;
