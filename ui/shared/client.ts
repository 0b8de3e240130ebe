// The one GraphQL client of both apps: urql over HTTP for queries and mutations, graphql-ws on the
// same /graphql path for subscriptions. Authentication is the HttpOnly session cookie the hub sets
// (startConsoleSession / startSetupSession): no key or token is ever held by this code or stored in
// the browser. Every HTTP request carries the CSRF header the hub requires of cookie requests.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

export const CSRF_HEADER = 'x-lifecycle-hub-csrf';

export interface HubClient {
  urql: Client;
  ws: WsClient;
}

/** Whether the graphql-ws socket is open now (its events say when it changes, not what it is). */
export const socketOpen = new WeakMap<WsClient, boolean>();

export function createHubClient(origin: string = window.location.origin): HubClient {
  const ws = createWsClient({
    url: `${origin.replace(/^http/, 'ws')}/graphql`,
    // The socket is opened when the first subscription starts and closed when the last one ends;
    // reconnects use graphql-ws's own backoff. Subscriptions resume with `after` (see useLiveEvents).
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event instanceof CloseEvent) || ![4401, 4403, 4429].includes(event.code),
  });
  ws.on('connected', () => socketOpen.set(ws, true));
  ws.on('closed', () => socketOpen.set(ws, false));
  const urql = new Client({
    url: '/graphql',
    // Only the cache exchange's document cache, invalidated per typename on mutations: the screens
    // show a few pages at a time, and a normalized cache (graphcache) would be one more thing to keep
    // consistent with live events.
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
    fetchOptions: () => ({ credentials: 'same-origin', headers: { [CSRF_HEADER]: '1' } }),
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
  });
  return { urql, ws };
}
