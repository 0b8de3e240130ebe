// WorkOS Directory Sync: signed webhooks (WorkOS-Signature), the ordered Events API as an optional
// source of truth, and the directory listings for backfill — all through @workos-inc/node.
// See README.md beside this file for what each event does here.
import { defineConnector, PayloadError, VerificationError, type BackfillPage, type ConnectorContext, type LifecycleCommandInput, type PullPage } from 'lifecycle-hub/connector';
import { WORKOS_API_HOSTS, workosClient, workosConfigSchema, workosFailure, type WorkosConfig } from './config.ts';
import { DSYNC_EVENTS, WorkosPayloadError, directoryOf, eventFromSdk, eventFromWebhookBody, groupFromSdk, userFromSdk, type WorkosEventView } from './payloads.ts';
import { directoryDeletedCommands, translateEvent, upsertGroup, upsertUser } from './translate.ts';

/** The SDK's default: a signature older than this is refused (WorkOS signs every retry afresh). */
export const SIGNATURE_TOLERANCE_MS = 180_000;
/** The SDK accepts any future timestamp; we allow only this much clock skew. */
export const SIGNATURE_FUTURE_SKEW_MS = 30_000;

const PAGE_SIZE = 100;

type Ctx = ConnectorContext<WorkosConfig>;

/** One API call, its failure summarized (workosFailure). */
async function call<T>(ctx: Ctx, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw workosFailure(error, doing, ctx.connection.config);
  }
}

async function verify(rawBody: string, headers: Headers, config: WorkosConfig, ctx: Ctx): Promise<void> {
  const header = headers.get('workos-signature');
  if (!header) throw new VerificationError('missing WorkOS-Signature header');
  const t = /(?:^|,)\s*t=(\d{1,16})\s*(?:,|$)/.exec(header)?.[1];
  if (!t) throw new VerificationError('WorkOS-Signature has no t=<unix ms> timestamp');
  const age = Date.now() - Number(t);
  if (age < -SIGNATURE_FUTURE_SKEW_MS) throw new VerificationError('WorkOS-Signature timestamp is in the future; check the clocks');
  if (age > SIGNATURE_TOLERANCE_MS) throw new VerificationError(`WorkOS-Signature timestamp is more than ${SIGNATURE_TOLERANCE_MS / 1000}s old (WorkOS signs each retry afresh; an old signature is a replay)`);
  try {
    await workosClient(config, ctx.outbound).webhooks.verifyHeader({ payload: rawBody, sigHeader: header, secret: config.webhookSecret, tolerance: SIGNATURE_TOLERANCE_MS });
  } catch (error) {
    throw new VerificationError(`WorkOS-Signature does not verify with this connection's webhookSecret: ${(error as Error).message}`);
  }
}

function outsideConnection(event: WorkosEventView, config: WorkosConfig): string | null {
  const directory = directoryOf(event);
  if (config.directoryId && directory && directory !== config.directoryId) {
    return `event of directory ${directory}; this connection follows ${config.directoryId}`;
  }
  return null;
}

/** Users and groups a pull page creates before a later event of the same page (not applied yet). */
type CreatedHere = Map<string, { users: Set<string>; groups: Set<string> }>;

/** Commands for one event, or why there are none. */
async function commandsFor(event: WorkosEventView, ctx: Ctx, createdHere: CreatedHere = new Map()): Promise<{ commands: LifecycleCommandInput[] } | { ignored: string }> {
  const outside = outsideConnection(event, ctx.connection.config);
  if (outside) return { ignored: outside };
  const translation = translateEvent(event);
  if (!('directoryDeleted' in translation)) return translation;

  const { directoryId, at } = translation.directoryDeleted;
  if (ctx.connection.config.onDirectoryDeleted === 'ignore') return { ignored: `directory ${directoryId} deleted; onDirectoryDeleted is "ignore"` };
  if (!ctx.knownSourceIds) {
    ctx.logger.error({ directoryId }, 'dsync.deleted cannot be applied: the hub gave this connector no knownSourceIds');
    return { ignored: `directory ${directoryId} deleted, but its users could not be listed here` };
  }
  const scope = { directory_id: directoryId };
  const here = createdHere.get(directoryId);
  const users = new Set([...(await ctx.knownSourceIds('user', scope)), ...(here?.users ?? [])]);
  const groups = new Set([...(await ctx.knownSourceIds('group', scope)), ...(here?.groups ?? [])]);
  ctx.logger.warn({ directoryId, users: users.size, groups: groups.size }, 'WorkOS directory deleted: deleting its users and groups here');
  return { commands: directoryDeletedCommands(directoryId, at, [...users], [...groups]) };
}

async function* listAll<T>(fetchPage: (after: string | undefined) => Promise<{ data: T[]; listMetadata: { after?: string | null } }>, signal?: AbortSignal): AsyncGenerator<T[]> {
  let after: string | undefined;
  do {
    // Thrown, not returned: a listing cut short must not read as complete (drift).
    signal?.throwIfAborted();
    const page = await fetchPage(after);
    if (page.data.length) yield page.data;
    after = page.listMetadata.after ?? undefined;
  } while (after);
}

