// Every recorded WorkOS payload (test/fixtures/workos) through the connector: webhook bodies signed and
// verified by @workos-inc/node then translated; API bodies served verbatim to the SDK. One quirk per
// fixture, one assertion per quirk.
import { Hono } from 'hono';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorContext } from '../../src/connectors/contract.ts';
import workosConnector from '../../plugins/workos/index.ts';
import type { WorkosConfig } from '../../plugins/workos/config.ts';
import { standInOutbound, startStandIn, type StandIn } from '../support/vendors/stand-in.ts';
import { signWorkosDelivery, workosFixture } from '../support/vendors/workos.ts';

const SECRET = 'fixture-secret';
let api: StandIn;
const served = new Map<string, unknown>();

beforeAll(async () => {
  const app = new Hono();
  app.get('*', (c) => (served.has(c.req.path) ? c.json(served.get(c.req.path) as object) : c.json({ message: 'not found' }, 404)));
  api = await startStandIn(app, []);
});
afterAll(() => api?.close());

function ctx(config: Partial<WorkosConfig> = {}, known: string[] = []): ConnectorContext<WorkosConfig> {
  return {
    connection: { id: 'c', organizationId: 'o', provider: 'workos', name: 'w', status: 'ACTIVE', testMode: false, cursor: null, config: { webhookSecret: SECRET, apiKey: 'sk_test_fixtures', apiBaseUrl: api.url, apiMaxRetries: 0, ...config } },
    logger: pino({ level: 'silent' }),
    outbound: standInOutbound(workosConnector),
    knownSourceIds: async (kind) => (kind === 'user' ? known : []),
  };
}

async function inbound(name: string, context = ctx()) {
  const rawBody = JSON.stringify(workosFixture(name));
  return workosConnector.inbound!({ method: 'POST', url: 'http://hub/webhooks/c', headers: new Headers(signWorkosDelivery(rawBody, SECRET)), rawBody }, context);
}

const types = (result: Awaited<ReturnType<typeof inbound>>) => ('commands' in result ? result.commands.map((c) => c.type) : `ignored: ${result.ignored}`);

describe('recorded WorkOS webhooks', () => {
  it.each([
    ['dsync.user.created', ['upsertUser']],
    ['dsync.user.updated', ['upsertUser']],
    ['dsync.user.updated.attributes', ['upsertUser']],
    ['dsync.user.deleted', ['deleteUser']],
    ['dsync.group.created', ['upsertGroup']],
    ['dsync.group.updated', ['upsertGroup']],
    ['dsync.group.deleted', ['deleteGroup']],
    ['dsync.group.user_added', ['upsertGroup', 'upsertUser', 'addMembers']],
    ['dsync.group.user_removed', ['upsertGroup', 'upsertUser', 'removeMembers']],
  ])('%s verifies and becomes %j', async (name, expected) => {
    const result = await inbound(name);
    expect(result.deliveryId).toBe(workosFixture(name).id);
    expect(types(result)).toEqual(expected);
  });

  it('dsync.user.updated with state "inactive" deprovisions (active: false), stamped with the user updated_at', async () => {
    const result = await inbound('dsync.user.updated');
    expect('commands' in result && result.commands[0]).toMatchObject({ active: false, occurredAt: new Date('2026-03-11T14:22:31.155Z') });
  });

  it('dsync.user.deleted is stamped with the later of the user updated_at and the event created_at', async () => {
    const result = await inbound('dsync.user.deleted');
    expect('commands' in result && result.commands[0]).toMatchObject({ occurredAt: new Date('2026-03-11T14:22:31.335Z') });
  });

  it('dsync.activated is acknowledged; dsync.deleted deletes what the hub holds of the directory', async () => {
    expect(types(await inbound('dsync.activated'))).toMatch(/^ignored: directory .* activated/);
    expect(types(await inbound('dsync.deleted', ctx({}, ['directory_user_a', 'directory_user_b'])))).toEqual(['deleteUser', 'deleteUser']);
    expect(types(await inbound('dsync.deleted', ctx({ onDirectoryDeleted: 'ignore' }, ['directory_user_a'])))).toMatch(/^ignored/);
  });
});

describe('recorded WorkOS API responses, served verbatim to the SDK', () => {
  it('api-events-list / api-events-list.end: one page of commands, then the end of the feed', async () => {
    served.set('/events', workosFixture('api-events-list'));
    const page = await workosConnector.pull!(null, ctx());
    expect(page.commands.map((c) => c.type)).toEqual(['upsertUser', 'upsertGroup', 'upsertUser', 'addMembers', 'upsertUser', 'upsertUser']);
    expect(page).toMatchObject({ cursor: 'event_01JNQ8G8H1J4K7M0N3P6Q9R2S5', hasMore: true });
    served.set('/events', workosFixture('api-events-list.end'));
    expect(await workosConnector.pull!(page.cursor, ctx())).toMatchObject({ commands: [], cursor: page.cursor, hasMore: false });
  });

  it('api-directory-groups-list and api-directory-users-list(.groups-empty): groups, users, members per group', async () => {
    served.set('/directory_groups', workosFixture('api-directory-groups-list'));
    for (const usersFixture of ['api-directory-users-list', 'api-directory-users-list.groups-empty']) {
      const users = workosFixture(usersFixture);
      served.set('/directory_users', { ...users, list_metadata: { before: null, after: null } });
      const pages = [];
      for await (const page of workosConnector.backfill!(ctx({ directoryId: 'directory_01JNQ7X4Y9Z3A6B0C5D7E1F2G3' }))) pages.push(page);
      expect(pages.map((p) => p.commands.map((c) => c.type)), usersFixture).toEqual([['upsertGroup', 'upsertGroup'], ['upsertUser', 'upsertUser'], ['replaceMembers'], ['replaceMembers']]);
      expect(pages[1]!.seenUserSourceIds).toEqual(users.data.map((u: { id: string }) => u.id));
    }
  });

  it('a user without `groups` in a listing makes the SDK throw (a stand-in must always serve it)', async () => {
    const users = workosFixture('api-directory-users-list');
    for (const u of users.data) delete u.groups;
    served.set('/directory_users', users);
    served.set('/directory_groups', { object: 'list', data: [], list_metadata: { before: null, after: null } });
    await expect((async () => {
      for await (const _ of workosConnector.backfill!(ctx({ directoryId: 'directory_01JNQ7X4Y9Z3A6B0C5D7E1F2G3' }))) void _;
    })()).rejects.toThrow(TypeError);
  });

  it('stops a backfill with an error when the hub aborts it (a cut-short listing must not read as complete)', async () => {
    const aborted = { ...ctx({ directoryId: 'directory_01JNQ7X4Y9Z3A6B0C5D7E1F2G3' }), signal: AbortSignal.abort() };
    await expect((async () => {
      for await (const _ of workosConnector.backfill!(aborted)) void _;
    })()).rejects.toMatchObject({ name: 'AbortError' });
  });
});
