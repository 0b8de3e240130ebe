// Request bodies: read up to a documented limit (413 beyond it, without reading the rest), then
// parsed as JSON whatever the content type says: identity providers send application/scim+json,
// application/json (Google, Okta's test suite) or nothing at all.
import { ScimError, invalidSyntax } from '../errors/index.ts';

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
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw invalidSyntax('the request has no body; send the resource as JSON');
  try {
    return JSON.parse(text);
  } catch (error) {
    // The parser's own message quotes the body (which may hold a password): give the position only.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw invalidSyntax(`the body is not valid JSON${position ? ` (at character ${position})` : ''}`);
  }
}

function tooLarge(maxBytes: number) {
  return new ScimError(413, undefined, `request bodies are limited to ${maxBytes} bytes (the connection's maxRequestBytes setting)`);
}
