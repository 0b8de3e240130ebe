import { z } from 'zod';
import { createConnection } from '../../src/tenancy/connections.ts';
import { createOrganization } from '../../src/tenancy/organizations.ts';
import { defineConnector } from '../../src/connectors/contract.ts';
import { ConnectorRegistry } from '../../src/connectors/registry.ts';
import type { Database } from '../../src/storage/database.ts';
import { LifecycleEngine } from '../../src/engine/engine.ts';
import type { LifecycleCommandInput } from '../../src/engine/commands.ts';
import type { Actor } from '../../src/engine/types.ts';
import { SecretBox } from '../../src/secrets/index.ts';
import { randomBytes } from 'node:crypto';

/** A connector with nothing to configure: tests feed the engine its commands directly. */
export const testConnector = defineConnector({ id: 'test', displayName: 'Test source', configSchema: z.object({}).strict() });
/** Same, but owning sessions it can revoke upstream. */
export const revokingConnector = defineConnector({ id: 'test-revoking', displayName: 'Revoking source', configSchema: z.object({}), revoke: async () => {} });

export const systemActor: Actor = { type: 'system', name: 'test' };

export async function engineFixture(db: Database, options: { deprovisionPolicy?: 'SOFT' | 'HARD_DELETE'; testMode?: boolean; slug?: string } = {}) {
  const registry = new ConnectorRegistry([testConnector, revokingConnector]);
  const box = SecretBox.fromKey(randomBytes(32));
  const engine = new LifecycleEngine({ sql: db.sql, revokesUpstream: registry.revokesUpstream });
  const org = await createOrganization(db.sql, { name: 'Acme', slug: options.slug ?? `acme-${randomBytes(4).toString('hex')}` }, systemActor);
  const { connectionId } = await createConnection(
    { sql: db.sql, registry, box },
    { organizationId: org.id, provider: 'test', name: 'Okta', testMode: options.testMode, deprovisionPolicy: options.deprovisionPolicy },
    systemActor,
  );
  const actor: Actor = { type: 'connection', connectionId };
  const send = (commands: LifecycleCommandInput[], deliveryId?: string, extra: { connectionId?: string; receivedAt?: Date } = {}) =>
    engine.execute({ connectionId: extra.connectionId ?? connectionId, deliveryId, actor: extra.connectionId ? { type: 'connection', connectionId: extra.connectionId } : actor, commands, receivedAt: extra.receivedAt });
  const api = (commands: LifecycleCommandInput[]) => engine.execute({ organizationId: org.id, actor: { type: 'api_key', apiKeyId: '00000000-0000-0000-0000-000000000000' }, commands });
  const user = async (sourceId: string) => {
    const u = await db.prisma.directoryUser.findFirst({ where: { connectionId, sourceId } });
    if (!u) throw new Error(`no user ${sourceId}`);
    return u;
  };
  const groupBySource = (sourceId: string) => db.prisma.directoryGroup.findFirstOrThrow({ where: { connectionId, sourceId } });
  const events = () => db.prisma.lifecycleEvent.findMany({ where: { organizationId: org.id }, orderBy: { id: 'asc' } });
  const auditRows = () => db.prisma.auditEvent.findMany({ where: { organizationId: org.id }, orderBy: { seq: 'asc' } });
  return { registry, box, engine, org, connectionId, actor, send, api, user, groupBySource, events, auditRows };
}

export const person = (sourceId: string, extra: Record<string, unknown> = {}): LifecycleCommandInput => ({
  type: 'upsertUser',
  sourceId,
  profile: { userName: `${sourceId}@acme.test`, email: `${sourceId}@acme.test`, givenName: sourceId, familyName: 'Tester', ...extra },
});
