// Outbound webhooks: endpoints per organization (Organization.webhookEndpoints, webhookEndpoint),
// their delivery log, and the mutations that manage them and re-send (src/webhooks).
import { actorOf } from '../../tenancy/principal.ts';
import { DEFAULT_ROTATION_OVERLAP_SECONDS, createEndpoint, createSiemStream, deleteEndpoint, queueTestEvent, replayDelivery, resendEvents, rotateEndpointSecret, setEndpointEnabled, updateEndpoint } from '../../webhooks/endpoints.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { assertOrganization, webhookDeliveryOrganization, webhookEndpointOrganization } from '../access.ts';
import { apiError } from '../errors.ts';
import { EVENT_ID } from './events.ts';

const WebhookEndpointStatusEnum = builder.enumType('WebhookEndpointStatus', { values: ['ENABLED', 'DISABLED'] as const });
const WebhookEndpointKindEnum = builder.enumType('WebhookEndpointKind', {
  values: {
    STANDARD_WEBHOOKS: { description: 'Signed JSON per Standard Webhooks, one event per request.' },
    SPLUNK_HEC: { description: 'A SIEM stream in Splunk HTTP Event Collector format, batched, authenticated with the collector token.' },
    DATADOG_LOGS: { description: 'A SIEM stream to Datadog’s logs intake (/api/v2/logs), batched, authenticated with a DD-API-KEY.' },
  } as const,
});
const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  values: { PENDING: { description: 'Waiting for its next attempt.' }, DELIVERED: { description: 'The endpoint answered 2xx.' }, FAILED: { description: 'Every attempt of the retry schedule failed: replay it when the endpoint works again.' } } as const,
});

export const WebhookAttempt = builder.prismaObject('WebhookAttempt', {
  description: 'One HTTP attempt of a delivery.',
  fields: (t) => ({
    id: t.id({ resolve: (a) => a.id.toString() }),
    attemptedAt: t.expose('attemptedAt', { type: 'DateTime' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: 'null: no answer (refused, timed out, connection failed: see error).' }),
    durationMs: t.exposeInt('durationMs'),
    error: t.exposeString('error', { nullable: true }),
    responseExcerpt: t.exposeString('responseExcerpt', { nullable: true, description: 'The first 1024 bytes of the response body.' }),
  }),
});

export const WebhookDelivery = builder.prismaObject('WebhookDelivery', {
  description: 'One event (or test event) for one endpoint, with every attempt made.',
  fields: (t) => ({
    id: t.id({ resolve: (d) => d.id.toString() }),
    eventId: t.id({ nullable: true, description: 'The lifecycle event (null for a test event): its id in the events API.', resolve: (d) => d.eventId?.toString() ?? null }),
    eventType: t.exposeString('eventType'),
    webhookId: t.exposeString('webhookId', { description: 'The webhook-id header: the same on every attempt and replay.' }),
    status: t.expose('status', { type: WebhookDeliveryStatusEnum }),
    attempts: t.exposeInt('attempts', { description: 'Attempts since it was queued (or last replayed).' }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null) }),
    lastResponseStatus: t.exposeInt('lastResponseStatus', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    attemptLog: t.relation('attemptLog', {
      description: 'Its attempts, newest first.',
      args: { first: t.arg.int({ defaultValue: 20, description: 'How many (at most 100).' }) },
      query: (args) => ({ orderBy: { id: 'desc' }, take: Math.min(Math.max(args.first ?? 20, 0), 100) }),
    }),
  }),
});

