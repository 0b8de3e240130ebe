// A vendor API stand-in on 127.0.0.1: a plain node:http server whose routes a test writes, so a
// vendor's real SDK (or a connector's fetch) talks HTTP to it exactly as it would to the vendor.
// Every request is recorded for assertions.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  /** Resolves when the socket it came on closes (a client that gave up on its request closes it). */
  closed: Promise<void>;
}

export interface StandInReply {
  status?: number;
  /** Serialized as JSON with content-type exactly "application/json" (SDKs check it). */
  json?: unknown;
  headers?: Record<string, string>;
}

export type StandInRoute = (request: RecordedRequest) => StandInReply | undefined | Promise<StandInReply | undefined>;

export interface StandIn {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startStandIn(route: StandInRoute): Promise<StandIn> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const closed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
      const request: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), closed };
      requests.push(request);
      let reply: StandInReply | undefined;
      try {
        reply = await route(request);
      } catch (error) {
        reply = { status: 500, json: { error: (error as Error).message } };
      }
      reply ??= { status: 404, json: { error: `the stand-in has no route for ${request.method} ${request.path}` } };
      const body = reply.json === undefined ? '' : JSON.stringify(reply.json);
      res.writeHead(reply.status ?? 200, { ...(reply.json === undefined ? {} : { 'content-type': 'application/json' }), ...reply.headers });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
