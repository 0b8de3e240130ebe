// PATCH in every shape identity providers send, over HTTP: add / replace / remove, op names in any
// case, with and without a path, value-filtered paths, multi-valued add, several operations
// applied in order and atomically, booleans as strings, concurrent writers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/server.ts';
import { seedUser } from './fixtures.ts';
import { createScimConnection, ENTERPRISE, expectScimError, patch, startScimHub, type ScimConnection } from './support.ts';

let t: TestHub;
let c: ScimConnection;
beforeAll(async () => {
  t = await startScimHub();
  c = await createScimConnection(t);
});
afterAll(async () => {
  await t?.close();
});

let n = 0;
async function fresh(extra: Record<string, unknown> = {}) {
  return seedUser(c, `patch${++n}@acme.test`, {
    displayName: 'Pat Ch',
    emails: [{ value: `patch${n}@acme.test`, type: 'work', primary: true }],
    phoneNumbers: [{ value: '+1 555 0001', type: 'work' }],
    ...extra,
  });
}

async function apply(id: string, ...operations: unknown[]) {
  const r = await c.request('PATCH', `/Users/${id}`, { body: patch(...operations) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

describe('user PATCH', () => {
  it.each(['add', 'Add', 'ADD', 'replace', 'Replace', 'REPLACE'])('takes op "%s" on a single-valued attribute', async (op) => {
    const id = await fresh();
    expect((await apply(id, { op, path: 'title', value: 'Engineer' })).title).toBe('Engineer');
  });

  it('removes an attribute, a sub-attribute, and the entries a value filter selects', async () => {
    const id = await fresh({ title: 'X', name: { givenName: 'A', middleName: 'M', familyName: 'B' } });
    const after = await apply(
      id,
      { op: 'Remove', path: 'title' },
      { op: 'remove', path: 'name.middleName' },
      { op: 'remove', path: 'phoneNumbers[type eq "work"]' },
    );
    expect(after.title).toBeUndefined();
    expect(after.name).toEqual({ givenName: 'A', familyName: 'B' });
    expect(after.phoneNumbers).toBeUndefined();
  });

  it('adds values to a multi-valued attribute (append, no duplicates)', async () => {
    const id = await fresh();
    const after = await apply(id, { op: 'add', path: 'emails', value: [{ value: 'second@acme.test', type: 'home' }] }, { op: 'add', path: 'emails', value: [{ value: 'second@acme.test', type: 'home' }] });
    expect(after.emails.map((e: any) => e.value)).toEqual([`patch${n}@acme.test`, 'second@acme.test']);
  });

  it('replaces the whole multi-valued attribute with replace on its path', async () => {
    const id = await fresh();
    const after = await apply(id, { op: 'replace', path: 'emails', value: [{ value: 'only@acme.test', type: 'work', primary: true }] });
    expect(after.emails).toEqual([{ value: 'only@acme.test', type: 'work', primary: true }]);
    expect((await t.db.prisma.directoryUser.findUniqueOrThrow({ where: { id } })).email).toBe('only@acme.test');
  });

  it('replaces through a value filter, and creates the entry when none matches (what Entra expects)', async () => {
    const id = await fresh();
    const after = await apply(id, { op: 'replace', path: 'emails[type eq "work"].value', value: 'new.work@acme.test' }, { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0002' });
    expect(after.emails).toEqual([{ value: 'new.work@acme.test', type: 'work', primary: true }]);
    expect(after.phoneNumbers).toEqual([{ value: '+1 555 0001', type: 'work' }, { type: 'mobile', value: '+1 555 0002' }]);
  });

  it('takes path-less add/replace whose keys are attribute names, dotted paths or URN paths', async () => {
    const id = await fresh();
    const after = await apply(
      id,
      { op: 'replace', value: { displayName: 'New Name', 'name.givenName': 'Given', [`${ENTERPRISE}:department`]: 'Ops' } },
      { op: 'add', value: { nickName: 'Nick', [ENTERPRISE]: { costCenter: 'CC-1' } } },
    );
    expect(after).toMatchObject({ displayName: 'New Name', nickName: 'Nick', name: { givenName: 'Given' }, [ENTERPRISE]: { department: 'Ops', costCenter: 'CC-1' } });
    expect(await t.db.prisma.directoryUser.findUniqueOrThrow({ where: { id } })).toMatchObject({ displayName: 'New Name', givenName: 'Given', department: 'Ops' });
  });

  it('resolves attribute names in any case', async () => {
    const id = await fresh();
    const after = await apply(id, { op: 'replace', path: 'DisplayName', value: 'Cased' }, { op: 'replace', path: 'NAME.FAMILYNAME', value: 'Family' }, { op: 'replace', path: 'EMAILS[TYPE eq "work"].VALUE', value: 'cased@acme.test' });
    expect(after).toMatchObject({ displayName: 'Cased', name: { familyName: 'Family' }, emails: [{ value: 'cased@acme.test', type: 'work' }] });
    expect(Object.keys(after).filter((k) => k.toLowerCase() === 'displayname')).toEqual(['displayName']);
  });

  it.each([
    ['"False"', 'False', false],
    ['"false"', 'false', false],
    ['false', false, false],
    ['"True"', 'True', true],
  ])('accepts active as %s', async (_label, value, expected) => {
    const id = await fresh();
    if (expected) await apply(id, { op: 'replace', path: 'active', value: false });
    const after = await apply(id, { op: 'Replace', path: 'active', value });
    expect(after.active).toBe(expected);
    expect((await t.db.prisma.directoryUser.findUniqueOrThrow({ where: { id } })).state).toBe(expected ? 'ACTIVE' : 'DEPROVISIONED');
  });

  it('coerces "True"/"False" in sub-attributes (emails[].primary)', async () => {
    const id = await fresh();
    const after = await apply(id, { op: 'replace', path: 'emails[type eq "work"].primary', value: 'False' });
    expect(after.emails[0].primary).toBe(false);
  });

  it('clears an attribute given null (RFC 7643 §2.5: null is unassigned), an object one included, and takes null for one already unassigned', async () => {
    const id = await fresh({ title: 'X', [ENTERPRISE]: { department: 'R&D', manager: { value: 'mgr-1', displayName: 'Boss' } } });
    const after = await apply(
      id,
      { op: 'add', path: `${ENTERPRISE}:manager`, value: null },
      { op: 'replace', path: 'title', value: null },
      { op: 'replace', path: 'phoneNumbers[type eq "work"]', value: null },
      { op: 'add', path: 'nickName', value: null },
    );
    expect(after[ENTERPRISE]).toEqual({ department: 'R&D' });
    expect(after.title).toBeUndefined();
    expect(after.phoneNumbers).toBeUndefined();
    expect(after.nickName).toBeUndefined();
    // Already so: a second time changes nothing and is no error.
    expect(await apply(id, { op: 'add', path: `${ENTERPRISE}:manager`, value: null })).toEqual(after);
  });

  it('applies several operations in order: later ones see earlier ones', async () => {
    const id = await fresh();
    const after = await apply(id, { op: 'replace', path: 'title', value: 'First' }, { op: 'remove', path: 'title' }, { op: 'add', path: 'title', value: 'Last' });
    expect(after.title).toBe('Last');
  });

  it('applies all or nothing: a failing operation leaves the user untouched', async () => {
    const id = await fresh({ title: 'Before' });
    const before = (await c.request('GET', `/Users/${id}`)).body;
    const r = await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: 'title', value: 'After' }, { op: 'replace', path: 'active', value: 'maybe' }) });
    expectScimError(r, 400, 'invalidValue');
    expect((await c.request('GET', `/Users/${id}`)).body).toEqual(before);
    const noTarget = await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: 'title', value: 'After' }, { op: 'remove' }) });
    expectScimError(noTarget, 400, 'noTarget');
    const badUserName = await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: 'title', value: 'After' }, { op: 'remove', path: 'userName' }) });
    expectScimError(badUserName, 400, 'invalidValue');
    expect((await c.request('GET', `/Users/${id}`)).body).toEqual(before);
  });

  it('answers 409 when a PATCH takes a userName someone else holds', async () => {
    const a = await fresh();
    await fresh();
    expectScimError(await c.request('PATCH', `/Users/${a}`, { body: patch({ op: 'replace', path: 'userName', value: `PATCH${n}@ACME.TEST` }) }), 409, 'uniqueness');
  });

  it('ignores what is not the client\'s to change (id, meta, groups) and never stores a password', async () => {
    const id = await fresh();
    const after = await apply(id, { op: 'replace', value: { id: 'other', meta: { version: 'x' }, password: 'hunter2', title: 'Kept' } }, { op: 'replace', path: 'password', value: 'hunter3' });
    expect(after).toMatchObject({ id, title: 'Kept' });
    expect(JSON.stringify(await t.db.prisma.directoryUser.findUniqueOrThrow({ where: { id } }))).not.toMatch(/hunter/);
  });

  it('does not write when nothing changes (IdPs re-send what is already so)', async () => {
    const id = await fresh({ title: 'Same' });
    const before = (await c.request('GET', `/Users/${id}`)).body.meta.version;
    const after = await apply(id, { op: 'replace', path: 'title', value: 'Same' }, { op: 'replace', value: { active: true } });
    expect(after.meta.version).toBe(before);
  });

  it('loses nothing when two clients PATCH one user at the same time (read-modify-write is retried)', async () => {
    const id = await fresh();
    const attributes = ['title', 'nickName', 'userType', 'locale', 'timezone', 'preferredLanguage', 'profileUrl', 'displayName'];
    await Promise.all(attributes.map((attr) => c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'replace', path: attr, value: `${attr}-value` }) }).then((r) => expect(r.status).toBe(200))));
    const after = (await c.request('GET', `/Users/${id}`)).body;
    for (const attr of attributes) expect(after[attr]).toBe(`${attr}-value`);
  });

  it('rejects malformed PATCH bodies in SCIM form', async () => {
    const id = await fresh();
    expectScimError(await c.request('PATCH', `/Users/${id}`, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] } }), 400, 'invalidSyntax');
    expectScimError(await c.request('PATCH', `/Users/${id}`, { body: { schemas: ['wrong'], Operations: [{ op: 'add', path: 'title', value: 'x' }] } }), 400, 'invalidSyntax');
    expectScimError(await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'move', path: 'title' }) }), 400, 'invalidSyntax');
    expectScimError(await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'add', path: 'title' }) }), 400, 'invalidValue');
    expectScimError(await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'add', value: 'not an object' }) }), 400, 'invalidValue');
    expectScimError(await c.request('PATCH', `/Users/${id}`, { body: patch({ op: 'add', path: 'emails[type eq "work"', value: 'x' }) }), 400, 'invalidPath');
  });
});

