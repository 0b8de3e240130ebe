// The engine change the SCIM connector relies on: upsertUser/upsertGroup may name the hub id of
// the record they create (so the SCIM id is the hub id), and an id already in use anywhere is a
// CONFLICT, never an overwrite of that row.
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { openTestDatabase } from '../support/db.ts';
import { engineFixture } from '../support/engine-fixture.ts';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

describe('upsertUser / upsertGroup with an id', () => {
  it('creates the record with that id, and ignores it for an existing record', async () => {
    const f = await engineFixture(db);
    const id = uuidv7();
    await f.send([{ type: 'upsertUser', sourceId: 's1', id, profile: { userName: 'a@acme.test' } }]);
    expect((await f.user('s1')).id).toBe(id);
    await f.send([{ type: 'upsertUser', sourceId: 's1', id: uuidv7(), profile: { userName: 'a@acme.test', title: 'x' } }]);
    expect(await f.user('s1')).toMatchObject({ id, title: 'x' });
    const groupId = uuidv7();
    await f.send([{ type: 'upsertGroup', sourceId: 'g1', id: groupId, displayName: 'G' }]);
    expect((await f.groupBySource('g1')).id).toBe(groupId);
  });

  it('refuses an id in use in another organization, leaving that row untouched', async () => {
    const a = await engineFixture(db);
    const b = await engineFixture(db);
    const id = uuidv7();
    await a.send([{ type: 'upsertUser', sourceId: 'mine', id, profile: { userName: 'mine@a.test' } }]);
    const attempt = b.send([{ type: 'upsertUser', sourceId: 'theirs', id, profile: { userName: 'theirs@b.test' } }]);
    await expect(attempt).rejects.toBeInstanceOf(EngineError);
    await expect(attempt).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await a.user('mine')).toMatchObject({ id, userName: 'mine@a.test', organizationId: a.org.id });
    const gid = uuidv7();
    await a.send([{ type: 'upsertGroup', sourceId: 'g', id: gid, displayName: 'Mine' }]);
    await expect(b.send([{ type: 'upsertGroup', sourceId: 'g', id: gid, displayName: 'Theirs' }])).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses two new records with one id in the same delivery', async () => {
    const f = await engineFixture(db);
    const id = uuidv7();
    await expect(
      f.send([
        { type: 'upsertUser', sourceId: 'x1', id, profile: { userName: 'x1@acme.test' } },
        { type: 'upsertUser', sourceId: 'x2', id, profile: { userName: 'x2@acme.test' } },
      ]),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('answers NOT_FOUND to an update that must not create, for a user the source deleted', async () => {
    const f = await engineFixture(db);
    await f.send([{ type: 'upsertUser', sourceId: 'gone', profile: { userName: 'gone@acme.test' } }]);
    await f.send([{ type: 'deleteUser', user: { sourceId: 'gone' } }]);
    await expect(f.send([{ type: 'upsertUser', sourceId: 'gone', profile: { userName: 'gone@acme.test' }, ifAbsent: 'fail' }])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await f.user('gone')).sourceDeletedAt).not.toBeNull();
  });
});
