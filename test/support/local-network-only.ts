// Tests talk only to 127.0.0.1: a connection attempt anywhere else (an SDK left pointing at its
// vendor's real API, say) fails loudly here instead of quietly depending on the network.
import net from 'node:net';

const LOCAL = /^(127\.\d+\.\d+\.\d+|localhost|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;

net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  const first = args[0];
  const options = (Array.isArray(first) ? first[0] : first) as { host?: string; path?: string } | number | undefined;
  const host = typeof options === 'object' && options ? options.host : typeof args[1] === 'string' ? args[1] : undefined;
  const isSocketPath = typeof options === 'object' && options !== null && typeof options.path === 'string';
  if (host && !isSocketPath && !LOCAL.test(host)) {
    throw new Error(`tests talk only to 127.0.0.1, but something connected to ${host}: point its SDK at a local stand-in`);
  }
  return connect.apply(this, args);
} as typeof net.Socket.prototype.connect;
