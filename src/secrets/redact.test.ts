import { describe, expect, it } from 'vitest';
import { generateSecret } from './index.ts';
import { redactSecrets, rememberSecret } from './redact.ts';

describe('redactSecrets', () => {
  it.each([
    ['a bearer token', 'upstream said: invalid Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln', 'Bearer eyJ'],
    ['basic credentials', 'sent Basic cHJvamVjdC10ZXN0OnNlY3JldA==', 'cHJvamVjdC10ZXN0'],
    ['URL userinfo', 'could not reach https://admin:hunter2@proxy.internal:8080/v1', 'hunter2'],
    ['a token as URL user', 'git clone https://ghp_abcdef0123456789@github.com/x', 'ghp_abcdef'],
    ['a hub API key', `key ${generateSecret('lhk')} refused`, 'lhk_'],
    ['a hub SCIM token', `token ${generateSecret('lhscim')}`, 'lhscim_'],
    ['a webhook signing secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw= is wrong', 'whsec_'],
    ['a Clerk live key', 'key sk_live_0123456789abcdefABCDEF', 'sk_live_'],
    ['a Clerk test key', 'key=sk_test_abc123', 'sk_test_'],
    ['a WorkOS key', 'key sk_a2V5XzAxSDBZQUIyM0NE', 'sk_a2V5'],
    ['a Stytch secret', 'secret-live-80JASucyk7z_G8Z-7dVwZVGXL5NT_qGAQ2I= rejected', 'secret-live-'],
  ])('redacts %s', (_name, text, leaked) => {
    const out = redactSecrets(text);
    expect(out).toContain('[redacted]');
    expect(out).not.toContain(leaked);
  });

  it('keeps the scheme of a URL and the word Bearer, so the line still says what it was', () => {
    expect(redactSecrets('GET https://u:p@api.example.com/x')).toBe('GET https://[redacted]@api.example.com/x');
    expect(redactSecrets('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
  });

  it('leaves ordinary text alone', () => {
    const text = 'task_list sk_ short; https://api.clerk.com/v1/users?limit=100 user@example.com secret-sauce';
    expect(redactSecrets(text)).toBe(text);
  });

  it('redacts a remembered value wherever it appears, also JSON-escaped', () => {
    const value = `admin-"key"-${Math.random().toString(36).slice(2)}`;
    rememberSecret(value);
    expect(redactSecrets(`echoed ${value} back`)).toBe('echoed [redacted] back');
    const line = JSON.stringify({ msg: `echoed ${value}` });
    expect(JSON.parse(redactSecrets(line))).toEqual({ msg: 'echoed [redacted]' });
  });

  it('redacts the values it is given (a connection\'s own secrets), of any shape', () => {
    const webhookSecret = `wh${Math.random().toString(36).slice(2)}0123456789`;
    expect(redactSecrets(`upstream echoed ${webhookSecret}.`, [webhookSecret, 'short', 42])).toBe('upstream echoed [redacted].');
  });

  it('never breaks a JSON line: quotes and escapes around a secret survive', () => {
    const line = JSON.stringify({ err: { message: 'a "Bearer abc\\def" and https://x:y@h/"' }, n: 'sk_test_\u0000x' });
    expect(() => JSON.parse(redactSecrets(line))).not.toThrow();
  });
});
