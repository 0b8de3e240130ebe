// A browser as far as the hub can tell: a cookie jar filled from Set-Cookie, the CSRF header the
// console and portal send, its own client address (X-Forwarded-For with TRUST_PROXY=1, so failed
// sign-ins count against it alone), and graphql-ws sockets opened with its cookies.
import { randomInt } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestHub } from '../support/server.ts';
import { wsUrl } from '../streams/support.ts';

export interface GqlAnswer {
  status: number;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> };
  setCookies: string[];
}

export interface Browser {
  readonly cookies: Map<string, string>;
  readonly address: string;
  gql(query: string, variables?: Record<string, unknown>, options?: { csrf?: boolean; origin?: string; authorization?: string }): Promise<GqlAnswer>;
  /** A graphql-ws client whose upgrade request carries this browser's cookies (and Origin: the hub's). */
  ws(options?: { onClosed?: (event: { code: number; reason: string }) => void; origin?: string }): Client;
}

/** Each browser's address is its own (the throttle counts per address): a counter under a random /16. */
const PREFIX = `10.${randomInt(0, 256)}`;
let browsers = 0;

export function newBrowser(t: TestHub, options: { address?: string } = {}): Browser {
  const cookies = new Map<string, string>();
  browsers++;
  const address = options.address ?? `${PREFIX}.${Math.floor(browsers / 250) % 256}.${(browsers % 250) + 1}`;
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    cookies,
    address,
    async gql(query, variables = {}, options = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-forwarded-for': address };
      if (options.csrf !== false) headers['x-lifecycle-hub-csrf'] = '1';
      if (options.origin) headers.origin = options.origin;
      if (options.authorization) headers.authorization = options.authorization;
      if (cookies.size) headers.cookie = cookieHeader();
      const response = await fetch(`${t.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const setCookies = response.headers.getSetCookie();
      for (const line of setCookies) {
        const [pair, ...attributes] = line.split(';');
        const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
        if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) cookies.delete(name);
        else cookies.set(name, value);
      }
      return { status: response.status, body: (await response.json()) as GqlAnswer['body'], setCookies };
    },
    ws(options = {}) {
      const headers = { cookie: cookieHeader(), origin: options.origin ?? t.url, 'x-forwarded-for': address };
      class CookieWebSocket extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers });
        }
      }
      return createClient({
        url: wsUrl(t.url),
        webSocketImpl: CookieWebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
        on: { closed: (event) => options.onClosed?.(event as { code: number; reason: string }) },
      });
    },
  };
}

/** One operation on a socket, until its first answer. */
export function once(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<{ kind: 'next'; value: any } | { kind: 'error'; error: any } | { kind: 'complete' }> {
  return new Promise((resolve) => {
    client.subscribe({ query, variables }, { next: (value) => resolve({ kind: 'next', value }), error: (error) => resolve({ kind: 'error', error }), complete: () => resolve({ kind: 'complete' }) });
  });
}

export const code = (answer: GqlAnswer) => answer.body.errors?.[0]?.extensions?.code ?? 'ok';

export const VIEWER = 'query { viewer { kind connectionId expiresAt organization { id name } } }';
export const START_SETUP = 'mutation($t: String!) { startSetupSession(input: { token: $t }) { viewer { kind connectionId expiresAt organization { id name } } } }';
export const START_CONSOLE = 'mutation($k: String!) { startConsoleSession(input: { apiKey: $k }) { viewer { kind expiresAt organization { id } } } }';
export const END = 'mutation { endSession { ended } }';

/** A setup link made with the admin key; returns its id, secret (after "#") and url. */
export async function setupLink(t: TestHub, organizationId: string, extra: { connectionId?: string; expiresInSeconds?: number } = {}) {
  const { createSetupLink } = await t.gqlOk(
    'mutation($o: ID!, $c: ID, $e: Int) { createSetupLink(input: { organizationId: $o, connectionId: $c, expiresInSeconds: $e }) { setupLink { id expiresAt } url } }',
    { o: organizationId, c: extra.connectionId, e: extra.expiresInSeconds },
  );
  const url = createSetupLink.url as string;
  return { id: createSetupLink.setupLink.id as string, expiresAt: createSetupLink.setupLink.expiresAt as string, url, token: url.slice(url.indexOf('#') + 1) };
}

export async function createOrganization(t: TestHub, name: string): Promise<{ id: string; apiKey: string; apiKeyId: string }> {
  const slug = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`;
  const { createOrganization } = await t.gqlOk('mutation($n: String!, $s: String!) { createOrganization(input: { name: $n, slug: $s }) { organization { id } } }', { n: name, s: slug });
  const id = createOrganization.organization.id as string;
  const { createApiKey } = await t.gqlOk('mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "app" }) { secret apiKey { id } } }', { o: id });
  return { id, apiKey: createApiKey.secret, apiKeyId: createApiKey.apiKey.id };
}

export async function auditActions(t: TestHub, organizationId: string): Promise<Array<{ action: string; actorType: string; data: any }>> {
  return t.db.sql.query('SELECT action, actor_type AS "actorType", data FROM audit_event WHERE organization_id = $1 ORDER BY seq', [organizationId]);
}
