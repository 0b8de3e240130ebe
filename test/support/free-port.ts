// A free TCP port on 127.0.0.1, for the servers tests and benchmarks start (hubs, stand-ins,
// redis-server, PostgreSQL clusters).
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
