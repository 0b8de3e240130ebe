import { builder } from '../builder.ts';

export const UserStateEnum = builder.enumType('UserState', {
  values: {
    ACTIVE: { description: 'Has access.' },
    DEPROVISIONED: { description: 'Offboarded: sessions and credentials revoked, memberships ended, roles dropped. The record is kept.' },
    DELETED: { description: 'Deleted with the HARD_DELETE policy: personal data erased, a tombstone kept.' },
  },
});

export const ConnectionStatusEnum = builder.enumType('ConnectionStatus', {
  description: 'Where a connection is in its lifecycle; each change is a `connection.*` lifecycle event and an audit row.',
  values: {
    AWAITING_FIRST_REQUEST: { description: 'Created; nothing authenticated received (or pulled) yet.' },
    ACTIVE: { description: 'Heard from (`connection.activated` the first time, `connection.recovered` after FAILING or STALE).' },
    PAUSED: { description: 'Paused by an admin: changes are refused with "retry later" until resumed.' },
    FAILING: { description: 'The last CONNECTION_FAILING_AFTER requests or pulls failed (`connection.failing`); ACTIVE again at the next success.' },
    STALE: { description: 'Active, but nothing received for CONNECTION_STALE_AFTER_SECONDS (`connection.stale`); ACTIVE again at the next request.' },
  },
});

export const ConnectionDispositionEnum = builder.enumType('ConnectionDisposition', {
  description: "What deleteConnection does with the connection's users.",
  values: {
    DEPROVISION_USERS: { description: 'Every active user of the connection is deprovisioned through the engine (sessions and credentials revoked, memberships ended, roles dropped, events emitted).' },
    KEEP_USERS: { description: 'The users are kept as they are, no longer managed by any source (audited as `connection.source_detached`); their `connectionId` still names the deleted connection, for provenance.' },
  },
});

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
