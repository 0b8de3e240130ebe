// The path recorded in the request log: what an admin needs to follow a provisioning run (which
// resource, which lookup), never the token (it is a header) nor a body. Filter values are kept
// for identifiers (the lookups IdPs make) and masked for every other attribute.
const IDENTIFIERS = new Set(['id', 'username', 'externalid', 'displayname', 'value', 'emails', 'emails.value', 'members', 'members.value', 'meta.created', 'meta.lastmodified', 'type']);

const COMPARISON = /([A-Za-z0-9:._$-]+)(\s+(?:eq|ne|co|sw|ew|gt|ge|lt|le)\s+)("(?:[^"\\]|\\.)*"|[^\s()[\]]+)/gi;

export function redactFilter(filter: string): string {
  return filter.replace(COMPARISON, (whole, attr: string, op: string) => {
    const local = attr.slice(attr.lastIndexOf(':') + 1).toLowerCase();
    return IDENTIFIERS.has(local) ? whole : `${attr}${op}"…"`;
  });
}

export function redactedPath(segments: string[], query: URLSearchParams): string {
  const path = `/${segments.join('/')}`;
  const parts: string[] = [];
  for (const [key, value] of query) {
    if (!key) continue;
    parts.push(`${key}=${key.toLowerCase() === 'filter' ? redactFilter(value) : value.slice(0, 200)}`);
  }
  return parts.length ? `${path}?${parts.join('&')}` : path;
}
