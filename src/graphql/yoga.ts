import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { ApiKeyAuthenticator, type Principal } from '../tenancy/principal.ts';
import type { Hub } from '../hub/hub.ts';
import type { GraphQLContext } from './context.ts';
import { toGraphQLError } from './errors.ts';
import { useSetupRestrictions } from './plugins/use-setup-restrictions.ts';
import { browserCredential } from '../http/session-cookies.ts';
import { useCredentialRevocation } from './plugins/use-credential-revocation.ts';
import { useOperationLimits } from './plugins/use-operation-limits.ts';
import { useSafeVariables } from './plugins/use-safe-variables.ts';
import { useRequestErrors } from './plugins/use-request-errors.ts';
import { useMetrics } from './plugins/use-metrics.ts';
import { useSharedSubscriptionResults } from './plugins/use-shared-subscription-results.ts';
import { schema } from './schema.ts';

/** What the HTTP layer hands yoga with each request (graphql-ws sets `principal` at connection time). */
export interface ServerContext {
  requestId?: string;
  principal?: Principal | null;
  req?: IncomingMessage;
  /** Set-Cookie values resolvers add (browser sessions); the HTTP layer appends them to the response. */
  setCookies?: string[];
}

export type Yoga = YogaServerInstance<ServerContext, GraphQLContext>;

export function unauthenticated(hasToken: boolean): GraphQLError {
  return new GraphQLError(hasToken ? 'the API key is not valid (revoked, mistyped, or for another server)' : 'send an API key: Authorization: Bearer <key>', {
    extensions: { code: 'UNAUTHENTICATED', retryable: false, http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}

export function csrfRefused(reason: string): GraphQLError {
  return new GraphQLError(reason, { extensions: { code: 'CSRF_CHECK_FAILED', retryable: false, http: { status: 403 } } });
}

export function createGraphQL(hub: Hub): Yoga {
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    plugins: [
      useMetrics(hub.metrics), useRequestErrors(), useSafeVariables(), ...useOperationLimits(hub.config.graphqlLimits), useSetupRestrictions(),
      useSharedSubscriptionResults(), useCredentialRevocation(hub.credentials),
    ],
    landingPage: false,
    // Yoga's default reflects any origin with credentials allowed; CORS is src/http/cors.ts's.
    cors: false,
    logging: {
      debug: (...args) => hub.logger.debug(args.map(String).join(' ')),
      info: (...args) => hub.logger.info(args.map(String).join(' ')),
      warn: (...args) => hub.logger.warn(args.map(String).join(' ')),
      error: (...args) => hub.logger.error({ err: args.find((a) => a instanceof Error) }, args.filter((a) => !(a instanceof Error)).map(String).join(' ')),
    },
    // GraphiQL from @graphql-yoga/render-graphiql: its scripts and styles are inlined in the page, so
    // /graphql in a browser works with no network (yoga's default loads them from a CDN). Imported
    // on first use: the page is 9 MB of script a hub that nobody browses should not hold.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    graphiql: {
      title: 'Lifecycle Hub',
      defaultQuery: '# Set the header { "Authorization": "Bearer <your key>" } below, then:\nquery { organizations { id name slug } }\n',
      headers: JSON.stringify({ Authorization: 'Bearer <your key>' }),
      subscriptionsProtocol: 'WS',
    },
    maskedErrors: {
      // Errors with a code (ours, the engine's, the services') reach the client; anything else is
      // logged and masked, so no stack or SQL ever leaves the server.
      maskError(error, message) {
        const graphqlError = error instanceof GraphQLError ? error : null;
        const original = graphqlError?.originalError ?? error;
        const mapped = toGraphQLError(original);
        // Already a coded GraphQLError (e.g. a subscription stream's SUBSCRIBER_TOO_SLOW): returned
        // as is, since yoga logs at error level every error maskError replaces.
        if (mapped === error && graphqlError?.extensions?.code) return graphqlError;
        if (mapped instanceof GraphQLError) {
          return new GraphQLError(mapped.message, { nodes: graphqlError?.nodes, path: graphqlError?.path, extensions: mapped.extensions });
        }
        hub.logger.error({ err: original }, 'unexpected error in a GraphQL resolver');
        return new GraphQLError(message, { nodes: graphqlError?.nodes, path: graphqlError?.path, extensions: { code: 'INTERNAL_SERVER_ERROR', retryable: false } });
      },
    },
    context: async ({ request, principal, requestId, setCookies }): Promise<GraphQLContext> => {
      if (principal !== undefined) {
        if (!principal) throw unauthenticated(false);
        return { hub, principal, requestId: requestId ?? randomUUID() };
      }
      // A browser of ours (the console, the setup portal): a session cookie, or the CSRF header of
      // a page about to sign in. Without a session its principal is null, and it may only sign in
      // (use-setup-restrictions.ts). Requests with Authorization are API clients: cookies ignored.
      const browser = browserCredential(request.headers, hub.publicUrl, hub.config.corsAllowedOrigins);
      if (browser) {
        if ('refusal' in browser) throw csrfRefused(browser.refusal);
        const session = await hub.browserSessions.resolve(browser.cookie);
        return { hub, principal: session, requestId: requestId ?? randomUUID(), browser: { setCookies: setCookies ?? [] } };
      }
      const token = ApiKeyAuthenticator.bearer(request.headers.get('authorization'));
      const resolved = await hub.auth.authenticate(token);
      if (!resolved) throw unauthenticated(token !== null);
      return { hub, principal: resolved, requestId: requestId ?? randomUUID() };
    },
  });
}
