// SIEM streaming, against stand-ins that check the auth header and the body and answer with the
// service's codes: to a Splunk HTTP Event Collector, lifecycle events and audit rows arrive batched as
// { time, host, source, sourcetype, event }, once each, through the durable, retried delivery (a 503
// "Server is busy" is retried; a wrong token shows in the log); to Datadog's logs intake, as JSON arrays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConnector } from '../support/engine-fixture.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { seedOrganization, type Seeded } from '../streams/support.ts';
import { startDatadogStandIn, startHecStandIn, type HecStandIn } from './siem-stand-ins.ts';

let t: TestHub;
let org: Seeded;
let hec: HecStandIn;
beforeAll(async () => {
  t = await startTestHub({ connectors: [testConnector], env: { WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.2,0.2,0.2,0.2,0.2', PUBLIC_URL: 'https://hub.example.com' } });
  org = await seedOrganization(t, 'siem');
  hec = await startHecStandIn();
});
afterAll(async () => {
  await hec?.close();
  await t?.close();
});

const CREATE = `mutation($o: ID!, $url: String!, $token: String!, $audit: Boolean) {
  createSplunkHecStream(input: { organizationId: $o, url: $url, token: $token, includeAudit: $audit }) { secret endpoint { id kind includeAudit status } } }`;
const LOG = `query($id: ID!) { webhookEndpoint(id: $id) { consecutiveFailures deliveries(first: 5) { edges { node { status lastResponseStatus attemptLog(first: 5) { responseStatus responseExcerpt } } } } } }`;

describe('a Splunk HEC stream', () => {
  it('streams lifecycle events and audit rows in HEC batches, once each, retrying a busy collector', async () => {
    const { createSplunkHecStream } = await t.gqlOk(CREATE, { o: org.orgId, url: hec.url, token: hec.token }, org.orgKey);
    expect(createSplunkHecStream).toMatchObject({ secret: null, endpoint: { kind: 'SPLUNK_HEC', includeAudit: true, status: 'ENABLED' } });
    hec.busy = 1;
    await org.provision('eve', 5);
    await org.send([{ type: 'deactivateUser', user: { sourceId: 'eve0' } }]);
    const events = await t.hub.db.prisma.lifecycleEvent.findMany({ where: { organizationId: org.orgId, type: { in: ['user.provisioned', 'user.deprovisioned'] }, user: { sourceId: { startsWith: 'eve' } } }, orderBy: { id: 'asc' } });
    const auditRows = await t.hub.db.prisma.auditEvent.findMany({ where: { organizationId: org.orgId, at: { gte: events[0]!.enforcedAt } }, orderBy: { seq: 'asc' } });
    expect(events.length).toBe(6);

    const streamed = () => hec.events.filter((e) => e.sourcetype === 'lifecycle_hub:event').map((e) => e.event.id as string);
    const streamedAudit = () => hec.events.filter((e) => e.sourcetype === 'lifecycle_hub:audit').map((e) => e.event.id as string);
    // Every one of these events (the stream also carries others, connection.activated among them).
    await expect.poll(() => events.filter((e) => streamed().includes(e.id.toString())).length, { timeout: 15_000 }).toBe(events.length);
    // Every one of these audit rows, not as many rows of any kind (an earlier row, connection.activated's, streams too).
    await expect.poll(() => auditRows.filter((a) => streamedAudit().includes(a.id)).length, { timeout: 15_000 }).toBe(auditRows.length);
    // Once each (the busy answer sent nothing to the index), every one of them.
    expect(streamed().filter((id) => events.some((e) => e.id.toString() === id)).sort()).toEqual(events.map((e) => e.id.toString()).sort());
    expect(new Set(streamed()).size).toBe(streamed().length);
    expect(streamedAudit()).toEqual(expect.arrayContaining(auditRows.map((a) => a.id)));
    expect(new Set(streamedAudit()).size).toBe(streamedAudit().length);

    expect(hec.requests[0]).toEqual({ status: 503, events: 0 });
    // Batched: some request carried several events.
    expect(Math.max(...hec.requests.map((r) => r.events))).toBeGreaterThan(1);
    const deprovision = hec.events.find((e) => e.event.type === 'user.deprovisioned')!;
    expect(deprovision).toMatchObject({ host: 'hub.example.com', source: 'lifecycle-hub', sourcetype: 'lifecycle_hub:event', event: { organizationId: org.orgId, user: { state: 'DEPROVISIONED' } } });
    expect(deprovision.time).toBeCloseTo(events.at(-1)!.enforcedAt.getTime() / 1000, 3);
    const auditEvent = hec.events.find((e) => e.sourcetype === 'lifecycle_hub:audit' && e.event.action === 'user.deprovisioned')!;
    expect(auditEvent.event).toMatchObject({ organizationId: org.orgId, actorType: 'connection', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('shows a wrong token as the collector answered it, and keeps trying', async () => {
    const { createSplunkHecStream } = await t.gqlOk(CREATE, { o: org.orgId, url: hec.url, token: 'not-the-token-0000', audit: false }, org.orgKey);
    await t.gqlOk(`mutation($e: ID!) { sendTestWebhook(input: { endpointId: $e }) { delivery { id } } }`, { e: createSplunkHecStream.endpoint.id }, org.orgKey);
    await expect.poll(async () => (await t.gqlOk(LOG, { id: createSplunkHecStream.endpoint.id }, org.orgKey)).webhookEndpoint.deliveries.edges[0]?.node.lastResponseStatus, { timeout: 10_000 }).toBe(403);
    const { webhookEndpoint } = await t.gqlOk(LOG, { id: createSplunkHecStream.endpoint.id }, org.orgKey);
    expect(webhookEndpoint.deliveries.edges[0].node).toMatchObject({ status: 'PENDING', attemptLog: expect.arrayContaining([{ responseStatus: 403, responseExcerpt: '{"text":"Invalid token","code":4}' }]) });
    expect(webhookEndpoint.consecutiveFailures).toBeGreaterThanOrEqual(1);
    await t.gqlOk(`mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { endpointId } }`, { e: createSplunkHecStream.endpoint.id }, org.orgKey);
  });

  it('refuses a URL that is not a collector event endpoint, and a missing token', async () => {
    for (const [url, token, field] of [['http://127.0.0.1:1/hooks', hec.token, 'url'], [hec.url, 'short', 'token']] as const) {
      const { errors } = await t.gql(CREATE, { o: org.orgId, url, token }, org.orgKey);
      expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });
});

describe('a Datadog logs stream', () => {
  it('sends lifecycle events and audit rows as logs-intake arrays with DD-API-KEY, once each', async () => {
    const dd = await startDatadogStandIn();
    try {
      const o = await seedOrganization(t, 'siem-datadog');
      const CREATE_DD = `mutation($o: ID!, $url: String!, $key: String!) { createDatadogLogsStream(input: { organizationId: $o, url: $url, apiKey: $key }) { endpoint { id kind includeAudit } } }`;
      const { createDatadogLogsStream } = await t.gqlOk(CREATE_DD, { o: o.orgId, url: dd.url, key: dd.apiKey }, o.orgKey);
      expect(createDatadogLogsStream.endpoint).toMatchObject({ kind: 'DATADOG_LOGS', includeAudit: true });
      await o.provision('gus', 3);
      const events = await t.hub.db.prisma.lifecycleEvent.findMany({ where: { organizationId: o.orgId, user: { sourceId: { startsWith: 'gus' } } } });
      const eventLogs = () => dd.logs.filter((l) => l.ddtags === `organization_id:${o.orgId},kind:event`).map((l) => l.lifecycle_hub.id as string);
      await expect.poll(() => eventLogs().length, { timeout: 15_000 }).toBe(events.length);
      expect(eventLogs().sort()).toEqual(events.map((e) => e.id.toString()).sort());
      expect(dd.logs.some((l) => l.ddtags === `organization_id:${o.orgId},kind:audit` && l.lifecycle_hub.action === 'user.provisioned')).toBe(true);
      expect(dd.logs.find((l) => l.message === 'event user.provisioned')).toMatchObject({ ddsource: 'lifecycle-hub', service: 'lifecycle-hub', hostname: 'hub.example.com', date: expect.any(String) });
      expect(dd.requests.every((r) => r.status === 202)).toBe(true);
      const { errors } = await t.gql(CREATE_DD, { o: o.orgId, url: 'http://127.0.0.1:1/logs', key: dd.apiKey }, o.orgKey);
      expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
    } finally {
      await dd.close();
    }
  });
});
