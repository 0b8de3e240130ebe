// Filters: the RFC 7644 §3.4.2.2 grammar (parser, unit level), and the same filters run in the
// database over HTTP against a known set of users and groups.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter } from '../../plugins/scim/filter/index.ts';
import { ScimError } from '../../plugins/scim/errors/index.ts';
import type { TestHub } from '../support/server.ts';
import { seedGroup, seedUser } from './fixtures.ts';
import { createScimConnection, ENTERPRISE, expectScimError, startScimHub, type ScimConnection } from './support.ts';

describe('the filter grammar', () => {
  it('binds not tighter than and, and tighter than or; parentheses override', () => {
    expect(parseFilter('a eq "1" or b eq "2" and c eq "3"')).toEqual({
      kind: 'or',
      left: { kind: 'compare', path: 'a', op: 'eq', value: '1' },
      right: { kind: 'and', left: { kind: 'compare', path: 'b', op: 'eq', value: '2' }, right: { kind: 'compare', path: 'c', op: 'eq', value: '3' } },
    });
    expect(parseFilter('(a eq "1" or b eq "2") and not (c pr)')).toMatchObject({ kind: 'and', left: { kind: 'or' }, right: { kind: 'not', expr: { kind: 'present', path: 'c' } } });
  });

  it('reads operators and keywords in any case, JSON strings with escapes, and typed literals', () => {
    expect(parseFilter('userName EQ "a\\"b\\u0041"')).toEqual({ kind: 'compare', path: 'userName', op: 'eq', value: 'a"bA' });
    expect(parseFilter('active Eq TRUE AND x Ne null Or n gt 5')).toMatchObject({ kind: 'or', left: { kind: 'and', left: { value: true }, right: { op: 'ne', value: null } }, right: { value: 5 } });
  });

  it("accepts Entra's unquoted values", () => {
    expect(parseFilter('externalId eq jyoung')).toEqual({ kind: 'compare', path: 'externalId', op: 'eq', value: 'jyoung' });
    expect(parseFilter('id eq 2819c223-7f76 and manager eq 26118915')).toMatchObject({ left: { value: '2819c223-7f76' }, right: { value: 26118915 } });
  });

  it('parses value paths, with a trailing sub-attribute comparison on the same element', () => {
    expect(parseFilter('emails[type eq "work" and value co "@acme"]')).toMatchObject({ kind: 'valuePath', path: 'emails', filter: { kind: 'and' } });
    expect(parseFilter('emails[type eq "work"].value eq "x@y"')).toEqual({
      kind: 'valuePath',
      path: 'emails',
      filter: { kind: 'and', left: { kind: 'compare', path: 'type', op: 'eq', value: 'work' }, right: { kind: 'compare', path: 'value', op: 'eq', value: 'x@y' } },
    });
  });

  it('takes URN-qualified attribute paths', () => {
    expect(parseFilter(`${ENTERPRISE}:employeeNumber eq "7"`)).toMatchObject({ path: `${ENTERPRISE}:employeeNumber` });
  });

  it.each([
    ['userName eq', 'expected a value'],
    ['userName xx "a"', 'unknown operator'],
    ['(userName eq "a"', 'expected ")"'],
    ['userName eq "a" and', 'ends where an expression'],
    ['userName eq "unterminated', 'unterminated string'],
    ['userName eq "a" "b"', 'unexpected'],
    ['emails[type eq "work"', 'expected "]"'],
  ])('refuses %s with invalidFilter', (filter, message) => {
    expect(() => parseFilter(filter)).toThrowError(message);
    try {
      parseFilter(filter);
    } catch (error) {
      expect(error).toBeInstanceOf(ScimError);
      expect((error as ScimError).scimType).toBe('invalidFilter');
    }
  });

  it('bounds what a filter may cost: length, depth, number of comparisons', () => {
    expect(() => parseFilter(`userName eq "${'a'.repeat(5000)}"`)).toThrowError('limited to 4096 characters');
    expect(() => parseFilter(`${'('.repeat(40)}a eq "1"${')'.repeat(40)}`)).toThrowError('nest at most');
    expect(() => parseFilter(Array.from({ length: 60 }, (_, i) => `a eq "${i}"`).join(' or '))).toThrowError('limited to 50 comparisons');
  });
});

