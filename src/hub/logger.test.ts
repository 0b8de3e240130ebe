// Secrets inside strings: an error whose message quotes an upstream answer (a bearer token, a URL
// with credentials, a vendor key) and a nested object the key-path redaction does not reach. The
// captured line says what happened, carries none of them, and still parses as JSON.
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { generateSecret } from '../secrets/index.ts';

function capture() {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (chunk: string) => void lines.push(chunk) });
  return { logger, lines };
}

describe('log redaction inside strings', () => {
  const bearer = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEyMyJ9.c2lnbmF0dXJl';
  const password = 'correct-horse-battery';
  const clerkKey = `sk_live_${'A1b2C3d4'.repeat(4)}`;
  const stytchSecret = 'secret-test-80JASucyk7z_G8Z-7dVwZVGXL5NT';
  const hubKey = generateSecret('lhk');

  it('scrubs an Error message holding a bearer token, a URL with credentials and a vendor key', () => {
    const { logger, lines } = capture();
    const error = new Error(`Clerk answered 401: {"errors":[{"message":"Authorization: Bearer ${bearer} is not valid for https://proxy:${password}@egress.internal:3128 (key ${clerkKey})"}]}`);
    logger.error({ err: error }, 'sync failed');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    for (const secret of [bearer, password, clerkKey]) expect(line).not.toContain(secret);
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({ level: 50, msg: 'sync failed', err: { type: 'Error' } });
    expect(parsed.err.message).toContain('Clerk answered 401');
    expect(parsed.err.message).toContain('Bearer [redacted]');
    expect(parsed.err.message).toContain('https://[redacted]@egress.internal:3128');
    expect(parsed.err.stack).not.toContain(bearer);
  });

  it('scrubs secrets deep inside objects under keys no redaction path names', () => {
    const { logger, lines } = capture();
    logger.warn({ upstream: { answer: { detail: [`echoed ${stytchSecret}`, { note: `key ${hubKey}` }] } }, request: { url: `https://user:${password}@api.example.com/` } }, 'upstream echoed the request');
    const line = lines[0]!;
    for (const secret of [stytchSecret, hubKey, password]) expect(line).not.toContain(secret);
    const parsed = JSON.parse(line);
    expect(parsed.upstream.answer.detail[0]).toBe('echoed [redacted]');
    expect(parsed.upstream.answer.detail[1].note).toBe('key [redacted]');
    expect(parsed.msg).toBe('upstream echoed the request');
  });

  it('still redacts by key path, and leaves ordinary lines as they were', () => {
    const { logger, lines } = capture();
    logger.info({ headers: { authorization: 'anything at all' }, route: '/graphql', status: 200 }, 'request');
    const parsed = JSON.parse(lines[0]!);
    expect(parsed).toMatchObject({ headers: { authorization: '[redacted]' }, route: '/graphql', status: 200, msg: 'request' });
  });
});
