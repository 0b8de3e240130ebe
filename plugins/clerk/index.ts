// Clerk: webhooks (delivered by Svix) verified with @clerk/backend's verifyWebhook, a backfill and
// revocation through the Backend API with @clerk/backend. See plugins/clerk/README.md.
import { verifyWebhook } from '@clerk/backend/webhooks';
import { Webhook } from 'svix';
import { z } from 'zod';
import { defineConnector, parseWebhookJson, PayloadError, VerificationError, type InboundResult, type LifecycleCommandInput } from 'lifecycle-hub/connector';
import { apiBaseUrl } from '../shared/api-base-url.ts';
import { backfill, CLERK_API_HOSTS, revoke, stillExists, type ClerkConfig } from './api.ts';
import {
  ClerkDeleted, ClerkMembership, ClerkOrganization, ClerkSession, ClerkUser, deleteOrganization, eventTime, membershipDeleted, membershipUpserted, organizationGroups, upsertUser,
} from './translate.ts';

const config = z
  .object({
    webhookSigningSecret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "must be the webhook endpoint's Signing Secret from the Clerk Dashboard (Webhooks → your endpoint), starting with whsec_"),
    secretKey: z.string().regex(/^sk_(test|live)_\S+$/, 'must be a Clerk Secret Key (Clerk Dashboard → API keys), starting with sk_test_ or sk_live_'),
    /** Clerk's Backend API; another host only where the hub's operator allows it (OUTBOUND_ALLOWED_HOSTS). */
    apiUrl: apiBaseUrl('https://api.clerk.com').optional(),
    /** A locked user (too many failed sign-ins) counts as inactive; default true. */
    lockedIsInactive: z.boolean().optional(),
    /** When another, authoritative source deprovisions the person, ban them at Clerk (default: revoke their sessions). */
    banOnLinkedDeprovision: z.boolean().optional(),
  })
  .strict();

/** Parses a verified event's data, or says which field is wrong (400). */
function parse<T extends z.ZodType>(schema: T, data: unknown, type: string): z.infer<T> {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PayloadError(`${type}: data.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export default defineConnector({
  id: 'clerk',
  displayName: 'Clerk',
  description: 'Users, organization memberships (as groups and role groups) and sessions from a Clerk instance.',
  configSchema: config,
  secretFields: ['webhookSigningSecret', 'secretKey'],
  api: { hosts: CLERK_API_HOSTS, baseUrlField: 'apiUrl' },

  async inbound(request, ctx): Promise<InboundResult> {
    const svixId = request.headers.get('svix-id')?.trim();
    let event: { type: string; data: unknown; timestamp?: unknown };
    try {
      // verifyWebhook reads the body itself and wants a Fetch Request; the secret is the connection's.
      event = (await verifyWebhook(new Request(request.url, { method: 'POST', headers: request.headers, body: request.rawBody }), {
        signingSecret: ctx.connection.config.webhookSigningSecret,
      })) as typeof event;
    } catch (error) {
      // verifyWebhook reports a correctly signed body that is not a JSON object (invalid JSON,
      // `null`) as "unable to verify"; telling the sender to check its secret would mislead, so
      // the signature is checked on its own (Svix's library, which Clerk's wraps) to tell which.
      if (signedButNotAnEvent(request.rawBody, request.headers, ctx.connection.config.webhookSigningSecret)) {
        throw new PayloadError('the delivery is signed correctly but its body is not a Clerk event (a JSON object with type and data)');
      }
      const why = (error as Error).message.replace(/^🔒 Clerk: /, '');
      throw new VerificationError(
        `${why}. Check that this connection's webhookSigningSecret is the Signing Secret of the Clerk webhook endpoint pointing at this URL, that the request carries svix-id, svix-timestamp and svix-signature, and that the clocks agree within 5 minutes`,
      );
    }
    if (!svixId) throw new VerificationError('svix-id header missing');
    // verifyWebhook parsed the body with JSON.parse: the bytes are parsed again the hub's way.
    event = parseWebhookJson(request.rawBody) as typeof event;
    const options = ctx.connection.config as ClerkConfig;
    const at = eventTime(event.timestamp);
    const type = event.type;
    if (typeof type !== 'string' || !type) throw new PayloadError('the delivery is signed correctly but has no event "type": not a Clerk event');
    const done = (commands: LifecycleCommandInput[]): InboundResult => ({ deliveryId: svixId, commands });

    switch (type) {
      case 'user.created':
      case 'user.updated':
        return done([upsertUser(parse(ClerkUser, event.data, type), options)]);
      case 'user.deleted': {
        // Carries only { object, id, deleted }: the deletion is ordered by the event's own time.
        const { id } = parse(ClerkDeleted, event.data, type);
        return done([{ type: 'deleteUser', user: { sourceId: id }, reason: 'deleted at Clerk', occurredAt: at }]);
      }
      case 'organizationMembership.created':
      case 'organizationMembership.updated':
        return done(membershipUpserted(parse(ClerkMembership, event.data, type)));
      case 'organizationMembership.deleted':
        return done(membershipDeleted(parse(ClerkMembership, event.data, type), at));
      case 'organization.created':
      case 'organization.updated':
        return done(organizationGroups(parse(ClerkOrganization, event.data, type)));
      case 'organization.deleted':
        return done(deleteOrganization(parse(ClerkDeleted, event.data, type).id, at));
      case 'session.created': {
        const s = parse(ClerkSession, event.data, type);
        return done([{ type: 'registerSession', user: { sourceId: s.user_id }, externalRef: s.id, occurredAt: new Date(s.created_at) }]);
      }
      case 'session.ended':
      case 'session.removed':
      case 'session.revoked': {
        const s = parse(ClerkSession, event.data, type);
        return done([{ type: 'endSession', user: { sourceId: s.user_id }, externalRef: s.id, reason: `session ${type.slice('session.'.length)} at Clerk`, occurredAt: new Date(s.updated_at) }]);
      }
      default:
        return { deliveryId: svixId, ignored: `Clerk event "${type}" does not change users, memberships or sessions` };
    }
  },

  backfill,
  stillExists,
  revoke,
});

function signedButNotAnEvent(rawBody: string, headers: Headers, secret: string): boolean {
  try {
    new Webhook(secret).verify(rawBody, {
      'svix-id': headers.get('svix-id') ?? '',
      'svix-timestamp': headers.get('svix-timestamp') ?? '',
      'svix-signature': headers.get('svix-signature') ?? '',
    });
  } catch {
    return false;
  }
  try {
    const payload: unknown = JSON.parse(rawBody);
    return payload === null || typeof payload !== 'object' || Array.isArray(payload);
  } catch {
    return true;
  }
}
