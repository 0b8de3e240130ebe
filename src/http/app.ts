import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { loadPushConnection, onConnectionChanged } from '../tenancy/connections.ts';
import { recordHealthSql, summarize, type HealthRow } from '../tenancy/connection-lifecycle.ts';
import { digestsEqual, hashSecret } from '../secrets/index.ts';
import type { ConnectionView, ConnectorHub } from '../connectors/contract.ts';
import { directoryReader } from '../connectors/directory/reads.ts';
import { throttledTouch } from '../storage/sql.ts';
import type { Hub } from '../hub/hub.ts';
import type { Yoga } from '../graphql/yoga.ts';
import { requestError } from '../graphql/plugins/use-request-errors.ts';
import { observabilityRoutes, observeRequests, requestIds } from '../observability/http.ts';
import { auditRoutes } from './audit.ts';
import { authFailureGuard } from './auth-failures.ts';
import { graphqlCors } from './cors.ts';
import { closeWhenBodyUnread } from './unread-body.ts';
import { sessionCookiesOf, sessionCookieValue } from './session-cookies.ts';
import { ApiKeyAuthenticator } from '../tenancy/principal.ts';
import { uiRoutes } from './ui.ts';
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
 * How long a checked connection (its active tokens, status and settings) is reused for push requests.
 * Changes made in this process (rotateConnectionSecret, pause, settings) drop it at once; another
 * instance's change is seen within this delay, except what must stop at once: a revoked token or a
 * deleted connection is told to every instance over the credential-revocation channel (kinds
 * "scim_token" and "connection"), which drops the entry before the revoking mutation returns here and
 * as soon as the message arrives elsewhere (the TTL bounds a lost message). A token that matches no
 * cached one is always checked against the database before being refused, so a new token works at once.
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

type PushConnection = NonNullable<Awaited<ReturnType<typeof loadPushConnection>>>;

