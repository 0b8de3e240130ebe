import { actorOf } from '../../tenancy/principal.ts';
import { builder } from '../builder.ts';
import { configurableGroupOrganization } from '../access.ts';
import { apiError } from '../errors.ts';
import { formatRoles, sameRoles } from '../../engine/roles.ts';

export const Group = builder.prismaObject('DirectoryGroup', {
  name: 'Group',
  // Select mode, like User: a group listed under each user on a page reads only what is asked.
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    organizationId: t.exposeID('organizationId'),
    sourceId: t.exposeString('sourceId'),
    externalId: t.exposeString('externalId', { nullable: true }),
    displayName: t.exposeString('displayName'),
    memberCount: t.exposeInt('memberCount', { description: 'Active direct members.' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    connection: t.relation('connection'),
    mappings: t.relation('mappings', { query: { orderBy: { workspace: 'asc' } } }),
  }),
});

export const GroupMapping = builder.prismaObject('GroupMapping', {
  fields: (t) => ({
    id: t.exposeID('id'),
    workspace: t.string({ nullable: true, description: 'null: the organization itself.', resolve: (m) => m.workspace || null }),
    role: t.exposeString('role', { nullable: true, description: "null: the organization's default role in that workspace." }),
    group: t.relation('group'),
  }),
});

builder.queryFields((t) => ({
  group: t.prismaField({
    type: 'DirectoryGroup',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { authenticated: true },
    resolve: async (query, _root, args, ctx) => {
      const id = String(args.id);
      await configurableGroupOrganization(ctx, id);
      return ctx.hub.db.prisma.directoryGroup.findUnique({ ...query, where: { id } });
    },
  }),
}));

const MappingPayload = builder.objectRef<{ groupId: string; workspace: string }>('GroupMappingPayload').implement({
  fields: (t) => ({
    mapping: t.prismaField({
      type: 'GroupMapping',
      nullable: true,
      resolve: (query, p, _args, ctx) =>
        ctx.hub.db.prisma.groupMapping.findUnique({ ...query, where: { groupId_workspace: { groupId: p.groupId, workspace: p.workspace } } }),
    }),
  }),
});

builder.mutationFields((t) => ({
  setGroupMapping: t.fieldWithInput({
    type: MappingPayload,
    authScopes: { authenticated: true },
    description: "Maps a directory group to a role and/or a workspace; members' roles are recomputed at once.",
    input: {
      groupId: t.input.id({ required: true }),
      role: t.input.string({ description: "One of the organization's roleRanking; omit to grant the default role." }),
      workspace: t.input.string({ description: 'Omit for the organization itself.' }),
    },
    resolve: async (_root, { input }, ctx) => {
      const groupId = String(input.groupId);
      const organizationId = await configurableGroupOrganization(ctx, groupId);
      const workspace = input.workspace ?? '';
      await ctx.hub.engine.execute({
        organizationId,
        actor: actorOf(ctx.principal!),
        commands: [{ type: 'setGroupMapping', group: { groupId }, role: input.role ?? null, workspace }],
      });
      return { groupId, workspace };
    },
  }),
  removeGroupMapping: t.fieldWithInput({
    type: MappingPayload,
    authScopes: { authenticated: true },
    input: { groupId: t.input.id({ required: true }), workspace: t.input.string() },
    resolve: async (_root, { input }, ctx) => {
      const groupId = String(input.groupId);
      const organizationId = await configurableGroupOrganization(ctx, groupId);
      const workspace = input.workspace ?? '';
      await ctx.hub.engine.execute({ organizationId, actor: actorOf(ctx.principal!), commands: [{ type: 'removeGroupMapping', group: { groupId }, workspace }] });
      return { groupId, workspace };
    },
  }),
}));

// ---- what a mapping would do, before it is saved --------------------------------------------------

interface RoleChangePreviewRow {
  userId: string;
  before: Record<string, string>;
  after: Record<string, string>;
  /** Shared by the rows of one page: their users are read in one statement (see `user`). */
  page: { ids: string[]; users?: Promise<Map<string, unknown>> };
}

const RoleChangePreview = builder.objectRef<RoleChangePreviewRow>('RoleChangePreview').implement({
  description: "One member whose roles the proposed mapping would change.",
  fields: (t) => ({
    user: t.prismaField({
      type: 'DirectoryUser',
      // The first row's resolver reads every user of the page with the selection asked for (the
      // same for all rows), the others wait for that one statement: no query per row.
      resolve: async (query, row, _args, ctx) => {
        row.page.users ??= ctx.hub.db.prisma.directoryUser.findMany({ ...query, where: { id: { in: row.page.ids } } })
          .then((users) => new Map(users.map((u) => [u.id, u])));
        return (await row.page.users).get(row.userId) as never;
      },
    }),
    before: t.stringList({ description: 'Roles now ("admin", or "workspace:role").', resolve: (row) => formatRoles(row.before) }),
    after: t.stringList({ description: 'Roles once the mapping is saved.', resolve: (row) => formatRoles(row.after) }),
  }),
});

