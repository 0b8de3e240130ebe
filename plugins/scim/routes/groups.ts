// /Groups: create (members included), read (members unless excluded), list/filter, replace,
// patch, delete. Every membership change is an engine command (addMembers, removeMembers,
// replaceMembers), so roles are recomputed in the same commit.
import { v7 as uuidv7 } from 'uuid';
import { canonicalJson, isUuid, type EngineError, type GroupRecord, type LifecycleCommandInput } from 'lifecycle-hub/connector';
import { invalidValue, notFound, ScimError } from '../errors/index.ts';
import { parseFilter, toDirectoryFilter } from '../filter/index.ts';
import { applyPatch, planGroupPatch, readPatchRequest, type MemberChange } from '../patch/index.ts';
import { normalizeGroup, toScimGroup, type GroupRow, type MemberRow } from '../resources/group.ts';
import { project, wantsAttribute, type Projection } from '../resources/projection.ts';
import { isObject, type Json } from '../resources/user.ts';
import { applyCommands, checkVersion, ifMatchVersion, listParams, listResponse, readDirectory, resourceHeaders, type ListParams, type ScimRequest, type ScimResponse } from './context.ts';

const readGroup = (req: ScimRequest, id: string): Promise<GroupRow | null> => req.directory.getGroup(id);

/** Members as the IdP sees them: every membership it created and has not removed (suspended ones too). */
const readMembers = (req: ScimRequest, groupIds: string[]): Promise<Map<string, MemberRow[]>> => req.directory.groupMembers(groupIds);

function projectionOf(req: ScimRequest): Projection {
  const p = listParams(req, req.query);
  return { attributes: p.attributes, excludedAttributes: p.excludedAttributes };
}

async function respond(req: ScimRequest, row: GroupRow, status: number, members?: MemberRow[]): Promise<ScimResponse> {
  const projection = projectionOf(req);
  const list = members ?? (wantsAttribute('Group', projection, 'members') ? (await readMembers(req, [row.id])).get(row.id) : undefined);
  const full = toScimGroup(row, list, req.baseUrl);
  return {
    status,
    body: project('Group', full, projection),
    headers: { ...resourceHeaders(full), ...(status === 201 ? { Location: (full.meta as Json).location as string } : {}) },
  };
}

const rowOf = (group: GroupRecord): GroupRow => group;

/** Users named as members must be users of this connection (ids this server issued). */
function memberRefs(ids: string[], forRemoval: boolean) {
  const refs: Array<{ userId: string }> = [];
  for (const id of new Set(ids)) {
    if (isUuid(id)) refs.push({ userId: id });
    else if (!forRemoval) throw invalidValue(`member ${id} is not a user of this connection (use the id returned when the user was created)`);
  }
  return refs;
}

function memberCommand(groupId: string, change: MemberChange): LifecycleCommandInput {
  return { type: change.type, group: { groupId }, users: memberRefs(change.ids, change.type === 'removeMembers') };
}

/** A member id the engine could not find is the request's fault (400), the group's absence a 404. */
function mapMemberErrors(groupId: string) {
  return (error: EngineError): ScimError | undefined => {
    if (error.code !== 'NOT_FOUND') return undefined;
    if (/^user /.test(error.message)) return invalidValue(`${error.message.replace(/^user /, 'member ')}: only users of this connection can be members`);
    return notFound('Group', groupId);
  };
}

export async function getGroup(req: ScimRequest, id: string): Promise<ScimResponse> {
  const row = await readGroup(req, id);
  if (!row) throw notFound('Group', id);
  const etag = `W/"${row.version}"`;
  if (req.request.headers.get('if-none-match') === etag) return { status: 304, headers: { ETag: etag } };
  return respond(req, row, 200);
}

export async function listGroups(req: ScimRequest, params: ListParams): Promise<ScimResponse> {
  const filter = params.filter ? toDirectoryFilter('Group', parseFilter(params.filter)) : undefined;
  const { resources: rows, totalResults } = await readDirectory(() => req.directory.listGroups({ filter, startIndex: params.startIndex, count: params.count }));
  const members = wantsAttribute('Group', params, 'members') ? await readMembers(req, rows.map((r) => r.id)) : undefined;
  return listResponse(rows.map((row) => project('Group', toScimGroup(row, members?.get(row.id), req.baseUrl), params)), totalResults, params.startIndex);
}

export async function createGroup(req: ScimRequest): Promise<ScimResponse> {
  const group = normalizeGroup(await req.body());
  const id = uuidv7();
  const commands: LifecycleCommandInput[] = [
    { type: 'upsertGroup', sourceId: id, id, displayName: group.displayName, externalId: group.externalId, sourceData: group.resource, ifExists: 'fail', uniqueName: true },
  ];
  // Members sent with the group (JumpCloud does) are applied in the same commit.
  if (group.members?.length) commands.push(memberCommand(id, { type: 'addMembers', ids: group.members }));
  const outcome = await applyCommands(req, commands, mapMemberErrors(id));
  const record = outcome.results[0]!.group!;
  const members = outcome.status === 'dry_run' || !group.members?.length ? [] : undefined;
  return respond(req, rowOf(record), 201, members);
}

