// What a webhook carries: the Standard Webhooks envelope `{ type, timestamp, data }` around the
// event as the events API and subscriptions show it (id: monotonic per organization, for dedupe and
// order; the events API stays the ordered source of truth).
import type { StreamEvent } from '../events/read.ts';

export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export function eventPayload(e: StreamEvent): WebhookPayload {
  return {
    type: e.type,
    timestamp: e.enforcedAt.toISOString(),
    data: {
      id: e.id,
      organizationId: e.organizationId,
      type: e.type,
      occurredAt: e.occurredAt.toISOString(),
      receivedAt: e.receivedAt.toISOString(),
      enforcedAt: e.enforcedAt.toISOString(),
      deliveryId: e.deliveryId,
      user: e.user,
      group: e.group,
      connection: e.connection,
      data: e.data,
    },
  };
}

export const TEST_EVENT_TYPE = 'webhook.test';

export function testPayload(endpointId: string, at: Date): WebhookPayload {
  return { type: TEST_EVENT_TYPE, timestamp: at.toISOString(), data: { endpointId, message: 'A test event from Lifecycle Hub: your endpoint receives and verifies webhooks.' } };
}
