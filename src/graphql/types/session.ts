import { builder } from '../builder.ts';
import { RevocationStatusEnum } from './enums.ts';

export const CredentialKindEnum = builder.enumType('CredentialKind', {
  values: ['api_key', 'oauth_token', 'ssh_key', 'service_account', 'personal_access_token', 'other'] as const,
});


export const Session = builder.prismaObject('Session', {
  fields: (t) => ({
    id: t.exposeID('id'),
    externalRef: t.exposeString('externalRef'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    revokedReason: t.exposeString('revokedReason', { nullable: true }),
    revocationStatus: t.expose('revocationStatus', { type: RevocationStatusEnum, nullable: true }),
    revocationAttempts: t.exposeInt('revocationAttempts'),
    revocationError: t.exposeString('revocationError', { nullable: true }),
    revocationConfirmedAt: t.expose('revocationConfirmedAt', { type: 'DateTime', nullable: true }),
    connectionId: t.exposeID('connectionId', { nullable: true, description: 'The connection owning the session upstream, if any.' }),
    user: t.relation('user'),
  }),
});

export const Credential = builder.prismaObject('Credential', {
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.exposeString('kind'),
    name: t.exposeString('name', { nullable: true }),
    externalRef: t.exposeString('externalRef'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    revokedReason: t.exposeString('revokedReason', { nullable: true }),
    revocationStatus: t.expose('revocationStatus', { type: RevocationStatusEnum, nullable: true }),
    revocationAttempts: t.exposeInt('revocationAttempts'),
    revocationError: t.exposeString('revocationError', { nullable: true }),
    revocationConfirmedAt: t.expose('revocationConfirmedAt', { type: 'DateTime', nullable: true }),
    connectionId: t.exposeID('connectionId', { nullable: true }),
    user: t.relation('user'),
  }),
});
