// A revoke that outlives REVOCATION_CALL_TIMEOUT_MS is cancelled, not left running: the real Clerk
// connector (@clerk/backend takes no signal; the connector hands ctx.signal to ctx.outbound.run)
// against a vendor stand-in that never answers. The hub aborts the attempt's signal at the timeout
// and the outbound guard closes the request's socket, long before the guard's own 30 s limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, type RecordedRequest, type StandIn } from '../support/stand-in.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

const CALL_TIMEOUT_MS = 300;
let t: TestHub;
let clerkApi: StandIn;
const revokes: Array<{ request: RecordedRequest; at: number }> = [];

beforeAll(async () => {
  clerkApi = await startStandIn((request) => {
    if (request.method !== 'POST' || !request.path.endsWith('/revoke')) return undefined;
    revokes.push({ request, at: Date.now() });
    return new Promise(() => {}); // never answers
  });
  t = await startTestHub({ env: { REVOCATION_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS), REVOCATION_RETRY_BASE_MS: '600000' } });
});
afterAll(async () => {
  await t?.close();
  await clerkApi?.close();
});

describe('a revoke that times out', () => {
  it('is cancelled: the request to the vendor is closed at the timeout, and the attempt retried later', async () => {
    const { createOrganization } = await t.gqlOk(`mutation { createOrganization(input: { name: "Hanging", slug: "rev-hanging" }) { organization { id } } }`);
    const { createDirectoryConnection } = await t.gqlOk(
      `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "clerk", name: "Clerk", config: $c }) { connection { id } } }`,
      { o: createOrganization.organization.id, c: { webhookSigningSecret: 'whsec_dGVzdA==', secretKey: 'sk_test_hanging_0123456789', apiUrl: clerkApi.url } },
    );
    const connectionId = createDirectoryConnection.connection.id as string;
    const send = (commands: any[]) => t.hub.engine.execute({ connectionId, actor: { type: 'connection', connectionId }, commands });
    await send([{ type: 'upsertUser', sourceId: 'user_hang', profile: { email: 'hang@northwind.example' } }, { type: 'registerSession', user: { sourceId: 'user_hang' }, externalRef: 'sess_hang' }]);
    await send([{ type: 'deactivateUser', user: { sourceId: 'user_hang' } }]);

    await expect.poll(() => revokes.length, { timeout: 10_000 }).toBe(1);
    const [{ request, at }] = revokes as [(typeof revokes)[number]];
    expect(request.path).toBe('/v1/sessions/sess_hang/revoke');
    let closedAt = 0;
    void request.closed.then(() => (closedAt = Date.now()));
    await expect.poll(() => closedAt, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(closedAt - at).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 50);

    await expect
      .poll(async () => (await t.hub.db.prisma.session.findFirst({ where: { externalRef: 'sess_hang' } }))!, { timeout: 5_000 })
      .toMatchObject({ revocationStatus: 'PENDING', revocationAttempts: 1, revocationError: `the connector did not answer within ${CALL_TIMEOUT_MS} ms` });
    // Nothing else was sent meanwhile (no retry before its backoff, no request left behind).
    expect(revokes).toHaveLength(1);
  });
});
