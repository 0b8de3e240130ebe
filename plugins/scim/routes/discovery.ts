// Discovery (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes, /Schemas. Read-only.
import { notFound } from '../errors/index.ts';
import { allSchemas, schemaResource } from '../schemas/definitions.ts';
import { ENTERPRISE_USER, GROUP, RESOURCE_TYPE, SERVICE_PROVIDER_CONFIG, USER } from '../schemas/urns.ts';
import { listResponse, type ScimRequest, type ScimResponse } from './context.ts';

export function serviceProviderConfig(req: ScimRequest): ScimResponse {
  return {
    status: 200,
    body: {
      schemas: [SERVICE_PROVIDER_CONFIG],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 1, maxPayloadSize: req.settings.maxRequestBytes },
      filter: { supported: true, maxResults: req.settings.maxResults },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: true },
      authenticationSchemes: [
        {
          type: 'oauthbearertoken',
          name: 'OAuth Bearer Token',
          description: "The bearer token Lifecycle Hub issued for this connection (shown once by createDirectoryConnection or rotateConnectionSecret), sent as 'Authorization: Bearer <token>'.",
          specUri: 'https://www.rfc-editor.org/info/rfc6750',
          primary: true,
        },
      ],
      meta: { resourceType: 'ServiceProviderConfig', location: `${req.baseUrl}/ServiceProviderConfig` },
    },
  };
}

function resourceTypes(baseUrl: string) {
  return [
    {
      schemas: [RESOURCE_TYPE],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: USER,
      schemaExtensions: [{ schema: ENTERPRISE_USER, required: false }],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: [RESOURCE_TYPE],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: GROUP,
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

export function listResourceTypes(req: ScimRequest): ScimResponse {
  const all = resourceTypes(req.baseUrl);
  return listResponse(all, all.length, 1);
}

export function getResourceType(req: ScimRequest, name: string): ScimResponse {
  const found = resourceTypes(req.baseUrl).find((r) => r.id.toLowerCase() === name.toLowerCase());
  if (!found) throw notFound('ResourceType', name);
  return { status: 200, body: found };
}

export function listSchemas(req: ScimRequest): ScimResponse {
  const all = allSchemas.map((s) => schemaResource(s, req.baseUrl));
  return listResponse(all, all.length, 1);
}

export function getSchema(req: ScimRequest, id: string): ScimResponse {
  const found = allSchemas.find((s) => s.id.toLowerCase() === id.toLowerCase());
  if (!found) throw notFound('Schema', id);
  return { status: 200, body: schemaResource(found, req.baseUrl) };
}