export const workosConnector = defineConnector({
  id: 'workos',
  displayName: 'WorkOS Directory Sync',
  description: 'Directory users and groups from WorkOS: signed webhooks, the ordered Events API, and directory listings for backfill.',
  configSchema: workosConfigSchema,
  secretFields: ['webhookSecret', 'apiKey'],
  api: { hosts: WORKOS_API_HOSTS, baseUrlField: 'apiBaseUrl' },

  async inbound(request, ctx) {
    const config = ctx.connection.config;
    await verify(request.rawBody, request.headers, config, ctx);
    let event: WorkosEventView;
    try {
      event = eventFromWebhookBody(request.rawBody);
    } catch (error) {
      if (error instanceof WorkosPayloadError) throw new PayloadError(`not a WorkOS event: ${error.message}`);
      throw error;
    }
    if (config.useEventsApi) {
      const outside = outsideConnection(event, config);
      if (outside) return { deliveryId: event.id, ignored: outside };
      return { deliveryId: event.id, ignored: 'useEventsApi: the ordered Events API (pull) applies this change', wake: true };
    }
    const result = await commandsFor(event, ctx);
    return 'ignored' in result ? { deliveryId: event.id, ignored: result.ignored } : { deliveryId: event.id, commands: result.commands };
  },

  /**
   * Reads the Events API after `cursor` (an event id). Without a cursor it starts at the oldest event
   * WorkOS keeps (30 days): older changes come out stale against what a backfill stored.
   */
  async pull(cursor, ctx): Promise<PullPage> {
    const config = ctx.connection.config;
    const page = await call(ctx, 'reading the Events API', () =>
      workosClient(config, ctx.outbound).events.listEvents({
        events: [...DSYNC_EVENTS],
        limit: PAGE_SIZE,
        ...(cursor ? { after: cursor } : {}),
        ...(config.organizationId ? { organizationId: config.organizationId } : {}),
      }),
    );
    const commands: LifecycleCommandInput[] = [];
    const createdHere: CreatedHere = new Map();
    for (const raw of page.data) {
      const event = eventFromSdk(raw);
      const result = await commandsFor(event, ctx, createdHere);
      if ('ignored' in result) {
        ctx.logger.debug({ event: event.id, reason: result.ignored }, 'WorkOS event skipped');
        continue;
      }
      commands.push(...result.commands);
      const directory = directoryOf(event);
      if (directory) {
        const here = createdHere.get(directory) ?? { users: new Set<string>(), groups: new Set<string>() };
        createdHere.set(directory, here);
        if ('user' in event) here.users.add(event.user.id);
        if ('group' in event) here.groups.add(event.group.id);
      }
    }
    const first = page.data[0]?.id;
    const last = page.data.at(-1)?.id;
    return {
      commands,
      // The page's first and last event name it: a page read again after a crash is a duplicate.
      ...(first && last ? { deliveryId: `workos-events:${first}..${last}` } : {}),
      cursor: last ?? cursor,
      hasMore: Boolean(page.listMetadata?.after) && page.data.length > 0,
    };
  },

  /**
   * Groups, then users (their `state` deprovisions inactive ones), then each group's members read
   * from the group (users' own `groups` arrays are deprecated and empty for teams created since
   * 2026-05-01). Without a directoryId every directory the key sees is listed.
   */
  async *backfill(ctx): AsyncIterable<BackfillPage> {
    const config = ctx.connection.config;
    const workos = workosClient(config, ctx.outbound);
    const directories: string[] = [];
    if (config.directoryId) directories.push(config.directoryId);
    else {
      for await (const page of listAll((after) => call(ctx, 'listing directories', () => workos.directorySync.listDirectories({ limit: PAGE_SIZE, after, ...(config.organizationId ? { organizationId: config.organizationId } : {}) })), ctx.signal)) {
        directories.push(...page.map((d) => d.id));
      }
    }
    for (const directory of directories) {
      const groups: string[] = [];
      for await (const page of listAll((after) => call(ctx, `listing the groups of ${directory}`, () => workos.directorySync.listGroups({ directory, limit: PAGE_SIZE, after })), ctx.signal)) {
        groups.push(...page.map((g) => g.id));
        yield { commands: page.map((g) => upsertGroup(groupFromSdk(g))), seenUserSourceIds: [] };
      }
      const users = new Set<string>();
      for await (const page of listAll((after) => call(ctx, `listing the users of ${directory}`, () => workos.directorySync.listUsers({ directory, limit: PAGE_SIZE, after })), ctx.signal)) {
        for (const u of page) users.add(u.id);
        yield { commands: page.map((u) => upsertUser(userFromSdk(u))), seenUserSourceIds: page.map((u) => u.id) };
      }
      for (const group of groups) {
        // Membership has no clock of its own: the listing is as of when it was read.
        const listedAt = new Date();
        const members: string[] = [];
        for await (const page of listAll((after) => call(ctx, `listing the members of ${group}`, () => workos.directorySync.listUsers({ group, limit: PAGE_SIZE, after })), ctx.signal)) {
          // A user created since the user listing is not here yet; the next sync or its events bring it.
          members.push(...page.map((u) => u.id).filter((id) => users.has(id)));
        }
        yield {
          commands: [{ type: 'replaceMembers', group: { sourceId: group }, users: members.map((sourceId) => ({ sourceId })), occurredAt: listedAt }],
          seenUserSourceIds: [],
        };
      }
    }
  },
  // No revoke: WorkOS Directory Sync has no sessions of directory users to end. Their sessions in
  // your app are revoked by the hub at deprovisioning (revocation NOT_REQUIRED upstream).
});

export default workosConnector;
