// Request bodies: read up to a documented limit (413 beyond it, without reading the rest), then
// parsed as JSON whatever the content type says: identity providers send application/scim+json,
// application/json (Google, Okta's test suite) or nothing at all.
import { parseUntrustedJson, UntrustedJsonError } from 'lifecycle-hub/connector';
import { ScimError, invalidSyntax, invalidValue } from '../errors/index.ts';
import { reservedKeyIn } from '../schemas/attributes.ts';

export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks));
  } catch {
    throw invalidSyntax('the body is not valid UTF-8 (RFC 7644 §3.1: SCIM bodies are UTF-8 JSON)');
  }
  if (!text.trim()) throw invalidSyntax('the request has no body; send the resource as JSON');
  const depth = jsonNestingDepth(text);
  if (depth > MAX_JSON_DEPTH) throw invalidSyntax(`the body nests ${depth > 10_000 ? 'over 10000' : depth} levels deep; SCIM resources nest at most ${MAX_JSON_DEPTH}`);
  let body: unknown;
  try {
    body = parseUntrustedJson(text);
  } catch (error) {
    if (!(error instanceof UntrustedJsonError)) throw error;
    // A lone surrogate is well-formed JSON holding a value the hub cannot store; the rest is the body's structure.
    if (error.problem === 'ill-formed') throw invalidValue(`the body: ${error.message}`);
    throw invalidSyntax(error.problem === 'syntax' ? `the body is ${error.message}` : `the body: ${error.message}`);
  }
  const reserved = reservedKeyIn(body);
  if (reserved) throw invalidSyntax(`"${reserved}" is not an attribute name: "__proto__", "constructor" and "prototype" are reserved (RFC 7643 §2.1 attribute names start with a letter)`);
  return body;
}

/** Invalid bytes are refused rather than silently replaced with U+FFFD in stored names. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** SCIM resources nest 3-4 levels (User > emails > element > value); PATCH values a few more. */
export const MAX_JSON_DEPTH = 32;

/**
 * Deepest nesting of arrays and objects in a JSON text, counted before parsing: JSON.parse has no
 * depth bound, and a body nested thousands deep made later recursive code overflow the stack (a
 * 500). A single pass over the text; brackets inside strings are skipped. Stops counting past
 * 10,000.
 */
function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > 10_000) return deepest;
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return deepest;
}

function tooLarge(maxBytes: number) {
  return new ScimError(413, undefined, `request bodies are limited to ${maxBytes} bytes (the connection's maxRequestBytes setting)`);
}
