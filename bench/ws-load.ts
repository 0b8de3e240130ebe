// Load-side WebSocket subscribers for the stream benchmarks: raw `ws` clients speaking
// graphql-transport-ws (connection_init, subscribe). Each message is timed on arrival and matched by
// substring, not parsed, so the load generator's own cost stays small next to the server's.
import WebSocket from 'ws';

export interface RawSubscriber {
  socket: WebSocket;
  /** Called with each `next` message's raw text and its arrival time (performance.now()). */
  onNext: ((text: string, at: number) => void) | null;
  close(): void;
}

export async function openRawSubscriber(wsUrl: string, key: string, query: string, variables: Record<string, unknown>): Promise<RawSubscriber> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const sub: RawSubscriber = { socket, onNext: null, close: () => socket.close(1000) };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('subscriber handshake timed out')), 30_000);
    socket.once('error', reject);
    socket.once('close', (code, reason) => reject(new Error(`socket closed during handshake: ${code} ${reason}`)));
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.on('message', (data) => {
      const text = data.toString();
      if (text.includes('"connection_ack"')) {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.on('error', () => {});
        resolve();
      } else if (text.includes('"type":"next"')) {
        sub.onNext?.(text, performance.now());
      } else if (text.includes('"type":"error"')) {
        process.stderr.write(`subscription error: ${text}\n`);
      }
    });
  });
  return sub;
}

/** Opens `count` subscribers, `parallel` handshakes at a time. */
export async function openMany(count: number, open: (i: number) => Promise<RawSubscriber>, parallel = 100): Promise<RawSubscriber[]> {
  const out: RawSubscriber[] = [];
  for (let i = 0; i < count; i += parallel) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, j) => open(i + j)))));
  }
  return out;
}

export const DEPROVISION_SUBSCRIPTION = `subscription($o: ID!) { deprovisionEvents(organizationId: $o) {
  id type occurredAt receivedAt enforcedAt reason warnings
  user { id externalId userName email state } connection { id provider }
  revokedSessions revokedCredentials endedMemberships } }`;
