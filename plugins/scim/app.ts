// The SCIM service provider: one Hono app mounted at /scim/v2, serving every SCIM connection at
// /scim/v2/<connectionId>. Each request: bearer token checked against the connection named in the
// URL (constant time; a token only ever opens its own connection), paused connections answered
// 503, the per-connection rate limit, then the resource routes. Every answer, errors included, is
// SCIM JSON; every authenticated request is recorded in the connection's request log. Refused
// tokens count against the client's address (429 past the hub's limit) and only in metrics.
//
// Routing is done here rather than with Hono routes so that what identity providers actually send
// still resolves: doubled or trailing slashes from a base URL pasted with a "/" at the end,
// OneLogin's bare trailing "?", and resource names in any case.
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { knownError, type ConnectionView, type ConnectorHub } from 'lifecycle-hub/connector';
import { scimConfigSchema } from './config.ts';
import { fromHubError, ScimError } from './errors/index.ts';
import { readJsonBody } from './http/body.ts';
import { detectClient } from './http/client.ts';
import { redactedPath } from './http/log.ts';
import { ConnectionRateLimits } from './http/rate-limit.ts';
import type { ScimRequest, ScimResponse, ScimSettings } from './routes/context.ts';
import { listParams } from './routes/context.ts';
import { getResourceType, getSchema, listResourceTypes, listSchemas, serviceProviderConfig } from './routes/discovery.ts';
import { createGroup, deleteGroup, getGroup, listGroups, patchGroup, replaceGroup, searchGroups } from './routes/groups.ts';
import { createUser, deleteUser, getUser, listUsers, patchUser, replaceUser, searchUsers } from './routes/users.ts';

export const BASE_PATH = '/scim/v2';
const PAUSED_RETRY_AFTER_SECONDS = 60;

const methodNotAllowed = (method: string, allowed: string[]) =>
  new ScimError(405, undefined, `${method} is not supported here (allowed: ${allowed.join(', ')})`, { Allow: allowed.join(', ') });

function unauthorized(detail: string) {
  return new ScimError(401, undefined, detail, { 'WWW-Authenticate': 'Bearer realm="SCIM"' });
}

type Handler = (req: ScimRequest, id?: string) => Promise<ScimResponse> | ScimResponse;

/** Resource routes: [collection, has id] → method → handler. */
export const scimRoutes: Record<string, { collection: Record<string, Handler>; item?: Record<string, Handler>; search?: Handler }> = {
  users: {
    collection: { GET: (req) => listUsers(req, listParams(req, req.query)), POST: createUser },
    item: { GET: (req, id) => getUser(req, id!), PUT: (req, id) => replaceUser(req, id!), PATCH: (req, id) => patchUser(req, id!), DELETE: (req, id) => deleteUser(req, id!) },
    search: searchUsers,
  },
  groups: {
    collection: { GET: (req) => listGroups(req, listParams(req, req.query)), POST: createGroup },
    item: { GET: (req, id) => getGroup(req, id!), PUT: (req, id) => replaceGroup(req, id!), PATCH: (req, id) => patchGroup(req, id!), DELETE: (req, id) => deleteGroup(req, id!) },
    search: searchGroups,
  },
  serviceproviderconfig: { collection: { GET: serviceProviderConfig } },
  resourcetypes: { collection: { GET: listResourceTypes }, item: { GET: (req, id) => getResourceType(req, id!) } },
  schemas: { collection: { GET: listSchemas }, item: { GET: (req, id) => getSchema(req, id!) } },
};

async function dispatch(req: ScimRequest, segments: string[]): Promise<ScimResponse> {
  const [resource, id, ...extra] = segments;
  const route = resource ? scimRoutes[resource.toLowerCase()] : undefined;
  if (!route || extra.length) {
    if (resource?.toLowerCase() === 'bulk') throw new ScimError(501, undefined, 'bulk operations are not supported (see /ServiceProviderConfig)');
    throw new ScimError(404, undefined, `no SCIM endpoint at /${segments.join('/')} (endpoints: /Users, /Groups, /ServiceProviderConfig, /ResourceTypes, /Schemas)`);
  }
  if (id === '.search' && route.search) {
    if (req.method !== 'POST') throw methodNotAllowed(req.method, ['POST']);
    return route.search(req);
  }
  const table = id === undefined ? route.collection : route.item;
  if (!table) throw new ScimError(404, undefined, `no SCIM endpoint at /${segments.join('/')}`);
  const handler = table[req.method];
  if (!handler) throw methodNotAllowed(req.method, Object.keys(table));
  return handler(req, id);
}

function settingsOf(connection: ConnectionView, hub: ConnectorHub): ScimSettings {
  const parsed = scimConfigSchema.safeParse(connection.config ?? {});
  if (!parsed.success) hub.logger.warn({ connectionId: connection.id, issues: parsed.error.issues }, 'SCIM connection config is invalid; using defaults');
  const config = parsed.success ? parsed.data : scimConfigSchema.parse({});
  return { rateLimit: config.rateLimit, maxRequestBytes: config.maxRequestBytes, maxResults: config.maxResults };
}

