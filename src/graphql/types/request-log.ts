// DirectoryConnection.requestLog: what each push request (SCIM) or webhook did, newest first, so
// an admin can debug a failed provisioning without the identity provider's logs. Never holds a
// token or a request body (see plugins/scim/http/log.ts).
import { builder } from '../builder.ts';

export const RequestLogEntry = builder.prismaObject('ConnectionRequestLog', {
  name: 'RequestLogEntry',
  description: 'One request a source made to this connection (a SCIM call or a webhook delivery).',
  fields: (t) => ({
    id: t.id({ resolve: (r) => String(r.id) }),
    at: t.expose('at', { type: 'DateTime' }),
    requestId: t.exposeString('requestId', { description: 'Also returned to the source as the X-Request-Id header.' }),
    method: t.exposeString('method'),
    path: t.exposeString('path', { description: 'Relative to the connection\'s base URL, with filter values masked except for identifiers.' }),
    status: t.exposeInt('status'),
    durationMs: t.exposeInt('durationMs'),
    client: t.exposeString('client', { nullable: true, description: 'The identity provider, detected from the User-Agent (okta, entra, google, onelogin, jumpcloud…), when known.' }),
    error: t.exposeString('error', { nullable: true, description: 'What was wrong, for a request that failed.' }),
  }),
});

builder.prismaObjectField('DirectoryConnection', 'requestLog', (t) =>
  t.relation('requestLog', {
    description: 'The most recent requests the source made to this connection, newest first.',
    args: { first: t.arg.int({ defaultValue: 50, description: 'How many (at most 500).' }) },
    query: (args) => ({ orderBy: { id: 'desc' }, take: Math.min(Math.max(args.first ?? 50, 0), 500) }),
  }),
);
