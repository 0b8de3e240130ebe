// Deprovision latencies are labelled with the provider of the user's connection: known from the
// connection's own requests, looked up once otherwise (an event committed on another instance, or
// by an admin through GraphQL), "none" without a connection.
import { describe, expect, it } from 'vitest';
import type { LifecycleEventRecord } from '../engine/types.ts';
import { parseMetrics, valueOf } from '../../test/operability/support.ts';
import { HubMetrics } from './metrics.ts';

const at = new Date('2026-11-22T10:00:00.000Z');
const deprovision = (connectionId: string | null): LifecycleEventRecord => ({
  id: '1', organizationId: 'o', type: 'user.deprovisioned', userId: 'u', groupId: null, connectionId, deliveryId: null, auditEventId: null,
  occurredAt: at, receivedAt: new Date(at.getTime() + 2_000), enforcedAt: new Date(at.getTime() + 2_010), data: {},
});
const count = async (metrics: HubMetrics, labels: Record<string, string>) =>
  valueOf(parseMetrics(await metrics.registry.metrics()), 'lifecycle_hub_deprovision_latency_seconds_count', labels);

describe('deprovision latency by provider', () => {
  it('uses the provider a connection\'s requests reported, without a lookup', async () => {
    const lookups: string[] = [];
    const metrics = new HubMetrics({ processMetrics: false, providerOf: async (id) => (lookups.push(id), 'wrong') });
    metrics.connectionRequest('webhook', 'c-clerk', 'clerk', 'POST', 200);
    metrics.committed([deprovision('c-clerk')]);
    expect(await count(metrics, { stage: 'received_to_enforced', provider: 'clerk' })).toBe(1);
    expect(lookups).toEqual([]);
  });

  it('looks a connection up once when no request taught it, and labels "none" without a connection', async () => {
    const lookups: string[] = [];
    const metrics = new HubMetrics({ processMetrics: false, providerOf: async (id) => (lookups.push(id), 'workos') });
    metrics.committed([deprovision('c-workos')]);
    metrics.committed([deprovision(null)]);
    await new Promise((r) => setImmediate(r));
    metrics.committed([deprovision('c-workos')]);
    expect(await count(metrics, { stage: 'source_to_received', provider: 'workos' })).toBe(2);
    expect(await count(metrics, { stage: 'source_to_received', provider: 'none' })).toBe(1);
    expect(lookups).toEqual(['c-workos']);
    const lag = parseMetrics(await metrics.registry.metrics()).find((s) => s.name === 'lifecycle_hub_deprovision_source_lag_seconds_sum' && s.labels.provider === 'workos');
    expect(lag?.value).toBe(4);
  });

  it('still observes, as "unknown", when the lookup fails', async () => {
    const metrics = new HubMetrics({ processMetrics: false, providerOf: () => Promise.reject(new Error('database unavailable')) });
    metrics.committed([deprovision('c-gone')]);
    await new Promise((r) => setImmediate(r));
    expect(await count(metrics, { stage: 'received_to_enforced', provider: 'unknown' })).toBe(1);
  });

  it('labels the published stage with the provider the stream read with the event', async () => {
    const metrics = new HubMetrics({ processMetrics: false });
    metrics.published([{ type: 'user.deleted', enforcedAt: at, connection: { provider: 'stytch' } }, { type: 'user.provisioned', enforcedAt: at, connection: null }], at.getTime() + 5);
    expect(await count(metrics, { stage: 'enforced_to_published', provider: 'stytch' })).toBe(1);
    expect(await count(metrics, { stage: 'enforced_to_published' })).toBe(1);
  });
});
