// The abuse suite's world: two organizations, A (the target) and B (the attacker, with valid keys
// and tokens of its own), each with an API key, a SCIM connection holding a user, a group and a
// membership, a registered session and credential, and Clerk, WorkOS and Stytch connections.
// `stateDigest` fingerprints everything an attack could change, so every test can assert that
// nothing did.
import { expect } from 'vitest';
import { createScimConnection, patch, USER_SCHEMA, GROUP_SCHEMA, type ScimConnection } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { svixSecret } from '../support/vendors/svix.ts';
import { createVendorConnection, type VendorConnection } from '../support/vendors/connections.ts';

/** No vendor API is ever reached from these tests: SDKs point at a closed loopback port. */
const NOWHERE = 'http://127.0.0.1:9';

export interface Tenant {
  organizationId: string;
  apiKey: string;
  apiKeyId: string;
  scim: ScimConnection;
  userId: string;
  userScimId: string;
  groupId: string;
  sessionId: string;
  credentialId: string;
  /** The SCIM connection's token row (its "Initial token"). */
  scimTokenId: string;
  clerk: VendorConnection & { secret: string };
  workos: VendorConnection & { secret: string };
  stytch: VendorConnection & { secret: string };
  /** A webhook endpoint (to NOWHERE, for a type no event has) and its test delivery. */
  webhookEndpointId: string;
  webhookDeliveryId: string;
}

