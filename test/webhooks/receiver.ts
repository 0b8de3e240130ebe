// A webhook receiver on 127.0.0.1 for the tests: records every request (raw body and headers),
// answers as the test says, and verifies with the `standardwebhooks` and `svix` libraries unchanged.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer after this long (a slow receiver). */
  delayMs?: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Decides each answer (default 200). */
  answer: (request: Received, index: number) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hooks'): Promise<Receiver> {
  const receiver = {
    received: [] as Received[],
    answer: (() => ({ status: 200, body: 'ok' })) as Receiver['answer'],
  } as Receiver;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      receiver.received.push(request);
      const answer = receiver.answer(request, receiver.received.length - 1);
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? '');
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}${path}`;
  receiver.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return receiver;
}

const headersOf = (r: Received) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});

/** Verifies with both libraries; throws when either refuses. Returns the parsed payload. */
export function verifyBoth(r: Received, secret: string): { type: string; timestamp: string; data: any } {
  const standard = new StandardWebhook(secret).verify(r.body, headersOf(r)) as { type: string; timestamp: string; data: any };
  // svix 2.x verifies webhook-* headers as well as svix-*; it returns nothing useful, so the body is parsed here.
  new SvixWebhook(secret).verify(r.body, headersOf(r));
  return standard;
}

/** Whether either library accepts it with this secret. */
export function verifiesWith(r: Received, secret: string): { standard: boolean; svix: boolean } {
  const attempt = (fn: () => unknown) => {
    try {
      fn();
      return true;
    } catch {
      return false;
    }
  };
  return { standard: attempt(() => new StandardWebhook(secret).verify(r.body, headersOf(r))), svix: attempt(() => new SvixWebhook(secret).verify(r.body, headersOf(r))) };
}

/** Each webhook-id once, in first-arrival order: what a deduping receiver applies. */
export const deduped = (received: Received[]) => [...new Map(received.map((r) => [String(r.headers['webhook-id']), r])).values()];
