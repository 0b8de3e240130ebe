import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { loadConnectionView, onConnectionChanged } from '../admin/connections.ts';
import { digestsEqual, hashSecret } from '../secrets/index.ts';
import type { ConnectorHub } from '../connectors/contract.ts';
import type { Hub } from '../hub.ts';
import type { Yoga } from '../graphql/yoga.ts';
import { requestError } from '../graphql/plugins/use-request-errors.ts';
import { observabilityRoutes, observeRequests, requestIds } from '../observability/http.ts';
import { auditRoutes } from './audit.ts';
import { authFailureGuard } from './auth-failures.ts';
import { closeWhenBodyUnread } from './unread-body.ts';
import { handleWebhook } from './webhooks.ts';

/** Bodies above this are refused with 413 before they are read (GraphQL and webhooks). */
export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = (c: { json(body: unknown, status: 413): Response }) =>
  c.json({ error: 'payload_too_large', message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` }, 413);

const graphqlTooLarge = (c: { json(body: unknown, status: 413): Response }) =>
  c.json(requestError('PAYLOAD_TOO_LARGE', `request bodies are limited to ${MAX_BODY_BYTES} bytes: split the operation, or page through large inputs`), 413);

/** lastSyncedAt is written at most this often per connection. */
const TOUCH_INTERVAL_MS = 10_000;

/** Request-log entries are written together, at most this long after the request (one INSERT, not one per request). */
const LOG_FLUSH_MS = 25;
const LOG_BATCH_MAX = 500;

const insertRequestLogSql = `
  INSERT INTO connection_request_log (connection_id, at, request_id, method, path, status, duration_ms, client, error)
  SELECT r."connectionId", r.at, r."requestId", r.method, r.path, r.status, r."durationMs", r.client, r.error
  FROM jsonb_to_recordset($1::jsonb) AS r("connectionId" uuid, at timestamptz, "requestId" text, method text, path text, status int,
    "durationMs" int, client text, error text, ord int)
  WHERE EXISTS (SELECT 1 FROM directory_connection c WHERE c.id = r."connectionId")
  ORDER BY r.ord`;

/**
 * How long a checked connection (its token hash, status and settings) is reused for push requests.
 * Changes made in this process (rotateConnectionSecret, pause, settings) drop it at once; another
 * instance's change is seen within this delay. A token that does not match the cached hash is
 * always checked against the database before being refused, so a rotated-in token works at once.
 * Why: on PGlite every query waits for the engine's transaction in flight, so a per-request token
 * lookup kept requests from reaching the engine together and defeated its group commit.
 */
const CONNECTION_CACHE_MS = 1_000;

// One per hub: each holds a request-log batcher and registers listeners on the hub, so building
// one per webhook delivery piled them up.
const connectorHubs = new WeakMap<Hub, ConnectorHub>();

/** What connector endpoints (SCIM) and the webhook route may use of the hub. */
export function connectorHub(hub: Hub): ConnectorHub {
  let api = connectorHubs.get(hub);
  if (!api) connectorHubs.set(hub, (api = createConnectorHub(hub)));
  return api;
}

function createConnectorHub(hub: Hub): ConnectorHub {
  const touched = new Map<string, number>();
  const checked = new Map<string, { view: Awaited<ReturnType<typeof loadConnectionView>> & object; at: number }>();
  // Connections seen by authenticate (their token right or not): only these get metric labels.
  const providers = new Map<string, string>();
  hub.onClose(onConnectionChanged((connectionId) => checked.delete(connectionId)));
  let pending: Array<Record<string, unknown>> = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = async () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    await hub.db.sql.query(insertRequestLogSql, [JSON.stringify(batch.map((entry, ord) => ({ ...entry, ord })))]).catch((error: unknown) => hub.logger.warn({ err: error, entries: batch.length }, 'could not record connection requests'));
  };
  hub.onClose(flush);
  return {
    get publicUrl() {
      return hub.publicUrl;
    },
    logger: hub.logger,
    async authenticate(connectionId, bearerToken) {
      const presented = hashSecret(bearerToken);
      const matches = (tokenHash: string | null) => tokenHash !== null && digestsEqual(presented, tokenHash);
      let entry = checked.get(connectionId);
      if (!entry || Date.now() - entry.at > CONNECTION_CACHE_MS || !matches(entry.view.tokenHash)) {
        const loaded = await loadConnectionView({ sql: hub.db.sql, box: hub.box }, connectionId);
        if (!loaded) {
          checked.delete(connectionId);
          return null;
        }
        entry = { view: loaded, at: Date.now() };
        checked.set(connectionId, entry);
        providers.set(connectionId, loaded.provider);
      }
      if (!matches(entry.view.tokenHash)) return null;
      const { tokenHash: _t, ...view } = entry.view;
      return view;
    },
    apply(connection, commands, options = {}) {
      return hub.engine.execute({
        connectionId: connection.id,
        deliveryId: options.deliveryId,
        receivedAt: options.receivedAt,
        actor: { type: 'connection', connectionId: connection.id },
        commands,
      });
    },
    async read(text, params) {
      if (!/^\s*(SELECT|WITH)\b/i.test(text) || /\b(INSERT|UPDATE|DELETE|TRUNCATE|ALTER|DROP|CREATE|GRANT)\b/i.test(text.replace(/'[^']*'/g, ''))) {
        throw new Error('connectors may only read');
      }
      return hub.db.sql.query(text, params);
    },
    throttleAuthFailures(failed, answer) {
      return authFailureGuard(hub).middleware('scim', failed, (_c, wait) => answer(wait));
    },
    refusedRequest(connectionId, method, status) {
      // Only connections that exist (seen by authenticate) get a series: ids in URLs are the caller's.
      const provider = providers.get(connectionId);
      if (provider) hub.metrics.connectionRequest('scim', connectionId, provider, method, status);
    },
    logRequest(connectionId, entry) {
      const provider = providers.get(connectionId);
      if (provider) hub.metrics.connectionRequest('scim', connectionId, provider, entry.method, entry.status);
      pending.push({
        connectionId, at: new Date(), requestId: entry.requestId, method: entry.method, path: entry.path.slice(0, 1000), status: entry.status,
        durationMs: entry.durationMs, client: entry.client ?? null, error: entry.error?.slice(0, 2000) ?? null,
      });
      if (pending.length >= LOG_BATCH_MAX) void flush();
      else timer ??= setTimeout(() => void flush(), LOG_FLUSH_MS);
    },
    touchConnection(connectionId) {
      const now = Date.now();
      if (now - (touched.get(connectionId) ?? 0) < TOUCH_INTERVAL_MS) return;
      touched.set(connectionId, now);
      hub.db.sql
        .query('UPDATE directory_connection SET last_synced_at = now() WHERE id = $1', [connectionId])
        .catch((error: unknown) => hub.logger.warn({ err: error }, 'could not update a connection\'s lastSyncedAt'));
    },
  };
}

export function createApp(hub: Hub, yoga: Yoga): Hono {
  const app = new Hono();
  app.use(closeWhenBodyUnread());
  app.use(requestIds());
  app.use(observeRequests(hub));

  // GET /healthz, /readyz, /metrics (src/observability).
  observabilityRoutes(app, hub);

  // Refused credentials are counted per client address; past the limit, 429 (src/http/auth-failures.ts).
  const authFailures = authFailureGuard(hub);
  const throttled = (what: string, wait: number) => `too many failed ${what} from this address; retry after ${wait} s`;
  app.use('/graphql', authFailures.middleware('graphql', (status) => status === 401, (c, wait) =>
    c.json({ errors: [{ message: throttled('authentications', wait), extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: wait } }] }, 429)));
  // A URL naming no connection counts too: connection ids are probed as well as signatures.
  app.use('/webhooks/:connectionId', authFailures.middleware('webhook', (status) => status === 401 || status === 404, (c, wait) =>
    c.json({ error: 'rate_limited', message: throttled('deliveries (bad signatures or unknown connections)', wait) }, 429)));

  app.on(['GET', 'POST', 'OPTIONS'], '/graphql', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: graphqlTooLarge }), (c) =>
    yoga.fetch(c.req.raw, { requestId: c.get('requestId') }),
  );

  app.route('/audit', auditRoutes(hub));

  app.post('/webhooks/:connectionId', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge }), (c) => handleWebhook(hub, c));
  app.on(['GET', 'PUT', 'PATCH', 'DELETE'], '/webhooks/:connectionId', (c) => {
    c.header('Allow', 'POST');
    return c.json({ error: 'method_not_allowed', message: 'webhooks are delivered with POST' }, 405);
  });

  const connectorApi = connectorHub(hub);
  for (const connector of hub.registry.list()) {
    if (connector.endpoints) app.route(connector.endpoints.basePath, connector.endpoints.create(connectorApi));
  }

  app.notFound((c) => c.json({ error: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((error, c) => {
    hub.logger.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  return app;
}
