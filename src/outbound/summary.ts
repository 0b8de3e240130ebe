// An upstream API's failure as the hub may repeat it (sync.error, connection.lastError, revocation
// errors, logs): the HTTP status, the vendor's error code when it looks like one, its request id,
// and its message only when the answer was a 4xx (a vendor's validation message says what to fix;
// a 5xx says nothing a customer can act on). Never the body: an upstream that echoes what it was
// sent (an Authorization header, the request) or a proxy's HTML page would put it in front of
// whoever reads the error. What is kept is one line, short, with secrets redacted.
import { redactSecrets } from '../secrets/redact.ts';

export interface UpstreamAnswer {
  /** HTTP status of the answer; undefined when there was none. */
  status?: number;
  /** The vendor's error code field (`resource_not_found`, `unauthorized`…). */
  code?: unknown;
  /** The vendor's error message field, as parsed by its SDK. */
  message?: unknown;
  requestId?: unknown;
}

const CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_MESSAGE = 200;

/** One short line of text from a field of an answer (or an error), secrets redacted; null when empty. */
export function safeLine(value: unknown, secrets: readonly unknown[] = [], max = MAX_MESSAGE): string | null {
  if (typeof value !== 'string') return null;
  const line = redactSecrets(value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim(), secrets);
  if (!line) return null;
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/**
 * "HTTP 422, unprocessable_entity: organization_id is invalid (request id req_123)". `secrets`:
 * the connection's own secret values, redacted wherever they appear.
 */
export function summarizeUpstream(answer: UpstreamAnswer, secrets: readonly unknown[] = []): string {
  const parts: string[] = [answer.status === undefined ? 'no answer' : `HTTP ${answer.status}`];
  const code = typeof answer.code === 'string' && CODE.test(answer.code) ? answer.code : null;
  const message = answer.status !== undefined && answer.status >= 400 && answer.status < 500 ? safeLine(answer.message, secrets) : null;
  let text = parts[0]!;
  if (code || message) text += `, ${[code, message].filter(Boolean).join(': ')}`;
  const requestId = safeLine(answer.requestId, secrets, 100);
  if (requestId && CODE.test(requestId)) text += ` (request id ${requestId})`;
  return text;
}
