// The template connector against the conformance kit: deliveries signed with Standard Webhooks,
// generated histories delivered in any order.
import { connectorConformance, randomWebhookSecret, svixHeaders, type Change } from 'lifecycle-hub/connector/kit';
import template from './index.ts';

function encode(change: Change): { id: string; body: string } {
  const timestamp = change.at.toISOString();
  const user = 'user' in change ? change.user : undefined;
  const group = 'group' in change ? change.group : undefined;
  const event = (() => {
    switch (change.kind) {
      case 'userCreated':
      case 'userUpdated':
      case 'userDeactivated':
      case 'userReactivated':
        return { type: 'user.upserted', data: { id: user!.id, email: user!.email, given_name: user!.givenName, family_name: user!.familyName, active: user!.active } };
      case 'userDeleted':
        return { type: 'user.deleted', data: { id: user!.id } };
      case 'groupCreated':
      case 'groupRenamed':
        return { type: 'group.upserted', data: { id: group!.id, name: group!.name } };
      case 'groupDeleted':
        return { type: 'group.deleted', data: { id: group!.id } };
      case 'memberAdded':
        return { type: 'group.member_added', data: { group_id: group!.id, user_id: user!.id } };
      case 'memberRemoved':
        return { type: 'group.member_removed', data: { group_id: group!.id, user_id: user!.id } };
    }
  })();
  return { id: `msg_${change.id}`, body: JSON.stringify({ ...event, timestamp }) };
}

connectorConformance({
  connector: template,
  config: () => ({ signingSecret: randomWebhookSecret() }),
  sign: (delivery, config, signedAt) => svixHeaders(config.signingSecret, delivery.id, delivery.body, { signedAt, prefix: 'webhook' }),
  supports: ['userCreated', 'userUpdated', 'userDeactivated', 'userReactivated', 'userDeleted', 'groupCreated', 'groupRenamed', 'groupDeleted', 'memberAdded', 'memberRemoved'],
  encode,
});