export const WebhookEndpoint = builder.prismaObject('WebhookEndpoint', {
  description: 'Where lifecycle events of an organization are POSTed, signed per Standard Webhooks (docs/webhooks.md).',
  fields: (t) => ({
    id: t.exposeID('id'),
    organizationId: t.exposeID('organizationId'),
    kind: t.expose('kind', { type: WebhookEndpointKindEnum }),
    includeAudit: t.exposeBoolean('includeAudit', { description: 'A SIEM stream: audit rows are streamed as well as lifecycle events.' }),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'Event types sent; empty: every type, including types added later.' }),
    status: t.expose('status', { type: WebhookEndpointStatusEnum }),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'Why it is disabled: through the API, or by the hub after failing for too long.' }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'During a secret rotation: until when the previous secret signs too (a second signature).',
      resolve: (e) => (e.previousSecretExpiresAt && e.previousSecretExpiresAt.getTime() > Date.now() ? e.previousSecretExpiresAt : null),
    }),
    lastSuccessAt: t.expose('lastSuccessAt', { type: 'DateTime', nullable: true }),
    lastFailureAt: t.expose('lastFailureAt', { type: 'DateTime', nullable: true }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts since the last success.' }),
    failingSince: t.expose('failingSince', { type: 'DateTime', nullable: true, description: 'First failure since the last success: the endpoint is disabled when this is WEBHOOK_DISABLE_AFTER_HOURS old.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    deliveries: t.relatedConnection('deliveries', {
      description: 'Its delivery log, newest first.',
      cursor: 'id',
      args: { status: t.arg({ type: WebhookDeliveryStatusEnum }) },
      query: (args) => ({ where: args.status ? { status: args.status } : {}, orderBy: { id: 'desc' } }),
    }),
  }),
});

builder.prismaObjectField('Organization', 'webhookEndpoints', (t) =>
  t.relation('webhookEndpoints', { description: 'Its webhook endpoints, oldest first.', query: { orderBy: { createdAt: 'asc' }, take: 1000 } }),
);

builder.queryFields((t) => ({
  webhookEndpoint: t.prismaField({
    type: 'WebhookEndpoint',
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      await webhookEndpointOrganization(ctx, String(args.id));
      return ctx.hub.db.prisma.webhookEndpoint.findUnique({ ...query, where: { id: String(args.id) } });
    },
  }),
}));

const EndpointPayload = builder.objectRef<{ endpointId: string; secret?: string | null; queued?: number }>('WebhookEndpointPayload').implement({
  fields: (t) => ({
    endpoint: t.prismaField({ type: 'WebhookEndpoint', resolve: (query, p, _a, ctx) => ctx.hub.db.prisma.webhookEndpoint.findUniqueOrThrow({ ...query, where: { id: p.endpointId } }) }),
    secret: t.string({ nullable: true, description: 'The signing secret (whsec_…): returned by createWebhookEndpoint and rotateWebhookEndpointSecret only, this once; stored encrypted.', resolve: (p) => p.secret ?? null }),
    queued: t.int({ nullable: true, description: 'resendWebhookEvents: how many deliveries were queued.', resolve: (p) => p.queued ?? null }),
  }),
});

const DeliveryPayload = builder.objectRef<{ deliveryId: string }>('WebhookDeliveryPayload').implement({
  fields: (t) => ({
    delivery: t.prismaField({ type: 'WebhookDelivery', resolve: (query, p, _a, ctx) => ctx.hub.db.prisma.webhookDelivery.findUniqueOrThrow({ ...query, where: { id: BigInt(p.deliveryId) } }) }),
  }),
});

const DeletedPayload = builder.objectRef<{ endpointId: string }>('DeleteWebhookEndpointPayload').implement({
  fields: (t) => ({ endpointId: t.exposeID('endpointId') }),
});

/** The endpoint named by an input, checked to be the caller's (NOT_FOUND alike for missing and foreign). */
async function endpointOf(ctx: GraphQLContext, endpointId: unknown): Promise<string> {
  const id = String(endpointId);
  await webhookEndpointOrganization(ctx, id);
  return id;
}

