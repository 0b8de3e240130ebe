// Helpers for the SCIM tests: a real hub on 127.0.0.1, SCIM connections created through GraphQL
// exactly as an admin would, and a small SCIM client that talks to it over HTTP.
import { randomBytes } from 'node:crypto';
import { startTestHub, type TestHub } from '../support/server.ts';

export interface ScimConnection {
  organizationId: string;
  connectionId: string;
  baseUrl: string;
  token: string;
  /** A SCIM request with this connection's token (override headers to impersonate an IdP). */
  request(method: string, path: string, options?: { body?: unknown; rawBody?: string; headers?: Record<string, string>; token?: string | null }): Promise<ScimReply>;
}

export interface ScimReply {
  status: number;
  headers: Headers;
  body: any;
}

export async function startScimHub(): Promise<TestHub> {
  return startTestHub();
}

export async function createScimConnection(
  t: TestHub,
  options: { config?: Record<string, unknown>; testMode?: boolean; deprovisionPolicy?: 'SOFT' | 'HARD_DELETE'; organizationId?: string } = {},
): Promise<ScimConnection> {
  let organizationId = options.organizationId;
  if (!organizationId) {
    const slug = `scim-${randomBytes(5).toString('hex')}`;
    const { createOrganization } = await t.gqlOk(`mutation($s: String!) { createOrganization(input: { name: "Acme", slug: $s }) { organization { id } } }`, { s: slug });
    organizationId = createOrganization.organization.id as string;
  }
  const { createDirectoryConnection } = await t.gqlOk(
    `mutation($o: ID!, $c: JSON, $t: Boolean, $p: DeprovisionPolicy) {
       createDirectoryConnection(input: { organizationId: $o, provider: "scim", name: "IdP", config: $c, testMode: $t, deprovisionPolicy: $p }) {
         connection { id scimBaseUrl } secret } }`,
    { o: organizationId, c: options.config ?? null, t: options.testMode ?? null, p: options.deprovisionPolicy ?? null },
  );
  const connectionId = createDirectoryConnection.connection.id as string;
  const baseUrl = createDirectoryConnection.connection.scimBaseUrl as string;
  const token = createDirectoryConnection.secret as string;
  return {
    organizationId,
    connectionId,
    baseUrl,
    token,
    request: (method, path, opts = {}) => scimRequest(baseUrl, method, path, { token, ...opts }),
  };
}

export async function scimRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string>; token?: string | null } = {},
): Promise<ScimReply> {
  const headers: Record<string, string> = { accept: 'application/scim+json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/scim+json';
  }
  Object.assign(headers, options.headers);
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  } catch (error) {
    // A keep-alive socket the server closed just as it was reused (the machine stalled past the
    // server's keep-alive timeout): nothing reached the server; send it again on a new socket.
    if ((error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
    response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

export function user(userName: string, extra: Record<string, unknown> = {}) {
  return {
    schemas: [USER_SCHEMA],
    userName,
    name: { givenName: 'Test', familyName: userName.split('@')[0] },
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}

/** Asserts the SCIM error form (RFC 7644 §3.12) and returns the body. */
export function expectScimError(reply: ScimReply, status: number, scimType?: string) {
  const problems: string[] = [];
  if (reply.status !== status) problems.push(`status ${reply.status}, expected ${status}`);
  const body = reply.body ?? {};
  if (!Array.isArray(body.schemas) || body.schemas[0] !== ERROR_SCHEMA) problems.push('schemas is not [Error]');
  if (body.status !== String(status)) problems.push(`body.status ${JSON.stringify(body.status)}, expected "${status}"`);
  if (scimType !== undefined && body.scimType !== scimType) problems.push(`scimType ${body.scimType}, expected ${scimType}`);
  if (typeof body.detail !== 'string' || !body.detail) problems.push('no detail');
  if (!/application\/(scim\+)?json/.test(reply.headers.get('content-type') ?? '')) problems.push(`content-type ${reply.headers.get('content-type')}`);
  if (problems.length) throw new Error(`not the expected SCIM error: ${problems.join('; ')}\n${JSON.stringify(reply.body)}`);
  return body;
}
