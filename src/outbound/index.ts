// The one way out of the hub: every outbound HTTP request (vendor SDK calls; later JWKS fetches and
// outbound webhooks) goes through an undici Agent whose connect step refuses private networks.
// See README.md beside this file. What it enforces, per request:
//  - http: and https: only, to the hosts the caller allows (a connector's documented API hosts plus
//    OUTBOUND_ALLOWED_HOSTS), checked on every request's origin;
//  - the address it connects to is public unicast unless OUTBOUND_ALLOW_PRIVATE_NETWORKS=true. A
//    hostname is resolved inside the connect step (net/tls `lookup`) and the socket connects to
//    exactly the address checked, so a DNS answer that changes between a check and the connect
//    (rebinding) has nothing to slip through; an IP-literal host skips DNS and is checked as is;
//  - redirects are never followed (a 3xx answer fails the request), and connect, headers and body
//    each have a timeout and the response a size limit.
import { AsyncLocalStorage } from 'node:async_hooks';
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, DecoratorHandler, Dispatcher, fetch as undiciFetch, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { OutboundRefusedError, refusalIn } from './refusal.ts';

export const DEFAULT_OUTBOUND_LIMITS = {
  connectTimeoutMs: 10_000,
  /** Until the response's headers arrive, and then between two body chunks. */
  responseTimeoutMs: 30_000,
  /** A vendor API page is a few MB at most. */
  maxResponseBytes: 32 * 1024 * 1024,
};

export type OutboundLimits = typeof DEFAULT_OUTBOUND_LIMITS;

export interface OutboundPolicy {
  /** Who sends (for messages): "Clerk", "the JWKS fetch"… */
  name: string;
  /** Hosts (lower-case names or IP literals) requests may go to; null: any host. */
  allowedHosts: ReadonlySet<string> | null;
  /** OUTBOUND_ALLOW_PRIVATE_NETWORKS: private, loopback and link-local addresses allowed too. */
  allowPrivateNetworks: boolean;
  limits?: Partial<OutboundLimits>;
  /** Replaces DNS resolution (tests). */
  lookup?: typeof dnsLookup;
}

export { OutboundRefusedError, refusalIn, type RefusalReason } from './refusal.ts';

const PRIVATE_HINT = 'the hub sends no requests to private networks unless OUTBOUND_ALLOW_PRIVATE_NETWORKS=true';

const RANGE_NAMES: Record<string, string> = {
  private: 'a private address',
  loopback: 'a loopback address',
  linkLocal: 'a link-local address (where cloud metadata services answer)',
  uniqueLocal: 'a unique-local (private) IPv6 address',
  unspecified: 'the unspecified address',
  carrierGradeNat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

/**
 * Why this IP address is not a public unicast one ("a loopback address"), or null when it is.
 * IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it maps; every other special
 * range ipaddr.js knows (NAT64, 6to4, Teredo, benchmarking…) is refused too, since some embed an
 * IPv4 address of any kind.
 */
export function nonPublicAddress(ip: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(ip.replace(/^\[(.*)\]$/, '$1'));
  } catch {
    return 'not an IP address';
  }
  const range = parsed.range();
  if (range === 'unicast') return null;
  return RANGE_NAMES[range] ?? `a special-purpose address (${range})`;
}

/** The host of a URL as allow-lists name it: lower case, IPv6 without brackets. */
export const hostOf = (url: URL): string => url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/**
 * Why the policy refuses a request to this URL before any connection (scheme, host, an IP-literal
 * host in a private range), or null. Also used to check a base URL when it is configured.
 */
export function urlRefusal(url: URL, policy: Pick<OutboundPolicy, 'name' | 'allowedHosts' | 'allowPrivateNetworks'>): OutboundRefusedError | null {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return new OutboundRefusedError('scheme', `${policy.name}: ${url.protocol} URLs are not fetched; only http: and https:`);
  }
  const host = hostOf(url);
  if (policy.allowedHosts && !policy.allowedHosts.has(host)) {
    const allowed = [...policy.allowedHosts].join(', ') || 'none';
    return new OutboundRefusedError('host', `${policy.name}: ${host} is not one of the hosts it may reach (${allowed}); an operator can allow more with OUTBOUND_ALLOWED_HOSTS`);
  }
  if (isIP(host) && !policy.allowPrivateNetworks) {
    const why = nonPublicAddress(host);
    if (why) return new OutboundRefusedError('private_address', `${policy.name}: ${host} is ${why}; ${PRIVATE_HINT}`);
  }
  return null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that fails when the name resolves to a non-public address (called by net/tls connect). */
