// createDirectoryConnection with each vendor's fixed config keys (clients and scripts rely on
// them): a valid config gives a webhookUrl and never returns a secret; a config that fails
// validation is refused with a GraphQL error naming the field. Runs for every vendor connector
// built into this checkout (Clerk here; WorkOS and Stytch once their connectors are merged).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../../plugins/index.ts';
import { startTestHub, type TestHub } from '../support/server.ts';

interface VendorKeys {
  provider: 'clerk' | 'workos' | 'stytch';
  valid: Record<string, unknown>;
  required: string[];
  optional: string[];
  secrets: string[];
}

const vendors: VendorKeys[] = [
  {
    provider: 'clerk',
    valid: { webhookSigningSecret: 'whsec_Y2xlcmstY29uZmlnLXRlc3Qtc2VjcmV0', secretKey: 'sk_test_config0123456789', apiUrl: 'https://api.clerk.com' },
    required: ['webhookSigningSecret', 'secretKey'],
    optional: ['apiUrl'],
    secrets: ['webhookSigningSecret', 'secretKey'],
  },
  {
    provider: 'workos',
    valid: { webhookSecret: 'workos-webhook-secret-0123456789', apiKey: 'sk_test_config0123456789', apiBaseUrl: 'https://api.workos.com', directoryId: 'directory_01HXYZ', useEventsApi: true },
    required: ['webhookSecret', 'apiKey'],
    optional: ['apiBaseUrl', 'directoryId', 'useEventsApi'],
    secrets: ['webhookSecret', 'apiKey'],
  },
  {
    provider: 'stytch',
    valid: {
      webhookSigningSecret: 'whsec_c3R5dGNoLWNvbmZpZy10ZXN0LXNlY3JldA==', projectId: 'project-test-0123456789', secret: 'secret-test-0123456789',
      stytchOrganizationId: 'organization-test-0123456789', apiBaseUrl: 'https://test.stytch.com',
    },
    required: ['webhookSigningSecret', 'projectId', 'secret', 'stytchOrganizationId'],
    optional: ['apiBaseUrl'],
    secrets: ['webhookSigningSecret', 'secret'],
  },
];

let t: TestHub;
let organizationId: string;
beforeAll(async () => {
  t = await startTestHub();
  const org = await t.gqlOk(`mutation { createOrganization(input: { name: "Config", slug: "config" }) { organization { id } } }`);
  organizationId = org.createOrganization.organization.id;
});
afterAll(async () => {
  await t?.close();
});

const CREATE = `mutation($o: ID!, $p: String!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: "vendor", config: $c }) {
  connection { id provider config secretFields webhookUrl } secret } }`;

for (const vendor of vendors) {
  const built = builtinConnectors.some((c) => c.id === vendor.provider);
  describe.runIf(built)(`${vendor.provider} config`, () => {
    it('accepts the fixed keys, answers a webhookUrl, keeps the secrets encrypted and never returns them', async () => {
      const r = await t.gqlOk(CREATE, { o: organizationId, p: vendor.provider, c: vendor.valid });
      const connection = r.createDirectoryConnection.connection;
      expect(connection.webhookUrl).toBe(`${t.hub.publicUrl}/webhooks/${connection.id}`);
      expect(new Set(connection.secretFields)).toEqual(new Set(vendor.secrets));
      expect(Object.keys(connection.config).sort()).toEqual(Object.keys(vendor.valid).filter((k) => !vendor.secrets.includes(k)).sort());
      const everything = JSON.stringify(r) + JSON.stringify(await t.db.sql.query('SELECT config, secrets_ciphertext FROM directory_connection WHERE id = $1', [connection.id]));
      for (const key of vendor.secrets) expect(everything).not.toContain(String(vendor.valid[key]));
    });

    it('works without the optional keys', async () => {
      const minimal = Object.fromEntries(Object.entries(vendor.valid).filter(([k]) => !vendor.optional.includes(k)));
      const r = await t.gql(CREATE, { o: organizationId, p: vendor.provider, c: minimal });
      expect(r.errors).toBeUndefined();
    });

    for (const key of [...vendor.required, ...vendor.optional]) {
      const isRequired = vendor.required.includes(key);
      it(`refuses ${isRequired ? 'a missing or ' : ''}mistyped ${key}, naming config.${key}`, async () => {
        const attempts = [{ ...vendor.valid, [key]: 12345 }];
        if (isRequired) attempts.push(Object.fromEntries(Object.entries(vendor.valid).filter(([k]) => k !== key)));
        for (const config of attempts) {
          const r = await t.gql(CREATE, { o: organizationId, p: vendor.provider, c: config });
          expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: `config.${key}` });
          expect(r.errors?.[0]?.message).toMatch(new RegExp(`^config\\.${key}: `));
        }
      });
    }
  });
}

describe('clerk config messages', () => {
  it('say what the value must be, that a missing key is required, and which settings exist', async () => {
    const base = vendors[0]!.valid;
    const wrongSecret = await t.gql(CREATE, { o: organizationId, p: 'clerk', c: { ...base, webhookSigningSecret: 'not-a-secret' } });
    expect(wrongSecret.errors?.[0]?.message).toBe("config.webhookSigningSecret: must be the webhook endpoint's Signing Secret from the Clerk Dashboard (Webhooks → your endpoint), starting with whsec_");
    const { secretKey: _s, ...noKey } = base;
    expect((await t.gql(CREATE, { o: organizationId, p: 'clerk', c: noKey })).errors?.[0]?.message).toBe('config.secretKey: is required');
    const typo = await t.gql(CREATE, { o: organizationId, p: 'clerk', c: { ...base, apiURL: 'https://api.clerk.com' } });
    expect(typo.errors?.[0]).toMatchObject({ extensions: { field: 'config.apiURL' }, message: expect.stringContaining('config.apiURL: is not a Clerk setting (settings: webhookSigningSecret, secretKey, apiUrl') });
  });
});
