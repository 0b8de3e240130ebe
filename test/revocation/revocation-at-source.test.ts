// Revocation at the source: a deprovision revokes the hub's own sessions and credentials in its
// commit (accessCheck denies at once); those owned upstream by a connector with `revoke` are
// revoked there by the worker, with retries and backoff, CONFIRMED or FAILED with an event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineConnector, type RevocationTarget } from '../../src/connectors/contract.ts';
import { openTestDatabase } from '../support/db.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { seedOrganization, subscribeWs, wsClient } from '../streams/support.ts';

/** Fails the first `failures.get(externalRef)` calls for a target (Infinity: always), then succeeds. */
const failures = new Map<string, number>();
const calls: Array<{ target: RevocationTarget; at: number; connectionId: string; ok: boolean }> = [];
const flaky = defineConnector({
  id: 'flaky-idp',
  displayName: 'An upstream that sometimes fails to revoke',
  configSchema: z.object({}).passthrough(),
  async revoke(target, ctx) {
    const ref = target.type === 'user' ? target.user.id : target.externalRef;
    const left = failures.get(ref) ?? 0;
    const ok = left <= 0;
    calls.push({ target, at: Date.now(), connectionId: ctx.connection.id, ok });
    if (!ok) {
      failures.set(ref, left - 1);
      throw new Error(`upstream said 503 for ${ref}`);
    }
  },
});

const MAX_ATTEMPTS = 4;
const BASE_MS = 40;
let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ connectors: [flaky], env: { REVOCATION_MAX_ATTEMPTS: String(MAX_ATTEMPTS), REVOCATION_RETRY_BASE_MS: String(BASE_MS) } });
});
afterAll(async () => {
  await t?.close();
});

async function offboardedUserWithAccess(slug: string, refs: { session: string; credential: string; ownSession: string }) {
  const org = await seedOrganization(t, slug, 'flaky-idp');
  const [userId] = await org.provision('p', 1);
  // Upstream-owned: registered by the connector's own delivery.
  await org.send([
    { type: 'registerSession', user: { sourceId: 'p0' }, externalRef: refs.session },
    { type: 'registerCredential', user: { sourceId: 'p0' }, kind: 'oauth_token', externalRef: refs.credential },
  ]);
  // The SaaS's own session, registered through the API: nothing upstream to tell.
  const { registerSession } = await t.gqlOk(`mutation($u: ID!, $r: String!) { registerSession(input: { userId: $u, externalRef: $r }) { session { id } } }`, { u: userId, r: refs.ownSession });
  return { org, userId: userId!, ownSessionId: registerSession.session.id as string };
}

