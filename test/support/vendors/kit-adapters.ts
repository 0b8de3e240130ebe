// WorkOS and Stytch written for the connector conformance kit (test/connector-kit, on the connectors
// branch): how each source writes and signs one change of a generated history. After the merge,
// `connectorConformance(workosKitAdapter)` / `connectorConformance(stytchKitAdapter)` run the kit on
// them. The change shapes are declared here structurally (the kit's `Change`), so this file does
// not depend on the kit being present.
import { randomBytes } from 'node:crypto';
import stytchConnector from '../../../plugins/stytch/index.ts';
import workosConnector from '../../../plugins/workos/index.ts';
import { TEST_ORGANIZATION, TEST_PROJECT, idpGroup, signStytchDelivery, stytchEvent, stytchMember, svixSecret } from './stytch.ts';
import { signWorkosDelivery, workosEvent, workosGroup, workosUser } from './workos.ts';

interface KitUser { id: string; email: string; givenName: string; familyName: string; active: boolean; createdAt: Date; updatedAt: Date }
interface KitGroup { id: string; name: string; createdAt: Date; updatedAt: Date }
type KitChange =
  | { kind: 'userCreated' | 'userUpdated' | 'userDeactivated' | 'userReactivated' | 'userDeleted'; seq: number; at: Date; user: KitUser }
  | { kind: 'groupCreated' | 'groupRenamed' | 'groupDeleted'; seq: number; at: Date; group: KitGroup }
  | { kind: 'memberAdded' | 'memberRemoved'; seq: number; at: Date; group: KitGroup; user: KitUser };

const ALL = ['userCreated', 'userUpdated', 'userDeactivated', 'userReactivated', 'userDeleted', 'groupCreated', 'groupRenamed', 'groupDeleted', 'memberAdded', 'memberRemoved'] as const;
const clean = (id: string) => id.replace(/[^A-Za-z0-9]/g, '');

// ---- WorkOS ------------------------------------------------------------------------------------------

const DIRECTORY = 'directory_01KIT0000000000000000000000';
const workosUserId = (id: string) => `directory_user_${clean(id)}`;
const workosGroupId = (id: string) => `directory_group_${clean(id)}`;

function workosWireUser(u: KitUser) {
  return { ...workosUser({ id: workosUserId(u.id), directoryId: DIRECTORY, email: u.email, firstName: u.givenName, lastName: u.familyName, state: u.active ? 'active' : 'inactive', updatedAt: u.updatedAt.toISOString() }), created_at: u.createdAt.toISOString() };
}
function workosWireGroup(g: KitGroup) {
  return { ...workosGroup({ id: workosGroupId(g.id), directoryId: DIRECTORY, name: g.name, updatedAt: g.updatedAt.toISOString() }), created_at: g.createdAt.toISOString() };
}

export const workosKitAdapter = {
  connector: workosConnector,
  config: () => ({ webhookSecret: randomBytes(24).toString('hex'), apiKey: 'sk_test_conformance' }),
  sign: (delivery: { id: string; body: string }, config: { webhookSecret: string }, signedAt: Date) => signWorkosDelivery(delivery.body, config.webhookSecret, { timestamp: signedAt.getTime() }),
  supports: ALL,
  encode(change: KitChange) {
    const id = `event_01KIT${String(change.seq).padStart(21, '0')}`;
    const createdAt = change.at.toISOString();
    const event = (() => {
      switch (change.kind) {
        case 'userCreated':
          return workosEvent('dsync.user.created', workosWireUser(change.user), { id, createdAt });
        case 'userUpdated':
        case 'userDeactivated':
        case 'userReactivated':
          return workosEvent('dsync.user.updated', workosWireUser(change.user), { id, createdAt });
        case 'userDeleted':
          return workosEvent('dsync.user.deleted', { ...workosWireUser(change.user), state: 'inactive' }, { id, createdAt });
        case 'groupCreated':
          return workosEvent('dsync.group.created', workosWireGroup(change.group), { id, createdAt });
        case 'groupRenamed':
          return workosEvent('dsync.group.updated', workosWireGroup(change.group), { id, createdAt });
        case 'groupDeleted':
          return workosEvent('dsync.group.deleted', workosWireGroup(change.group), { id, createdAt });
        case 'memberAdded':
        case 'memberRemoved':
          return workosEvent(change.kind === 'memberAdded' ? 'dsync.group.user_added' : 'dsync.group.user_removed', { directory_id: DIRECTORY, user: workosWireUser(change.user), group: workosWireGroup(change.group) }, { id, createdAt });
      }
    })();
    return { id, body: JSON.stringify(event) };
  },
  userSourceId: workosUserId,
  groupSourceId: workosGroupId,
};

