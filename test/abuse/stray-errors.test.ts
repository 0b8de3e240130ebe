// One tenant's bad request never ends the process (issue 14, item 1, its third wall): a hub in
// its own process, run with `npm start`'s flags, loads a partner plugin with bugs
// (plugins/faulty-connector.ts). An error inside its request is that request's 500; an exception
// thrown from a timer after the request was answered and a promise rejection no one handles (by
// default each ends a Node process) are logged and counted in `stray_errors_total`, and the hub
// goes on serving every organization.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHubProcess, type HubProcess } from '../support/hub-process.ts';
import { graphql, hubEnv } from '../faults/support.ts';
import { scimRequest } from '../scim/support.ts';

let hub: HubProcess;
let dataDir: string;
let adminKey: string;
let webhookUrl: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'lh-stray-'));
  const env = hubEnv({ DATA_DIR: dataDir, LIFECYCLE_PLUGINS: './test/abuse/plugins/faulty-connector.ts', METRICS_TOKEN: 'stray-errors-metrics-token' });
  adminKey = env.ADMIN_API_KEY!;
  // A fresh embedded database takes minutes to initialize on a loaded 2-core CI machine.
  hub = await spawnHubProcess(env, { seed: { organizations: [{ slug: 'faulty', users: 0 }, { slug: 'bystander', users: 1, source: 'scim' }] }, timeoutMs: 300_000 });
  const { body: { data } } = await graphql(hub, adminKey, `mutation($o: ID!) { createDirectoryConnection(input: { organizationId: $o, provider: "faulty", name: "Buggy" }) { connection { webhookUrl } } }`, { o: hub.organizations[0]!.id });
  webhookUrl = data.createDirectoryConnection.connection.webhookUrl;
}, 360_000);
afterAll(async () => {
  await hub?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const deliver = (fault: string) => fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fault });
async function bystanderServed() {
  const bystander = hub.organizations[1]!;
  expect((await scimRequest(bystander.scim!.baseUrl, 'GET', `/Users/${bystander.userIds[0]}`, { token: bystander.scim!.token })).status).toBe(200);
}
async function strayErrors(): Promise<Record<string, number>> {
  const text = await (await fetch(`${hub.url}/metrics`, { headers: { authorization: 'Bearer stray-errors-metrics-token' } })).text();
  return Object.fromEntries([...text.matchAll(/^lifecycle_hub_stray_errors_total\{kind="(\w+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

describe('a partner plugin with bugs, in a hub process', () => {
  it('an error inside a delivery: that delivery answers 500, the next ones are served', async () => {
    const response = await deliver('throw');
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: 'internal' });
    expect((await deliver('fine')).status).toBe(200);
    await bystanderServed();
  });

  it('an exception from a timer and an unhandled rejection, after the request: logged, counted, and the process serves on', async () => {
    expect((await deliver('later')).status).toBe(200);
    expect((await deliver('reject')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hub.child.exitCode, hub.output()).toBeNull();
    expect(await strayErrors()).toMatchObject({ exception: 1, rejection: 1 });
    expect(hub.output()).toMatch(/uncaught exception outside any request/);
    expect(hub.output()).toMatch(/a bug in a timer, outside any request/);
    await bystanderServed();
    expect((await deliver('fine')).status).toBe(200);
  });
});
