// The SCIM 2.0 connector: the endpoints Okta, Microsoft Entra ID, Google Workspace, OneLogin,
// JumpCloud (and any RFC 7644 client) provision into. See README.md beside this file.
import { defineConnector } from 'lifecycle-hub/connector';
import { BASE_PATH, createScimApp } from './app.ts';
import { scimConfigSchema } from './config.ts';

export const scimConnector = defineConnector({
  id: 'scim',
  displayName: 'SCIM 2.0',
  description: 'Identity providers (Okta, Microsoft Entra ID, Google Workspace, OneLogin, JumpCloud…) push users and groups over SCIM 2.0 with a bearer token the hub issues.',
  configSchema: scimConfigSchema,
  issuesBearerToken: true,
  endpoints: { basePath: BASE_PATH, create: createScimApp },
});

export default scimConnector;
