// useMetrics: operations counted by type and bounded name, failures by phase, durations of queries,
// and live subscriptions by transport (an SSE one here; graphql-ws is covered over a real socket in
// test/operability/metrics.test.ts).
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { HubMetrics } from '../../observability/metrics.ts';
import { boundedOperationNames, useMetrics } from './use-metrics.ts';

function setup() {
  const metrics = new HubMetrics({ processMetrics: false });
  let push: ((n: number) => void) | null = null;
  const schema = createSchema({
    typeDefs: 'type Query { ok: Boolean fail: Boolean } type Subscription { ticks: Int! }',
    resolvers: {
      Query: { ok: () => true, fail: () => { throw new Error('boom'); } },
      Subscription: {
        ticks: {
          async *subscribe() {
            for (;;) yield await new Promise<{ ticks: number }>((resolve) => (push = (n) => resolve({ ticks: n })));
          },
        },
      },
    },
  });
  const yoga = createYoga({ schema, plugins: [useMetrics(metrics)], logging: false, maskedErrors: true });
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    yoga.fetch('http://hub.test/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  /** A series' value; for a histogram, `sample` picks e.g. its _count. */
  const value = async (name: string, labels: Record<string, string>, sample = name) => {
    const metric = (await metrics.registry.getSingleMetric(name)?.get())!;
    return metric.values
      .filter((v) => ((v as { metricName?: string }).metricName ?? name) === sample && Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .reduce((s, v) => s + v.value, 0);
  };
  return { metrics, post, value, tick: (n: number) => push?.(n) };
}

describe('useMetrics', () => {
  it('counts queries by type and name, their failures by phase, and times them', async () => {
    const { post, value } = setup();
    await (await post({ query: 'query Health { ok }' })).json();
    await (await post({ query: 'query Health { ok }' })).json();
    await (await post({ query: 'query Broken { fail }' })).json();
    await (await post({ query: 'query Typo { nope }' })).json();
    expect(await value('lifecycle_hub_graphql_operations_total', { operation_type: 'query', operation_name: 'Health' })).toBe(2);
    expect(await value('lifecycle_hub_graphql_errors_total', { operation_name: 'Broken', phase: 'execute' })).toBe(1);
    expect(await value('lifecycle_hub_graphql_errors_total', { operation_name: 'Typo', phase: 'validate' })).toBe(1);
    const duration = 'lifecycle_hub_graphql_operation_duration_seconds';
    expect(await value(duration, { operation_type: 'query', operation_name: 'Health' }, `${duration}_count`)).toBe(2);
  });

  it('gauges a live SSE subscription until it ends, then counts it', async () => {
    const { post, value, tick } = setup();
    const response = await post({ query: 'subscription Ticks { ticks }' }, { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await expect.poll(() => value('lifecycle_hub_graphql_subscriptions_active', { transport: 'sse' }), { timeout: 500, interval: 10 }).toBe(1);
    tick(1);
    await reader.read();
    await reader.cancel();
    await expect.poll(() => value('lifecycle_hub_graphql_subscriptions_active', { transport: 'sse' }), { timeout: 1_000, interval: 10 }).toBe(0);
    expect(await value('lifecycle_hub_graphql_operations_total', { operation_type: 'subscription', operation_name: 'Ticks' })).toBe(1);
  });

  it('keeps operation names bounded: the first ones seen, then "other"; never an invalid name', () => {
    const name = boundedOperationNames(2);
    expect([name('A'), name('B'), name('C'), name('A'), name(undefined), name('bad name"}')]).toEqual(['A', 'B', 'other', 'A', 'anonymous', 'invalid']);
  });
});
