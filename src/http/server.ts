// The HTTP server: Hono routes on node:http, and graphql-ws on the same port and path (/graphql).
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Hub } from '../hub/hub.ts';
import { operationCostError } from '../graphql/plugins/use-operation-limits.ts';
import { untrustedValueError } from '../graphql/plugins/use-safe-variables.ts';
import { createGraphQL, type Yoga } from '../graphql/yoga.ts';
import { createApp } from './app.ts';
import { allowsWebSocketOrigin } from './cors.ts';
import { authenticateSocket, reauthenticateSocket, type SocketAuth } from './graphql-ws-auth.ts';

export interface RunningServer {
  url: string;
  port: number;
  app: Hono;
  yoga: Yoga;
  server: Server;
  wsServer: WebSocketServer;
  /** Stops accepting, lets in-flight requests finish, closes sockets; the hub stays open. */
  stop(): Promise<void>;
}

type Enveloped = { execute(args: unknown): ReturnType<Yoga['getEnveloped']>['execute'] extends (...a: never[]) => infer R ? R : never; subscribe(args: unknown): ReturnType<Yoga['getEnveloped']>['subscribe'] extends (...a: never[]) => infer R ? R : never };


export async function startServer(hub: Hub, options: { port?: number; host?: string } = {}): Promise<RunningServer> {
  const yoga = createGraphQL(hub);
  const app = createApp(hub, yoga);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  // Idle keep-alive connections stay open longer than the proxies in front usually keep theirs
  // (60 s for AWS ALB, nginx's upstream keepalive_timeout): a server closing first races the proxy's
  // next request on that connection, which the client then sees as a reset or a 502. Node's default
  // is 5 s. Shutdown does not wait for them: stop() closes idle connections.
  server.keepAliveTimeout = 65_000;
  // Above keepAliveTimeout, as Node asks, so a slow first request line is not cut short by it.
  server.headersTimeout = 66_000;

  const wsServer = new WebSocketServer({
    server,
    path: '/graphql',
    maxPayload: 64 * 1024,
    // A browser page of another origin (not in CORS_ALLOWED_ORIGINS) is refused before the handshake.
    verifyClient: ({ req }: { req: IncomingMessage }, allow: (ok: boolean, status?: number, message?: string) => void) =>
      allowsWebSocketOrigin(req, hub.config.corsAllowedOrigins, hub.publicUrl) ? allow(true) : allow(false, 403, 'Origin not allowed (CORS_ALLOWED_ORIGINS)'),
  });
  hub.metrics.gauge('graphql_ws_connections', 'Open graphql-ws connections (each may carry several subscriptions: see graphql_subscriptions_active).', () => wsServer.clients.size);
  const wsCleanup = useServer<Record<string, unknown>, SocketAuth>(
    {
      // A bad or missing key is refused when the connection opens (close code 4403); a key revoked
      // later closes the socket (4401), and each operation checks it again (graphql-ws-auth.ts).
      onConnect: (ctx) => authenticateSocket(hub, ctx),
      // onSubscribe below puts yoga's enveloped execute/subscribe on the root value, so every
      // operation runs through the same plugins as HTTP requests.
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const auth = await reauthenticateSocket(hub, ctx);
        if ('errors' in auth) return auth.errors;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          principal: auth.principal,
        });
        // Parse and validate run the same plugins as over HTTP (operation limits included); their
        // errors go back as the operation's `error` message rather than closing the socket. So does
        // the cost limit, which needs the variables (the enveloped execute checks it again, and passes),
        // and variables the hub refuses (use-safe-variables.ts).
        let document: ReturnType<typeof parse>;
        try {
          document = parse(params.query);
          const errors = validate(schema, document);
          if (errors.length) return errors;
          const unsafe = untrustedValueError(params.variables, 'variables');
          if (unsafe) return [unsafe];
          const tooCostly = operationCostError({ schema, document, operationName: params.operationName, variableValues: params.variables }, hub.config.graphqlLimits.maxCost);
          if (tooCostly) return [tooCostly];
        } catch (error) {
          if (error instanceof GraphQLError) return [error.extensions.code ? error : new GraphQLError(error.message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
          throw error;
        }
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wsServer,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? hub.config.port, options.host ?? hub.config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (!hub.config.publicUrl) hub.publicUrl = `http://${displayHost(options.host ?? hub.config.host)}:${port}`;

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${displayHost(options.host ?? hub.config.host)}:${port}`,
    port,
    app,
    yoga,
    server,
    wsServer,
    stop() {
      stopping ??= (async () => {
        // Long-lived subscriptions (SSE responses, graphql-ws operations) would hold server.close open.
        hub.events.endSubscriptions();
        await wsCleanup.dispose();
        for (const client of wsServer.clients) client.close(1001, 'server shutting down');
        await new Promise<void>((resolve) => wsServer.close(() => resolve()));
        await new Promise<void>((resolve) => {
          // A connection whose request is still in flight becomes idle once answered, and would
          // then stay open for keepAliveTimeout: swept until the last one is closed.
          const sweep = setInterval(() => server.closeIdleConnections(), 100);
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          server.closeIdleConnections();
        });
      })();
      return stopping;
    },
  };
}

function displayHost(host: string) {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
}
