// Sync (backfill) runs: syncConnection starts one; connection.sync shows the latest.
import { builder } from '../builder.ts';
import { connectionOrganization } from '../access.ts';

export const SyncStatusEnum = builder.enumType('SyncStatus', {
  values: {
    RUNNING: { description: 'Listing the source and applying what it says.' },
    SUCCEEDED: { description: 'Finished; `error` lists records the source sent that could not be applied, if any.' },
    FAILED: { description: 'Stopped early; `error` says why and what to do.' },
  },
});

export const SyncRun = builder.prismaObject('SyncRun', {
  description: "One backfill of a connection: the source's full listing applied through the lifecycle engine.",
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.expose('status', { type: SyncStatusEnum }),
    processed: t.exposeInt('processed', { description: 'Users listed by the source so far.' }),
    total: t.exposeInt('total', { nullable: true, description: 'Users at the source, when the source says.' }),
    drifted: t.exposeInt('drifted', { description: 'Active users here that the source no longer has (reported; deprovisioned when the connection has deprovisionOnDrift).' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

builder.prismaObjectFields('DirectoryConnection', (t) => ({
  sync: t.prismaField({
    type: 'SyncRun',
    nullable: true,
    description: 'The latest sync (backfill) run, or null if the connection was never synced.',
    resolve: (query, connection, _args, ctx) =>
      ctx.hub.db.prisma.syncRun.findFirst({ ...query, where: { connectionId: connection.id }, orderBy: [{ startedAt: 'desc' }, { id: 'desc' }] }),
  }),
  syncRuns: t.prismaField({
    type: ['SyncRun'],
    description: 'Recent sync runs, newest first.',
    args: { last: t.arg.int({ defaultValue: 10, description: 'How many (at most 100).' }) },
    resolve: (query, connection, args, ctx) =>
      ctx.hub.db.prisma.syncRun.findMany({ ...query, where: { connectionId: connection.id }, orderBy: [{ startedAt: 'desc' }, { id: 'desc' }], take: Math.min(Math.max(args.last ?? 10, 1), 100) }),
  }),
}));

const SyncConnectionPayload = builder.objectRef<{ connectionId: string; runId: string; alreadyRunning: boolean }>('SyncConnectionPayload').implement({
  fields: (t) => ({
    connection: t.prismaField({
      type: 'DirectoryConnection',
      resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.directoryConnection.findUniqueOrThrow({ ...query, where: { id: p.connectionId } }),
    }),
    sync: t.prismaField({
      type: 'SyncRun',
      resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.syncRun.findUniqueOrThrow({ ...query, where: { id: p.runId } }),
    }),
    alreadyRunning: t.exposeBoolean('alreadyRunning', { description: 'True when a sync of this connection was already running; `sync` is that run.' }),
  }),
});

builder.mutationFields((t) => ({
  syncConnection: t.fieldWithInput({
    type: SyncConnectionPayload,
    authScopes: { authenticated: true },
    description:
      "Starts a backfill: the source's full listing (users, then groups and memberships) is applied in the background. Follow it with connection.sync or the sync.* lifecycle events.",
    input: { connectionId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const connectionId = String(input.connectionId);
      await connectionOrganization(ctx, connectionId);
      const { runId, alreadyRunning } = await ctx.hub.sync.startSync(connectionId);
      return { connectionId, runId, alreadyRunning };
    },
  }),
}));