describe('group PATCH', () => {
  it('removes members with and without a value array, and removes every member with a bare path', async () => {
    const users = await Promise.all([1, 2, 3, 4].map((i) => seedUser(c, `member${i}.${++n}@acme.test`)));
    const g = await c.request('POST', '/Groups', { body: { displayName: `Group ${n}`, members: users.map((value) => ({ value })) } });
    const members = async () => ((await c.request('GET', `/Groups/${g.body.id}`)).body.members ?? []).map((m: any) => m.value).sort();
    await c.request('PATCH', `/Groups/${g.body.id}`, { body: patch({ op: 'remove', path: 'members', value: [{ value: users[0] }] }) });
    await c.request('PATCH', `/Groups/${g.body.id}`, { body: patch({ op: 'remove', path: `members[value eq "${users[1]}" or value eq "${users[2]}"]` }) });
    expect(await members()).toEqual([users[3]]);
    await c.request('PATCH', `/Groups/${g.body.id}`, { body: patch({ op: 'remove', path: 'members', value: [] }) });
    expect(await members()).toEqual([users[3]]);
    await c.request('PATCH', `/Groups/${g.body.id}`, { body: patch({ op: 'remove', path: 'members' }) });
    expect(await members()).toEqual([]);
  });

  it('applies a rename and member changes in one request atomically', async () => {
    const u = await seedUser(c, `atomic${++n}@acme.test`);
    const g = await c.request('POST', '/Groups', { body: { displayName: `Atomic ${n}` } });
    const r = await c.request('PATCH', `/Groups/${g.body.id}`, {
      body: patch({ op: 'replace', path: 'displayName', value: 'Renamed' }, { op: 'add', path: 'members', value: [{ value: u }] }, { op: 'add', path: 'members', value: [{ value: '00000000-0000-7000-8000-000000000000' }] }),
    });
    expectScimError(r, 400, 'invalidValue');
    const after = (await c.request('GET', `/Groups/${g.body.id}`)).body;
    expect(after).toMatchObject({ displayName: `Atomic ${n}`, members: [] });
  });

  it('keeps custom group attributes faithfully', async () => {
    const g = await c.request('POST', '/Groups', { body: { displayName: `Custom ${++n}`, description: 'A team' } });
    await c.request('PATCH', `/Groups/${g.body.id}`, { body: patch({ op: 'replace', path: 'description', value: 'The team' }) });
    expect((await c.request('GET', `/Groups/${g.body.id}`)).body.description).toBe('The team');
  });
});
