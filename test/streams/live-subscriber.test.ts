// The demo's live subscriber (src/hub/demo-subscriber.ts) prints a deprovision as it happens.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { watchDeprovisions } from '../../src/hub/demo-subscriber.ts';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { seedOrganization } from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ connectors: [testConnector] });
});
afterAll(async () => {
  await t?.close();
});

it('prints each deprovision of the organization as it is enforced, and nothing of another', async () => {
  const org = await seedOrganization(t, 'demo-watch');
  const other = await seedOrganization(t, 'demo-other');
  const [ada] = await org.provision('ada', 1);
  const [eve] = await other.provision('eve', 1);
  await t.gqlOk(`mutation($u: ID!) { registerSession(input: { userId: $u, externalRef: "s1" }) { session { id } } }`, { u: ada });
  const lines: string[] = [];
  const watcher = await watchDeprovisions({ url: t.url, key: org.orgKey, organizationId: org.orgId, print: (l) => lines.push(l) });
  try {
    // No wait: the watcher started from the newest event id, so this cannot slip past it.
    await t.gqlOk(`mutation($u: ID!) { deprovisionUser(input: { userId: $u }) { user { id } } }`, { u: eve });
    await org.send([{ type: 'deactivateUser', user: { sourceId: 'ada0' }, reason: 'terminated in Okta' }]);
    await vi.waitFor(() => expect(lines.length, 'lines printed').toBeGreaterThan(0), { timeout: 10_000, interval: 25 });
    expect(lines.join('\n')).toMatch(/⛔ deprovisioned ada0@acme\.test \(event \d+, via test connection /);
    expect(lines.join('\n')).toMatch(/reason: terminated in Okta/);
    expect(lines.join('\n')).toMatch(/revoked 1 session\(s\), 0 credential\(s\)/);
    expect(lines.join('\n')).not.toMatch(/eve0/);
    expect(watcher.lastEventId).toMatch(/^\d+$/);
  } finally {
    await watcher.close();
  }
});
