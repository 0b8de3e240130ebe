// Identity linking in the API: the same person in the organization's other connections.
import { builder } from '../builder.ts';

builder.prismaObjectFields('DirectoryUser', (t) => ({
  linkedUsers: t.prismaField({
    type: ['DirectoryUser'],
    description: "The same person in the organization's other connections (organization.identityLinking), oldest first.",
    select: { personKey: true, organizationId: true },
    resolve: (query, user, _args, ctx) =>
      user.personKey
        ? ctx.hub.db.prisma.directoryUser.findMany({
            ...query,
            where: { organizationId: user.organizationId, personKey: user.personKey, id: { not: user.id }, state: { not: 'DELETED' } },
            orderBy: { id: 'asc' },
            take: 100,
          })
        : Promise.resolve([]),
  }),
}));
