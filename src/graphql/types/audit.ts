import { builder } from '../builder.ts';

export const AuditEvent = builder.prismaObject('AuditEvent', {
  description: "One append-only, hash-chained row of an organization's audit log.",
  fields: (t) => ({
    id: t.exposeID('id'),
    seq: t.string({ description: 'Position in the chain, from 1.', resolve: (a) => a.seq.toString() }),
    at: t.expose('at', { type: 'DateTime' }),
    action: t.exposeString('action'),
    actorType: t.exposeString('actorType', { description: 'connection, api_key, admin or system.' }),
    actorId: t.exposeString('actorId', { nullable: true }),
    deliveryId: t.exposeString('deliveryId', { nullable: true }),
    targetType: t.exposeString('targetType', { nullable: true }),
    targetId: t.exposeString('targetId', { nullable: true }),
    data: t.expose('data', { type: 'JSON' }),
    warnings: t.exposeStringList('warnings'),
    testMode: t.exposeBoolean('testMode', { description: 'Recorded by a connection in test mode: nothing was applied.' }),
    prevHash: t.exposeString('prevHash'),
    hash: t.exposeString('hash'),
  }),
});
