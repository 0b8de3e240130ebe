// Prometheus metrics of one hub (prom-client). Each hub has its own Registry, so several hubs in
// one process (tests, embedding) never share or clash over series.
//
// Labels are bounded by design: route patterns (never raw paths), connection ids (bounded by the
// number of connections, and only ids of connections that exist), provider ids, status classes.
// No label ever holds a secret, a token, an email or a user id.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LifecycleEventRecord } from '../engine/types.ts';

export const METRIC_PREFIX = 'lifecycle_hub_';

/** Lifecycle event types that end a user's access: their latency is the deprovision latency. */
export const DEPROVISION_EVENT_TYPES: ReadonlySet<string> = new Set(['user.deprovisioned', 'user.deleted']);

/** Seconds: from a millisecond to a minute, denser where offboarding targets sit (≤ 20 ms). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Source → received: IdPs batch and retry, so this one reaches hours. */
const SOURCE_LAG_BUCKETS = [0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400];

export type Outcome = 'success' | 'unauthorized' | 'invalid_signature' | 'not_found' | 'rejected' | 'throttled' | 'unavailable' | 'error';

/** A small, fixed set of outcomes from an HTTP status (what an operator alerts on). */
export function outcomeOf(status: number, kind: 'scim' | 'webhook' | 'pull' = 'scim'): Outcome {
  if (status < 400) return 'success';
  if (status === 401) return kind === 'webhook' ? 'invalid_signature' : 'unauthorized';
  if (status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 429) return 'throttled';
  if (status === 503) return 'unavailable';
  if (status < 500) return 'rejected';
  return 'error';
}

export interface HubMetricsOptions {
  /** Node process metrics (CPU, RSS, heap, event loop lag, GC) under the same prefix. */
  processMetrics?: boolean;
  /** The provider of a connection (null when there is none): labels deprovision latencies. */
  providerOf?: (connectionId: string) => Promise<string | null>;
}

