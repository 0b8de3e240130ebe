// The Clerk connector against the conformance kit: generated histories written as Clerk webhook
// bodies (built from the recorded fixtures) and signed as Svix signs them.
import clerk from '../../plugins/clerk/index.ts';
import { connectorConformance, type Change, type WorldGroup } from '../connector-kit/index.ts';
import { randomWebhookSecret, svixHeaders } from '../support/svix-signing.ts';
import { clerkEvent, clerkMembership, clerkOrganization, clerkUser } from './clerk-objects.ts';

const userId = (id: string) => `user_${id.replace(/[^A-Za-z0-9]/g, '')}`;
const orgId = (id: string) => `org_${id.replace(/[^A-Za-z0-9]/g, '')}`;
const slug = (id: string) => `team-${id.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}`;
const org = (g: WorldGroup) => clerkOrganization({ id: orgId(g.id), name: g.name, slug: slug(g.id), updatedAt: g.updatedAt.getTime() });

/** When each membership was last changed (Clerk's deleted membership carries it). */
const addedAt = new Map<string, number>();

function encode(change: Change): { id: string; body: string } {
  const at = change.at.getTime();
  const body = (() => {
    switch (change.kind) {
      case 'userCreated':
      case 'userUpdated':
      case 'userDeactivated':
      case 'userReactivated': {
        const u = change.user;
        const data = clerkUser({ id: userId(u.id), email: u.email, firstName: u.givenName, lastName: u.familyName, banned: !u.active, createdAt: u.createdAt.getTime(), updatedAt: u.updatedAt.getTime() });
        return clerkEvent(change.kind === 'userCreated' ? 'user.created' : 'user.updated', data, at);
      }
      case 'userDeleted':
        return clerkEvent('user.deleted', { object: 'user', id: userId(change.user.id), deleted: true }, at);
      case 'groupCreated':
      case 'groupRenamed':
        return clerkEvent(change.kind === 'groupCreated' ? 'organization.created' : 'organization.updated', org(change.group), at);
      case 'groupDeleted':
        return clerkEvent('organization.deleted', { object: 'organization', id: orgId(change.group.id), slug: slug(change.group.id), deleted: true }, at);
      case 'memberAdded':
      case 'memberRemoved': {
        const key = `${change.group.id}|${change.user.id}`;
        if (change.kind === 'memberAdded') addedAt.set(key, at);
        const m = clerkMembership(org(change.group), { id: userId(change.user.id), email: change.user.email }, 'org:member', addedAt.get(key) ?? at - 1);
        return clerkEvent(change.kind === 'memberAdded' ? 'organizationMembership.created' : 'organizationMembership.deleted', m, at);
      }
    }
  })();
  return { id: `msg_${change.id}`, body };
}

connectorConformance({
  connector: clerk,
  config: () => ({ webhookSigningSecret: randomWebhookSecret(), secretKey: 'sk_test_conformance' }),
  sign: (delivery, config, signedAt) => svixHeaders(config.webhookSigningSecret, delivery.id, delivery.body, { signedAt }),
  supports: ['userCreated', 'userUpdated', 'userDeactivated', 'userReactivated', 'userDeleted', 'groupCreated', 'groupRenamed', 'groupDeleted', 'memberAdded', 'memberRemoved'],
  encode,
  userSourceId: userId,
  groupSourceId: orgId,
  groupDisplayName: (g) => `${g.name} (${slug(g.id)})`,
});
