import { actorOf } from '../../auth/principal.ts';
import { builder } from '../builder.ts';
import { groupOrganization } from '../access.ts';

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
      await groupOrganization(ctx, id);
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
      const organizationId = await groupOrganization(ctx, groupId);
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
      const organizationId = await groupOrganization(ctx, groupId);
      const workspace = input.workspace ?? '';
      await ctx.hub.engine.execute({ organizationId, actor: actorOf(ctx.principal!), commands: [{ type: 'removeGroupMapping', group: { groupId }, workspace }] });
      return { groupId, workspace };
    },
  }),
}));