export class HubMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: `${METRIC_PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by route pattern (never the raw path), method and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'Time to answer an HTTP request (until the response starts; a subscription stream counts until it ends).',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly scimWrites = new Counter({
    name: `${METRIC_PREFIX}scim_writes_total`,
    help: 'SCIM writes (POST, PUT, PATCH, DELETE) by connector and outcome.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: `${METRIC_PREFIX}webhook_deliveries_total`,
    help: 'Inbound webhook deliveries by connector and outcome.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookSignatureFailures = new Counter({
    name: `${METRIC_PREFIX}webhook_signature_failures_total`,
    help: 'Webhook deliveries refused because their signature or timestamp did not verify, by connector.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly deprovisionLatency = new Histogram({
    name: `${METRIC_PREFIX}deprovision_latency_seconds`,
    help: 'Deprovision latency by stage: source_to_received (IdP event time to arrival), received_to_enforced (arrival to commit), enforced_to_published (commit to fan-out to subscribers on this instance); by the provider of the user\'s connection ("none" without one).',
    labelNames: ['stage', 'provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly deprovisionSourceLag = new Histogram({
    name: `${METRIC_PREFIX}deprovision_source_lag_seconds`,
    help: 'Deprovision source_to_received on a scale for IdP lag (minutes to hours); the same observations as deprovision_latency_seconds{stage="source_to_received"}, by provider.',
    labelNames: ['provider'] as const,
    buckets: SOURCE_LAG_BUCKETS,
    registers: [this.registry],
  });

  readonly activeSubscriptions = new Gauge({
    name: `${METRIC_PREFIX}graphql_subscriptions_active`,
    help: 'GraphQL subscription operations running, by transport (graphql-ws or sse).',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });

  readonly connectionRequests = new Counter({
    name: `${METRIC_PREFIX}connection_requests_total`,
    help: 'Requests from a directory connection (SCIM calls, webhook deliveries) and reads of its ordered feed (pull), by outcome.',
    labelNames: ['connection_id', 'provider', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly connectionErrors = new Counter({
    name: `${METRIC_PREFIX}connection_errors_total`,
    help: 'Failed requests from a directory connection (4xx and 5xx answers: refused tokens, bad signatures, rejected payloads, outages).',
    labelNames: ['connection_id', 'provider', 'kind'] as const,
    registers: [this.registry],
  });

  readonly connectionLastSuccess = new Gauge({
    name: `${METRIC_PREFIX}connection_last_success_timestamp_seconds`,
    help: 'Unix time of the last successful request from a connection on this instance (alert when it stops moving).',
    labelNames: ['connection_id', 'provider'] as const,
    registers: [this.registry],
  });

  readonly connectionLastError = new Gauge({
    name: `${METRIC_PREFIX}connection_last_error_timestamp_seconds`,
    help: 'Unix time of the last failed request from a connection on this instance.',
    labelNames: ['connection_id', 'provider'] as const,
    registers: [this.registry],
  });

  readonly strayErrors = new Counter({
    name: `${METRIC_PREFIX}stray_errors_total`,
    help: 'Errors thrown outside any request (uncaught exceptions, unhandled rejections): logged, and the hub keeps serving. Any is a bug to report.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** Connection id → provider: a connection's provider never changes, and connections are few. */
  private readonly providers = new Map<string, string>();

  // Outbound webhooks (src/webhooks), per endpoint: endpoint ids are bounded by the endpoints that exist.
  readonly outboundWebhookDeliveries = new Counter({
    name: `${METRIC_PREFIX}outbound_webhook_deliveries_total`,
    help: 'Outbound webhook deliveries that ended an attempt, by endpoint and outcome: delivered (2xx), retrying, failed (schedule exhausted).',
    labelNames: ['endpoint_id', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly outboundWebhookAttempts = new Counter({
    name: `${METRIC_PREFIX}outbound_webhook_attempts_total`,
    help: 'Outbound webhook HTTP attempts, by endpoint and answer (2xx, 4xx, 5xx, or error: no answer).',
    labelNames: ['endpoint_id', 'status_class'] as const,
    registers: [this.registry],
  });

  readonly outboundWebhookLag = new Histogram({
    name: `${METRIC_PREFIX}outbound_webhook_lag_seconds`,
    help: "From an event's commit to its endpoint's 2xx answer, by endpoint (retries included).",
    labelNames: ['endpoint_id'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1800, 7200, 36000, 86400],
    registers: [this.registry],
  });

  /** One webhook attempt's end (src/webhooks/worker.ts). */
  webhookAttempt(endpointId: string, status: number | null, outcome: 'delivered' | 'retrying' | 'failed', lagMs: number | null) {
    const statusClass = status === null ? 'error' : `${Math.floor(status / 100)}xx`;
    this.outboundWebhookAttempts.inc({ endpoint_id: endpointId, status_class: statusClass });
    this.outboundWebhookDeliveries.inc({ endpoint_id: endpointId, outcome });
    if (outcome === 'delivered' && lagMs !== null) this.outboundWebhookLag.observe({ endpoint_id: endpointId }, seconds(lagMs));
  }

  constructor(private readonly options: HubMetricsOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /**
   * Calls `observe` with the provider of `connectionId`: at once when known (every SCIM call and
   * webhook delivery teaches it), else after one lookup (an event committed on another instance).
   */
  private withProvider(connectionId: string | null, observe: (provider: string) => void) {
    if (!connectionId) return observe('none');
    const known = this.providers.get(connectionId);
    if (known) return observe(known);
    const lookup = this.options.providerOf;
    if (!lookup) return observe('unknown');
    lookup(connectionId).then(
      (provider) => {
        if (provider) this.providers.set(connectionId, provider);
        observe(provider ?? 'unknown');
      },
      () => observe('unknown'),
    );
  }

  /** Adds gauges read at scrape time (subscribers, connections) from whoever knows them. */
  gauge(name: string, help: string, read: () => number | Array<{ labels: Record<string, string>; value: number }>, labelNames: string[] = []) {
    // A restarted server (same hub) replaces its reader.
    this.registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        const value = read();
        if (typeof value === 'number') this.set(value);
        else for (const v of value) this.set(v.labels, v.value);
      },
    });
  }

  http(method: string, route: string, status: number, seconds: number) {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  /**
   * A request from a known connection (SCIM call, webhook delivery) or a read of its feed (pull:
   * 200 read, 502 failed). Only ids of connections
   * that exist reach here: a made-up id in a URL never becomes a label.
   */
  connectionRequest(kind: 'scim' | 'webhook' | 'pull', connectionId: string, provider: string, method: string, status: number) {
    this.providers.set(connectionId, provider);
    const outcome = outcomeOf(status, kind);
    const now = Date.now() / 1000;
    this.connectionRequests.inc({ connection_id: connectionId, provider, kind, outcome });
    if (status < 400) {
      this.connectionLastSuccess.set({ connection_id: connectionId, provider }, now);
    } else {
      this.connectionErrors.inc({ connection_id: connectionId, provider, kind });
      this.connectionLastError.set({ connection_id: connectionId, provider }, now);
    }
    if (kind === 'scim' && method !== 'GET' && method !== 'HEAD') this.scimWrites.inc({ provider, outcome });
    if (kind === 'webhook') {
      this.webhookDeliveries.inc({ provider, outcome });
      if (outcome === 'invalid_signature') this.webhookSignatureFailures.inc({ provider });
    }
  }

  /** engine.onCommitted: the first two stages of each deprovision. */
  committed(events: readonly LifecycleEventRecord[]) {
    for (const e of events) {
      if (!DEPROVISION_EVENT_TYPES.has(e.type)) continue;
      const sourceLag = seconds(e.receivedAt.getTime() - e.occurredAt.getTime());
      const enforcing = seconds(e.enforcedAt.getTime() - e.receivedAt.getTime());
      this.withProvider(e.connectionId, (provider) => {
        this.deprovisionLatency.observe({ stage: 'source_to_received', provider }, sourceLag);
        this.deprovisionSourceLag.observe({ provider }, sourceLag);
        this.deprovisionLatency.observe({ stage: 'received_to_enforced', provider }, enforcing);
      });
    }
  }

  /** EventStream.onFanOut: the last stage, when this instance handed the events to its subscribers. */
  published(events: ReadonlyArray<{ type: string; enforcedAt: Date; connection: { provider: string } | null }>, at = Date.now()) {
    for (const e of events) {
      if (DEPROVISION_EVENT_TYPES.has(e.type)) this.deprovisionLatency.observe({ stage: 'enforced_to_published', provider: e.connection?.provider ?? 'none' }, seconds(at - e.enforcedAt.getTime()));
    }
  }

  /** Prometheus text exposition format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Clocks of different machines (IdP, database) may disagree slightly: never a negative duration. */
function seconds(ms: number) {
  return Math.max(0, ms) / 1000;
}
