// syncConnection over real HTTP: a backfill through a connector's listing (the template's export
// API, served by a stand-in on 127.0.0.1), progress in connection.sync and in sync.* lifecycle
// events, drift reported and optionally deprovisioned, failures recorded with what to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import template from '../../plugins/template/index.ts';
import type { LifecycleEventRecord } from '../../src/engine/types.ts';
import { testConnector } from '../support/engine-fixture.ts';
import { startStandIn, type StandIn } from '../support/stand-in.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { randomWebhookSecret } from '../support/svix-signing.ts';

const TOKEN = 'export-token-0123456789';
const exportUsers = Array.from({ length: 5 }, (_, i) => ({ id: `u${i}`, email: `user${i}@export.test`, given_name: `User`, family_name: `${i}`, active: i !== 4 }));
const exportGroups = [
  { id: 'g-eng', name: 'Engineering', members: ['u0', 'u1', 'u2'] },
  { id: 'g-ops', name: 'Operations', members: ['u3'] },
];

let t: TestHub;
let api: StandIn;
let delayMs = 0;
let refuse = false;
const committed: LifecycleEventRecord[] = [];

beforeAll(async () => {
  api = await startStandIn(async (req) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}` || refuse) return { status: 401, json: { error: 'bad token' } };
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const page = (items: unknown[]) => {
      const from = Number(req.query.get('cursor') ?? 0);
      const next = from + 2 < items.length ? String(from + 2) : null;
      return { json: { data: items.slice(from, from + 2), next_cursor: next, total: items.length } };
    };
    if (req.path === '/export/users') return page(exportUsers);
    if (req.path === '/export/groups') return page(exportGroups);
    return undefined;
  });
  t = await startTestHub({ connectors: [template, testConnector], sync: { progressEveryMs: 0 } });
  t.hub.engine.onCommitted((events) => committed.push(...events));
});
afterAll(async () => {
  await t?.close();
  await api?.close();
});

async function setup(slug: string, config: Record<string, unknown> = { signingSecret: randomWebhookSecret(), exportUrl: `${api.url}/export`, apiToken: TOKEN }) {
  const org = await t.gqlOk(`mutation($s: String!) { createOrganization(input: { name: "Org", slug: $s }) { organization { id } } }`, { s: slug });
  const organizationId = org.createOrganization.organization.id as string;
  const conn = await t.gqlOk(
    `mutation($o: ID!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: "template", name: "HRIS", config: $c }) { connection { id } } }`,
    { o: organizationId, c: config },
  );
  return { organizationId, connectionId: conn.createDirectoryConnection.connection.id as string };
}

const SYNC = `mutation($c: ID!) { syncConnection(input: { connectionId: $c }) { alreadyRunning sync { id status processed total startedAt finishedAt error } } }`;
const STATUS = `query($o: ID!) { organization(id: $o) { connections { id lastError lastErrorAt lastSyncedAt sync { id status processed total drifted startedAt finishedAt error } } } }`;

async function waitForSync(organizationId: string, connectionId: string) {
  for (;;) {
    const data = await t.gqlOk(STATUS, { o: organizationId });
    const connection = data.organization.connections.find((c: { id: string }) => c.id === connectionId);
    // Read once more after the run ended: the connection and its run are read one after the other.
    if (connection.sync && connection.sync.status !== 'RUNNING') {
      const again = await t.gqlOk(STATUS, { o: organizationId });
      return again.organization.connections.find((c: { id: string }) => c.id === connectionId);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a backfill', () => {
  it('imports users, groups and memberships, with progress in connection.sync and sync.* lifecycle events', async () => {
    const { organizationId, connectionId } = await setup('sync-import');
    delayMs = 100; // the first page takes a while: the mutation's answer shows the run RUNNING
    const started = await t.gqlOk(SYNC, { c: connectionId }).finally(() => (delayMs = 0));
    expect(started.syncConnection).toMatchObject({ alreadyRunning: false, sync: { status: 'RUNNING', processed: 0, finishedAt: null } });
    const connection = await waitForSync(organizationId, connectionId);
    expect(connection.sync).toMatchObject({ id: started.syncConnection.sync.id, status: 'SUCCEEDED', processed: 5, total: 5, drifted: 0, error: null });
    expect(connection.sync.finishedAt).not.toBeNull();
    expect(connection.lastSyncedAt).not.toBeNull();

    const users = await t.db.prisma.directoryUser.findMany({ where: { connectionId }, orderBy: { sourceId: 'asc' } });
    expect(users.map((u) => [u.sourceId, u.state])).toEqual([['u0', 'ACTIVE'], ['u1', 'ACTIVE'], ['u2', 'ACTIVE'], ['u3', 'ACTIVE'], ['u4', 'DEPROVISIONED']]);
    const groups = await t.db.prisma.directoryGroup.findMany({ where: { connectionId }, orderBy: { sourceId: 'asc' } });
    expect(groups.map((g) => [g.displayName, g.memberCount])).toEqual([['Engineering', 3], ['Operations', 1]]);

    const rows = await t.db.prisma.lifecycleEvent.findMany({ where: { organizationId, type: { startsWith: 'sync.' } }, orderBy: { id: 'asc' } });
    const types = rows.map((e) => e.type);
    expect(types[0]).toBe('sync.started');
    expect(types.at(-1)).toBe('sync.completed');
    expect(types.filter((x) => x === 'sync.progress').length).toBeGreaterThanOrEqual(3);
    expect(rows.every((e) => e.connectionId === connectionId)).toBe(true);
    expect(rows.at(-1)!.data).toMatchObject({ runId: started.syncConnection.sync.id, processed: 5, total: 5, drifted: 0 });
    // The same events reached engine.onCommitted (what subscriptions are fed from).
    expect(committed.filter((e) => e.organizationId === organizationId && e.type.startsWith('sync.')).map((e) => e.type)).toEqual(types);
    const audit = await t.db.prisma.auditEvent.findMany({ where: { organizationId, action: { startsWith: 'sync.' } } });
    expect(audit.length).toBe(rows.length);
  });

  it('reports users gone at the source, and deprovisions them when the connection says so', async () => {
    const { organizationId, connectionId } = await setup('sync-drift');
    await t.hub.engine.execute({
      connectionId,
      actor: { type: 'connection', connectionId },
      commands: [{ type: 'upsertUser', sourceId: 'gone-1', profile: { userName: 'gone@export.test', email: 'gone@export.test' } }],
    });
    await t.gqlOk(SYNC, { c: connectionId });
    let connection = await waitForSync(organizationId, connectionId);
    expect(connection.sync).toMatchObject({ status: 'SUCCEEDED', drifted: 1 });
    const gone = await t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId, sourceId: 'gone-1' } });
    expect(gone.state).toBe('ACTIVE');
    const drift = await t.db.prisma.lifecycleEvent.findFirstOrThrow({ where: { organizationId, type: 'sync.drift_detected' } });
    expect(drift.data).toMatchObject({ drifted: 1, deprovisioned: false, driftedUsers: [{ userId: gone.id, sourceId: 'gone-1', email: 'gone@export.test' }] });

    await t.gqlOk(`mutation($c: ID!) { updateConnectionSettings(input: { connectionId: $c, deprovisionOnDrift: true }) { connection { deprovisionOnDrift } } }`, { c: connectionId });
    await t.gqlOk(SYNC, { c: connectionId });
    connection = await waitForSync(organizationId, connectionId);
    expect(connection.sync).toMatchObject({ status: 'SUCCEEDED', drifted: 1 });
    const after = await t.db.prisma.directoryUser.findFirstOrThrow({ where: { connectionId, sourceId: 'gone-1' } });
    expect(after.state).toBe('DEPROVISIONED');
    expect(after.deprovisionReason).toContain('drift');
    const deprovisioned = await t.db.prisma.lifecycleEvent.findFirstOrThrow({ where: { organizationId, type: 'user.deprovisioned', userId: gone.id } });
    expect(deprovisioned.data).toMatchObject({ reason: expect.stringContaining('not found at the source') });
  });

  it('returns the running sync instead of starting a second one', async () => {
    const { organizationId, connectionId } = await setup('sync-twice');
    delayMs = 150;
    try {
      const first = await t.gqlOk(SYNC, { c: connectionId });
      const second = await t.gqlOk(SYNC, { c: connectionId });
      expect(second.syncConnection).toMatchObject({ alreadyRunning: true, sync: { id: first.syncConnection.sync.id, status: 'RUNNING' } });
      await waitForSync(organizationId, connectionId);
    } finally {
      delayMs = 0;
    }
    expect(await t.db.prisma.syncRun.count({ where: { connectionId } })).toBe(1);
  });

  it('fails with what to do when the source refuses, recording it on the run and the connection', async () => {
    const { organizationId, connectionId } = await setup('sync-refused');
    refuse = true;
    try {
      await t.gqlOk(SYNC, { c: connectionId });
      const connection = await waitForSync(organizationId, connectionId);
      expect(connection.sync.status).toBe('FAILED');
      expect(connection.sync.error).toMatch(/refused the apiToken.*update the connection's apiToken.*run syncConnection again/);
      expect(connection.lastError).toBe(connection.sync.error);
      expect(connection.lastErrorAt).not.toBeNull();
    } finally {
      refuse = false;
    }
    const failed = await t.db.prisma.lifecycleEvent.findFirstOrThrow({ where: { organizationId, type: 'sync.failed' } });
    expect(failed.data).toMatchObject({ error: expect.stringContaining('apiToken') });
  });

  it('marks a run left RUNNING by a stopped instance as interrupted and starts afresh', async () => {
    const { organizationId, connectionId } = await setup('sync-orphan');
    await t.db.sql.query(`INSERT INTO sync_run (id, connection_id, status, processed, started_at) VALUES (gen_random_uuid(), $1, 'RUNNING', 3, now() - interval '1 hour')`, [connectionId]);
    const started = await t.gqlOk(SYNC, { c: connectionId });
    expect(started.syncConnection.alreadyRunning).toBe(false);
    await waitForSync(organizationId, connectionId);
    const runs = await t.db.prisma.syncRun.findMany({ where: { connectionId }, orderBy: { startedAt: 'asc' } });
    expect(runs.map((r) => r.status)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(runs[0]!.error).toMatch(/interrupted.*Run syncConnection again/);
  });
});

describe('refusals', () => {
  it('refuses a connection whose source offers no listing, a paused one, and another organization\'s', async () => {
    const { organizationId } = await setup('sync-refusals');
    const plain = await t.gqlOk(`mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "test", name: "push only" }) { connection { id } } }`, { o: organizationId });
    const noListing = await t.gql(SYNC, { c: plain.createDirectoryConnection.connection.id });
    expect(noListing.errors?.[0]).toMatchObject({ extensions: { code: 'FAILED_PRECONDITION' }, message: expect.stringContaining('cannot be synced') });

    const { connectionId } = await setup('sync-paused');
    await t.gqlOk(`mutation($c: ID!) { pauseConnection(input: { connectionId: $c }) { connection { status } } }`, { c: connectionId });
    const paused = await t.gql(SYNC, { c: connectionId });
    expect(paused.errors?.[0]).toMatchObject({ extensions: { code: 'FAILED_PRECONDITION' }, message: expect.stringContaining('resume it') });

    const key = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "other" }) { secret } }`, { o: organizationId });
    const foreign = await t.gql(SYNC, { c: connectionId }, key.createApiKey.secret);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
