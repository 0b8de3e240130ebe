// The HTTP side of observability: request ids, one log line and two metrics per request, and the
// /healthz, /readyz and /metrics endpoints.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { requestId } from 'hono/request-id';
import { routePath } from 'hono/route';
import type { Hub } from '../hub/hub.ts';
import { checkReadiness } from './readiness.ts';

/**
 * Request ids: an incoming X-Request-Id is kept when it is 1–128 of [A-Za-z0-9_-=] (hono's check:
 * nothing that could forge a log line or a header), otherwise a UUID is generated. Echoed on the
 * response, on every log line of the request, and in connection request logs.
 */
export const requestIds = (): MiddlewareHandler => requestId({ headerName: 'X-Request-Id', limitLength: 128 });

/** Probes and scrapes arrive every few seconds: logged at debug, not info. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** One JSON log line and the http_* metrics per request, labelled by route pattern (no ids). */
export function observeRequests(hub: Hub): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    let failed = false;
    try {
      await next();
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A handler that returns its own Response (yoga) drops headers set before: echo the id again.
      const id = c.get('requestId' as never) as string;
      if (!failed && !c.res.headers.has('X-Request-Id')) {
        try {
          c.res.headers.set('X-Request-Id', id);
        } catch {
          c.res = new Response(c.res.body, c.res);
          c.res.headers.set('X-Request-Id', id);
        }
      }
      const status = failed ? 500 : c.res.status;
      const route = routeOf(c);
      const ms = performance.now() - started;
      hub.metrics.http(c.req.method, route, status, ms / 1000);
      const line = { requestId: id, method: c.req.method, route, status, ms: Math.round(ms * 10) / 10 };
      if (QUIET_ROUTES.has(route) && status < 500) hub.logger.debug(line, 'request');
      else hub.logger.info(line, 'request');
    }
  };
}

/** The matched route pattern ('/webhooks/:connectionId', '/scim/v2/:connectionId/*'), or "unmatched". */
function routeOf(c: Context): string {
  const path = routePath(c, -1);
  return !path || path === '*' || path === '/*' ? 'unmatched' : path;
}

export function observabilityRoutes(app: Hono, hub: Hub) {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const readiness = await checkReadiness(hub);
    c.header('Cache-Control', 'no-store');
    const degraded = readiness.degraded.length ? { degraded: readiness.degraded } : {};
    if (readiness.ready) return c.json({ status: degraded.degraded ? 'degraded' : 'ready', ...degraded, checks: readiness.checks });
    c.header('Retry-After', '5');
    return c.json({ status: 'unready', down: readiness.down, ...degraded, checks: readiness.checks }, 503);
  });

  // METRICS_TOKEN: hono's bearer-auth (it compares in constant time); open when unset.
  const token = hub.config.metricsToken;
  if (token) {
    app.use('/metrics', bearerAuth({
      token,
      realm: 'metrics',
      noAuthenticationHeader: { message: unauthorizedMetrics },
      invalidAuthenticationHeader: { message: unauthorizedMetrics },
      invalidToken: { message: unauthorizedMetrics },
    }));
  }
  app.get('/metrics', async (c) => {
    const { contentType, body } = await hub.metrics.render();
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  });
}

const unauthorizedMetrics = { error: 'unauthorized', message: 'send the METRICS_TOKEN of this server: Authorization: Bearer <token>' };
