// `npm run demo`: the point of Lifecycle Hub in one command, on a throwaway database.
// An identity provider pushes two people and a group over SCIM 2.0 (shaped as Okta sends them);
// the group is mapped to the admin role; a live subscriber watches the deprovision stream; one
// person is offboarded; we show what the hub did about it and the audit trail that proves it.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.ts';
import { formatDeprovision, watchDeprovisions, type DeprovisionEvent } from './demo-subscriber.ts';
import { createHub } from './hub.ts';
import { startServer } from '../http/server.ts';
import { createLogger } from './logger.ts';

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;
const step = (n: number, s: string) => console.log(`\n${bold(`${n}.`)} ${s}`);

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'lifecycle-hub-demo-'));
  const adminKey = `demo-admin-${randomBytes(12).toString('hex')}`;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_API_KEY: adminKey, LOG_LEVEL: 'silent' });
  console.log(bold('Lifecycle Hub demo') + dim(`  (throwaway embedded database in ${dataDir})`));
  const { hub } = await createHub(config, { logger: createLogger('silent') });
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
  let watcher: Awaited<ReturnType<typeof watchDeprovisions>> | undefined;

  try {
    step(1, `An organization and a SCIM connection, over GraphQL at ${server.url}/graphql`);
    const { createOrganization } = await gql('mutation { createOrganization(input: { name: "Acme Corp", slug: "acme" }) { organization { id name } } }');
    const orgId = createOrganization.organization.id;
    const { createDirectoryConnection } = await gql(
      'mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "scim", name: "Acme Okta" }) { connection { id scimBaseUrl } secret } }',
      { o: orgId },
    );
    const { scimBaseUrl } = createDirectoryConnection.connection;
    const token: string = createDirectoryConnection.secret;
    console.log(dim(`   SCIM base URL ${scimBaseUrl}`));
    console.log(dim(`   bearer token  ${token.slice(0, 10)}… (shown once, stored as a hash: paste it into the IdP)`));
    const scim = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${scimBaseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${token}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = response.status === 204 ? {} : ((await response.json()) as any);
      if (!response.ok) throw new Error(`SCIM ${method} ${path}: ${response.status} ${json.detail ?? ''}`);
      return json;
    };

    step(2, 'A subscriber (your session service) watches deprovisions over graphql-ws');
    let seen: (event: DeprovisionEvent) => void = () => {};
    const deprovisioned = new Promise<DeprovisionEvent>((resolve) => (seen = resolve));
    watcher = await watchDeprovisions({
      url: server.url,
      key: adminKey,
      organizationId: orgId,
      onEvent: (event) => {
        console.log(formatDeprovision(event).replace(/^/gm, '   '));
        seen(event);
      },
    });
    console.log(dim(`   subscribed to deprovisionEvents(organizationId: "${orgId}")`));

    step(3, 'Okta pushes Ada and Grace, and a group "Platform Admins" with both in it');
    const person = (userName: string, givenName: string, familyName: string, title: string) => ({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName,
      name: { givenName, familyName },
      emails: [{ primary: true, value: userName, type: 'work' }],
      displayName: `${givenName} ${familyName}`,
      title,
      active: true,
    });
    const adaScim = await scim('POST', '/Users', person('ada@acme.test', 'Ada', 'Lovelace', 'Staff Engineer'));
    const graceScim = await scim('POST', '/Users', person('grace@acme.test', 'Grace', 'Hopper', 'CTO'));
    // Okta creates a pushed group empty, then PATCHes its members in.
    const groupScim = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Platform Admins', members: [] });
    await scim('PATCH', `/Groups/${groupScim.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'add', path: 'members', value: [{ value: adaScim.id, display: 'ada@acme.test' }, { value: graceScim.id, display: 'grace@acme.test' }] }],
    });
    const { organization } = await gql('query($o: ID!) { organization(id: $o) { groups { edges { node { id displayName memberCount } } } users { edges { node { id displayName } } } } }', { o: orgId });
    const group = organization.groups.edges[0].node;
    const ada = organization.users.edges.find((e: any) => e.node.displayName === 'Ada Lovelace').node;
    console.log(dim(`   ${organization.users.edges.length} users; group "${group.displayName}" with ${group.memberCount} members`));

    step(4, `The group is mapped to the admin role; Ada signs in to your app twice and creates an API token`);
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

    step(5, 'Ada leaves: Okta deactivates her (PATCH active=false); the subscriber sees it enforced');
    await scim('PATCH', `/Users/${adaScim.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] });
    const event = await Promise.race([deprovisioned, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no deprovision event reached the subscriber within 10 s')), 10_000))]);
    const warnings = event.warnings;

    step(6, "What the hub now says about Ada");
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
    if (warnings.length) console.log(`   warning:      ${warnings.join('; ')}`);

    step(7, "Ada's audit trail (append-only, each row hash-chained to the one before)");
    for (const row of u.auditTrail) console.log(`   ${row.at}  ${row.action.padEnd(22)} by ${row.actorType.padEnd(10)} ${dim(row.hash.slice(0, 16))}…`);
    console.log(`\nNext: ${bold('npm start')} and open http://localhost:4000/graphql.`);
  } finally {
    await watcher?.close();
    await server.stop();
    await hub.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`demo failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
