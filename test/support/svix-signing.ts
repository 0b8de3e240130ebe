// Signs webhook deliveries as Svix does (Clerk and Stytch deliver through Svix; the same scheme is
// the Standard Webhooks spec): HMAC-SHA256 over `${id}.${timestamp}.${body}`, keyed with the
// base64-decoded secret after "whsec_", sent as "v1,<base64>". Written from the published scheme
// rather than with the library the connectors verify with, so a test checks the verifier against
// an independent implementation (and test/fixtures/clerk/_signed-delivery.json pins it to a
// signature recorded from the real scheme).
import { createHmac, randomBytes } from 'node:crypto';

export function svixSignature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** Headers of a signed delivery; `prefix` picks svix-* (Clerk) or webhook-* (Standard Webhooks). */
export function svixHeaders(secret: string, id: string, body: string, options: { signedAt?: Date; prefix?: 'svix' | 'webhook' } = {}): Record<string, string> {
  const prefix = options.prefix ?? 'svix';
  const timestamp = Math.floor((options.signedAt ?? new Date()).getTime() / 1000);
  return {
    'content-type': 'application/json',
    [`${prefix}-id`]: id,
    [`${prefix}-timestamp`]: String(timestamp),
    [`${prefix}-signature`]: svixSignature(secret, id, timestamp, body),
  };
}

/** A fresh whsec_ secret, as the Clerk Dashboard shows one. */
export function randomWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}
