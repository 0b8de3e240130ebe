// userNames (and group displayNames) that look alike are one name: case, surrounding spaces, the
// two Unicode forms of an accented name and invisible characters cannot make a second user that
// looks like the first; invisible characters and non-string userNames are refused; a filter finds
// the user with any form of its name. Over real HTTP, as an identity provider sends them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/server.ts';
import { createScimConnection, expectScimError, GROUP_SCHEMA, patch, startScimHub, user, type ScimConnection } from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startScimHub();
});
afterAll(async () => {
  await t?.close();
});

const nfc = 'Élodie.Durand@x.test'.normalize('NFC');
const nfd = nfc.normalize('NFD');
const filter = (c: ScimConnection, f: string) => c.request('GET', `/Users?filter=${encodeURIComponent(f)}`);
const idsOf = (reply: { body: { Resources?: Array<{ id: string }> } }) => (reply.body.Resources ?? []).map((r) => r.id);

describe('userName uniqueness', () => {
  let c: ScimConnection;
  let ada: string;
  let elodie: string;
  beforeAll(async () => {
    c = await createScimConnection(t);
    const first = await c.request('POST', '/Users', { body: user('ada@x.test') });
    expect(first.status).toBe(201);
    ada = first.body.id;
    const accented = await c.request('POST', '/Users', { body: user(nfc) });
    expect(accented.status).toBe(201);
    elodie = accented.body.id;
  });

  it('refuses with 409 uniqueness a userName that differs only in case or surrounding spaces', async () => {
    for (const name of [' Ada@x.test ', 'ADA@X.TEST', '\u00a0ada@x.test', 'ada@x.test\u3000']) {
      const body = expectScimError(await c.request('POST', '/Users', { body: user(name) }), 409, 'uniqueness');
      expect(body.detail).toContain('userName');
    }
  });

  it('refuses with 409 uniqueness the NFD form of an accented userName held in its NFC form', async () => {
    expect(nfd).not.toBe(nfc);
    expectScimError(await c.request('POST', '/Users', { body: user(nfd) }), 409, 'uniqueness');
    expectScimError(await c.request('POST', '/Users', { body: user(` ${nfd.toUpperCase()}`) }), 409, 'uniqueness');
  });

  it('refuses with 400 invalidValue, naming userName and the character, a userName with an invisible character', async () => {
    const invisible = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u202e', '\u2066', '\u180e', '\u0007', '\ufe0f', '\u{e0041}'];
    for (const ch of invisible) {
      const r = await c.request('POST', '/Users', { body: user(`new${ch}user@x.test`) });
      const body = expectScimError(r, 400, 'invalidValue');
      expect(body.detail).toMatch(/^userName /);
      expect(body.detail).toContain(`U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
    }
    // Alike to an existing user or not, it is the character that is refused.
    expectScimError(await c.request('POST', '/Users', { body: user('ada\u200b@x.test') }), 400, 'invalidValue');
    // And on the way in through PUT and PATCH too, leaving the user as it was.
    const before = await c.request('GET', `/Users/${ada}`);
    expectScimError(await c.request('PUT', `/Users/${ada}`, { body: user('ada\u200d@x.test') }), 400, 'invalidValue');
    expectScimError(await c.request('PATCH', `/Users/${ada}`, { body: patch({ op: 'replace', path: 'userName', value: 'a\u200bda@x.test' }) }), 400, 'invalidValue');
    expect((await c.request('GET', `/Users/${ada}`)).body).toEqual(before.body);
  });

  it('refuses with 400 invalidValue a userName that is not a string, instead of storing its text', async () => {
    for (const value of [12345, true, ['ada'], { value: 'ada' }]) {
      const body = expectScimError(await c.request('POST', '/Users', { body: { ...user('x@x.test'), userName: value } }), 400, 'invalidValue');
      expect(body.detail).toMatch(/^userName must be a string/);
    }
    expectScimError(await c.request('PATCH', `/Users/${ada}`, { body: patch({ op: 'replace', path: 'userName', value: 42 }) }), 400, 'invalidValue');
    expect(idsOf(await filter(c, 'userName eq "12345"'))).toEqual([]);
  });

  it('finds the user through `userName eq` with any equivalent form of its name', async () => {
    for (const name of ['ada@x.test', ' ADA@x.test ', 'ada\u200b@x.test']) expect(idsOf(await filter(c, `userName eq "${name}"`)), name).toEqual([ada]);
    for (const name of [nfc, nfd, nfd.toUpperCase(), `${nfd} `]) expect(idsOf(await filter(c, `userName eq "${name}"`)), JSON.stringify(name)).toEqual([elodie]);
    expect(idsOf(await filter(c, `userName ne "${nfd}"`))).toEqual([ada]);
  });

  it('matches co, sw and ew on the same folded form (case, Unicode form) as eq', async () => {
    const prefix = nfd.slice(0, 4); // "E" + combining acute + "lo": the NFD form of "Élo"
    expect(idsOf(await filter(c, `userName sw "${prefix}"`))).toEqual([elodie]);
    expect(idsOf(await filter(c, `userName sw "${prefix.toUpperCase()}"`))).toEqual([elodie]);
    expect(idsOf(await filter(c, `userName co "DURAND@"`))).toEqual([elodie]);
    expect(idsOf(await filter(c, `userName ew "@X.TEST"`)).sort()).toEqual([ada, elodie].sort());
  });

  it('keeps the userName as it was sent (spaces, Unicode form), which is what GET serves back', async () => {
    const c2 = await createScimConnection(t);
    const sent = ` ${nfd} `;
    const created = await c2.request('POST', '/Users', { body: user(sent) });
    expect(created.status).toBe(201);
    expect(created.body.userName).toBe(sent);
    expect((await c2.request('GET', `/Users/${created.body.id}`)).body.userName).toBe(sent);
    // The other form of the same name, in another connection, is another user (uniqueness is per connection).
    expect((await c2.request('POST', '/Users', { body: user('ada@x.test') })).status).toBe(201);
  });

  it('frees the name when the user holding it is deleted', async () => {
    const c3 = await createScimConnection(t);
    const first = await c3.request('POST', '/Users', { body: user('zoe@x.test') });
    expect((await c3.request('DELETE', `/Users/${first.body.id}`)).status).toBe(204);
    const again = await c3.request('POST', '/Users', { body: user(' ZOE@x.test') });
    expect(again.status).toBe(201);
    expect(idsOf(await filter(c3, 'userName eq "zoe@x.test"'))).toEqual([again.body.id]);
  });
});

describe('group displayName keys', () => {
  it('makes displayNames that differ in case, spaces, Unicode form or invisible characters one name', async () => {
    const c = await createScimConnection(t);
    const name = 'Équipe Paris'.normalize('NFC');
    const group = (displayName: string) => ({ schemas: [GROUP_SCHEMA], displayName });
    const created = await c.request('POST', '/Groups', { body: group(name) });
    expect(created.status).toBe(201);
    for (const alike of [name.normalize('NFD'), ` ${name.toUpperCase()} `, 'Équipe\u200b Paris']) {
      expectScimError(await c.request('POST', '/Groups', { body: group(alike) }), 409, 'uniqueness');
    }
    for (const alike of [name, name.normalize('NFD'), 'ÉQUIPE PARIS ']) {
      const r = await c.request('GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${alike}"`)}`);
      expect(idsOf(r), JSON.stringify(alike)).toEqual([created.body.id]);
    }
    const sw = await c.request('GET', `/Groups?filter=${encodeURIComponent(`displayName sw "${'équipe'.normalize('NFD')}"`)}`);
    expect(idsOf(sw)).toEqual([created.body.id]);
  });
});