interface MappingPreviewResult { members: number; changes: Array<Omit<RoleChangePreviewRow, 'page'>>; warnings: string[] }

const GroupMappingPreview = builder.objectRef<MappingPreviewResult>('GroupMappingPreview').implement({
  description: 'What saving a group\'s mappings would change, computed by the engine as setGroupMapping would and not saved.',
  fields: (t) => ({
    members: t.exposeInt('members', { description: 'Active direct members of the group.' }),
    changed: t.int({ description: 'Members whose roles would change.', resolve: (p) => p.changes.length }),
    changes: t.field({
      type: [RoleChangePreview],
      args: { first: t.arg.int({ description: 'At most 100 (default 20).' }) },
      resolve: (p, args) => {
        const rows = p.changes.slice(0, Math.min(Math.max(args.first ?? 20, 0), 100));
        const page = { ids: rows.map((r) => r.userId) };
        return rows.map((r) => ({ ...r, page }));
      },
    }),
    warnings: t.exposeStringList('warnings', { description: 'What the engine would warn of (an organization left without an admin).' }),
  }),
});

const MappingProposal = builder.inputType('GroupMappingProposal', {
  fields: (t) => ({
    role: t.string({ description: "One of the organization's roleRanking; omit for the default role." }),
    workspace: t.string({ description: 'Omit for the organization itself.' }),
  }),
});

const MAX_PROPOSED_MAPPINGS = 50;

builder.queryFields((t) => ({
  groupMappingPreview: t.fieldWithInput({
    type: GroupMappingPreview,
    authScopes: { authenticated: true },
    description: "Whose roles would change if the group's mappings were exactly `mappings` (an empty list: no mapping), before saving them with setGroupMapping / removeGroupMapping. Changes nothing.",
    input: {
      groupId: t.input.id({ required: true }),
      mappings: t.input.field({ type: [MappingProposal], required: true }),
    },
    resolve: async (_root, { input }, ctx) => {
      const groupId = String(input.groupId);
      const organizationId = await configurableGroupOrganization(ctx, groupId);
      const proposed = input.mappings.map((m) => ({ role: m.role ?? null, workspace: m.workspace ?? '' }));
      if (proposed.length > MAX_PROPOSED_MAPPINGS) throw apiError('BAD_USER_INPUT', `at most ${MAX_PROPOSED_MAPPINGS} mappings per group`, { field: 'mappings' });
      if (new Set(proposed.map((m) => m.workspace)).size < proposed.length) {
        throw apiError('BAD_USER_INPUT', 'a workspace appears twice in mappings: a group has one mapping per workspace', { field: 'mappings' });
      }
      const [group, current] = await Promise.all([
        ctx.hub.db.prisma.directoryGroup.findUnique({ where: { id: groupId }, select: { memberCount: true } }),
        ctx.hub.db.prisma.groupMapping.findMany({ where: { groupId }, select: { workspace: true } }),
      ]);
      // The same commands the portal's Save sends: the workspaces no longer mapped removed, then each one set.
      const commands = [
        ...current.filter((c) => !proposed.some((p) => p.workspace === c.workspace)).map((c) => ({ type: 'removeGroupMapping' as const, group: { groupId }, workspace: c.workspace })),
        ...proposed.map((p) => ({ type: 'setGroupMapping' as const, group: { groupId }, role: p.role, workspace: p.workspace })),
      ];
      const { audit } = await ctx.hub.engine.preview({ organizationId, actor: actorOf(ctx.principal!), commands });
      // Each command's audit row lists its role changes; a member changed twice keeps the first
      // `from` and the last `to`, and is left out when they are the same.
      const byUser = new Map<string, { before: Record<string, string>; after: Record<string, string> }>();
      for (const row of audit) {
        for (const change of (row.data?.roleChanges as Array<{ userId: string; from: Record<string, string>; to: Record<string, string> }> | undefined) ?? []) {
          const seen = byUser.get(change.userId);
          byUser.set(change.userId, { before: seen?.before ?? change.from, after: change.to });
        }
      }
      const changes = [...byUser].filter(([, c]) => !sameRoles(c.before, c.after)).map(([userId, c]) => ({ userId, ...c }));
      changes.sort((a, b) => a.userId.localeCompare(b.userId));
      return { members: group?.memberCount ?? 0, changes, warnings: [...new Set(audit.flatMap((row) => row.warnings ?? []))] };
    },
  }),
}));
