// /Users: create, read, list/filter, replace, patch, delete.
//
// Query cost per request, the hub's own authentication aside: POST and PUT go straight to the
// engine (no pre-read: a taken userName or externalId comes back as the engine's CONFLICT → 409,
// a missing id as NOT_FOUND → 404); GET by id and the `userName eq` lookup every IdP makes before
// creating are one indexed query each; PATCH reads the user once, applies the operations in
// memory, and writes once with the version it read (retried when another write got there first).
import { v7 as uuidv7 } from 'uuid';
import type { LifecycleCommandInput } from '../../../src/engine/commands.ts';
import { canonicalJson } from '../../../src/engine/audit-chain.ts';
import type { UserRecord } from '../../../src/engine/types.ts';
import { notFound, ScimError } from '../errors/index.ts';
import { filterToSql, parseFilter, SqlParams } from '../filter/index.ts';
import { applyPatch, readPatchRequest } from '../patch/index.ts';
import { project, type Projection } from '../resources/projection.ts';
import { normalizeUser, toScimUser, USER_COLUMNS, type Json, type UserRow } from '../resources/user.ts';
import { applyCommands, checkVersion, ifMatchVersion, listParams, listResponse, resourceHeaders, UUID, type ListParams, type ScimRequest, type ScimResponse } from './context.ts';

const LIVE = `u.source_deleted_at IS NULL AND u.state <> 'DELETED'`;

async function readUser(req: ScimRequest, id: string): Promise<UserRow | undefined> {
  if (!UUID.test(id)) return undefined;
  const [row] = await req.hub.read<UserRow>(`SELECT ${USER_COLUMNS} FROM directory_user u WHERE u.id = $1 AND u.connection_id = $2 AND ${LIVE}`, [id, req.connection.id]);
  return row;
}

const rowOf = (user: UserRecord): UserRow => user;

function single(req: ScimRequest, row: UserRow, status: number, projection: Projection = {}): ScimResponse {
  const full = toScimUser(row, req.baseUrl);
  const headers = { ...resourceHeaders(full), ...(status === 201 ? { Location: (full.meta as Json).location as string } : {}) };
  return { status, body: project('User', full, projection), headers };
}

function projectionOf(req: ScimRequest): Projection {
  const p = listParams(req, req.query);
  return { attributes: p.attributes, excludedAttributes: p.excludedAttributes };
}

export async function getUser(req: ScimRequest, id: string): Promise<ScimResponse> {
  const row = await readUser(req, id);
  if (!row) throw notFound('User', id);
  const etag = `W/"${row.version}"`;
  if (req.request.headers.get('if-none-match') === etag) return { status: 304, headers: { ETag: etag } };
  return single(req, row, 200, projectionOf(req));
}

export async function listUsers(req: ScimRequest, params: ListParams): Promise<ScimResponse> {
  const sql = new SqlParams([req.connection.id]);
  const where = `u.connection_id = $1 AND ${LIVE}${params.filter ? ` AND ${filterToSql('User', parseFilter(params.filter), sql)}` : ''}`;
  if (params.count === 0) {
    const [row] = await req.hub.read<{ total: number }>(`SELECT count(*)::int AS total FROM directory_user u WHERE ${where}`, sql.values);
    return listResponse([], row?.total ?? 0, params.startIndex);
  }
  const limit = sql.add(params.count);
  const offset = sql.add(params.startIndex - 1);
  const rows = await req.hub.read<UserRow & { total: number }>(
    `SELECT ${USER_COLUMNS}, count(*) OVER ()::int AS total FROM directory_user u WHERE ${where} ORDER BY u.id LIMIT ${limit} OFFSET ${offset}`,
    sql.values,
  );
  let total = rows[0]?.total ?? 0;
  if (!rows.length && params.startIndex > 1) {
    const [row] = await req.hub.read<{ total: number }>(`SELECT count(*)::int AS total FROM directory_user u WHERE ${where}`, sql.values.slice(0, -2));
    total = row?.total ?? 0;
  }
  return listResponse(rows.map((row) => project('User', toScimUser(row, req.baseUrl), params)), total, params.startIndex);
}

export async function createUser(req: ScimRequest): Promise<ScimResponse> {
  const { profile, active } = normalizeUser(await req.body());
  const id = uuidv7(); // the SCIM id is the hub's user id: one id in the IdP's logs, GraphQL and the audit trail
  const outcome = await applyCommands(req, [{ type: 'upsertUser', sourceId: id, id, profile, ...(active !== undefined ? { active } : {}), mode: 'replace', ifExists: 'fail' }]);
  const user = outcome.results[0]?.user;
  if (!user) throw new Error('the engine returned no user for a create');
  return single(req, rowOf(user), 201, projectionOf(req));
}