function createConnectorHub(hub: Hub): ConnectorHub {
  const checked = new Map<string, { view: PushConnection; at: number }>();
  // Bumped by every invalidation: a lookup that started before one does not cache what it read.
  let generation = 0;
  const forget = (connectionId: string) => {
    generation++;
    checked.delete(connectionId);
  };
  hub.onClose(hub.lifecycle.onTransition(forget));
  hub.onClose(hub.events.bus.onCredentialRevoked((revoked) => {
    if (revoked.kind === 'connection') forget(revoked.id);
    if (revoked.kind !== 'scim_token') return;
    generation++;
    for (const [connectionId, entry] of checked) if (entry.view.tokens.some((t) => t.id === revoked.id)) checked.delete(connectionId);
  }));
  // Activations (or recoveries) asked for and not finished: one per connection, not one per request.
  const hearing = new Set<string>();
  // Per connection: when this instance last wrote a success-only health update (failures are always written).
  const healthWritten = new Map<string, number>();
  /** lastUsedAt at most once a minute per token, off the request path (as api_key.last_used_at). */
  const touchToken = throttledTouch(hub.db.sql, 'UPDATE scim_token SET last_used_at = now() WHERE id = $1', 60_000);
  const touchLastSynced = throttledTouch(hub.db.sql, 'UPDATE directory_connection SET last_synced_at = now() WHERE id = $1', TOUCH_INTERVAL_MS,
    (error) => hub.logger.warn({ err: error }, 'could not update a connection\'s lastSyncedAt'));
  // Connections seen by authenticate (their token right or not): only these get metric labels.
  const providers = new Map<string, string>();
  // The views authenticate() handed out: directory reads open only a connection whose token was checked.
  const authenticated = new WeakSet<ConnectionView>();
  hub.onClose(onConnectionChanged(forget));
  let pending: Array<Record<string, unknown> & { connectionId: string; at: Date; status: number; error: string | null; counted: boolean }> = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = async () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    const log = JSON.stringify(batch.map(({ counted: _c, ...entry }, ord) => ({ ...entry, ord })));
    // Health rides on the same statement: failures always, successes when they reset a failure
    // count or at most every TOUCH_INTERVAL_MS (lastSuccessAt).
    const now = Date.now();
    const summaries = summarize(batch.filter((e) => e.counted));
    const health = [...summaries.values()].filter((h) => {
      if (h.trailingFailures > 0 || !h.succeeded) return true;
      const cached = checked.get(h.connectionId)?.view;
      if ((cached?.recentFailures ?? 0) > 0 || cached?.status === 'FAILING' || now - (healthWritten.get(h.connectionId) ?? 0) >= TOUCH_INTERVAL_MS) {
        healthWritten.set(h.connectionId, now);
        return true;
      }
      return false;
    });
    try {
      if (!health.length) {
        await hub.db.sql.query(insertRequestLogSql, [log]);
        return;
      }
      const rows = await hub.db.sql.query<HealthRow>(`WITH log AS (${insertRequestLogSql}) ${recordHealthSql('$2')}`, [log, JSON.stringify(health)]);
      for (const row of rows) {
        const cached = checked.get(row.id);
        if (cached) cached.view.recentFailures = row.recentFailures;
      }
      await hub.lifecycle.afterHealth(rows, summaries);
    } catch (error) {
      hub.logger.warn({ err: error, entries: batch.length }, 'could not record connection requests');
    }
  };
  hub.onClose(flush);
  return {
    get publicUrl() {
      return hub.publicUrl;
    },
    logger: hub.logger,
    async authenticate(connectionId, bearerToken) {
      const presented = hashSecret(bearerToken);
      // Every token is compared (at most two), in constant time; an expired one no longer opens.
      const matching = (view: PushConnection, now: number) =>
        view.tokens.filter((t) => digestsEqual(presented, t.hash)).find((t) => !t.expiresAt || t.expiresAt.getTime() > now);
      let entry = checked.get(connectionId);
      if (!entry || Date.now() - entry.at > CONNECTION_CACHE_MS || !matching(entry.view, Date.now())) {
        const before = generation;
        const loaded = await loadPushConnection({ sql: hub.db.sql, box: hub.box }, connectionId);
        if (!loaded) {
          checked.delete(connectionId);
          return null;
        }
        entry = { view: loaded, at: Date.now() };
        if (before === generation) checked.set(connectionId, entry);
        providers.set(connectionId, loaded.provider);
      }
      const now = Date.now();
      const token = matching(entry.view, now);
      if (!token) {
        hub.lifecycle.rejectedCredentials(connectionId);
        return null;
      }
      touchToken(token.id, now);
      const { tokens: _t, recentFailures: _f, ...view } = entry.view;
      // The first authenticated request activates the connection (a STALE one recovers): asked for
      // only when the cached status says so. Awaited (heardFrom never throws), as the webhook route
      // does: connection.activated commits before this request's own changes, so the stream reads
      // "activated, then provisioned" and a client that got the answer finds the connection ACTIVE.
      // Requests arriving meanwhile do not wait for it (the activation is already on its way).
      if ((view.status === 'AWAITING_FIRST_REQUEST' || view.status === 'STALE') && !hearing.has(connectionId)) {
        hearing.add(connectionId);
        try {
          await hub.lifecycle.heardFrom(view.organizationId, connectionId, view.status);
        } finally {
          hearing.delete(connectionId);
          // Reloaded afterwards whoever won (another instance may have): the cached status is then current.
          forget(connectionId);
        }
      }
      authenticated.add(view);
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
    directory(connection) {
      if (!authenticated.has(connection)) throw new Error('hub.directory(connection) takes the connection hub.authenticate() returned');
      return directoryReader(hub.db.sql, connection.id);
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
      // A paused connection's 503s are the admin's doing, not a failure of the source.
      const counted = checked.get(connectionId)?.view.status !== 'PAUSED';
      pending.push({
        counted, connectionId, at: new Date(), requestId: entry.requestId, method: entry.method, path: entry.path.slice(0, 1000), status: entry.status,
        durationMs: entry.durationMs, client: entry.client ?? null, error: entry.error?.slice(0, 2000) ?? null,
      });
      if (pending.length >= LOG_BATCH_MAX) void flush();
      else timer ??= setTimeout(() => void flush(), LOG_FLUSH_MS);
    },
    touchConnection(connectionId) {
      touchLastSynced(connectionId);
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

  // CORS first, so a refusal below (429) still carries the allow-list's headers.
  app.use('/graphql', graphqlCors(hub.config.corsAllowedOrigins));

  // Refused credentials are counted per client address; past the limit, 429 (src/http/auth-failures.ts).
  const authFailures = authFailureGuard(hub);
  const throttled = (what: string, wait: number) => `too many failed ${what} from this address; retry after ${wait} s`;
  // A browser's session cookie counts as its credential here: a console or portal signed in keeps
  // working from an address someone else is failing from, as a recently used key does.
  const graphqlCredential = (c: Context) =>
    ApiKeyAuthenticator.bearer(c.req.header('authorization')) ?? sessionCookieValue(sessionCookiesOf(c.req.header('cookie'), hub.publicUrl)) ?? null;
  app.use('/graphql', authFailures.middleware('graphql', (status) => status === 401, (c, wait) =>
    c.json({ errors: [{ message: throttled('authentications', wait), extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: wait } }] }, 429), graphqlCredential));
  // A URL naming no connection counts too: connection ids are probed as well as signatures.
  app.use('/webhooks/:connectionId', authFailures.middleware('webhook', (status) => status === 401 || status === 404, (c, wait) =>
    c.json({ error: 'rate_limited', message: throttled('deliveries (bad signatures or unknown connections)', wait) }, 429)));

  app.on(['GET', 'POST', 'OPTIONS'], '/graphql', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: graphqlTooLarge }), async (c) => {
    // Browser sign-in and sign-out set cookies from their resolvers (src/graphql/types/browser-session.ts).
    const setCookies: string[] = [];
    const response = await yoga.fetch(c.req.raw, { requestId: c.get('requestId'), setCookies });
    for (const cookie of setCookies) response.headers.append('Set-Cookie', cookie);
    return response;
  });

  app.route('/audit', auditRoutes(hub));

  // The console (/console), the setup portal (/setup) and their assets (/ui/assets), from dist/ui.
  app.route('/', uiRoutes({ setupFrameAncestors: hub.config.setupFrameAncestors }));

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
    // A middleware's deliberate refusal (hono's bearer-auth on /metrics) carries its own answer.
    if (error instanceof HTTPException) return error.getResponse();
    hub.logger.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  return app;
}
