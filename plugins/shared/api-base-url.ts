// A vendor API base URL in a connection's config: https, or plain http to a loopback address only
// (a local stand-in or proxy), so an API key is never sent in clear over a network.
import { z } from 'zod';

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function apiBaseUrl(example: string) {
  return z
    .string({ error: `must be a URL such as ${example}` })
    .refine((value) => URL.canParse(value), `must be a URL such as ${example}`)
    .refine((value) => {
      const url = new URL(value);
      return url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname));
    }, 'must use https (plain http is accepted only for 127.0.0.1, localhost or [::1])')
    .refine((value) => {
      const url = new URL(value);
      return (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username && !url.password;
    }, `must be an origin without a path, query or credentials, such as ${example}`);
}