const eventTypesDescription = 'Lifecycle event types to send (user.deprovisioned, …); omitted or empty: every type.';

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.fieldWithInput({
    type: EndpointPayload,
    authScopes: { authenticated: true },
    description: 'Starts sending the organization’s lifecycle events to `url`. Returns the signing secret once.',
    input: {
      organizationId: t.input.id({ required: true }),
      url: t.input.string({ required: true, description: 'An http(s) URL; private, loopback and link-local addresses are refused unless OUTBOUND_ALLOW_PRIVATE_NETWORKS=true.' }),
      eventTypes: t.input.stringList({ description: eventTypesDescription }),
      description: t.input.string(),
    },
    resolve: async (_root, { input }, ctx) => {
      const organizationId = assertOrganization(ctx, String(input.organizationId));
      const { id, secret } = await createEndpoint(ctx.hub.webhooks.deps, organizationId, { url: input.url, eventTypes: input.eventTypes, description: input.description }, actorOf(ctx.principal!));
      ctx.hub.webhooks.worker.endpointsChanged(organizationId);
      return { endpointId: id, secret };
    },
  }),
  createSplunkHecStream: t.fieldWithInput({
    type: EndpointPayload,
    authScopes: { authenticated: true },
    description: 'Streams the organization’s lifecycle events and (includeAudit, default true) its audit rows to a Splunk HTTP Event Collector, batched, retried like webhooks. Listed with the webhook endpoints (kind SPLUNK_HEC).',
    input: {
      organizationId: t.input.id({ required: true }),
      url: t.input.string({ required: true, description: 'The collector’s event endpoint: https://<host>:8088/services/collector/event.' }),
      token: t.input.string({ required: true, description: 'The HEC token (sent as Authorization: Splunk <token>); stored encrypted, never shown again.' }),
      includeAudit: t.input.boolean({ description: 'Default true.' }),
      eventTypes: t.input.stringList({ description: eventTypesDescription }),
      description: t.input.string(),
    },
    resolve: async (_root, { input }, ctx) => {
      const organizationId = assertOrganization(ctx, String(input.organizationId));
      const { id } = await createSiemStream(ctx.hub.webhooks.deps, organizationId, 'SPLUNK_HEC', { url: input.url, token: input.token, includeAudit: input.includeAudit ?? true, eventTypes: input.eventTypes, description: input.description }, actorOf(ctx.principal!));
      ctx.hub.webhooks.worker.endpointsChanged(organizationId);
      return { endpointId: id };
    },
  }),
  createDatadogLogsStream: t.fieldWithInput({
    type: EndpointPayload,
    authScopes: { authenticated: true },
    description: 'Streams the organization’s lifecycle events and (includeAudit, default true) its audit rows to Datadog’s logs intake, batched, retried like webhooks. Listed with the webhook endpoints (kind DATADOG_LOGS).',
    input: {
      organizationId: t.input.id({ required: true }),
      url: t.input.string({ required: true, description: 'Your site’s intake: https://http-intake.logs.datadoghq.com/api/v2/logs (or .eu, us3., us5., …).' }),
      apiKey: t.input.string({ required: true, description: 'A Datadog API key (sent as DD-API-KEY); stored encrypted, never shown again.' }),
      includeAudit: t.input.boolean({ description: 'Default true.' }),
      eventTypes: t.input.stringList({ description: eventTypesDescription }),
      description: t.input.string(),
    },
    resolve: async (_root, { input }, ctx) => {
      const organizationId = assertOrganization(ctx, String(input.organizationId));
      const { id } = await createSiemStream(ctx.hub.webhooks.deps, organizationId, 'DATADOG_LOGS', { url: input.url, token: input.apiKey, includeAudit: input.includeAudit ?? true, eventTypes: input.eventTypes, description: input.description }, actorOf(ctx.principal!));
      ctx.hub.webhooks.worker.endpointsChanged(organizationId);
      return { endpointId: id };
    },
  }),
  updateWebhookEndpoint: t.fieldWithInput({
    type: EndpointPayload,
    authScopes: { authenticated: true },
    input: { endpointId: t.input.id({ required: true }), url: t.input.string(), eventTypes: t.input.stringList({ description: eventTypesDescription }), description: t.input.string() },
    resolve: async (_root, { input }, ctx) => {
      const id = await endpointOf(ctx, input.endpointId);
      await updateEndpoint(ctx.hub.webhooks.deps, id, { url: input.url ?? undefined, eventTypes: input.eventTypes, description: input.description }, actorOf(ctx.principal!));
      return { endpointId: id };
    },
  }),
  disableWebhookEndpoint: t.fieldWithInput({
    type: EndpointPayload,
    authScopes: { authenticated: true },
    description: 'Stops sending; deliveries wait (PENDING) until it is enabled again.',
    input: { endpointId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = await endpointOf(ctx, input.endpointId);
      await setEndpointEnabled(ctx.hub.webhooks.deps, id, false, actorOf(ctx.principal!));
      return { endpointId: id };
    },
  }),
  enableWebhookEndpoint: t.fieldWithInput({
    type: EndpointPayload,
    authScopes: { authenticated: true },
    description: 'Sends again, starting with the deliveries that waited; clears the failure streak.',
    input: { endpointId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = await endpointOf(ctx, input.endpointId);
      const organizationId = await webhookEndpointOrganization(ctx, id);
      await setEndpointEnabled(ctx.hub.webhooks.deps, id, true, actorOf(ctx.principal!));
      ctx.hub.webhooks.worker.endpointsChanged(organizationId);
      ctx.hub.webhooks.worker.wake();
      return { endpointId: id };
    },
  }),
  deleteWebhookEndpoint: t.fieldWithInput({
    type: DeletedPayload,
    authScopes: { authenticated: true },
    description: 'Deletes the endpoint with its deliveries and their log.',
    input: { endpointId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = await endpointOf(ctx, input.endpointId);
      await deleteEndpoint(ctx.hub.webhooks.deps, id, actorOf(ctx.principal!));
      return { endpointId: id };
    },
  }),
  rotateWebhookEndpointSecret: t.fieldWithInput({
    type: EndpointPayload,
    authScopes: { authenticated: true },
    description: 'A new signing secret, returned once. For `overlapSeconds` (default a day) every delivery carries two signatures, one per secret, so receivers can switch without losing one.',
    input: { endpointId: t.input.id({ required: true }), overlapSeconds: t.input.int({ description: `Default ${DEFAULT_ROTATION_OVERLAP_SECONDS}; 0: the old secret stops at once.` }) },
    resolve: async (_root, { input }, ctx) => {
      const id = await endpointOf(ctx, input.endpointId);
      const { secret } = await rotateEndpointSecret(ctx.hub.webhooks.deps, id, input.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS, actorOf(ctx.principal!));
      return { endpointId: id, secret };
    },
  }),
  replayWebhookDelivery: t.fieldWithInput({
    type: DeliveryPayload,
    authScopes: { authenticated: true },
    description: 'Sends a delivery again now (same webhook-id), on a fresh retry schedule.',
    input: { deliveryId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.deliveryId);
      await webhookDeliveryOrganization(ctx, id);
      await replayDelivery(ctx.hub.webhooks.deps, id, actorOf(ctx.principal!));
      ctx.hub.webhooks.worker.wake();
      return { deliveryId: id };
    },
  }),
  resendWebhookEvents: t.fieldWithInput({
    type: EndpointPayload,
    authScopes: { authenticated: true },
    description: 'Queues every event after `afterEventId` (of the types the endpoint takes) again, in order: at most 10000 per call (call again after the last one queued).',
    input: { endpointId: t.input.id({ required: true }), afterEventId: t.input.id({ required: true, description: 'An event id ("0": from the first event).' }) },
    resolve: async (_root, { input }, ctx) => {
      const id = await endpointOf(ctx, input.endpointId);
      const after = String(input.afterEventId);
      if (!EVENT_ID.test(after) || BigInt(after) > 9223372036854775807n) throw apiError('BAD_USER_INPUT', 'afterEventId must be an event id (digits)', { field: 'afterEventId' });
      const queued = await resendEvents(ctx.hub.webhooks.deps, id, after, actorOf(ctx.principal!));
      ctx.hub.webhooks.worker.wake();
      return { endpointId: id, queued };
    },
  }),
  sendTestWebhook: t.fieldWithInput({
    type: DeliveryPayload,
    authScopes: { authenticated: true },
    description: 'Sends a `webhook.test` event to the endpoint (whatever types it takes), signed and retried like any other.',
    input: { endpointId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = await endpointOf(ctx, input.endpointId);
      const deliveryId = await queueTestEvent(ctx.hub.webhooks.deps, id, actorOf(ctx.principal!));
      ctx.hub.webhooks.worker.wake();
      return { deliveryId };
    },
  }),
}));
