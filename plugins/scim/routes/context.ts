// What every SCIM route handler gets, and the helpers they share.
import { isDirectoryFilterError, isEngineError, isUuid, type ConnectionView, type ConnectorHub, type DeliveryOutcome, type DirectoryReader, type EngineError, type LifecycleCommandInput } from 'lifecycle-hub/connector';
import { fromHubError, invalidFilter, invalidValue, ScimError } from '../errors/index.ts';
import { LIST_RESPONSE } from '../schemas/urns.ts';
import { parseAttributeList, type Projection } from '../resources/projection.ts';
import type { Json } from '../resources/user.ts';

export interface ScimSettings {
  rateLimit: { requestsPerSecond: number; burst: number };
  maxRequestBytes: number;
  maxResults: number;
}

export interface ScimRequest {
  hub: ConnectorHub;
  connection: ConnectionView;
  /** What the connection holds (hub.directory(connection)). */
  directory: DirectoryReader;
  settings: ScimSettings;
  /** This connection's SCIM base URL (what the IdP was given). */
  baseUrl: string;
  method: string;
  request: Request;
  query: URLSearchParams;
  /** Reads the JSON body (size-limited). */
  body(): Promise<unknown>;
}

export interface ScimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}


/** Applies commands through the lifecycle engine; engine errors become SCIM errors. */
export async function applyCommands(req: ScimRequest, commands: LifecycleCommandInput[], map?: (error: EngineError) => ScimError | undefined): Promise<DeliveryOutcome> {
  try {
    return await req.hub.apply(req.connection, commands);
  } catch (error) {
    if (isEngineError(error)) throw map?.(error) ?? fromHubError(error);
    throw error;
  }
}

/** Runs a directory read; a filter the hub cannot run is the request's 400. */
export async function readDirectory<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isDirectoryFilterError(error)) throw invalidFilter(error.message);
    throw error;
  }
}

/** The version an If-Match header asks for: a number, "*" (any), or undefined (no header). */
export function ifMatchVersion(req: ScimRequest): number | '*' | undefined {
  const header = req.request.headers.get('if-match');
  if (!header) return undefined;
  if (header.trim() === '*') return '*';
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header.trim());
  if (!match) throw new ScimError(412, undefined, `If-Match ${header} is not a version this server issued (expected W/"<n>")`);
  return Number(match[1]);
}

export function checkVersion(expected: number | '*' | undefined, actual: number) {
  if (expected !== undefined && expected !== '*' && expected !== actual) {
    throw new ScimError(412, undefined, `the resource is at version W/"${actual}", not W/"${expected}": read it again and retry`);
  }
}

export interface ListParams extends Projection {
  filter?: string;
  startIndex: number;
  count: number;
}

function intParam(name: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isInteger(n)) throw invalidValue(`${name} must be an integer`);
  // Beyond 2^53 a number is no longer exact, and past 2^63 the database's OFFSET refuses it (a 500).
  if (!Number.isSafeInteger(n)) throw invalidValue(`${name} must be an integer below ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

/** startIndex / count / filter / attributes from a query string or a SearchRequest body (RFC 7644 §3.4.3). */
export function listParams(req: ScimRequest, source: URLSearchParams | Json): ListParams {
  const get = (name: string): unknown => {
    if (source instanceof URLSearchParams) {
      for (const [k, v] of source) if (k.toLowerCase() === name.toLowerCase()) return v;
      return undefined;
    }
    const key = Object.keys(source).find((k) => k.toLowerCase() === name.toLowerCase());
    return key ? source[key] : undefined;
  };
  const list = (name: string) => {
    const value = get(name);
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
    return parseAttributeList(typeof value === 'string' ? value : undefined);
  };
  const filter = get('filter');
  if (filter !== undefined && typeof filter !== 'string') throw invalidValue('filter must be a string');
  const startIndex = Math.max(1, intParam('startIndex', get('startIndex')) ?? 1);
  const count = Math.min(req.settings.maxResults, Math.max(0, intParam('count', get('count')) ?? req.settings.maxResults));
  return { filter: filter?.trim() || undefined, startIndex, count, attributes: list('attributes'), excludedAttributes: list('excludedAttributes') };
}

export function listResponse(resources: Json[], totalResults: number, startIndex: number): ScimResponse {
  return { status: 200, body: { schemas: [LIST_RESPONSE], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources } };
}

export const resourceHeaders = (resource: Json): Record<string, string> => {
  const meta = resource.meta as { version?: string; location?: string } | undefined;
  return meta?.version ? { ETag: meta.version } : {};
};
