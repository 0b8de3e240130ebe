// connection.requestLog stays bounded: rows past the retention go, and each connection keeps at
// most its cap of newest rows; other connections' logs and every lifecycle table are untouched.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../../src/tenancy/connections.ts';
import { createOrganization } from '../../src/tenancy/organizations.ts';
import { RequestLogRetention } from '../../src/jobs/request-log-retention.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

async function connectionWithLog(slug: string, rows: Array<{ daysAgo: number }>) {
  const actor = { type: 'system' as const, name: 'test' };
  const org = await createOrganization(t.db.sql, { name: slug, slug }, actor);
  const { connectionId } = await createConnection({ sql: t.db.sql, registry: t.hub.registry, box: t.hub.box }, { organizationId: org.id, provider: 'scim', name: 'IdP' }, actor);
  await t.db.sql.query(
    `INSERT INTO connection_request_log (connection_id, at, request_id, method, path, status, duration_ms)
     SELECT $1, now() - make_interval(days => d), 'req-' || ord, 'POST', '/Users', 201, 3 FROM unnest($2::int[]) WITH ORDINALITY AS x(d, ord)`,
    [connectionId, rows.map((r) => r.daysAgo)],
  );
  return connectionId;
}

const requestIds = async (connectionId: string) =>
  (await t.db.sql.query<{ requestId: string }>('SELECT request_id AS "requestId" FROM connection_request_log WHERE connection_id = $1 ORDER BY id', [connectionId])).map((r) => r.requestId);

describe('request log retention', () => {
  it('drops rows older than the retention and, per connection, all but the newest rows up to the cap', async () => {
    // Oldest first: ids ascend with insertion order.
    const chatty = await connectionWithLog('chatty', [{ daysAgo: 45 }, { daysAgo: 40 }, ...Array.from({ length: 150 }, () => ({ daysAgo: 1 }))]);
    const quiet = await connectionWithLog('quiet', [{ daysAgo: 31 }, { daysAgo: 2 }, { daysAgo: 0 }]);
    const retention = new RequestLogRetention({ sql: t.db.sql, logger: pino({ level: 'silent' }), retentionDays: 30, maxRowsPerConnection: 100 });

    const first = await retention.prune();
    expect(first).toEqual({ expired: 3, overCap: 50 });
    const kept = await requestIds(chatty);
    expect(kept).toHaveLength(100);
    expect(kept[0]).toBe('req-53'); // rows 3..152 were recent; the 50 oldest of them went
    expect(kept.at(-1)).toBe('req-152');
    expect(await requestIds(quiet)).toEqual(['req-2', 'req-3']);

    // Nothing left to do: a second pass (another instance, the next hour) deletes nothing.
    expect(await retention.prune()).toEqual({ expired: 0, overCap: 0 });
  });
});
