// Every recorded Stytch payload (test/fixtures/stytch) through the connector: webhook bodies signed as
// Svix signs them and verified with the svix library, then translated; API bodies served verbatim to
// the `stytch` SDK.
import { Hono } from 'hono';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorContext } from '../../src/connectors/contract.ts';
import stytchConnector from '../../plugins/stytch/index.ts';
import type { StytchConfig } from '../../plugins/stytch/config.ts';
import { standInOutbound, startStandIn, type StandIn } from '../support/vendors/stand-in.ts';
import { TEST_ORGANIZATION, TEST_PROJECT, signStytchDelivery, stytchFixture, svixSecret } from '../support/vendors/stytch.ts';

const SECRET = svixSecret();
let api: StandIn;
const served = new Map<string, () => unknown>();

beforeAll(async () => {
  const app = new Hono();
  app.all('*', (c) => {
    const body = served.get(`${c.req.method} ${c.req.path}`);
    return body ? c.json(body() as object) : c.json(stytchFixture('api-error-404'), 404);
  });
  api = await startStandIn(app, []);
});
afterAll(() => api?.close());

function ctx(known?: string[]): ConnectorContext<StytchConfig> {
  return {
    connection: {
      id: 'c', organizationId: 'o', provider: 'stytch', name: 's', status: 'ACTIVE', testMode: false, cursor: null,
      config: { webhookSigningSecret: SECRET, projectId: TEST_PROJECT, secret: 'secret-test-fixtures', stytchOrganizationId: TEST_ORGANIZATION, apiBaseUrl: api.url },
    },
    logger: pino({ level: 'silent' }),
    outbound: standInOutbound(stytchConnector),
    ...(known ? { knownSourceIds: async () => known } : {}),
  };
}

async function inbound(name: string) {
  const rawBody = JSON.stringify(stytchFixture(name));
  return stytchConnector.inbound!({ method: 'POST', url: 'http://hub/webhooks/c', headers: new Headers(signStytchDelivery(rawBody, SECRET)), rawBody }, ctx());
}

describe('recorded Stytch webhooks', () => {
  it.each([
    ['scim.member.create', ['upsertUser'], true],
    ['scim.member.update', ['upsertUser'], true],
    ['scim.member.update.reactivated', ['upsertUser'], true],
    ['scim.member.update.deactivated', ['upsertUser'], false],
    ['scim.member.delete', ['deleteUser'], null],
    ['direct.member.create', ['upsertUser'], true],
    ['direct.member.update', ['upsertUser'], true],
    ['direct.member.delete', ['deleteUser'], null],
    ['dashboard.member.delete', ['deleteUser'], null],
    ['scim.idp_group.create', ['upsertGroup'], null],
    ['scim.idp_group.update', ['upsertGroup'], null],
    ['scim.idp_group.delete', ['deleteGroup'], null],
    ['scim.idp_group.member_add', ['upsertGroup', 'addMembers'], null],
    ['scim.idp_group.member_delete', ['removeMembers'], null],
  ])('%s verifies and becomes %j', async (name, expected, active) => {
    const fixture = stytchFixture(name);
    const result = await inbound(name);
    expect(result.deliveryId).toBe(fixture.event_id);
    expect('commands' in result && result.commands.map((c) => c.type)).toEqual(expected);
    if (active !== null && 'commands' in result) expect(result.commands[0]).toMatchObject({ active });
  });

  it('stamps a member with its updated_at, refined within that second by the envelope timestamp', async () => {
    const result = await inbound('scim.member.create');
    // updated_at 14:22:31Z, sent 14:22:31.405412Z
    expect('commands' in result && result.commands[0]).toMatchObject({ occurredAt: new Date('2026-03-10T14:22:31.405Z') });
    const deleted = await inbound('scim.member.delete');
    expect('commands' in deleted && deleted.commands[0]).toMatchObject({ occurredAt: new Date('2026-03-11T14:22:31.275Z') });
  });
});

describe('recorded Stytch API responses, served verbatim to the SDK', () => {
  it('api-members-search (next_cursor) then api-members-search.last-page, api-scim-connection-groups', async () => {
    const pages = [stytchFixture('api-members-search'), stytchFixture('api-members-search.last-page')];
    served.set('POST /v1/b2b/organizations/members/search', () => pages.shift());
    const groups = [stytchFixture('api-scim-connection-groups'), { ...stytchFixture('api-scim-connection-groups'), scim_groups: [], next_cursor: '' }];
    served.set('GET /v1/b2b/scim/organization-test-0b7a6c5d-1e2f-4a3b-9c8d-7e6f5a4b3c2d/connection/scim-connection-test-2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e', () => groups.shift());
    const result = [];
    for await (const page of stytchConnector.backfill!(ctx([]))) result.push(page);
    expect(result.map((p) => p.commands.map((c) => c.type))).toEqual([
      ['upsertUser', 'upsertUser'],
      [],
      ['upsertGroup', 'addMembers'],
      ['upsertGroup'],
    ]);
    expect(result[0]).toMatchObject({ total: 43, seenUserSourceIds: ['member-test-3c9d8e7f-6a5b-4c4d-8e3f-2a1b0c9d8e7f', 'member-test-8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d'] });
  });

  it('api-sessions-revoke answers a revocation; api-error-404 (already gone) counts as revoked', async () => {
    served.set('POST /v1/b2b/sessions/revoke', () => stytchFixture('api-sessions-revoke'));
    const user = { id: 'u', sourceId: 'member-test-3c9d8e7f-6a5b-4c4d-8e3f-2a1b0c9d8e7f' };
    await expect(stytchConnector.revoke!({ type: 'user', user }, ctx())).resolves.toBeUndefined();
    served.delete('POST /v1/b2b/sessions/revoke');
    await expect(stytchConnector.revoke!({ type: 'session', id: 's', externalRef: 'member-session-test-x', user }, ctx())).resolves.toBeUndefined();
  });

  it('stops a backfill with an error when the hub aborts it', async () => {
    const aborted = { ...ctx([]), signal: AbortSignal.abort() };
    await expect((async () => {
      for await (const _ of stytchConnector.backfill!(aborted)) void _;
    })()).rejects.toMatchObject({ name: 'AbortError' });
  });
});
