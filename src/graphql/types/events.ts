// The Events API: the pull-based twin of the lifecycleEvents subscription, for consumers that poll
// (job runners, serverless backends). A Relay connection over the committed lifecycle events of an
// organization in commit order; the cursor is the event id, stable forever, so "events after my
// last cursor" never skips or repeats one, whatever is being written meanwhile (ids are taken under
// the audit-chain lock, held to commit: src/engine/README.md).
//
// Built by hand rather than with t.connection: the issue fixes the arguments (after: ID, first, no
// before/last), and a cursor that is the event id itself is what subscriptions take as `after`.
import { readEvents, type StreamEvent } from '../../events/read.ts';
import { builder } from '../builder.ts';
import { assertOrganization } from '../access.ts';
import { apiError } from '../errors.ts';
import { CONNECTION_PAGE_SIZE } from '../page-size.ts';
import { LifecycleEvent } from './subscriptions.ts';

interface EventsPage {
  edges: Array<{ cursor: string; node: StreamEvent }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const EventsEdge = builder.objectRef<EventsPage['edges'][number]>('EventsConnectionEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'The event id: pass it as `after` (here or to lifecycleEvents) to continue after this event.' }),
    node: t.field({ type: LifecycleEvent, resolve: (edge) => edge.node }),
  }),
});

const EventsPageInfo = builder.objectRef<EventsPage['pageInfo']>('EventsPageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'More events were committed after this page (when it was read).' }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', { description: 'True when `after` was given: events come before this page.' }),
    startCursor: t.exposeString('startCursor', { nullable: true }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'The last event id of the page; null for an empty page (keep your last cursor).' }),
  }),
});

const EventsConnection = builder.objectRef<EventsPage>('EventsConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [EventsEdge], resolve: (page) => page.edges }),
    pageInfo: t.field({ type: EventsPageInfo, resolve: (page) => page.pageInfo }),
  }),
});

/** Event ids are positive bigints written in decimal. */
export const EVENT_ID = /^\d{1,19}$/;
const MAX_TYPES = 100;

builder.queryFields((t) => ({
  events: t.field({
    type: EventsConnection,
    description:
      'Committed lifecycle events of the organization, oldest first, in commit order. Page with `after: pageInfo.endCursor`; the cursor is the event id, stable forever. The same events (and ids) as the lifecycleEvents subscription.',
    authScopes: { authenticated: true },
    args: {
      organizationId: t.arg.id({ required: true }),
      after: t.arg.id({ description: 'An event id: only later events. Omitted: from the first event.' }),
      first: t.arg.int({ description: `How many (default ${CONNECTION_PAGE_SIZE.default}, at most ${CONNECTION_PAGE_SIZE.max}).` }),
      types: t.arg.stringList({ description: 'Only these event types, e.g. ["user.deprovisioned"].' }),
    },
    resolve: async (_root, args, ctx) => {
      const organizationId = assertOrganization(ctx, String(args.organizationId));
      const after = args.after == null ? null : String(args.after);
      if (after !== null && (!EVENT_ID.test(after) || BigInt(after) > 9223372036854775807n)) throw apiError('BAD_USER_INPUT', 'after must be an event id (a cursor from this connection)', { field: 'after' });
      const first = args.first ?? CONNECTION_PAGE_SIZE.default;
      if (!Number.isInteger(first) || first < 0 || first > CONNECTION_PAGE_SIZE.max) throw apiError('BAD_USER_INPUT', `first must be 0 to ${CONNECTION_PAGE_SIZE.max}`, { field: 'first' });
      const types = args.types ?? null;
      if (types && (types.length > MAX_TYPES || types.some((type) => !type || type.length > 100))) throw apiError('BAD_USER_INPUT', `types takes 1 to ${MAX_TYPES} event types of at most 100 characters`, { field: 'types' });
      // One more than asked: whether there is a next page, in the same statement.
      const rows = first === 0 ? [] : await readEvents(ctx.hub.db.sql, organizationId, { after: BigInt(after ?? '0'), limit: first + 1, types });
      const page = rows.slice(0, first);
      return {
        edges: page.map((node) => ({ cursor: node.id, node })),
        pageInfo: {
          hasNextPage: first === 0 ? (await readEvents(ctx.hub.db.sql, organizationId, { after: BigInt(after ?? '0'), limit: 1, types })).length > 0 : rows.length > first,
          hasPreviousPage: after !== null && after !== '0',
          startCursor: page[0]?.id ?? null,
          endCursor: page.at(-1)?.id ?? null,
        },
      };
    },
  }),
}));
