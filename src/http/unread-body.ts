// Answers given before the request's body has arrived (413, 401, 404, 429… to a client still
// uploading) close the connection, and say so.
//
// Without this, such an answer said `keep-alive`, and @hono/node-server then drained the rest of
// the body for at most 500 ms or 64 MiB before destroying the socket: a keep-alive client's next
// request on that connection failed (`other side closed`, ECONNRESET), and a client sending a
// huge body had up to 64 MiB read from it per refusal. Draining it whole would keep the connection
// at the price of reading whatever the client sends, which an early answer is there to refuse. So
// the answer carries `Connection: close` (Node ends the connection after it; the client opens a new
// one for its next request), and the connection is torn down in stages, as RFC 9112 §9.6 asks.
// A body that has fully arrived but was not read (`complete`) keeps the connection: Node discards it.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { MiddlewareHandler } from 'hono';

/** After an early answer, what the client still sends is discarded for at most this long… */
export const LINGER_MS = 2_000;
/** …or this many bytes, before the socket is destroyed. */
export const LINGER_MAX_BYTES = 16 * 1024 * 1024;

export function closeWhenBodyUnread(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    // Only on node:http (the env @hono/node-server passes); app.request() in tests has none.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming || incoming.complete) return;
    // The parser marks a small body that has arrived complete on its next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    if (incoming.complete) return;
    c.header('Connection', 'close');
    closeInStages(incoming);
  };
}

const closing = new WeakSet<Socket>();

/**
 * Node destroys the socket as soon as a `Connection: close` answer is written; with request bytes
 * still arriving, the kernel answers them with a reset, and a client that had not read the answer
 * yet loses it (measured: a client writing its whole body before reading got EPIPE and no answer).
 * Instead (RFC 9112 §9.6, nginx's lingering close): half-close after the answer, read and discard
 * what arrives until the client closes its side (it does on reading the answer) or a limit is
 * reached, then destroy. Node has no option for this, so the socket's destroySoon, which Node calls
 * once the answer is written, is replaced on this one socket.
 */
function closeInStages(incoming: IncomingMessage) {
  const socket = incoming.socket as Socket | null;
  if (!socket || closing.has(socket)) return;
  closing.add(socket);
  let started = false;
  socket.destroySoon = function destroySoon(this: Socket) {
    if (started || this.destroyed) return;
    started = true;
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    this.end();
    // The rest of the request is read into nothing (as Node's own dump of an unread body does): a
    // reader left on it, such as a body stream a handler opened and abandoned, holds the socket paused.
    let discarded = 0;
    incoming.removeAllListeners('data');
    incoming.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_MAX_BYTES) this.destroy();
    });
    incoming.resume();
  };
}