function checkedLookup(policy: OutboundPolicy): (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback) => void {
  const resolve = policy.lookup ?? dnsLookup;
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      const list = addresses as LookupAddress[];
      for (const { address } of list) {
        const why = nonPublicAddress(address);
        if (why) return callback(new OutboundRefusedError('private_address', `${policy.name}: ${hostname} resolved to ${address}, ${why}; ${PRIVATE_HINT}`) as NodeJS.ErrnoException, '');
      }
      if ((options as LookupAllOptions).all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}

// undici's DecoratorHandler forwards every handler method; its type declares none of them.
interface Forwarding {
  onConnect(abort: (reason?: Error) => void, ...rest: unknown[]): void;
  onHeaders(statusCode: number, headers: Buffer[] | null, resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: unknown): void;
  onError(error: Error): void;
}
const ForwardingHandler = DecoratorHandler as unknown as new (handler: Dispatcher.DispatchHandlers) => Forwarding;

/** Refuses redirects and responses over the size limit; everything else passes through. */
class BoundedResponse extends ForwardingHandler {
  private abort: ((reason?: Error) => void) | undefined;
  private received = 0;

  constructor(handler: Dispatcher.DispatchHandlers, private readonly origin: string, private readonly policy: OutboundPolicy, private readonly maxBytes: number) {
    super(handler);
  }

  override onConnect(abort: (reason?: Error) => void, ...rest: unknown[]) {
    this.abort = abort;
    return super.onConnect(abort, ...rest);
  }

  override onHeaders(statusCode: number, headers: Buffer[] | null, resume: () => void, statusText: string) {
    const header = (name: string) => {
      for (let i = 0; headers && i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
      return undefined;
    };
    const location = header('location');
    if (statusCode >= 300 && statusCode < 400 && location !== undefined) {
      let to = 'elsewhere';
      try {
        to = new URL(location, this.origin).host;
      } catch {}
      this.abort?.(new OutboundRefusedError('redirect', `${this.policy.name}: ${this.origin} answered HTTP ${statusCode}, a redirect to ${to}; the hub does not follow redirects (use the final URL)`));
      return false;
    }
    if (Number(header('content-length')) > this.maxBytes) {
      this.abort?.(this.tooLarge());
      return false;
    }
    return super.onHeaders(statusCode, headers, resume, statusText);
  }

  override onData(chunk: Buffer) {
    this.received += chunk.length;
    if (this.received > this.maxBytes) {
      const error = this.tooLarge();
      // Aborted on the next turn: aborting inside onData left fetch's body stream waiting forever
      // (undici 6); meanwhile `false` pauses the socket and nothing more is read.
      setImmediate(() => this.abort?.(error));
      return false;
    }
    return super.onData(chunk);
  }

  private tooLarge() {
    return new OutboundRefusedError('too_large', `${this.policy.name}: the answer from ${this.origin} is larger than ${this.maxBytes} bytes; it was not read`);
  }
}

/** An undici Agent that applies the policy to every request it carries. */
export class OutboundAgent extends Agent {
  constructor(private readonly policy: OutboundPolicy) {
    const limits = { ...DEFAULT_OUTBOUND_LIMITS, ...policy.limits };
    // Without private networks every name is resolved by checkedLookup, inside net/tls.connect.
    const connectDirect = buildConnector({ timeout: limits.connectTimeoutMs, ...(policy.allowPrivateNetworks ? {} : { lookup: checkedLookup(policy) }) } as buildConnector.BuildOptions);
    super({
      headersTimeout: limits.responseTimeoutMs,
      bodyTimeout: limits.responseTimeoutMs,
      connect: (options, callback) => {
        // An IP-literal host never reaches lookup: checked here (the origin check saw it too).
        const host = options.hostname.replace(/^\[(.*)\]$/, '$1');
        const why = !policy.allowPrivateNetworks && isIP(host) ? nonPublicAddress(host) : null;
        if (why) return callback(new OutboundRefusedError('private_address', `${policy.name}: ${host} is ${why}; ${PRIVATE_HINT}`), null);
        return connectDirect(options, callback);
      },
    });
    this.maxBytes = limits.maxResponseBytes;
  }

  private readonly maxBytes: number;

  override dispatch(options: Agent.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    const origin = String(options.origin ?? '');
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      handler.onError?.(new OutboundRefusedError('scheme', `${this.policy.name}: ${JSON.stringify(origin)} is not a URL`));
      return false;
    }
    const refusal = urlRefusal(url, this.policy);
    if (refusal) {
      handler.onError?.(refusal);
      return false;
    }
    return super.dispatch(options, new BoundedResponse(handler, url.origin, this.policy, this.maxBytes));
  }
}

/** What a connector (or any other part of the hub) sends through. */
export interface OutboundHttp {
  /** fetch() through the guard; a refusal rejects with the OutboundRefusedError itself. */
  fetch: typeof fetch;
  /** The guard as an undici dispatcher, for clients that take one (fetch's `dispatcher`, stytch's). */
  dispatcher: Dispatcher;
  /**
   * Runs `fn` with the global fetch() calls it makes going through the guard, for SDKs that only
   * use the global fetch (@clerk/backend); when the guard refused a request `fn` made, that
   * refusal is what `fn` fails with (an SDK's own wrapping, "fetch failed", says less). With a
   * `signal`, every request `fn` sends through the guard is aborted (its socket closed) when the
   * signal is: the way to cancel calls of an SDK that takes no signal (@clerk/backend, stytch).
   */
  run<T>(fn: () => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  readonly policy: OutboundPolicy;
}

interface Scope {
  dispatcher: Dispatcher;
  refusal?: OutboundRefusedError;
  signal?: AbortSignal;
}

const scopes = new AsyncLocalStorage<Scope>();

/**
 * Node's global fetch sends through the process's global dispatcher. An SDK that takes no fetch or
 * dispatcher option can only be guarded there, so this installs, once, a dispatcher that sends
 * through the guard of the `run()` it is called in and through the previous global dispatcher
 * everywhere else: nothing outside a `run()` changes. (Replacing globalThis.fetch would not do:
 * @clerk/backend binds the global fetch when it is imported.)
 */
class ScopedGlobalDispatcher extends Dispatcher {
  constructor(private readonly fallback: Dispatcher) {
    super();
  }
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    return (scopes.getStore()?.dispatcher ?? this.fallback).dispatch(options, handler);
  }
  override close(...args: unknown[]): never {
    return (this.fallback.close as (...a: unknown[]) => never)(...args);
  }
  override destroy(...args: unknown[]): never {
    return (this.fallback.destroy as (...a: unknown[]) => never)(...args);
  }
}

function installScopedGlobalDispatcher() {
  if (!(getGlobalDispatcher() instanceof ScopedGlobalDispatcher)) setGlobalDispatcher(new ScopedGlobalDispatcher(getGlobalDispatcher()));
}

/** Records a refusal for the run() it happened in, and aborts the request with the run's signal. */
class ScopedHandler extends ForwardingHandler {
  private unlisten: (() => void) | undefined;

  constructor(handler: Dispatcher.DispatchHandlers, private readonly scope: Scope | undefined) {
    super(handler);
  }
  override onConnect(abort: (reason?: Error) => void, ...rest: unknown[]) {
    super.onConnect(abort, ...rest);
    const signal = this.scope?.signal;
    if (!signal) return;
    const onAbort = () => abort(signal.reason instanceof Error ? signal.reason : new Error('the request was cancelled'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.unlisten = () => signal.removeEventListener('abort', onAbort);
  }
  override onComplete(trailers: unknown) {
    this.unlisten?.();
    return super.onComplete(trailers);
  }
  override onError(error: Error) {
    this.unlisten?.();
    if (this.scope && error instanceof OutboundRefusedError) this.scope.refusal ??= error;
    return super.onError(error);
  }
}

/** The guard for one policy: an agent, a fetch and a run() over it. */
export function createOutbound(policy: OutboundPolicy): OutboundHttp {
  const agent = new OutboundAgent(policy);
  const dispatcher: Dispatcher = agent.compose((dispatch) => (options, handler) => dispatch(options, new ScopedHandler(handler, scopes.getStore())));
  const guardedFetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    try {
      return (await undiciFetch(input as never, { ...(init as object), dispatcher, redirect: 'manual' } as never)) as unknown as Response;
    } catch (error) {
      throw refusalIn(error) ?? error;
    }
  }) as typeof fetch;
  return {
    policy,
    dispatcher,
    fetch: guardedFetch,
    async run<T>(fn: () => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
      options.signal?.throwIfAborted();
      installScopedGlobalDispatcher();
      const scope: Scope = { dispatcher, signal: options.signal };
      try {
        return await scopes.run(scope, fn);
      } catch (error) {
        throw scope.refusal ?? refusalIn(error) ?? error;
      }
    },
  };
}

/** OUTBOUND_ALLOWED_HOSTS entries and a sender's own hosts as one allow-list. */
export function allowList(...lists: ReadonlyArray<readonly string[]>): ReadonlySet<string> {
  return new Set(lists.flat().map((h) => h.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1')).filter(Boolean));
}
