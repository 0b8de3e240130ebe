// Setting up a vendor connection the way a client does (GraphQL), and reading back what a test asserts.
import { randomBytes } from 'node:crypto';
import type { LifecycleEventRecord } from '../../../src/engine/types.ts';
import type { TestHub } from '../server.ts';

export interface VendorConnection {
  organizationId: string;
  connectionId: string;
  webhookUrl: string;
}

export async function createOrganization(t: TestHub, name = 'Northwind'): Promise<string> {
  const slug = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomBytes(4).toString('hex')}`;
  const { createOrganization } = await t.gqlOk(`mutation($n: String!, $s: String!) { createOrganization(input: { name: $n, slug: $s }) { organization { id } } }`, { n: name, s: slug });
  return createOrganization.organization.id as string;
}

/** createDirectoryConnection(provider, config) as a client calls it; returns the webhook URL it answers. */
export async function createVendorConnection(t: TestHub, provider: string, config: Record<string, unknown>, options: { organizationId?: string; name?: string; deprovisionPolicy?: 'SOFT' | 'HARD_DELETE' } = {}): Promise<VendorConnection> {
  const organizationId = options.organizationId ?? (await createOrganization(t));
  const { createDirectoryConnection } = await t.gqlOk(
    `mutation($o: ID!, $p: String!, $n: String!, $c: JSON, $d: DeprovisionPolicy) {
       createDirectoryConnection(input: { organizationId: $o, provider: $p, name: $n, config: $c, deprovisionPolicy: $d }) { connection { id webhookUrl } } }`,
    { o: organizationId, p: provider, n: options.name ?? provider, c: config, d: options.deprovisionPolicy ?? null },
  );
  return { organizationId, connectionId: createDirectoryConnection.connection.id, webhookUrl: createDirectoryConnection.connection.webhookUrl };
}

/** Everything a delivery could have changed for a connection: compared before and after a refused one. */
export async function connectionSnapshot(t: TestHub, connectionId: string) {
  const [users, groups, memberships, deliveries, events, sessions] = await Promise.all([
    t.hub.db.sql.query('SELECT source_id, state, version, updated_at FROM directory_user WHERE connection_id = $1 ORDER BY source_id', [connectionId]),
    t.hub.db.sql.query('SELECT source_id, display_name, deleted_at, version FROM directory_group WHERE connection_id = $1 ORDER BY source_id', [connectionId]),
    t.hub.db.sql.query(
      'SELECT m.group_id, m.user_id, m.suspended_at, m.removed_at FROM group_membership m JOIN directory_group g ON g.id = m.group_id WHERE g.connection_id = $1 ORDER BY 1, 2',
      [connectionId],
    ),
    t.hub.db.sql.query('SELECT delivery_id FROM inbound_delivery WHERE connection_id = $1 ORDER BY delivery_id', [connectionId]),
    t.hub.db.sql.query('SELECT id FROM lifecycle_event WHERE connection_id = $1 ORDER BY id', [connectionId]),
    t.hub.db.sql.query('SELECT s.id, s.revoked_at FROM session s JOIN directory_user u ON u.id = s.user_id WHERE u.connection_id = $1 ORDER BY s.id', [connectionId]),
  ]);
  return { users, groups, memberships, deliveries, events, sessions };
}

/**
 * connectionSnapshot once the connection's feed was read and its outcome recorded: the poller's first
 * round reads a new connection's feed at any moment, and a read that works activates the connection
 * (a connection.activated event), which a "before" snapshot must already contain.
 */
export async function settledSnapshot(t: TestHub, connectionId: string) {
  await t.hub.sync.pullNow(connectionId);
  return connectionSnapshot(t, connectionId);
}

/** Collects the lifecycle events the engine commits (engine.onCommitted), for the life of a test file. */
export function collectCommitted(t: TestHub) {
  const events: LifecycleEventRecord[] = [];
  const stop = t.hub.engine.onCommitted((batch) => events.push(...batch));
  return { events, stop, of: (connectionId: string) => events.filter((e) => e.connectionId === connectionId) };
}
