// The template connector: a minimal, complete example to copy when writing your own (see
// plugins/README.md). It receives a source's lifecycle events as signed JSON webhooks and, when
// the source offers an export API, lists everything for a backfill.
//
// Wire format (what the source sends; plugins/template/README.md has examples):
//   POST <connection.webhookUrl>, signed with Standard Webhooks (https://www.standardwebhooks.com):
//   headers webhook-id, webhook-timestamp, webhook-signature; body
//   { "type": "user.upserted" | "user.deleted" | "group.upserted" | "group.deleted"
//             | "group.member_added" | "group.member_removed",
//     "timestamp": "<ISO 8601: when the change happened at the source>",
//     "data": { ... } }
//
// A connector only translates: verify, parse, return commands. It never writes to the database,
// and it never needs to worry about retries, duplicates or order: the engine applies a delivery
// id once and ignores changes older than what it has (that is what `occurredAt` is for). It
// imports the hub from `lifecycle-hub/connector` only: that is the surface kept stable for you.
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { defineConnector, parseWebhookJson, PayloadError, VerificationError, type BackfillPage, type ConnectorContext, type LifecycleCommandInput } from 'lifecycle-hub/connector';

// 1. Configuration: what createDirectoryConnection's `config` takes. Errors name the field.
const config = z
  .object({
    signingSecret: z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be the Standard Webhooks secret: "whsec_" followed by base64'),
    /** Optional: the source's export API, for syncConnection (GET <exportUrl>/users and /groups). */
    exportUrl: z.url().optional(),
    apiToken: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => !c.exportUrl || c.apiToken, { message: 'apiToken is required with exportUrl', path: ['apiToken'] });
type Config = z.infer<typeof config>;

// 2. The source's payloads, validated: a malformed delivery is a 400 with the reason, not a crash.
const User = z.object({
  id: z.string().min(1),
  email: z.string().nullish(),
  given_name: z.string().nullish(),
  family_name: z.string().nullish(),
  external_id: z.string().nullish(),
  active: z.boolean().default(true),
  attributes: z.record(z.string(), z.unknown()).optional(),
});
const Group = z.object({ id: z.string().min(1), name: z.string().min(1) });
const Member = z.object({ group_id: z.string().min(1), user_id: z.string().min(1) });
const Event = z.discriminatedUnion('type', [
  z.object({ type: z.literal('user.upserted'), timestamp: z.coerce.date(), data: User }),
  z.object({ type: z.literal('user.deleted'), timestamp: z.coerce.date(), data: z.object({ id: z.string().min(1) }) }),
  z.object({ type: z.literal('group.upserted'), timestamp: z.coerce.date(), data: Group }),
  z.object({ type: z.literal('group.deleted'), timestamp: z.coerce.date(), data: z.object({ id: z.string().min(1) }) }),
  z.object({ type: z.literal('group.member_added'), timestamp: z.coerce.date(), data: Member }),
  z.object({ type: z.literal('group.member_removed'), timestamp: z.coerce.date(), data: Member }),
]);

// 3. Translation to lifecycle commands (src/engine/commands.ts).
function upsertUser(user: z.infer<typeof User>, occurredAt: Date): LifecycleCommandInput {
  return {
    type: 'upsertUser',
    sourceId: user.id,
    // replace: the payload is the whole user, so a field it no longer has is cleared.
    mode: 'replace',
    active: user.active,
    occurredAt,
    profile: {
      userName: user.email ?? null,
      email: user.email ?? null,
      externalId: user.external_id ?? null,
      givenName: user.given_name ?? null,
      familyName: user.family_name ?? null,
      displayName: [user.given_name, user.family_name].filter(Boolean).join(' ') || null,
      customAttributes: user.attributes ?? {},
    },
  };
}

function translate(event: z.infer<typeof Event>): LifecycleCommandInput[] {
  const occurredAt = event.timestamp;
  switch (event.type) {
    case 'user.upserted':
      return [upsertUser(event.data, occurredAt)];
    case 'user.deleted':
      return [{ type: 'deleteUser', user: { sourceId: event.data.id }, occurredAt }];
    case 'group.upserted':
      return [{ type: 'upsertGroup', sourceId: event.data.id, displayName: event.data.name, occurredAt }];
    case 'group.deleted':
      return [{ type: 'deleteGroup', group: { sourceId: event.data.id }, occurredAt }];
    case 'group.member_added':
      return [{ type: 'addMembers', group: { sourceId: event.data.group_id }, users: [{ sourceId: event.data.user_id }], occurredAt }];
    case 'group.member_removed':
      // Webhooks arrive in any order: the hub answers a removal naming a user not here yet with 409
      // (ifUserAbsent: 'fail' on every inbound delivery), and the sender retries it until it is.
      return [{ type: 'removeMembers', group: { sourceId: event.data.group_id }, users: [{ sourceId: event.data.user_id }], occurredAt }];
  }
}

// 4. Backfill: page through the export API. Users first, then groups with their full member lists.
async function* listAll(ctx: ConnectorContext<Config>): AsyncIterable<BackfillPage> {
  const { exportUrl, apiToken } = ctx.connection.config;
  if (!exportUrl) throw new Error('this connection has no exportUrl: set one (and apiToken) in its config to sync it');
  const get = async (path: string, cursor: string | null) => {
    const url = new URL(`${exportUrl.replace(/\/+$/, '')}/${path}`);
    if (cursor) url.searchParams.set('cursor', cursor);
    // ctx.outbound.fetch, never the global fetch: the hub checks where the request goes (api.hosts below).
    const response = await ctx.outbound.fetch(url, { headers: { authorization: `Bearer ${apiToken}`, accept: 'application/json' }, signal: ctx.signal });
    if (response.status === 401 || response.status === 403) throw new Error(`the export API refused the apiToken (HTTP ${response.status}): update the connection's apiToken`);
    if (!response.ok) throw new Error(`the export API answered HTTP ${response.status} for ${url.pathname}`);
    return (await response.json()) as { data: unknown[]; next_cursor?: string | null; total?: number };
  };
  const syncedAt = new Date();
  let cursor: string | null = null;
  do {
    const page = await get('users', cursor);
    const users = z.array(User).parse(page.data);
    // A listing is as of now; a webhook newer than this still wins over it.
    yield { commands: users.map((u) => upsertUser(u, syncedAt)), seenUserSourceIds: users.map((u) => u.id), total: page.total };
    cursor = page.next_cursor ?? null;
  } while (cursor);
  do {
    const page = await get('groups', cursor);
    const groups = z.array(Group.extend({ members: z.array(z.string()) })).parse(page.data);
    yield {
      commands: groups.flatMap((g): LifecycleCommandInput[] => [
        { type: 'upsertGroup', sourceId: g.id, displayName: g.name, occurredAt: syncedAt },
        { type: 'replaceMembers', group: { sourceId: g.id }, users: g.members.map((id) => ({ sourceId: id })), occurredAt: syncedAt },
      ]),
      seenUserSourceIds: [],
    };
    cursor = page.next_cursor ?? null;
  } while (cursor);
}

export default defineConnector({
  id: 'template',
  displayName: 'Signed webhooks (template)',
  description: 'Lifecycle events as Standard Webhooks-signed JSON; optional export API for backfill.',
  configSchema: config,
  secretFields: ['signingSecret', 'apiToken'],
  // The source API's documented hosts; exportUrl may name no other (an operator can add hosts
  // with OUTBOUND_ALLOWED_HOSTS, e.g. a test stand-in).
  api: { hosts: ['export.example.com'], baseUrlField: 'exportUrl' },

  async inbound(request, ctx) {
    // Verify first, over the exact bytes received. The library checks the signature and that the
    // timestamp is within 5 minutes (a replayed old delivery fails here).
    const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, request.headers.get(h) ?? '']));
    try {
      new Webhook(ctx.connection.config.signingSecret).verify(request.rawBody, headers, { jsonParse: false });
    } catch (error) {
      throw new VerificationError(`signature or timestamp did not verify (${(error as Error).message}): check that the source signs with this connection's signingSecret and that both clocks are right`);
    }
    const body = parseWebhookJson(request.rawBody);
    const parsed = Event.safeParse(body);
    if (!parsed.success) {
      const kind = (body as { type?: unknown })?.type;
      if (typeof kind === 'string' && !Event.options.some((o) => o.shape.type.value === kind)) {
        return { deliveryId: headers['webhook-id']!, ignored: `event type "${kind}" is not a lifecycle change` };
      }
      const issue = parsed.error.issues[0]!;
      throw new PayloadError(`${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    // The webhook id is the same on every retry of a delivery: the engine applies it once.
    return { deliveryId: headers['webhook-id']!, commands: translate(parsed.data) };
  },

  backfill: listAll,
});