describe('filters in the database, over HTTP', () => {
  let t: TestHub;
  let c: ScimConnection;
  const ids: Record<string, string> = {};
  let engineering: string;

  beforeAll(async () => {
    t = await startScimHub();
    c = await createScimConnection(t);
    ids.ada = await seedUser(c, 'Ada.Lovelace@Acme.test', {
      externalId: 'EXT-ada',
      displayName: 'Ada Lovelace',
      title: 'Engineer',
      emails: [{ value: 'ada@acme.test', type: 'work', primary: true }, { value: 'ada@home.test', type: 'home' }],
      [ENTERPRISE]: { employeeNumber: '1001', department: 'R&D', costCenter: 'CC-7' },
      nickName: 'countess',
    });
    ids.alan = await seedUser(c, 'alan@acme.test', {
      externalId: 'ext-alan',
      displayName: 'Alan Turing',
      emails: [{ value: 'alan@home.test', type: 'home' }, { value: 'turing@acme.test', type: 'other' }],
      [ENTERPRISE]: { employeeNumber: '1002', department: 'Research' },
    });
    ids.grace = await seedUser(c, 'grace_100%@navy.test', { displayName: 'Grace Hopper', title: 'Admiral', active: false, [ENTERPRISE]: { manager: { value: 'boss-1' } } });
    engineering = await seedGroup(c, 'Engineering', [ids.ada!, ids.alan!]);
    await seedGroup(c, 'Research', [ids.alan!]);
  });
  afterAll(async () => {
    await t?.close();
  });

  const find = async (filter: string, resource = 'Users') => {
    const r = await c.request('GET', `/${resource}?filter=${encodeURIComponent(filter)}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.totalResults).toBe(r.body.Resources.length);
    return (r.body.Resources as Array<{ id: string }>).map((u) => Object.entries(ids).find(([, id]) => id === u.id)?.[0] ?? u.id).sort();
  };

  it.each([
    ['userName eq "ada.lovelace@acme.test"', ['ada']], // caseExact false
    ['USERNAME Eq "ADA.LOVELACE@ACME.TEST"', ['ada']],
    ['userName sw "a"', ['ada', 'alan']],
    ['userName ew "@acme.test"', ['ada', 'alan']],
    ['userName co "100%"', ['grace']], // LIKE wildcards are literal
    ['userName co "_"', ['grace']],
    ['userName ne "alan@acme.test"', ['ada', 'grace']],
    ['userName gt "b"', ['grace']],
    ['externalId eq "EXT-ada"', ['ada']],
    ['externalId eq "ext-ada"', []], // caseExact true
    ['externalId pr', ['ada', 'alan']],
    ['not (externalId pr)', ['grace']],
    ['displayName co "ing"', ['alan']],
    ['title eq "engineer"', ['ada']],
    ['active eq false', ['grace']],
    ['active eq true and title pr', ['ada']],
    ['emails.value eq "ADA@HOME.TEST"', ['ada']],
    ['emails eq "turing@acme.test"', ['alan']],
    ['emails[type eq "work" and value co "@acme"]', ['ada']],
    ['emails[type eq "home"]', ['ada', 'alan']],
    ['emails[type eq "work"].value eq "turing@acme.test"', []], // same element, not any two
    ['emails[type eq "other"].value eq "turing@acme.test"', ['alan']],
    ['name.givenName eq "SEED"', ['ada', 'alan', 'grace']],
    [`${ENTERPRISE}:employeeNumber eq "1002"`, ['alan']],
    [`${ENTERPRISE}:department sw "r"`, ['ada', 'alan']],
    [`${ENTERPRISE}:costCenter eq "cc-7"`, ['ada']], // from the stored resource
    [`${ENTERPRISE}:manager.value eq "boss-1"`, ['grace']],
    ['manager eq "boss-1"', ['grace']],
    ['nickName eq "Countess"', ['ada']],
    ['meta.created gt "2000-01-01T00:00:00Z"', ['ada', 'alan', 'grace']],
    ['meta.lastModified lt "2000-01-01T00:00:00Z"', []],
    ['(userName sw "a" or title eq "admiral") and not (emails[type eq "other"])', ['ada', 'grace']],
  ])('%s', async (filter, expected) => {
    expect(await find(filter)).toEqual(expected);
  });

  it('finds users by id, and nothing for an id that is not a UUID', async () => {
    expect(await find(`id eq "${ids.alan}"`)).toEqual(['alan']);
    expect(await find('id eq "not-a-uuid"')).toEqual([]);
    expect(await find(`id ne "${ids.alan}"`)).toEqual(['ada', 'grace']);
  });

  it('filters groups by displayName, externalId and members', async () => {
    expect(await find('displayName eq "engineering"', 'Groups')).toEqual([engineering]);
    expect((await find(`members eq "${ids.alan}"`, 'Groups')).length).toBe(2);
    expect(await find(`members[value eq "${ids.ada}"]`, 'Groups')).toEqual([engineering]);
    expect(await find(`id eq "${engineering}" and members eq "${ids.grace}"`, 'Groups')).toEqual([]);
    expect((await find('displayName sw "r"', 'Groups')).length).toBe(1);
  });

  it('answers 400 invalidFilter for what cannot be served, never a 500', async () => {
    for (const filter of ['nosuch eq "x"', 'password eq "x"', 'name eq "x"', 'active co "t"', 'meta.lastModified gt "yesterday"', 'userName eq', 'groups eq "x"']) {
      const r = await c.request('GET', `/Users?filter=${encodeURIComponent(filter)}`);
      expectScimError(r, 400, 'invalidFilter');
    }
    expectScimError(await c.request('GET', `/Groups?filter=${encodeURIComponent('members.display eq "x"')}`), 400, 'invalidFilter');
  });

  it('accepts the query-string encodings IdPs use: %20, +, raw spaces, a trailing &', async () => {
    const base = c.baseUrl;
    for (const query of ['filter=userName%20eq%20%22alan%40acme.test%22', 'filter=userName+eq+%22alan%40acme.test%22&', 'filter=userName eq "alan@acme.test"']) {
      const r = await fetch(`${base}/Users?${query}`, { headers: { authorization: `Bearer ${c.token}` } });
      expect((await r.json()).totalResults).toBe(1);
    }
  });

  it('runs POST /.search with the same semantics', async () => {
    const r = await c.request('POST', '/Users/.search', {
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName sw "a"', attributes: ['userName'], startIndex: 2, count: 5 },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ totalResults: 2, startIndex: 2, itemsPerPage: 1 });
    expect(Object.keys(r.body.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
    expectScimError(await c.request('GET', '/Users/.search'), 405);
  });
});
