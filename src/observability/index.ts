export { HubMetrics, outcomeOf, DEPROVISION_EVENT_TYPES, METRIC_PREFIX } from './metrics.ts';
export { checkReadiness, type Readiness } from './readiness.ts';
export { observabilityRoutes, observeRequests, requestIds } from './http.ts';
