// The HTTP server: Hono routes on node:http, and graphql-ws on the same port and path (/graphql).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { ApiKeyAuthenticator, type Principal } from '../auth/principal.ts';
import type { Hub } from '../hub.ts';
import { createGraphQL, type Yoga } from '../graphql/yoga.ts';
import { createApp } from './app.ts';

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

/** The principal a graphql-ws client authenticated as, kept with its socket. */
type WsExtra = { principal?: Principal | null };

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

  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: 64 * 1024 });
  hub.metrics.gauge('graphql_ws_connections', 'Open graphql-ws connections (each may carry several subscriptions: see graphql_subscriptions_active).', () => wsServer.clients.size);
  const wsCleanup = useServer<Record<string, unknown>, WsExtra>(
    {
      // A bad or missing key is refused when the connection opens (close code 4403).
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const token = typeof raw === 'string' ? (ApiKeyAuthenticator.bearer(raw) ?? raw) : null;
        const principal = await hub.auth.authenticate(token);
        ctx.extra.principal = principal;
        return principal !== null;
      },
      // onSubscribe below puts yoga's enveloped execute/subscribe on the root value, so every
      // operation runs through the same plugins as HTTP requests.
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          principal: ctx.extra.principal ?? null,
        });
        // Parse and validate run the same plugins as over HTTP (operation limits included); their
        // errors go back as the operation's `error` message rather than closing the socket.
        let document: ReturnType<typeof parse>;
        try {
          document = parse(params.query);
          const errors = validate(schema, document);
          if (errors.length) return errors;
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