export async function replaceGroup(req: ScimRequest, id: string): Promise<ScimResponse> {
  if (!isUuid(id)) throw notFound('Group', id);
  const expected = ifMatchVersion(req);
  const group = normalizeGroup(await req.body());
  const outcome = await applyCommands(
    req,
    [
      {
        type: 'upsertGroup',
        sourceId: id,
        displayName: group.displayName,
        externalId: group.externalId,
        sourceData: group.resource,
        ifAbsent: 'fail',
        uniqueName: true,
        ...(typeof expected === 'number' ? { expectedVersion: expected } : {}),
      },
      // PUT replaces the whole resource: members not listed are removed (RFC 7644 §3.5.1).
      memberCommand(id, { type: 'replaceMembers', ids: group.members ?? [] }),
    ],
    mapMemberErrors(id),
  );
  // Test mode: answer with the members as they would be.
  const members = outcome.status === 'dry_run' ? (group.members ?? []).map((value) => ({ groupId: id, value, display: null })) : undefined;
  return respond(req, rowOf(outcome.results[0]!.group!), 200, members);
}

const PATCH_ATTEMPTS = 6;

export async function patchGroup(req: ScimRequest, id: string): Promise<ScimResponse> {
  if (!isUuid(id)) throw notFound('Group', id);
  const plan = planGroupPatch(readPatchRequest(await req.body()));
  const expected = ifMatchVersion(req);
  const members = plan.memberChanges.map((change) => memberCommand(id, change));
  for (let attempt = 1; ; attempt++) {
    let attributes: LifecycleCommandInput | null = null;
    if (plan.attributeOperations.length || expected !== undefined) {
      // displayName / externalId / custom attributes: read, apply, write with the version read.
      const row = await readGroup(req, id);
      if (!row) throw notFound('Group', id);
      checkVersion(expected, row.version);
      if (plan.attributeOperations.length) {
        const { displayName: _name, externalId: _externalId, ...rest } = isObject(row.sourceData) ? row.sourceData : {};
        const base: Json = { ...rest, displayName: row.displayName, ...(row.externalId ? { externalId: row.externalId } : {}) };
        const next = normalizeGroup(applyPatch('Group', base, plan.attributeOperations));
        if (canonicalJson(next.resource) !== canonicalJson(normalizeGroup(base).resource)) {
          attributes = { type: 'upsertGroup', sourceId: id, displayName: next.displayName, externalId: next.externalId, sourceData: next.resource, ifAbsent: 'fail', expectedVersion: row.version, uniqueName: true };
        }
      }
    }
    const commands = attributes ? [attributes, ...members] : members;
    try {
      // One delivery: the operations are applied in order, all or none.
      if (commands.length) await applyCommands(req, commands, mapMemberErrors(id));
      return await patchedGroupResponse(req, id);
    } catch (error) {
      if (error instanceof ScimError && error.status === 412 && expected === undefined && attempt < PATCH_ATTEMPTS) {
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        continue;
      }
      throw error;
    }
  }
}

/**
 * 204 No Content (RFC 7644 §3.5.2 allows it; Okta's and Microsoft's documentation accept it), so a
 * membership change never pays for listing a large group. A client that asks for attributes
 * (`?attributes=…` / `?excludedAttributes=members`) gets 200 with the resource.
 */
async function patchedGroupResponse(req: ScimRequest, id: string): Promise<ScimResponse> {
  const projection = projectionOf(req);
  if (!projection.attributes && !projection.excludedAttributes) return { status: 204 };
  const row = await readGroup(req, id);
  if (!row) throw notFound('Group', id);
  return respond(req, row, 200);
}

export async function deleteGroup(req: ScimRequest, id: string): Promise<ScimResponse> {
  if (!isUuid(id)) throw notFound('Group', id);
  const expected = ifMatchVersion(req);
  if (typeof expected === 'number') {
    const row = await readGroup(req, id);
    if (!row) throw notFound('Group', id);
    checkVersion(expected, row.version);
  }
  const outcome = await applyCommands(req, [{ type: 'deleteGroup', group: { groupId: id } }], (e) => (e.code === 'NOT_FOUND' ? notFound('Group', id) : undefined));
  const status = outcome.results[0]?.status;
  if (status === 'noop' || status === 'stale') throw notFound('Group', id);
  return { status: 204 };
}

export async function searchGroups(req: ScimRequest): Promise<ScimResponse> {
  const body = await req.body();
  if (!isObject(body)) throw new ScimError(400, 'invalidSyntax', 'a search must be a SearchRequest object');
  return listGroups(req, listParams(req, body));
}
