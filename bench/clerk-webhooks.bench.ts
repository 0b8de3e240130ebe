// Clerk webhooks over HTTP: the hub in its own process, a load generator here sending deliveries
// signed as Svix signs them (16 at a time): user.created for every user, then user.updated
// with banned: true for half of them (the deprovision path: sessions revoked, memberships
// suspended), then the same deliveries again (Svix retries: duplicates).
import { randomBytes } from 'node:crypto';
import { clerkEvent, clerkUser } from '../test/clerk/clerk-objects.ts';
import { randomWebhookSecret, svixHeaders } from '../test/support/svix-signing.ts';
import { startServerProcess } from './server-process.ts';
import { checkTime, summarize, type Benchmark } from './types.ts';

export const clerkWebhooks: Benchmark = {
  name: 'clerk: signed webhooks over HTTP (server in its own process, 16 concurrent)',
  timeLimitSeconds: 120,
  async run(ctx) {
    const users = ctx.quick ? 150 : 2_000;
    const concurrency = 16;
    const server = await startServerProcess({ databaseUrl: ctx.databaseUrl });
    try {
      const org = await server.gql(`mutation($s: String!) { createOrganization(input: { name: "Bench", slug: $s }) { organization { id } } }`, { s: `bench-${randomBytes(4).toString('hex')}` });
      const secret = randomWebhookSecret();
      const created = await server.gql(
        `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "clerk", name: "Clerk", config: $c }) { connection { webhookUrl } } }`,
        { o: org.createOrganization.organization.id, c: { webhookSigningSecret: secret, secretKey: 'sk_test_bench' } },
      );
      const webhookUrl: string = created.createDirectoryConnection.connection.webhookUrl;

      const phase = async (name: string, deliveries: Array<{ id: string; body: string }>, expectStatus: string) => {
        const latencies: number[] = [];
        let next = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < deliveries.length) {
              checkTime(ctx.signal);
              const d = deliveries[next++]!;
              const s = performance.now();
              const response = await fetch(webhookUrl, { method: 'POST', headers: svixHeaders(secret, d.id, d.body), body: d.body }).catch((error: Error) => {
                throw new Error(`${name}: ${error.message} (${String(error.cause)}); server output: ${server.output().slice(-2000) || '(none)'}`);
              });
              const body = (await response.json()) as { status?: string };
              if (response.status !== 200 || body.status !== expectStatus) throw new Error(`${name}: ${response.status} ${JSON.stringify(body)}`);
              latencies.push(performance.now() - s);
            }
          }),
        );
        const seconds = (performance.now() - t0) / 1000;
        ctx.log(`${name}: ${deliveries.length} in ${seconds.toFixed(1)} s`);
        const stats = summarize(latencies);
        return { [`${name}_per_s`]: Math.round(deliveries.length / seconds), [`${name}_p50_ms`]: stats.p50_ms, [`${name}_p99_ms`]: stats.p99_ms };
      };

      const base = 1773152551000;
      const creations = Array.from({ length: users }, (_, i) => ({
        id: `msg_create_${i}`,
        body: clerkEvent('user.created', clerkUser({ id: `user_${i}`, email: `user${i}@bench.example`, createdAt: base + i, updatedAt: base + i })),
      }));
      const bans = Array.from({ length: users / 2 }, (_, i) => ({
        id: `msg_ban_${i}`,
        body: clerkEvent('user.updated', clerkUser({ id: `user_${i}`, email: `user${i}@bench.example`, banned: true, createdAt: base + i, updatedAt: base + 60_000 + i })),
      }));
      const metrics = {
        ...(await phase('created', creations, 'applied')),
        ...(await phase('banned', bans, 'applied')),
        ...(await phase('redelivered', creations.slice(0, users / 2), 'duplicate')),
      };
      return { metrics, params: { users, concurrency }, notes: 'each delivery verified with @clerk/backend verifyWebhook and applied in its own commit group' };
    } finally {
      await server.stop();
    }
  },
};
