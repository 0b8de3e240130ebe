// /Users: create, read, list/filter, replace, patch, delete.
//
// Query cost per request, the hub's own authentication aside: POST and PUT go straight to the
// engine (no pre-read: a taken userName or externalId comes back as the engine's CONFLICT → 409,
// a missing id as NOT_FOUND → 404); GET by id and the `userName eq` lookup every IdP makes before
// creating are one indexed query each; PATCH reads the user once, applies the operations in
// memory, and writes once with the version it read (retried when another write got there first).
import { v7 as uuidv7 } from 'uuid';
import { backoffSleep, canonicalJson, isUuid, type LifecycleCommandInput, type UserRecord } from 'lifecycle-hub/connector';
import { notFound, ScimError } from '../errors/index.ts';
import { parseFilter, toDirectoryFilter } from '../filter/index.ts';
import { applyPatch, readPatchRequest } from '../patch/index.ts';
import { project, type Projection } from '../resources/projection.ts';
import { normalizeUser, toScimUser, type Json, type UserRow } from '../resources/user.ts';
import { applyCommands, checkVersion, ifMatchVersion, listParams, listResponse, readDirectory, resourceHeaders, type ListParams, type ScimRequest, type ScimResponse } from './context.ts';

const readUser = (req: ScimRequest, id: string): Promise<UserRow | null> => req.directory.getUser(id);

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
  const filter = params.filter ? toDirectoryFilter('User', parseFilter(params.filter)) : undefined;
  const page = await readDirectory(() => req.directory.listUsers({ filter, startIndex: params.startIndex, count: params.count }));
  return listResponse(page.resources.map((row) => project('User', toScimUser(row, req.baseUrl), params)), page.totalResults, params.startIndex);
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
  if (!isUuid(id)) throw notFound('User', id);
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

/** A lost version race is retried after a few ms, at random so two racing PATCHes part. */
const VERSION_RACE_RETRY = { baseMs: 10, maxMs: 50, jitter: [0, 1] } as const;

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
        await backoffSleep(attempt, VERSION_RACE_RETRY);
        continue;
      }
      if (error instanceof ScimError && error.status === 404) throw notFound('User', id);
      throw error;
    }
  }
}

export async function deleteUser(req: ScimRequest, id: string): Promise<ScimResponse> {
  if (!isUuid(id)) throw notFound('User', id);
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
