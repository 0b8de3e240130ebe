// Clerk backfill: syncConnection on a hub in its own process, listing users and organization
// memberships through @clerk/backend from a Backend API stand-in in this process.
import { randomBytes } from 'node:crypto';
import { clerkMembership, clerkOrganization, clerkUser } from '../test/clerk/clerk-objects.ts';
import { startClerkStandIn } from '../test/clerk/clerk-stand-in.ts';
import { randomWebhookSecret } from '../test/support/svix-signing.ts';
import { startServerProcess } from './server-process.ts';
import { checkTime, type Benchmark } from './types.ts';

export const clerkBackfill: Benchmark = {
  extra: true,
  name: 'clerk: backfill through the SDK (users + organization memberships)',
  timeLimitSeconds: 120,
  async run(ctx) {
    const users = ctx.quick ? 300 : 10_000;
    const organizations = ctx.quick ? 5 : 20;
    const api = await startClerkStandIn('sk_test_bench_backfill');
    for (let i = 0; i < users; i++) api.users.push(clerkUser({ id: `user_${String(i).padStart(6, '0')}`, email: `user${i}@bench.example`, createdAt: 1770000000000 + i }));
    for (let o = 0; o < organizations; o++) {
      const org = clerkOrganization({ id: `org_${o}`, name: `Org ${o}`, slug: `org-${o}` });
      api.organizations.push(org);
      for (let i = o; i < users; i += organizations) api.memberships.push(clerkMembership(org, api.users[i], i % 10 === 0 ? 'org:admin' : 'org:member'));
    }
    // The stand-in is on 127.0.0.1: allowed as an operator allows a proxy.
    const server = await startServerProcess({ databaseUrl: ctx.databaseUrl, env: { OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true', OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' } });
    try {
      const org = await server.gql(`mutation($s: String!) { createOrganization(input: { name: "Bench", slug: $s }) { organization { id } } }`, { s: `bench-${randomBytes(4).toString('hex')}` });
      const organizationId = org.createOrganization.organization.id;
      const created = await server.gql(
        `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "clerk", name: "Clerk", config: $c }) { connection { id } } }`,
        { o: organizationId, c: { webhookSigningSecret: randomWebhookSecret(), secretKey: 'sk_test_bench_backfill', apiUrl: api.url } },
      );
      const connectionId = created.createDirectoryConnection.connection.id;
      const t0 = performance.now();
      await server.gql(`mutation($c: ID!) { syncConnection(input: { connectionId: $c }) { sync { id } } }`, { c: connectionId });
      let sync: { status: string; processed: number; error: string | null };
      for (;;) {
        const data = await server.gql(`query($o: ID!) { organization(id: $o) { connections { id sync { status processed error } } } }`, { o: organizationId });
        sync = data.organization.connections.find((c: { id: string }) => c.id === connectionId).sync;
        if (sync.status !== 'RUNNING') break;
        checkTime(ctx.signal);
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (performance.now() - t0) / 1000;
      if (sync.status !== 'SUCCEEDED') throw new Error(`sync ${sync.status}: ${sync.error}`);
      ctx.log(`${users} users, ${api.memberships.length} memberships in ${seconds.toFixed(1)} s`);
      return { metrics: { users_per_s: Math.round(users / seconds), seconds: Math.round(seconds * 10) / 10 }, params: { users, organizations, memberships: api.memberships.length, page: 100 } };
    } finally {
      await server.stop();
      await api.close();
    }
  },
};
