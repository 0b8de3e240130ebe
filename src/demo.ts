// `npm run demo`: the point of Lifecycle Hub in one command, on a throwaway database.
// A directory pushes two people and a group; the group is mapped to the admin role; one person
// is offboarded; we show what the hub did about it and the audit trail that proves it.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig } from './config.ts';
import { defineConnector } from './connectors/contract.ts';
import { createHub } from './hub.ts';
import { startServer } from './http/server.ts';
import { createLogger } from './logger.ts';

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;
const step = (n: number, s: string) => console.log(`\n${bold(`${n}.`)} ${s}`);

// Stands in for an identity provider in this demo: commands go straight to the engine.
const demoDirectory = defineConnector({ id: 'demo-directory', displayName: 'Demo directory', configSchema: z.object({}) });

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'lifecycle-hub-demo-'));
  const adminKey = `demo-admin-${randomBytes(12).toString('hex')}`;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_API_KEY: adminKey, LOG_LEVEL: 'silent' });
  console.log(bold('Lifecycle Hub demo') + dim(`  (throwaway embedded database in ${dataDir})`));
  const { hub } = await createHub(config, { connectors: [demoDirectory], logger: createLogger('silent') });
  const server = await startServer(hub, { port: 0, host: '127.0.0.1' });
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data: any; errors?: Array<{ message: string }> };
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data;
  };

  try {
    step(1, `An organization and a directory connection, over GraphQL at ${server.url}/graphql`);
    const { createOrganization } = await gql('mutation { createOrganization(input: { name: "Acme Corp", slug: "acme" }) { organization { id name } } }');
    const orgId = createOrganization.organization.id;
    const { createDirectoryConnection } = await gql(
      'mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "demo-directory", name: "Acme IdP" }) { connection { id provider status } } }',
      { o: orgId },
    );
    const connectionId = createDirectoryConnection.connection.id;
    console.log(dim(`   organization ${orgId}, connection ${connectionId}`));

    step(2, 'The directory provisions Ada and Grace, and a group "Platform Admins" with both in it');
    await hub.engine.execute({
      connectionId,
      deliveryId: 'push-1',
      actor: { type: 'connection', connectionId },
      commands: [
        { type: 'upsertUser', sourceId: 'ada', profile: { userName: 'ada@acme.test', email: 'ada@acme.test', displayName: 'Ada Lovelace', title: 'Staff Engineer' } },
        { type: 'upsertUser', sourceId: 'grace', profile: { userName: 'grace@acme.test', email: 'grace@acme.test', displayName: 'Grace Hopper', title: 'CTO' } },
        { type: 'upsertGroup', sourceId: 'platform-admins', displayName: 'Platform Admins' },
        { type: 'addMembers', group: { sourceId: 'platform-admins' }, users: [{ sourceId: 'ada' }, { sourceId: 'grace' }] },
      ],
    });
    const { organization } = await gql('query($o: ID!) { organization(id: $o) { groups { edges { node { id displayName memberCount } } } users { edges { node { id displayName } } } } }', { o: orgId });
    const group = organization.groups.edges[0].node;
    const ada = organization.users.edges.find((e: any) => e.node.displayName === 'Ada Lovelace').node;

    step(3, `The group is mapped to the admin role; Ada signs in to your app twice and creates an API token`);
    await gql('mutation($g: ID!) { setGroupMapping(input: { groupId: $g, role: "admin" }) { mapping { role } } }', { g: group.id });
    const sessions = [];
    for (const ref of ['web-session-1', 'mobile-session-7']) {
      const { registerSession } = await gql('mutation($u: ID!, $r: String!) { registerSession(input: { userId: $u, externalRef: $r }) { session { id } } }', { u: ada.id, r: ref });
      sessions.push(registerSession.session.id);
    }
    await gql('mutation($u: ID!) { registerCredential(input: { userId: $u, kind: personal_access_token, externalRef: "pat_ada_ci" }) { credential { id } } }', { u: ada.id });
    const before = await gql('query($u: ID!, $s: ID!) { user(id: $u) { state roles groups { displayName } } accessCheck(sessionId: $s) { allowed reason } }', { u: ada.id, s: sessions[0] });
    console.log(dim(`   Ada: ${before.user.state}, roles ${JSON.stringify(before.user.roles)}, in ${before.user.groups.map((g: any) => g.displayName).join(', ')}`));
    console.log(dim(`   accessCheck(web-session-1): allowed=${before.accessCheck.allowed} (${before.accessCheck.reason})`));

    step(4, 'Ada leaves: the directory deactivates her');
    const outcome = await hub.engine.execute({
      connectionId,
      deliveryId: 'push-2',
      actor: { type: 'connection', connectionId },
      commands: [{ type: 'upsertUser', sourceId: 'ada', active: false, profile: { userName: 'ada@acme.test', email: 'ada@acme.test', displayName: 'Ada Lovelace', title: 'Staff Engineer' } }],
    });
    const deprovisioned = outcome.events.find((e) => e.type === 'user.deprovisioned')!;
    console.log(dim(`   enforced at ${deprovisioned.enforcedAt.toISOString()} (received ${deprovisioned.receivedAt.toISOString()}), event #${deprovisioned.id}`));
    console.log(dim(`   events committed with it: ${outcome.events.map((e) => e.type).join(', ')}`));

    step(5, "What the hub now says about Ada");
    const after = await gql(
      `query($u: ID!, $s: ID!) {
        user(id: $u) { state deprovisionedAt deprovisionReason roles groups { displayName }
          sessions { externalRef revokedAt } credentials { kind externalRef revokedAt }
          auditTrail { action at actorType hash } }
        accessCheck(sessionId: $s) { allowed reason } }`,
      { u: ada.id, s: sessions[0] },
    );
    const u = after.user;
    console.log(`   state:        ${bold(u.state)} since ${u.deprovisionedAt} (${u.deprovisionReason})`);
    console.log(`   roles:        ${JSON.stringify(u.roles)}   groups: ${JSON.stringify(u.groups.map((g: any) => g.displayName))}`);
    for (const s of u.sessions) console.log(`   session       ${s.externalRef.padEnd(18)} revoked ${s.revokedAt}`);
    for (const c of u.credentials) console.log(`   credential    ${`${c.kind} ${c.externalRef}`.padEnd(18)} revoked ${c.revokedAt}`);
    console.log(`   accessCheck:  allowed=${after.accessCheck.allowed} (${after.accessCheck.reason})`);
    const warnings = (deprovisioned.data.warnings as string[] | undefined) ?? [];
    if (warnings.length) console.log(`   warning:      ${warnings.join('; ')}`);

    step(6, "Ada's audit trail (append-only, each row hash-chained to the one before)");
    for (const row of u.auditTrail) console.log(`   ${row.at}  ${row.action.padEnd(22)} by ${row.actorType.padEnd(10)} ${dim(row.hash.slice(0, 16))}…`);
    console.log(`\nNext: ${bold('npm start')} and open http://localhost:4000/graphql.`);
  } finally {
    await server.stop();
    await hub.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`demo failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