/** application/scim+json unless the client asked for application/json only (RFC 7644 §3.8). */
function contentTypeFor(accept: string | undefined): string {
  if (accept && !/application\/scim\+json|\*\/\*|application\/\*/i.test(accept) && /application\/json/i.test(accept)) return 'application/json; charset=utf-8';
  return 'application/scim+json; charset=utf-8';
}

export function createScimApp(hub: ConnectorHub): Hono {
  const app = new Hono();
  const limits = new ConnectionRateLimits();

  async function authenticate(c: Context, connectionId: string): Promise<ConnectionView> {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized('send the connection\'s bearer token: "Authorization: Bearer <token>"');
    const connection = await hub.authenticate(connectionId, match[1]!);
    // One answer for an unknown connection and a wrong token: nothing to learn from trying.
    if (!connection || connection.provider !== 'scim') throw unauthorized('the bearer token is not valid for this SCIM base URL (was it rotated? paste the current token into the identity provider)');
    return connection;
  }

  async function handle(c: Context): Promise<Response> {
    const started = performance.now();
    const url = new URL(c.req.url);
    const connectionId = c.req.param('connectionId') ?? '';
    const prefix = `${BASE_PATH}/${connectionId}`;
    const rest = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    const segments = rest.split('/').filter(Boolean).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    const method = c.req.method.toUpperCase();
    const requestId = (c.get('requestId' as never) as string | undefined) ?? randomUUID();
    const client = detectClient(c.req.header('user-agent'));

    let connection: ConnectionView | null = null;
    let response: ScimResponse;
    let failure: string | undefined;
    try {
      connection = await authenticate(c, connectionId);
      if (connection.status === 'PAUSED') {
        throw new ScimError(503, undefined, 'this connection is paused in Lifecycle Hub; changes are accepted again once an administrator resumes it', {
          'Retry-After': String(PAUSED_RETRY_AFTER_SECONDS),
        });
      }
      const settings = settingsOf(connection, hub);
      const wait = await limits.take(connection.id, settings.rateLimit);
      if (wait !== null) throw new ScimError(429, undefined, `too many requests for this connection; retry after ${wait} s`, { 'Retry-After': String(wait) });
      const req: ScimRequest = {
        hub,
        connection,
        directory: hub.directory(connection),
        settings,
        baseUrl: `${hub.publicUrl}${prefix}`,
        method,
        request: c.req.raw,
        query: url.searchParams,
        body: () => readJsonBody(c.req.raw, settings.maxRequestBytes),
      };
      response = await dispatch(req, segments);
    } catch (error) {
      // A database that is down or restarting (connection refused or lost): reads outside the engine
      // (token check, uniqueness lookups, GETs) fail with the driver's error, which knownError() calls
      // UNAVAILABLE (503 + Retry-After): the IdP should retry.
      const known = error instanceof ScimError ? null : knownError(error);
      const scim = error instanceof ScimError ? error : known ? fromHubError(known) : null;
      if (!scim) hub.logger.error({ err: error, requestId, connectionId, method, path: url.pathname }, 'SCIM request failed');
      const answer = scim ?? new ScimError(500, undefined, `the request could not be processed (request id ${requestId}); retrying is safe`);
      response = { status: answer.status, body: answer.body(), headers: answer.headers };
      failure = answer.detail;
    }

    const headers = new Headers(response.headers);
    headers.set('Cache-Control', 'no-store');
    headers.set('X-Request-Id', requestId);
    const res =
      response.body === undefined || response.status === 204 || response.status === 304
        ? new Response(null, { status: response.status, headers })
        : (headers.set('Content-Type', contentTypeFor(c.req.header('accept'))), new Response(JSON.stringify(response.body), { status: response.status, headers }));

    const entry = {
      requestId,
      method,
      path: redactedPath(segments, url.searchParams),
      status: response.status,
      durationMs: Math.round(performance.now() - started),
      client,
      error: failure ?? null,
    };
    if (connection) {
      hub.logRequest(connection.id, entry);
      if (response.status < 400) hub.touchConnection(connection.id);
    } else {
      // Anyone can send a wrong token: a refusal is counted (metrics), never written to a customer's log.
      hub.refusedRequest(connectionId, method, response.status);
    }
    return res;
  }

  app.use(
    '*',
    hub.throttleAuthFailures(
      (status) => status === 401,
      (wait) => {
        const error = new ScimError(429, undefined, `too many requests with a wrong or missing token from this address; retry after ${wait} s`);
        return new Response(JSON.stringify(error.body()), { status: 429, headers: { 'Content-Type': 'application/scim+json; charset=utf-8', 'Cache-Control': 'no-store' } });
      },
    ),
  );
  app.all('/:connectionId', handle);
  app.all('/:connectionId/*', handle);
  return app;
}