export async function createTenant(t: TestHub, name: string): Promise<Tenant> {
  const slug = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`;
  const { createOrganization } = await t.gqlOk(`mutation($n: String!, $s: String!) { createOrganization(input: { name: $n, slug: $s }) { organization { id } } }`, { n: name, s: slug });
  const organizationId = createOrganization.organization.id as string;
  const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "app" }) { secret apiKey { id } } }`, { o: organizationId });
  const scim = await createScimConnection(t, { organizationId });
  const created = await scim.request('POST', '/Users', {
    body: { schemas: [USER_SCHEMA], userName: `ada@${slug}.test`, externalId: `ext-${slug}`, name: { givenName: 'Ada', familyName: name }, emails: [{ value: `ada@${slug}.test`, primary: true }], active: true },
  });
  expect(created.status).toBe(201);
  const group = await scim.request('POST', '/Groups', { body: { schemas: [GROUP_SCHEMA], displayName: `${name} Engineering`, members: [{ value: created.body.id }] } });
  expect(group.status).toBe(201);
  // SCIM ids are the hub's ids.
  const userId = created.body.id as string;
  const groupId = group.body.id as string;
  const { registerSession } = await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "sess_1" }) { session { id } } }`, { u: userId }, createApiKey.secret);
  const { registerCredential } = await t.gqlOk(`mutation($u: ID!) { registerCredential(input: { userId: $u, kind: personal_access_token, externalRef: "pat_1" }) { credential { id } } }`, { u: userId }, createApiKey.secret);

  const { connection } = await t.gqlOk(`query($c: ID!) { connection(id: $c) { scimTokens { id } } }`, { c: scim.connectionId });
  const clerkSecret = svixSecret();
  const clerk = await createVendorConnection(t, 'clerk', { webhookSigningSecret: clerkSecret, secretKey: 'sk_test_abuse', apiUrl: NOWHERE }, { organizationId });
  const workosSecret = `whsec-workos-${slug}-0123456789`;
  const workos = await createVendorConnection(t, 'workos', { webhookSecret: workosSecret, apiKey: 'sk_test_workos_abuse', apiBaseUrl: NOWHERE, apiMaxRetries: 0 }, { organizationId });
  const stytchSecret = svixSecret();
  const stytch = await createVendorConnection(
    t,
    'stytch',
    { webhookSigningSecret: stytchSecret, projectId: 'project-test-5f1e2d3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f', secret: 'secret-test-abuse0123456789abcdef', stytchOrganizationId: 'organization-test-0b7a6c5d-1e2f-4a3b-9c8d-7e6f5a4b3c2d', apiBaseUrl: NOWHERE },
    { organizationId },
  );
  const { createWebhookEndpoint } = await t.gqlOk(`mutation($o: ID!, $u: String!) { createWebhookEndpoint(input: { organizationId: $o, url: $u, eventTypes: ["abuse.none"] }) { endpoint { id } } }`, { o: organizationId, u: `${NOWHERE}/hooks` });
  const { sendTestWebhook } = await t.gqlOk(`mutation($e: ID!) { sendTestWebhook(input: { endpointId: $e }) { delivery { id } } }`, { e: createWebhookEndpoint.endpoint.id });
  return {
    webhookEndpointId: createWebhookEndpoint.endpoint.id,
    webhookDeliveryId: sendTestWebhook.delivery.id,
    organizationId,
    apiKey: createApiKey.secret,
    apiKeyId: createApiKey.apiKey.id,
    scim,
    userId,
    userScimId: userId,
    groupId,
    sessionId: registerSession.session.id,
    credentialId: registerCredential.credential.id,
    scimTokenId: connection.scimTokens[0].id,
    clerk: { ...clerk, secret: clerkSecret },
    workos: { ...workos, secret: workosSecret },
    stytch: { ...stytch, secret: stytchSecret },
  };
}

/** A hub with two organizations: Alpha (the one that sends what is tested) and Bravo (the one that must not notice). */
export async function startTwoTenantHub(): Promise<{ t: TestHub; a: Tenant; b: Tenant }> {
  const t = await startTestHub();
  return { t, a: await createTenant(t, 'Alpha'), b: await createTenant(t, 'Bravo') };
}

/** The other organization is served as before, over SCIM and GraphQL. */
export async function expectStillServed(t: TestHub, b: Tenant) {
  expect((await b.scim.request('GET', `/Users/${b.userId}`)).status).toBe(200);
  expect((await t.gql(`query($o: ID!) { organization(id: $o) { id } }`, { o: b.organizationId }, b.apiKey)).status).toBe(200);
}

export { patch };

/**
 * Every row an attack could create, change or delete, as one digest per table. Columns the hub
 * updates on any authenticated use (last_used_at, last_synced_at, last_seen_at) are left out; the request log
 * is compared on its own where it matters (test/abuse/auth-failure-throttle.test.ts).
 */
const TABLES: Record<string, string[]> = {
  organization: [],
  // Health moves with every authenticated request (the request-log flush), and a source whose
  // requests keep being refused is FAILING: that is the hub telling the admin, not an attack's effect.
  // So is rejected_credentials_at, the time of the last wrong token or signature (only a time, throttled).
  directory_connection: ['last_synced_at', 'updated_at', 'last_success_at', 'last_failure_at', 'recent_failures', 'first_sync_completed_at', 'status', 'status_changed_at', 'rejected_credentials_at'],
  scim_token: ['last_used_at'],
  directory_user: [],
  directory_group: [],
  group_membership: [],
  group_mapping: [],
  session: [],
  credential: [],
  audit_event: [],
  lifecycle_event: [],
  inbound_delivery: [],
  api_key: ['last_used_at'],
  sync_run: [],
  setup_link: [],
  browser_session: ['last_seen_at'],
  // The delivery worker's own bookkeeping (attempts, health) moves by itself: what an attack could change is the rest.
  webhook_endpoint: ['consecutive_failures', 'failing_since', 'last_success_at', 'last_failure_at'],
  webhook_delivery: ['attempts', 'next_attempt_at', 'lease_until', 'last_response_status', 'last_error', 'status', 'delivered_at'],
};

/** The audit rows and events of those health transitions (connection.activated, .failing, .recovered, .stale). */
const HEALTH = `('connection.activated', 'connection.failing', 'connection.recovered', 'connection.stale')`;
const ROWS: Record<string, string> = { audit_event: `WHERE action NOT IN ${HEALTH}`, lifecycle_event: `WHERE type NOT IN ${HEALTH}` };

export async function stateDigest(t: TestHub): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const [table, volatile] of Object.entries(TABLES)) {
    const row = volatile.map((c) => ` - '${c}'`).join('');
    const [result] = await t.db.sql.query<{ n: string; h: string | null }>(
      `SELECT count(*)::text AS n, md5(string_agg((to_jsonb(x)${row})::text, '|' ORDER BY (to_jsonb(x)${row})::text)) AS h FROM ${table} x ${ROWS[table] ?? ''}`,
    );
    digest[table] = `${result!.n}:${result!.h ?? ''}`;
  }
  return digest;
}

/** Runs `attack` and asserts that no table changed. */
export async function expectNothingChanged<T>(t: TestHub, attack: () => Promise<T>): Promise<T> {
  const before = await stateDigest(t);
  const result = await attack();
  // Writes are committed before a response is sent; give a stray asynchronous one a moment anyway.
  await new Promise((r) => setTimeout(r, 20));
  expect(await stateDigest(t)).toEqual(before);
  return result;
}

/** Asserts the webhook route's JSON error form and returns the body. */
export async function expectWebhookError(response: Response, status: number, error?: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type') ?? '').toMatch(/application\/json/);
  const body = JSON.parse(text) as { error: string; message: string };
  expect(typeof body.message).toBe('string');
  if (error) expect(body.error).toBe(error);
  return body;
}
