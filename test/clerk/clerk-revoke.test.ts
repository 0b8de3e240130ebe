// The Clerk connector's revoke() through the real @clerk/backend SDK against the Backend API
// stand-in: what the revocation worker calls for the sessions the engine left PENDING.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import clerk from '../../plugins/clerk/index.ts';
import type { ConnectorContext, RevocationTarget } from '../../src/connectors/contract.ts';
import { standInOutbound } from '../support/vendors/stand-in.ts';
import { clerkSession, clerkUser } from './clerk-objects.ts';
import { startClerkStandIn, type ClerkStandIn } from './clerk-stand-in.ts';

const SECRET_KEY = 'sk_test_revoke_0123456789';
let api: ClerkStandIn;

beforeAll(async () => {
  api = await startClerkStandIn(SECRET_KEY);
  api.users.push(clerkUser({ id: 'user_ada', email: 'ada@northwind.example' }), clerkUser({ id: 'user_bob', email: 'bob@northwind.example' }));
  api.sessions.push(clerkSession('sess_ada_1', 'user_ada'), clerkSession('sess_ada_2', 'user_ada'), clerkSession('sess_bob', 'user_bob'), clerkSession('sess_ada_old', 'user_ada', 'ended'));
});
afterAll(async () => {
  await api?.close();
});

function ctx(config: Record<string, unknown> = {}): ConnectorContext<any> {
  return {
    connection: {
      id: '00000000-0000-4000-8000-000000000001', organizationId: '00000000-0000-4000-8000-000000000002', provider: 'clerk', name: 'Clerk', status: 'ACTIVE', testMode: false, cursor: null,
      config: { webhookSigningSecret: 'whsec_dGVzdA==', secretKey: SECRET_KEY, apiUrl: api.url, ...config },
    },
    logger: pino({ level: 'silent' }),
    outbound: standInOutbound(clerk),
  };
}

const session = (externalRef: string, sourceId = 'user_ada'): RevocationTarget => ({ type: 'session', id: '00000000-0000-4000-8000-0000000000aa', externalRef, user: { id: '00000000-0000-4000-8000-0000000000bb', sourceId } });
const status = (id: string) => api.sessions.find((s) => s.id === id)!.status;

describe('revoke', () => {
  it('revokes a session with sessions.revokeSession (POST /v1/sessions/:id/revoke)', async () => {
    await clerk.revoke!(session('sess_ada_1'), ctx());
    expect(status('sess_ada_1')).toBe('revoked');
    expect(api.calls().at(-1)).toEqual({ method: 'POST', path: '/v1/sessions/sess_ada_1/revoke', query: '' });
    expect(api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
  });

  it('counts a session Clerk no longer has, or one that already ended, as revoked', async () => {
    await expect(clerk.revoke!(session('sess_unknown'), ctx())).resolves.toBeUndefined();
    await expect(clerk.revoke!(session('sess_ada_old'), ctx())).resolves.toBeUndefined();
    expect(api.calls().at(-1)).toEqual({ method: 'GET', path: '/v1/sessions/sess_ada_old', query: '' });
    // Revoking again a session revoked a moment ago (a retried attempt) is done too.
    await expect(clerk.revoke!(session('sess_ada_1'), ctx())).resolves.toBeUndefined();
  });

  it('throws, to be retried, with what to do when Clerk refuses the key or cannot be reached', async () => {
    await expect(clerk.revoke!(session('sess_bob', 'user_bob'), ctx({ secretKey: 'sk_test_wrong' }))).rejects.toThrow(/Clerk refused the secretKey while revoking session sess_bob \(HTTP 401.*Update the connection's secretKey/);
    await expect(clerk.revoke!(session('sess_bob', 'user_bob'), ctx({ apiUrl: 'http://127.0.0.1:9' }))).rejects.toThrow(/could not reach Clerk at http:\/\/127\.0\.0\.1:9 while revoking session sess_bob.*Check the connection's apiUrl/);
    expect(status('sess_bob')).toBe('active');
  });

  it('a person deprovisioned by another source: every active session revoked, or the user banned when the connection says so', async () => {
    const target: RevocationTarget = { type: 'user', user: { id: '00000000-0000-4000-8000-0000000000bb', sourceId: 'user_ada' } };
    await clerk.revoke!(target, ctx());
    expect(['sess_ada_1', 'sess_ada_2'].map(status)).toEqual(['revoked', 'revoked']);
    expect(status('sess_bob')).toBe('active');
    expect(api.calls().filter((c) => c.path === '/v1/sessions' && c.method === 'GET').at(-1)!.query).toBe('user_id=user_ada&status=active&limit=100&paginated=true');

    await clerk.revoke!({ type: 'user', user: { id: '00000000-0000-4000-8000-0000000000cc', sourceId: 'user_bob' } }, ctx({ banOnLinkedDeprovision: true }));
    expect(api.calls().at(-1)).toEqual({ method: 'POST', path: '/v1/users/user_bob/ban', query: '' });
    expect(api.users.find((u) => u.id === 'user_bob')!.banned).toBe(true);
  });
});
