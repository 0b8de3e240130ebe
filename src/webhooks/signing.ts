// Standard Webhooks signing (https://www.standardwebhooks.com): headers webhook-id,
// webhook-timestamp (unix seconds) and webhook-signature, a space-separated list of `v1,<base64
// HMAC-SHA256 of "id.timestamp.body">`, one per secret in use (two during a rotation's overlap).
// Signed with the `standardwebhooks` package itself, so what the hub sends is what its verifier
// (and svix's, the same scheme) accepts.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new signing secret: `whsec_` + base64 of 32 random bytes (the format both libraries take). */
export const generateSigningSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signedHeaders(secrets: readonly string[], webhookId: string, at: Date, body: string): SignedHeaders {
  const signature = secrets.map((secret) => new Webhook(secret).sign(webhookId, at, body)).join(' ');
  return { 'webhook-id': webhookId, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
}
