// Replays the recorded identity-provider requests in test/fixtures/scim/<idp>/ over real HTTP.
// A fixture is one request as the IdP sends it (method, path with its own encoding, headers,
// body) and what it must get back; each test file pairs every fixture with the state it needs
// and what must hold afterwards, so every quirk is a test.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectoryUser } from '../../src/generated/prisma/client.ts';
import type { TestHub } from '../support/server.ts';
import { createScimConnection, scimRequest, startScimHub, type ScimConnection, type ScimReply } from './support.ts';

export interface Fixture {
  idp: string;
  scenario: string;
  source: string;
  notes: string;
  assumed?: string[];
  corrections?: string[];
  request: { method: string; path: string; headers: Record<string, string>; body: unknown };
  expect: { status: number; effect: string };
}

const DIR = join(import.meta.dirname, '..', 'fixtures', 'scim');

export function loadFixtures(idp: string): Fixture[] {
  return readdirSync(join(DIR, idp))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(DIR, idp, f), 'utf8')) as Fixture);
}

function substitute<T>(value: T, vars: Record<string, string>, where: string): T {
  if (typeof value === 'string') {
    return value.replace(/\{([A-Za-z0-9]+)\}/g, (whole, name: string) => {
      if (!(name in vars)) throw new Error(`${where}: no value for placeholder ${whole}`);
      return vars[name]!;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars, where)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [substitute(k, vars, where), substitute(v, vars, where)])) as T;
  }
  return value;
}

/** Sends the fixture's request as recorded, with this connection's token and the given placeholder values. */
export async function replay(conn: ScimConnection, fixture: Fixture, vars: Record<string, string> = {}): Promise<ScimReply> {
  const all = { token: conn.token, auth: `Bearer ${conn.token}`, ...vars };
  const where = `${fixture.idp}/${fixture.scenario}`;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(fixture.request.headers ?? {})) {
    headers[name] = name.toLowerCase() === 'authorization' ? `Bearer ${conn.token}` : substitute(value, all, where);
  }
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) headers.Authorization = `Bearer ${conn.token}`;
  const body = fixture.request.body === null || fixture.request.body === undefined || fixture.request.body === '' ? undefined : JSON.stringify(substitute(fixture.request.body, all, where));
  return scimRequest(conn.baseUrl, fixture.request.method, substitute(fixture.request.path, all, where), { rawBody: body, headers, token: null });
}

export interface ScenarioContext {
  hub: TestHub;
  /** The scenario's own connection, created fresh for it. */
  conn: ScimConnection;
  vars: Record<string, string>;
  fixture: Fixture;
  /** The hub's stored row of a directory user (what SCIM does not show: state, sourceActive…). */
  dbUser(id: string): Promise<DirectoryUser>;
}

export interface Scenario {
  /** Creates what the request refers to; values for its placeholders go in ctx.vars. */
  setup?(ctx: ScenarioContext): Promise<void>;
  /** What must hold after the request (beyond the recorded status). */
  check(ctx: ScenarioContext, reply: ScimReply): Promise<void> | void;
}

/** Seeds a user through SCIM and returns its id. */
export async function seedUser(conn: ScimConnection, userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await conn.request('POST', '/Users', {
    body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, name: { givenName: 'Seed', familyName: 'User' }, emails: [{ value: userName, type: 'work', primary: true }], active: true, ...extra },
  });
  if (r.status !== 201) throw new Error(`seeding ${userName}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id as string;
}

export async function seedGroup(conn: ScimConnection, displayName: string, memberIds: string[] = []): Promise<string> {
  const r = await conn.request('POST', '/Groups', {
    body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName, members: memberIds.map((value) => ({ value })) },
  });
  if (r.status !== 201) throw new Error(`seeding group ${displayName}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id as string;
}

export async function memberIdsOf(conn: ScimConnection, groupId: string): Promise<string[]> {
  const r = await conn.request('GET', `/Groups/${groupId}`);
  expect(r.status).toBe(200);
  return ((r.body.members ?? []) as Array<{ value: string }>).map((m) => m.value).sort();
}

/** The default seeding: {userId}, {userId2} and {groupId} when a fixture names them. */
export async function seedPlaceholders(ctx: ScenarioContext, options: { groupMembers?: Array<'userId' | 'userId2'> } = {}) {
  const text = JSON.stringify(ctx.fixture.request);
  if (text.includes('{userId}') && !ctx.vars.userId) ctx.vars.userId = await seedUser(ctx.conn, 'seed.one@fixture.test');
  if (text.includes('{userId2}') && !ctx.vars.userId2) ctx.vars.userId2 = await seedUser(ctx.conn, 'seed.two@fixture.test');
  if (text.includes('{groupId}') && !ctx.vars.groupId) {
    for (const m of options.groupMembers ?? []) if (!ctx.vars[m]) ctx.vars[m] = await seedUser(ctx.conn, `seed.${m}@fixture.test`);
    ctx.vars.groupId = await seedGroup(ctx.conn, 'Seed Group', (options.groupMembers ?? []).map((m) => ctx.vars[m]!));
  }
}

/**
 * The conformance suite of one IdP: starts a hub, runs one test per fixture of `idp`, each on a
 * fresh connection, and stops the hub. Fails when a fixture has no scenario (or a scenario no
 * fixture), so a new recording cannot be skipped silently.
 */
export function describeIdpConformance(idp: string, title: string, scenarios: Record<string, Scenario>) {
  describe(title, () => {
    let hub: TestHub;
    beforeAll(async () => {
      hub = await startScimHub();
    });
    afterAll(async () => {
      await hub?.close();
    });

    const fixtures = loadFixtures(idp);
    it(`has a scenario for each of the ${fixtures.length} ${idp} fixtures, and a fixture for each scenario`, () => {
      expect(fixtures.map((f) => f.scenario).sort()).toEqual(Object.keys(scenarios).sort());
    });
    for (const fixture of fixtures) {
      const scenario = scenarios[fixture.scenario];
      it(`${fixture.scenario}: ${fixture.notes}`, async () => {
        if (!scenario) throw new Error(`no scenario for fixture ${idp}/${fixture.scenario}`);
        const dbUser = (id: string) => hub.db.prisma.directoryUser.findUniqueOrThrow({ where: { id } });
        const ctx: ScenarioContext = { hub, conn: await createScimConnection(hub), vars: {}, fixture, dbUser };
        await scenario.setup?.(ctx);
        await seedPlaceholders(ctx);
        const reply = await replay(ctx.conn, fixture, ctx.vars);
        if (reply.status !== fixture.expect.status) throw new Error(`${idp}/${fixture.scenario}: got ${reply.status}, recorded ${fixture.expect.status} (${fixture.expect.effect})\n${JSON.stringify(reply.body)}`);
        if (reply.body !== undefined) expect(reply.headers.get('content-type')).toMatch(/^application\/(scim\+)?json/);
        await scenario.check(ctx, reply);
      });
    }
  });
}
