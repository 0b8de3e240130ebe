// Svix retries Stytch's webhooks and does not order them. Property: any history of SCIM changes in a
// Stytch organization — several of them within one second, where members' `updated_at` (whole
// seconds) ties — delivered shuffled and partly duplicated over real HTTP (Svix-signed), with
// deliveries refused as "not there yet" (409) retried at the end, leaves the same members, groups
// and memberships as the history delivered in order, and both match Stytch's own state.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOrganization, createVendorConnection } from '../support/vendors/connections.ts';
import { deliverWithRetries, observe, type Observed } from '../support/vendors/convergence.ts';
import { TEST_ORGANIZATION, TEST_PROJECT, deliverStytch, idpGroup, stytchEvent, stytchMember, svixSecret, type StytchEventWire } from '../support/vendors/stytch.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

const SECRET = svixSecret();
const MEMBERS = 3;
const GROUPS = 2;
/** 0 create member, 1 rename, 2 deprovision (scim.member.delete), 3 reactivate, 4 create group, 5 rename, 6 delete group, 7 add, 8 remove. */
const OPS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 7, 8, 7, 8];

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

type Intent = { op: number; u: number; g: number };
interface SourceMember { id: string; name: string; status: 'active' | 'deleted'; updatedAt: string }
interface SourceGroup { id: string; name: string; deleted: boolean }

function history(intents: Intent[], run: string) {
  const members = new Map<number, SourceMember>();
  const groups = new Map<number, SourceGroup>();
  const memberships = new Set<string>();
  const events: StytchEventWire[] = [];
  // Changes 370 ms apart: two or three fall in the same second of `updated_at`.
  const base = Date.parse('2026-01-01T00:00:00.000Z');
  const wire = (m: SourceMember) => stytchMember({ memberId: m.id, email: `${m.id}@northwind.example`, name: m.name, status: m.status, updatedAt: m.updatedAt });

  function apply(op: number, u: number, g: number, step: number): boolean {
    const at = base + step * 370;
    const updatedAt = `${new Date(Math.floor(at / 1000) * 1000).toISOString().slice(0, 19)}Z`;
    const sentAt = new Date(at + 3);
    const emit = (event: Omit<Parameters<typeof stytchEvent>[0], 'sentAt'>) => !!events.push(stytchEvent({ ...event, sentAt }));
    const member = members.get(u);
    const group = groups.get(g);
    const liveGroup = !!group && !group.deleted;
    switch (op) {
      case 0:
        if (member) return false;
        members.set(u, { id: `member-test-${run}-${u}`, name: `Member ${u} v0`, status: 'active', updatedAt });
        return emit({ objectType: 'member', action: 'CREATE', id: members.get(u)!.id, entity: wire(members.get(u)!) });
      case 1:
        if (member?.status !== 'active') return false;
        Object.assign(member, { name: `Member ${u} v${step}`, updatedAt });
        return emit({ objectType: 'member', action: 'UPDATE', id: member.id, entity: wire(member) });
      case 2:
        if (member?.status !== 'active') return false;
        Object.assign(member, { status: 'deleted', updatedAt });
        return emit({ objectType: 'member', action: 'DELETE', id: member.id });
      case 3:
        if (member?.status !== 'deleted') return false;
        Object.assign(member, { status: 'active', updatedAt });
        return emit({ objectType: 'member', action: 'UPDATE', id: member.id, entity: wire(member) });
      case 4:
        if (group) return false;
        groups.set(g, { id: `scim-group-test-${run}-${g}`, name: `Group ${g} v0`, deleted: false });
        return emit({ objectType: 'idp_group', action: 'CREATE', id: groups.get(g)!.id, entity: idpGroup(groups.get(g)!.id, groups.get(g)!.name) });
      case 5:
        if (!liveGroup) return false;
        group!.name = `Group ${g} v${step}`;
        return emit({ objectType: 'idp_group', action: 'UPDATE', id: group!.id, entity: idpGroup(group!.id, group!.name) });
      case 6:
        if (!liveGroup) return false;
        group!.deleted = true;
        for (const key of [...memberships]) if (key.startsWith(`${group!.id}|`)) memberships.delete(key);
        return emit({ objectType: 'idp_group', action: 'DELETE', id: group!.id });
      case 7:
      case 8: {
        if (member?.status !== 'active' || !liveGroup) return false;
        const key = `${group!.id}|${member.id}`;
        if ((op === 7) === memberships.has(key)) return false;
        if (op === 7) memberships.add(key);
        else memberships.delete(key);
        return emit({ objectType: 'idp_group', action: op === 7 ? 'MEMBER_ADD' : 'MEMBER_DELETE', id: group!.id, entity: idpGroup(group!.id, group!.name), extra: { member_id: member.id } });
      }
    }
    return false;
  }
  intents.forEach(({ op, u, g }, step) => {
    for (let k = 0; k < OPS.length; k++) if (apply(OPS[(op + k) % OPS.length]!, u, g, step)) return;
  });
  const expected: Observed = {
    users: Object.fromEntries([...members.values()].map((m) => [m.id, m.status === 'deleted' ? 'GONE' : `ACTIVE ${m.name}`])),
    groups: Object.fromEntries([...groups.values()].filter((g) => !g.deleted).map((g) => [g.id, g.name])),
    memberships: [...memberships].filter((key) => [...members.values()].some((m) => key.endsWith(`|${m.id}`) && m.status === 'active')).sort(),
  };
  return { events, expected };
}

const intents = fc.array(fc.record({ op: fc.nat(OPS.length - 1), u: fc.nat(MEMBERS - 1), g: fc.nat(GROUPS - 1) }), { minLength: 4, maxLength: 18 });

it('converges to the in-order state whatever the delivery order, duplicates and retries', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      intents.chain((list) => {
        const n = list.length;
        return fc.tuple(fc.constant(list), fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }), fc.array(fc.nat(n), { maxLength: 4 }));
      }),
      async ([list, permutation, duplicates]) => {
        const id = `${++run}${Math.random().toString(36).slice(2, 8)}`;
        const { events, expected } = history(list, id);
        const organizationId = await createOrganization(t, `Stytch property ${id}`);
        const config = { webhookSigningSecret: SECRET, projectId: TEST_PROJECT, secret: 'secret-test-property', stytchOrganizationId: TEST_ORGANIZATION };
        const inOrder = await createVendorConnection(t, 'stytch', config, { organizationId, name: 'in order' });
        const shuffled = await createVendorConnection(t, 'stytch', config, { organizationId, name: 'shuffled' });
        const send = (connectionId: string) => async (i: number) => (await deliverStytch(`${t.url}/webhooks/${connectionId}`, events[i]!, SECRET)).status;

        const ordered = await deliverWithRetries(send(inOrder.connectionId), events.map((_, i) => i));
        expect(ordered.statuses.every((s) => s === 200), 'in order, nothing is refused').toBe(true);

        const order = permutation.filter((i) => i < events.length);
        for (const d of duplicates) if (events.length) order.splice(d % (order.length + 1), 0, d % events.length);
        const report = await deliverWithRetries(send(shuffled.connectionId), order);

        expect(await observe(t, inOrder.connectionId), 'in order matches Stytch').toEqual(expected);
        expect(await observe(t, shuffled.connectionId), `shuffled (${report.stillRefused} still refused) matches Stytch`).toEqual(expected);
      },
    ),
    // FC_SEED and FC_PATH replay a failure exactly as fast-check printed it.
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 12), ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}) },
  );
}, 600_000);