const revocationFields = 'id externalRef revokedAt revocationStatus revocationAttempts revocationError revocationConfirmedAt revocationNextAttemptAt';
const userAccess = (id: string, key?: string) =>
  t.gqlOk(`query($id: ID!) { user(id: $id) { state sessions { ${revocationFields} } credentials { kind ${revocationFields} } } }`, { id }, key);

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('revocation at the source', () => {
  it('denies access in the deprovision commit, then confirms upstream after retrying with backoff', async () => {
    failures.set('up-sess-1', 2);
    failures.set('up-cred-1', 0);
    const { org, userId, ownSessionId } = await offboardedUserWithAccess('rev-confirm', { session: 'up-sess-1', credential: 'up-cred-1', ownSession: 'own-1' });
    const client = wsClient(t.url, org.orgKey);
    try {
      const stream = subscribeWs(client, `subscription($o: ID!) { lifecycleEvents(organizationId: $o, types: ["session.revocation_confirmed", "credential.revocation_confirmed"]) { id type user { id } connection { id provider } } }`, { o: org.orgId }, 'lifecycleEvents');
      while (t.hub.events.subscribersOf(org.orgId) < 1) await new Promise((r) => setTimeout(r, 10));
      expect((await t.gqlOk(`query($s: ID!) { accessCheck(sessionId: $s) { allowed } }`, { s: ownSessionId })).accessCheck.allowed).toBe(true);

      await t.gqlOk(`mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id } } }`, { u: userId });
      // Denied from the commit on, before anything upstream answered.
      const denied = await t.gqlOk(`query($s: ID!, $u: ID!) { own: accessCheck(sessionId: $s) { allowed reason } user: accessCheck(userId: $u) { allowed } }`, { s: ownSessionId, u: userId });
      expect(denied.own).toEqual({ allowed: false, reason: 'the user is deprovisioned' });
      expect(denied.user.allowed).toBe(false);

      const events = await stream.waitFor(2);
      expect(events.map((e) => e.type).sort()).toEqual(['credential.revocation_confirmed', 'session.revocation_confirmed']);
      expect(events[0]).toMatchObject({ user: { id: userId }, connection: { id: org.connectionId, provider: 'flaky-idp' } });

      const { user } = await userAccess(userId, org.orgKey);
      const own = user.sessions.find((s: any) => s.externalRef === 'own-1');
      const upstream = user.sessions.find((s: any) => s.externalRef === 'up-sess-1');
      expect(own).toMatchObject({ revocationStatus: 'NOT_REQUIRED', revocationAttempts: 0 });
      expect(own.revokedAt).not.toBeNull();
      expect(upstream).toMatchObject({ revocationStatus: 'CONFIRMED', revocationAttempts: 3, revocationError: null, revocationNextAttemptAt: null });
      expect(upstream.revocationConfirmedAt).not.toBeNull();
      expect(user.credentials[0]).toMatchObject({ kind: 'oauth_token', revocationStatus: 'CONFIRMED', revocationAttempts: 1 });

      // Two failures then success, each retry later than the one before (exponential backoff).
      const sessionCalls = calls.filter((c) => c.target.type === 'session' && c.target.externalRef === 'up-sess-1');
      expect(sessionCalls.map((c) => c.ok)).toEqual([false, false, true]);
      expect(sessionCalls[0]!.target).toMatchObject({ type: 'session', user: { id: userId, sourceId: 'p0' } });
      expect(sessionCalls[1]!.at - sessionCalls[0]!.at).toBeGreaterThanOrEqual(BASE_MS * 0.8);
      expect(sessionCalls[2]!.at - sessionCalls[1]!.at).toBeGreaterThanOrEqual(BASE_MS * 2 * 0.8);

      // Every attempt is in the audit log.
      const audit = await t.hub.db.prisma.auditEvent.findMany({ where: { organizationId: org.orgId, targetId: upstream.id }, orderBy: { seq: 'asc' } });
      expect(audit.map((a) => a.action)).toEqual(['session.registered', 'session.revocation_attempt_failed', 'session.revocation_attempt_failed', 'session.revocation_confirmed']);
      expect(audit[1]!.data).toMatchObject({ attempt: 1, error: 'upstream said 503 for up-sess-1' });
    } finally {
      await client.dispose();
    }
  });

  it('gives up after the last attempt: FAILED, the error recorded, and credential.revocation_failed emitted', async () => {
    failures.set('up-sess-2', 0);
    failures.set('up-cred-2', Infinity);
    const { org, userId } = await offboardedUserWithAccess('rev-fail', { session: 'up-sess-2', credential: 'up-cred-2', ownSession: 'own-2' });
    const client = wsClient(t.url, org.orgKey);
    try {
      const stream = subscribeWs(client, `subscription($o: ID!) { lifecycleEvents(organizationId: $o, types: ["credential.revocation_failed"]) { id type enforcedAt data user { id } } }`, { o: org.orgId }, 'lifecycleEvents');
      while (t.hub.events.subscribersOf(org.orgId) < 1) await new Promise((r) => setTimeout(r, 10));
      await org.send([{ type: 'deactivateUser', user: { sourceId: 'p0' } }]);
      const [failed] = await stream.waitFor(1);
      expect(failed).toMatchObject({ type: 'credential.revocation_failed', user: { id: userId }, data: { externalRef: 'up-cred-2', kind: 'oauth_token', attempt: MAX_ATTEMPTS, error: 'upstream said 503 for up-cred-2' } });
      const { user } = await userAccess(userId);
      expect(user.credentials[0]).toMatchObject({ revocationStatus: 'FAILED', revocationAttempts: MAX_ATTEMPTS, revocationError: 'upstream said 503 for up-cred-2', revocationNextAttemptAt: null });
      expect(user.sessions.find((s: any) => s.externalRef === 'up-sess-2').revocationStatus).toBe('CONFIRMED');
      expect(calls.filter((c) => c.target.type === 'credential' && c.target.externalRef === 'up-cred-2')).toHaveLength(MAX_ATTEMPTS);
      const audit = await t.hub.db.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: org.orgId, action: 'credential.revocation_failed' } });
      expect(audit.warnings[0]).toMatch(/revoke it by hand/);
    } finally {
      await client.dispose();
    }
  });

  it('shows PENDING with the next attempt while the upstream keeps failing', async () => {
    failures.set('up-sess-3', Infinity);
    failures.set('up-cred-3', 0);
    const slow = await startTestHub({ connectors: [flaky], env: { REVOCATION_MAX_ATTEMPTS: '5', REVOCATION_RETRY_BASE_MS: '600000' } });
    try {
      const org = await seedOrganization(slow, 'rev-pending', 'flaky-idp');
      const [userId] = await org.provision('q', 1);
      await org.send([{ type: 'registerSession', user: { sourceId: 'q0' }, externalRef: 'up-sess-3' }]);
      await org.send([{ type: 'deactivateUser', user: { sourceId: 'q0' } }]);
      const session = await until('the first attempt', async () => {
        const { user } = await slow.gqlOk(`query($id: ID!) { user(id: $id) { sessions { ${revocationFields} } } }`, { id: userId });
        return user.sessions[0].revocationAttempts === 1 && user.sessions[0];
      });
      expect(session).toMatchObject({ revocationStatus: 'PENDING', revocationError: 'upstream said 503 for up-sess-3' });
      expect(new Date(session.revocationNextAttemptAt).getTime()).toBeGreaterThan(Date.now() + 60_000);
    } finally {
      await slow.close();
    }
  });

  it('refuses recordRevocation from a connector or an API key', async () => {
    const org = await seedOrganization(t, 'rev-forged', 'flaky-idp');
    await org.provision('f', 1);
    await expect(org.send([{ type: 'recordRevocation', target: 'session', id: '00000000-0000-7000-8000-000000000000', attempt: 1, outcome: 'confirmed' }])).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
  });

  it('shares the work between instances: each upstream credential is revoked exactly once', async () => {
    const db = await openTestDatabase();
    const a = await startTestHub({ connectors: [flaky], db });
    const b = await startTestHub({ connectors: [flaky], db });
    try {
      const org = await seedOrganization(a, 'rev-shared', 'flaky-idp');
      await org.provision('m', 10);
      const refs = Array.from({ length: 10 }, (_, i) => `shared-${i}`);
      await org.send(refs.map((ref, i) => ({ type: 'registerCredential' as const, user: { sourceId: `m${i}` }, kind: 'api_key' as const, externalRef: ref })));
      await org.send(refs.map((_, i) => ({ type: 'deactivateUser' as const, user: { sourceId: `m${i}` } })));
      b.hub.revocations.wake();
      await until('all confirmed', async () => (await a.hub.db.prisma.credential.count({ where: { organizationId: org.orgId, revocationStatus: 'CONFIRMED' } })) === 10);
      for (const ref of refs) expect(calls.filter((c) => c.target.type === 'credential' && c.target.externalRef === ref)).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
      await db.close();
    }
  });
});