export async function replaceUser(req: ScimRequest, id: string): Promise<ScimResponse> {
  if (!UUID.test(id)) throw notFound('User', id);
  const expected = ifMatchVersion(req);
  const { profile, active } = normalizeUser(await req.body());
  const command: LifecycleCommandInput = {
    type: 'upsertUser',
    sourceId: id,
    profile,
    ...(active !== undefined ? { active } : {}),
    mode: 'replace',
    ifAbsent: 'fail',
    ...(typeof expected === 'number' ? { expectedVersion: expected } : {}),
  };
  const outcome = await applyCommands(req, [command], (e) => (e.code === 'NOT_FOUND' ? notFound('User', id) : undefined));
  return single(req, rowOf(outcome.results[0]!.user!), 200, projectionOf(req));
}

/** The stored representation a PATCH applies to (what GET serves, without id and meta). */
function patchBase(row: UserRow, baseUrl: string): Json {
  const { id: _id, meta: _meta, schemas: _schemas, ...rest } = toScimUser(row, baseUrl);
  return rest;
}

const PATCH_ATTEMPTS = 6;

/**
 * PATCHes of one user from this instance run one after another: each reads what the previous one
 * wrote instead of losing a version race to it. (Across instances, the version check and retry
 * below keep them correct.)
 */
const patchQueues = new Map<string, Promise<unknown>>();
function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = patchQueues.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.then(() => undefined, () => undefined);
  patchQueues.set(key, settled);
  void settled.then(() => {
    if (patchQueues.get(key) === settled) patchQueues.delete(key);
  });
  return run;
}

const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));

export async function patchUser(req: ScimRequest, id: string): Promise<ScimResponse> {
  const operations = readPatchRequest(await req.body());
  const expected = ifMatchVersion(req);
  return oneAtATime(`${req.connection.id}/${id}`, () => applyUserPatch(req, id, operations, expected));
}

async function applyUserPatch(req: ScimRequest, id: string, operations: ReturnType<typeof readPatchRequest>, expected: number | '*' | undefined): Promise<ScimResponse> {
  for (let attempt = 1; ; attempt++) {
    const row = await readUser(req, id);
    if (!row) throw notFound('User', id);
    checkVersion(expected, row.version);
    const base = patchBase(row, req.baseUrl);
    const patched = applyPatch('User', base, operations);
    const { resource, profile, active } = normalizeUser(patched);
    const unchanged = canonicalJson(resource) === canonicalJson(normalizeUser(base).resource) && (active === undefined || active === row.sourceActive);
    // Okta and Entra re-send what is already so; nothing to write then.
    if (unchanged) return single(req, row, 200, projectionOf(req));
    try {
      const outcome = await applyCommands(req, [
        { type: 'upsertUser', sourceId: row.id, profile, ...(active !== undefined ? { active } : {}), mode: 'replace', ifAbsent: 'fail', expectedVersion: row.version },
      ]);
      return single(req, rowOf(outcome.results[0]!.user!), 200, projectionOf(req));
    } catch (error) {
      // Another write landed between our read and write: read again and re-apply (unless the client pinned a version).
      if (error instanceof ScimError && error.status === 412 && expected === undefined && attempt < PATCH_ATTEMPTS) {
        await backoff(attempt);
        continue;
      }
      if (error instanceof ScimError && error.status === 404) throw notFound('User', id);
      throw error;
    }
  }
}

export async function deleteUser(req: ScimRequest, id: string): Promise<ScimResponse> {
  if (!UUID.test(id)) throw notFound('User', id);
  const expected = ifMatchVersion(req);
  if (typeof expected === 'number') {
    const row = await readUser(req, id);
    if (!row) throw notFound('User', id);
    checkVersion(expected, row.version);
  }
  // The connection's policy decides: SOFT keeps the record DEPROVISIONED, HARD_DELETE erases it.
  const outcome = await applyCommands(req, [{ type: 'deleteUser', user: { userId: id }, reason: 'deleted by the identity provider (SCIM DELETE)' }], (e) =>
    e.code === 'NOT_FOUND' ? notFound('User', id) : undefined,
  );
  const status = outcome.results[0]?.status;
  if (status === 'noop' || status === 'stale') throw notFound('User', id); // already deleted
  return { status: 204 };
}

export async function searchUsers(req: ScimRequest): Promise<ScimResponse> {
  const body = await req.body();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ScimError(400, 'invalidSyntax', 'a search must be a SearchRequest object');
  return listUsers(req, listParams(req, body as Json));
}
