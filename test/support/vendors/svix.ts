// Svix-signed webhooks (Stytch; Clerk too): signatures made exactly as Svix makes them, with
// node:crypto, independently of the svix library the connectors verify with.
import { createHmac, randomBytes } from 'node:crypto';

/** A fresh Svix signing secret: "whsec_" + base64 of 24 random bytes. */
export function svixSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

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
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64');
  const prefix = options.headerNames ?? 'svix';
  return {
    [`${prefix}-id`]: id,
    [`${prefix}-timestamp`]: String(timestamp),
    [`${prefix}-signature`]: [...(options.otherSignatures ?? []), `v1,${signature}`].join(' '),
    'content-type': 'application/json',
  };
}
