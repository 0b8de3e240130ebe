// Svix-signed webhooks (Stytch; Clerk too), with the options the vendor tests need (message id,
// header names, rotated signatures); the signature itself is test/support/svix-signing.ts's.
import { randomBytes } from 'node:crypto';
import { randomWebhookSecret, svixSignature } from '../svix-signing.ts';

/** A fresh Svix signing secret: "whsec_" + base64 of 24 random bytes. */
export const svixSecret = randomWebhookSecret;

/**
 * `svix-signature: v1,<base64 HMAC-SHA256(base64-decoded secret after "whsec_",
 * "<svix-id>.<svix-timestamp>.<raw body>")>`, timestamp in Unix seconds. `headerNames: "webhook"`
 * sends the Standard Webhooks names (`webhook-id`, …) instead; `otherSignatures` come first in the
 * space-separated list (as during key rotation).
 */
export function signSvixDelivery(
  body: string,
  secret: string,
  options: { msgId?: string; timestamp?: number; headerNames?: 'svix' | 'webhook'; otherSignatures?: string[] } = {},
): Record<string, string> {
  const id = options.msgId ?? `msg_${randomBytes(12).toString('hex')}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = svixSignature(secret, id, timestamp, body);
  const prefix = options.headerNames ?? 'svix';
  return {
    [`${prefix}-id`]: id,
    [`${prefix}-timestamp`]: String(timestamp),
    [`${prefix}-signature`]: [...(options.otherSignatures ?? []), signature].join(' '),
    'content-type': 'application/json',
  };
}
