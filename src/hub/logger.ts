import pino, { type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from '../secrets/redact.ts';

export type { Logger };

/**
 * Keys whose values are secrets wherever they appear: credentials in headers, API keys and bearer
 * tokens, and connectors' secret config fields (webhook signing secrets, vendor API keys).
 */
export const SECRET_KEYS = [
  'authorization', 'cookie', 'x-api-key', 'password', 'secret', 'token', 'apiToken', 'adminApiKey', 'apiKey', 'secretKey',
  'webhookSecret', 'webhookSigningSecret', 'signingSecret', 'clientSecret', 'encryptionKey', 'metricsToken',
];

const path = (prefix: string, key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? (prefix ? `${prefix}.${key}` : key) : `${prefix}["${key}"]`);

const CONFIG_SECRETS = ['secret', 'apiToken', 'apiKey', 'secretKey', 'webhookSecret', 'webhookSigningSecret', 'signingSecret', 'clientSecret'];
const HEADER_SECRETS = ['authorization', 'cookie', 'x-api-key'];

/**
 * The keys at the top of a log object; headers and connector config where this code logs them
 * (headers, req.headers, config, connection.config); and four keys one level down anywhere.
 * Mostly exact paths on purpose: each `*` wildcard costs on every log line (measured: wildcards for
 * every key made a request line ~10x slower than exact paths).
 */
export const REDACT_PATHS = [
  ...SECRET_KEYS.map((key) => path('', key)),
  ...HEADER_SECRETS.flatMap((key) => [path('headers', key), path('req.headers', key)]),
  ...CONFIG_SECRETS.flatMap((key) => [path('config', key), path('connection.config', key)]),
  '*.authorization', '*.secret', '*.token', '*.password',
];

/**
 * Structured JSON logs (one object per line). Secrets never reach a log line: the keys above are
 * replaced with "[redacted]" (see REDACT_PATHS), and secrets inside strings (an error message
 * quoting a token, a URL with credentials) are scrubbed from the serialized line by their shape and
 * by the exact values the hub decrypted (src/secrets/redact.ts): one regular expression per line,
 * where wildcard key paths would have cost far more. `destination` defaults to stdout (tests capture it).
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'lifecycle-hub' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: { streamWrite: redactSecrets },
  };
  return destination ? pino(options, destination) : pino(options);
}