// ---- Stytch -------------------------------------------------------------------------------------------

const stytchMemberId = (id: string) => `member-test-${clean(id).toLowerCase()}`;
const stytchGroupId = (id: string) => `scim-group-test-${clean(id).toLowerCase()}`;
/** Stytch gives updated_at in whole seconds. */
const seconds = (d: Date) => `${new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().slice(0, 19)}Z`;

function stytchWireMember(u: KitUser) {
  return stytchMember({ memberId: stytchMemberId(u.id), email: u.email, name: `${u.givenName} ${u.familyName}`, status: u.active ? 'active' : 'deactivated', updatedAt: seconds(u.updatedAt) });
}

export const stytchKitAdapter = {
  connector: stytchConnector,
  config: () => ({ webhookSigningSecret: svixSecret(), projectId: TEST_PROJECT, secret: 'secret-test-conformance', stytchOrganizationId: TEST_ORGANIZATION }),
  sign: (delivery: { id: string; body: string }, config: { webhookSigningSecret: string }, signedAt: Date) =>
    signStytchDelivery(delivery.body, config.webhookSigningSecret, { msgId: delivery.id, timestamp: Math.floor(signedAt.getTime() / 1000) }),
  supports: ALL,
  encode(change: KitChange) {
    const eventId = `event-test-kit-${change.seq}`;
    const sentAt = change.at;
    const event = (() => {
      switch (change.kind) {
        case 'userCreated':
        case 'userUpdated':
        case 'userDeactivated':
        case 'userReactivated':
          return stytchEvent({ eventId, sentAt, objectType: 'member', action: change.kind === 'userCreated' ? 'CREATE' : 'UPDATE', id: stytchMemberId(change.user.id), entity: stytchWireMember(change.user) });
        case 'userDeleted':
          return stytchEvent({ eventId, sentAt, objectType: 'member', action: 'DELETE', id: stytchMemberId(change.user.id) });
        case 'groupCreated':
        case 'groupRenamed':
          return stytchEvent({ eventId, sentAt, objectType: 'idp_group', action: change.kind === 'groupCreated' ? 'CREATE' : 'UPDATE', id: stytchGroupId(change.group.id), entity: idpGroup(stytchGroupId(change.group.id), change.group.name) });
        case 'groupDeleted':
          return stytchEvent({ eventId, sentAt, objectType: 'idp_group', action: 'DELETE', id: stytchGroupId(change.group.id) });
        case 'memberAdded':
        case 'memberRemoved':
          return stytchEvent({
            eventId, sentAt, objectType: 'idp_group', action: change.kind === 'memberAdded' ? 'MEMBER_ADD' : 'MEMBER_DELETE', id: stytchGroupId(change.group.id),
            entity: idpGroup(stytchGroupId(change.group.id), change.group.name), extra: { member_id: stytchMemberId(change.user.id) },
          });
      }
    })();
    return { id: `msg_kit_${change.seq}`, body: JSON.stringify(event) };
  },
  userSourceId: stytchMemberId,
  groupSourceId: stytchGroupId,
};
