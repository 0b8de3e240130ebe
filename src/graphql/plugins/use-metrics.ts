// GraphQL metrics: operations by type, name and outcome, their duration, and the subscriptions
// running per transport (graphql-ws, SSE).
//
// Built on @graphql-yoga/plugin-prometheus (envelop's prometheus plugin): it works with our setup —
// HTTP requests and graphql-ws operations both go through yoga's envelop (src/http/server.ts), and
// it takes our per-hub Registry. What it does not give us, added here:
// - bounded labels: the operation name is chosen by the client, so an open label would let any
//   caller create series without end; names are kept for the first MAX_OPERATION_NAMES seen, then
//   reported as "other";
// - no URL label: its graphql_yoga_http_duration labels raw URLs; HTTP timing is measured for
//   every route by src/observability instead, so that metric is off;
// - a gauge of live subscriptions by transport.
import { usePrometheus, createCounter, createHistogram, type FillLabelsFnParams } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import { METRIC_PREFIX, type HubMetrics } from '../../observability/metrics.ts';

export const MAX_OPERATION_NAMES = 200;

const DISABLED = {
  graphql_envelop_deprecated_field: false,
  graphql_envelop_request_time_summary: false,
  graphql_envelop_phase_parse: false,
  graphql_envelop_phase_validate: false,
  graphql_envelop_phase_context: false,
  graphql_envelop_phase_execute: false,
  graphql_envelop_phase_subscribe: false,
  graphql_envelop_schema_change: false,
  graphql_envelop_execute_resolver: false,
  graphql_yoga_http_duration: false,
} as const;

/** Operation names as labels, bounded (see above). */
export function boundedOperationNames(max = MAX_OPERATION_NAMES): (name: string | undefined) => string {
  const seen = new Set<string>();
  return (name) => {
    if (!name || name === 'Anonymous') return 'anonymous';
    if (!/^[_A-Za-z][_0-9A-Za-z]{0,99}$/.test(name)) return 'invalid';
    if (seen.has(name)) return name;
    if (seen.size >= max) return 'other';
    seen.add(name);
    return name;
  };
}

export function useMetrics(metrics: HubMetrics): Plugin {
  const registry = metrics.registry;
  const name = boundedOperationNames();
  const labels = (p: FillLabelsFnParams) => ({ operation_type: p.operationType ?? 'unknown', operation_name: name(p.operationName) });
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(
        usePrometheus({
          registry,
          endpoint: false,
          metrics: {
            ...DISABLED,
            graphql_envelop_request: createCounter({
              registry,
              counter: {
                name: `${METRIC_PREFIX}graphql_operations_total`,
                help: 'GraphQL operations completed (queries and mutations when they finish, subscriptions when they end), by type and name; failures are in graphql_errors_total.',
                labelNames: ['operation_type', 'operation_name'],
              },
              fillLabelsFn: labels,
            }),
            graphql_envelop_request_duration: createHistogram({
              registry,
              histogram: {
                name: `${METRIC_PREFIX}graphql_operation_duration_seconds`,
                help: 'Time to execute a query or mutation (subscriptions live for hours: see graphql_subscriptions_active).',
                labelNames: ['operation_type', 'operation_name'],
                buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
              },
              phases: ['execute'],
              fillLabelsFn: labels,
            }),
            graphql_envelop_error_result: createCounter({
              registry,
              counter: {
                name: `${METRIC_PREFIX}graphql_errors_total`,
                help: 'GraphQL operations that ended with errors, by type, name and phase (parse, validate, context = authentication, execute, subscribe).',
                labelNames: ['operation_type', 'operation_name', 'phase'],
              },
              fillLabelsFn: (p) => ({ ...labels(p), phase: p.errorPhase ?? 'unknown' }),
            }),
          },
        }),
      );
    },
    onSubscribe({ args }) {
      // graphql-ws operations carry the socket in their context (src/http/server.ts); the rest are SSE.
      const transport = 'socket' in (args.contextValue as object) ? 'graphql-ws' : 'sse';
      return {
        onSubscribeResult({ result }) {
          if (!(Symbol.asyncIterator in (result as object))) return;
          metrics.activeSubscriptions.inc({ transport });
          let ended = false;
          return {
            onEnd() {
              if (ended) return;
              ended = true;
              metrics.activeSubscriptions.dec({ transport });
            },
          };
        },
      };
    },
  };
}
