// A vendor API stand-in: a real HTTP server on 127.0.0.1 that a vendor's own SDK is pointed at.
// It records every request (method, path, query, body, headers) so tests can assert what the SDK sent.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AnyConnector, OutboundHttp } from '../../../src/connectors/contract.ts';
import { ConnectorOutbound } from '../../../src/connectors/outbound.ts';

const standIns = new ConnectorOutbound({ allowPrivateNetworks: true, allowedHosts: ['127.0.0.1'] });

/**
 * ctx.outbound for a connector called directly (not through a hub): the hub's guard, configured
 * as the test hub is (startTestHub) so the connector reaches stand-ins on 127.0.0.1.
 */
export function standInOutbound(connector: AnyConnector): OutboundHttp {
  return standIns.for(connector);
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: string;
}

export interface StandIn {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Requests whose path starts with this prefix. */
  requestsTo(pathPrefix: string, method?: string): RecordedRequest[];
  close(): Promise<void>;
}

export async function startStandIn(app: Hono, requests: RecordedRequest[]): Promise<StandIn> {
  const server = createAdaptorServer({
    fetch: async (request: Request) => {
      const url = new URL(request.url);
      const body = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.clone().text();
      requests.push({ method: request.method, path: url.pathname, query: url.searchParams, headers: request.headers, body });
      return app.fetch(request);
    },
  }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    requestsTo: (prefix, method) => requests.filter((r) => r.path.startsWith(prefix) && (!method || r.method === method)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
