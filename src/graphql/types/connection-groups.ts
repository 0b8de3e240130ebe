// A connection's own groups: what the setup portal maps to roles (a setup session may not list the
// organization's groups, only its connection's, through the connection it may read).
import { builder } from '../builder.ts';

const MAX_GROUPS = 500;

builder.prismaObjectFields('DirectoryConnection', (t) => ({
  groups: t.relation('groups', {
    description: `The connection's groups that exist at the source, by name (at most ${MAX_GROUPS}).`,
    args: { first: t.arg.int({ defaultValue: 100, description: `How many (at most ${MAX_GROUPS}).` }) },
    query: (args) => ({
      where: { deletedAt: null },
      orderBy: [{ displayName: 'asc' }, { id: 'asc' }],
      take: Math.min(Math.max(args.first ?? 100, 1), MAX_GROUPS),
    }),
  }),
}));
