import { builder } from '../builder.ts';

export const UserStateEnum = builder.enumType('UserState', {
  values: {
    ACTIVE: { description: 'Has access.' },
    DEPROVISIONED: { description: 'Offboarded: sessions and credentials revoked, memberships ended, roles dropped. The record is kept.' },
    DELETED: { description: 'Deleted with the HARD_DELETE policy: personal data erased, a tombstone kept.' },
  },
});

export const ConnectionStatusEnum = builder.enumType('ConnectionStatus', { values: ['ACTIVE', 'PAUSED'] as const });

export const DeprovisionPolicyEnum = builder.enumType('DeprovisionPolicy', {
  values: {
    SOFT: { description: 'A user deleted at the source is deprovisioned and kept.' },
    HARD_DELETE: { description: 'A user deleted at the source is deprovisioned and its personal data erased.' },
  },
});

export const IdentityLinkingEnum = builder.enumType('IdentityLinking', {
  values: {
    NONE: {},
    EXTERNAL_ID: { description: 'Users of different connections with the same externalId are one person.' },
    VERIFIED_EMAIL: { description: 'Users of different connections with the same verified email are one person.' },
  },
});

export const RevocationStatusEnum = builder.enumType('RevocationStatus', {
  values: {
    NOT_REQUIRED: { description: 'Revoked by the hub itself; nothing upstream to tell.' },
    PENDING: { description: 'Revoked here; the owning connector has yet to confirm upstream.' },
    CONFIRMED: { description: 'Confirmed revoked upstream.' },
    FAILED: { description: 'The connector gave up revoking upstream: act by hand.' },
  },
});
