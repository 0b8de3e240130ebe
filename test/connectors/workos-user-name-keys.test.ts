// userName keys through a webhook source (WorkOS, signed as WorkOS signs): a userName with an
// invisible character is refused with 422 invalid_value, naming it and changing nothing; one that
// only looks like another user's is that user's name (409, as any taken userName).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionSnapshot, createVendorConnection, settledSnapshot } from '../support/vendors/connections.ts';
import { deliverWorkos, startWorkosStandIn, workosEvent, workosUser } from '../support/vendors/workos.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

const SECRET = 'whsec-workos-test-secret-0123456789';
const API_KEY = 'sk_test_workos_hub';
const DIRECTORY = 'directory_01JNQ7X4Y9Z3A6B0C5D7E1F2G3';
let api: Awaited<ReturnType<typeof startWorkosStandIn>>;
let t: TestHub;
beforeAll(async () => {
  api = await startWorkosStandIn({ apiKey: API_KEY });
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
  await api?.close();
});

/** dsync.user.created for a user whose SCIM userName (raw_attributes.userName, what the connector maps) is this. */
function created(userName: string, email: string) {
  const u = workosUser({ directoryId: DIRECTORY, email, firstName: 'Ada', lastName: 'Lovelace' });
  return workosEvent('dsync.user.created', { ...u, raw_attributes: { ...u.raw_attributes, userName } });
}

describe('userName keys from a webhook source', () => {
  it('refuses a userName with an invisible character with 422 invalid_value, changing nothing', async () => {
    const c = await createVendorConnection(t, 'workos', { webhookSecret: SECRET, apiKey: API_KEY, apiBaseUrl: api.url, apiMaxRetries: 0 });
    const url = `${t.url}/webhooks/${c.connectionId}`;
    const before = await settledSnapshot(t, c.connectionId);
    const r = await deliverWorkos(url, created('ada\u200b@northwind.example', 'ada@northwind.example'), SECRET);
    expect(r.status).toBe(422);
    expect(r.body.error).toBe('invalid_value');
    expect(r.body.message).toContain('userName "ada\\u{200b}@northwind.example"');
    expect(r.body.message).toContain('U+200B');
    expect(r.body.message).not.toContain('connector bug');
    expect(await connectionSnapshot(t, c.connectionId)).toEqual(before);
  });

  it('takes a userName differing only in case, spaces or Unicode form for the name another user holds', async () => {
    const c = await createVendorConnection(t, 'workos', { webhookSecret: SECRET, apiKey: API_KEY, apiBaseUrl: api.url, apiMaxRetries: 0 });
    const url = `${t.url}/webhooks/${c.connectionId}`;
    const name = 'Zoë.Martin@northwind.example'.normalize('NFC');
    expect((await deliverWorkos(url, created(name, 'zoe.1@northwind.example'), SECRET)).status).toBe(200);
    for (const alike of [` ${name.toUpperCase()}`, name.normalize('NFD')]) {
      const r = await deliverWorkos(url, created(alike, 'zoe.2@northwind.example'), SECRET);
      expect(r.status, JSON.stringify(alike)).toBe(409);
      expect(r.body.message).toContain('is already taken');
    }
    expect(await t.hub.db.prisma.directoryUser.count({ where: { connectionId: c.connectionId } })).toBe(1);
  });
});
