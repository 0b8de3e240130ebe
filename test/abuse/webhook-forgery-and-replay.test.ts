// POST /webhooks/:connectionId for every vendor (Clerk and Stytch sign with Svix, WorkOS with
// WorkOS-Signature): unsigned, wrongly signed, signed with another connection's secret, tampered,
// too old, or delivered to another connection's URL → 401 JSON, nothing changed. An exact replay of
// an accepted delivery inside the signature window → 200 "duplicate", nothing changed twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawFixture } from '../clerk/clerk-objects.ts';
import type { TestHub } from '../support/server.ts';
import { signSvixDelivery, svixSecret } from '../support/vendors/svix.ts';
import { stytchFixture } from '../support/vendors/stytch.ts';
import { signWorkosDelivery, workosFixture } from '../support/vendors/workos.ts';
import { expectNothingChanged, expectWebhookError, startTwoTenantHub, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  ({ t, a, b } = await startTwoTenantHub());
}, 120_000);
afterAll(async () => {
  await t?.close();
});

interface Vendor {
  name: 'clerk' | 'workos' | 'stytch';
  /** A delivery body the connector accepts (a user created). */
  body(): string;
  /** Headers as the vendor signs; `ageSeconds` back-dates the signature. */
  sign(body: string, secret: string, ageSeconds?: number, id?: string): Record<string, string>;
}

const vendors: Vendor[] = [
  {
    name: 'clerk',
    body: () => rawFixture('user.created.json'),
    sign: (body, secret, age = 0, id) => signSvixDelivery(body, secret, { msgId: id, timestamp: Math.floor(Date.now() / 1000) - age }),
  },
  {
    name: 'workos',
    body: () => JSON.stringify(workosFixture('dsync.user.created')),
    sign: (body, secret, age = 0) => signWorkosDelivery(body, secret, { timestamp: Date.now() - age * 1000 }),
  },
  {
    name: 'stytch',
    body: () => JSON.stringify(stytchFixture('scim.member.create')),
    sign: (body, secret, age = 0, id) => signSvixDelivery(body, secret, { msgId: id, timestamp: Math.floor(Date.now() / 1000) - age }),
  },
];

const SIGNATURE_HEADERS = /^(svix-|webhook-|workos-signature)/i;
const unsigned = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([k]) => !SIGNATURE_HEADERS.test(k)));

async function deliver(url: string, body: string, headers: Record<string, string>) {
  return fetch(url, { method: 'POST', headers, body });
}

describe.each(vendors)('$name webhooks', (vendor) => {
  const url = (tenant: Tenant) => tenant[vendor.name].webhookUrl;
  const secret = (tenant: Tenant) => tenant[vendor.name].secret;

  const forgeries: Array<[string, () => { to: string; body: string; headers: Record<string, string> }]> = [
    ['unsigned', () => ({ to: url(a), body: vendor.body(), headers: unsigned(vendor.sign(vendor.body(), secret(a))) })],
    ['signed with a made-up secret', () => ({ to: url(a), body: vendor.body(), headers: vendor.sign(vendor.body(), vendor.name === 'workos' ? 'not-the-secret' : svixSecret()) })],
    ["signed with organization B's connection secret", () => ({ to: url(a), body: vendor.body(), headers: vendor.sign(vendor.body(), secret(b)) })],
    ["A's valid delivery sent to B's connection URL", () => ({ to: url(b), body: vendor.body(), headers: vendor.sign(vendor.body(), secret(a)) })],
    ['tampered after signing', () => {
      const body = vendor.body();
      return { to: url(a), body: body.replace(/"[^"]*@[^"]*"/, '"mallory@evil.test"'), headers: vendor.sign(body, secret(a)) };
    }],
    ['signed ten minutes ago (a captured delivery replayed later)', () => ({ to: url(a), body: vendor.body(), headers: vendor.sign(vendor.body(), secret(a), 600) })],
    ['signed a day ago', () => ({ to: url(a), body: vendor.body(), headers: vendor.sign(vendor.body(), secret(a), 86_400) })],
    ['signed ten minutes in the future', () => ({ to: url(a), body: vendor.body(), headers: vendor.sign(vendor.body(), secret(a), -600) })],
    ['with the signature header repeated with junk (CRLF in a value is refused by fetch itself, so junk)', () => {
      const headers = vendor.sign(vendor.body(), secret(a), 600);
      const key = Object.keys(headers).find((k) => /signature/i.test(k))!;
      return { to: url(a), body: vendor.body(), headers: { ...headers, [key]: `${headers[key]}, v1=${'A'.repeat(5000)}` } };
    }],
  ];

  it.each(forgeries)('%s: 401 invalid_signature, nothing changed', async (_name, make) => {
    const { to, body, headers } = make();
    await expectNothingChanged(t, async () => {
      await expectWebhookError(await deliver(to, body, headers), 401, 'invalid_signature');
    });
  });

  it('an exact replay within the signature window is answered as a duplicate and changes nothing', async () => {
    const body = vendor.body();
    const headers = vendor.sign(body, secret(a), 0, `msg_abuse_${vendor.name}_${Date.now()}`);
    const first = await deliver(url(a), body, headers);
    expect(first.status, await first.clone().text()).toBe(200);
    expect(((await first.json()) as { status: string }).status).toBe('applied');
    await expectNothingChanged(t, async () => {
      for (let i = 0; i < 3; i++) {
        const again = await deliver(url(a), body, headers);
        expect(again.status).toBe(200);
        expect(((await again.json()) as { status: string }).status).toBe('duplicate');
      }
    });
  });
});

describe('webhook URLs', () => {
  it('an unknown or malformed connection id: 404 JSON, nothing changed', async () => {
    await expectNothingChanged(t, async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', 'a'.repeat(3000), "1' OR '1'='1"]) {
        const body = vendors[0]!.body();
        await expectWebhookError(await deliver(`${t.url}/webhooks/${encodeURIComponent(id)}`, body, vendors[0]!.sign(body, secret(a))), 404, 'not_found');
      }
    });
  });

  it("a SCIM connection's webhook URL (it receives none): 404, nothing changed", async () => {
    const body = vendors[0]!.body();
    await expectNothingChanged(t, async () => {
      await expectWebhookError(await deliver(`${t.url}/webhooks/${a.scim.connectionId}`, body, vendors[0]!.sign(body, secret(a))), 404);
    });
  });
});

const secret = (tenant: Tenant) => tenant.clerk.secret;
