// The directory the console tests look at, made as a customer would: an organization and its key,
// a SCIM connection its identity provider pushes users and a group to, a session and a credential.
import { createScimConnection, user, GROUP_SCHEMA, type ScimConnection } from '../scim/support.ts';
import type { TestHub } from '../support/server.ts';

export interface ConsoleDirectory {
  organizationId: string;
  orgKey: string;
  scim: ScimConnection;
  /** SCIM ids (= hub user ids) by userName, in creation order. */
  userIds: string[];
  /** The user with a session and a credential, who gets deprovisioned. */
  leaverId: string;
}

export async function seedConsoleDirectory(hub: TestHub, users: number): Promise<ConsoleDirectory> {
  const { createOrganization } = await hub.gqlOk(`mutation { createOrganization(input: { name: "Acme Corp", slug: "acme-corp" }) { organization { id } } }`);
  const organizationId = createOrganization.organization.id as string;
  const { createApiKey } = await hub.gqlOk(`mutation($o: ID!) { createApiKey(input: { organizationId: $o, name: "console" }) { secret } }`, { o: organizationId });
  const scim = await createScimConnection(hub, { organizationId });
  const userIds: string[] = [];
  // Eight at a time: about as an identity provider's first sync pushes.
  for (let i = 0; i < users; i += 8) {
    const batch = Array.from({ length: Math.min(8, users - i) }, (_, k) => i + k);
    const created = await Promise.all(batch.map(async (n) => {
      const name = `user-${String(n).padStart(3, '0')}@acme.example`;
      const reply = await scim.request('POST', '/Users', { body: user(name, { displayName: `Person ${String(n).padStart(3, '0')}`, externalId: `ext-${n}` }), headers: { 'user-agent': 'Okta SCIM Client 1.0.0' } });
      if (reply.status !== 201) throw new Error(`SCIM create ${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
      return reply.body.id as string;
    }));
    userIds.push(...created);
  }
  const leaverId = userIds[7]!;
  const group = await scim.request('POST', '/Groups', { body: { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: userIds.slice(0, 10).map((value) => ({ value })) } });
  if (group.status !== 201) throw new Error(`SCIM group: ${group.status}`);
  await hub.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "web-session-1" }) { session { id } } }`, { u: leaverId });
  await hub.gqlOk(`mutation($u: ID!) { registerCredential(input: { userId: $u, externalRef: "pat-1", kind: personal_access_token, name: "CI token" }) { credential { id } } }`, { u: leaverId });
  return { organizationId, orgKey: createApiKey.secret as string, scim, userIds, leaverId };
}
