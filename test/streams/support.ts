// Clients for the stream tests: real graphql-ws over WebSocket, and SSE over HTTP (fetch).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { expect, vi } from 'vitest';
import type { LifecycleCommandInput } from '../../src/engine/commands.ts';
import type { TestHub } from '../support/server.ts';

export interface Seeded {
  orgId: string;
  orgKey: string;
  connectionId: string;
  /** Applies commands as the organization's test connection. */
  send(commands: LifecycleCommandInput[], deliveryId?: string): ReturnType<TestHub['hub']['engine']['execute']>;
  /** Provisions users u0..u{n-1} (sourceIds prefixed) and returns their ids in order. */
  provision(prefix: string, n: number): Promise<string[]>;
}

export async function seedOrganization(t: TestHub, slug: string, provider = 'test'): Promise<Seeded> {
  const { createOrganization } = await t.gqlOk(`mutation($s: String!) { createOrganization(input: { name: $s, slug: $s }) { organization { id } } }`, { s: slug });
  const orgId = createOrganization.organization.id as string;
  const { createApiKey } = await t.gqlOk(`mutation($o: ID) { createApiKey(input: { organizationId: $o, name: "stream" }) { secret } }`, { o: orgId });
  const { createDirectoryConnection } = await t.gqlOk(
    `mutation($o: ID!, $p: String!) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: "Okta" }) { connection { id } } }`,
    { o: orgId, p: provider },
  );
  const connectionId = createDirectoryConnection.connection.id as string;
  const send: Seeded['send'] = (commands, deliveryId) => t.hub.engine.execute({ connectionId, deliveryId, actor: { type: 'connection', connectionId }, commands });
  return {
    orgId,
    orgKey: createApiKey.secret as string,
    connectionId,
    send,
    async provision(prefix, n) {
      const commands: LifecycleCommandInput[] = Array.from({ length: n }, (_, i) => ({
        type: 'upsertUser',
        sourceId: `${prefix}${i}`,
        profile: { userName: `${prefix}${i}@acme.test`, email: `${prefix}${i}@acme.test`, externalId: `ext-${prefix}${i}` },
      }));
      for (let i = 0; i < commands.length; i += 500) await send(commands.slice(i, i + 500));
      const users = await t.hub.db.prisma.directoryUser.findMany({ where: { connectionId, sourceId: { startsWith: prefix } }, select: { id: true, sourceId: true } });
      const byIndex = new Map(users.map((u) => [Number(u.sourceId.slice(prefix.length)), u.id]));
      return Array.from({ length: n }, (_, i) => byIndex.get(i)!);
    },
  };
}

export const wsUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, 'ws')}/graphql`;

/** The sockets a client opened (to pause one, like a client that stops reading). */
export function trackedWebSocket() {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets.push(this);
    }
  }
  return { impl: Tracked, sockets };
}

export function wsClient(httpUrl: string, key: string | null, options: { webSocketImpl?: unknown; onClosed?: (event: { code: number; reason: string }) => void } = {}): Client {
  return createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: options.webSocketImpl ?? WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: { closed: (event) => options.onClosed?.(event as { code: number; reason: string }) },
  });
}

export interface Collected<T> {
  items: T[];
  /** Items received (kept in `items` unless the collector was told not to keep them). */
  count: number;
  errors: unknown[];
  completed: boolean;
  /** Resolves once at least n items arrived (or rejects on error/timeout). */
  waitFor(n: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves once the operation ended with an error. */
  waitForError(timeoutMs?: number): Promise<any>;
  dispose(): void;
}

function collector<T>(dispose: () => void, keep = true): Collected<T> & { push(item: T): void; fail(error: unknown): void; complete(): void } {
  const waiters = new Set<() => void>();
  /** Settles as `settle` says, checked now and after every item, error or completion; or times out. */
  const until = <R>(settle: () => { value: R } | { error: Error } | undefined, timeoutMs: number, timedOut: () => string) =>
    new Promise<R>((resolve, reject) => {
      const check = () => {
        const outcome = settle();
        if (outcome) finish(outcome);
      };
      const finish = (outcome: { value: R } | { error: Error }) => {
        clearTimeout(timer);
        waiters.delete(check);
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.value);
      };
      const timer = setTimeout(() => finish({ error: new Error(timedOut()) }), timeoutMs);
      waiters.add(check);
      check();
    });
  const c = {
    items: [] as T[],
    count: 0,
    errors: [] as unknown[],
    completed: false,
    dispose,
    push(item: T) {
      c.count++;
      if (keep) c.items.push(item);
      for (const w of [...waiters]) w();
    },
    fail(error: unknown) {
      c.errors.push(error);
      for (const w of [...waiters]) w();
    },
    complete() {
      c.completed = true;
      for (const w of [...waiters]) w();
    },
    waitFor(n: number, timeoutMs = 20_000) {
      return until<T[]>(() => {
        if (c.count >= n) return { value: c.items.slice() };
        if (c.errors.length) return { error: new Error(`stream failed after ${c.count} of ${n} items: ${JSON.stringify(c.errors[0])}`) };
        if (c.completed) return { error: new Error(`stream completed after ${c.count} of ${n} items`) };
      }, timeoutMs, () => `timed out with ${c.count} of ${n} items`);
    },
    waitForError(timeoutMs = 20_000) {
      return until<any>(() => {
        if (c.errors.length) return { value: c.errors[0] };
        if (c.completed) return { error: new Error('completed without an error') };
      }, timeoutMs, () => `no error within ${timeoutMs} ms (${c.items.length} items)`);
    },
  };
  return c;
}

/** Subscribes over graphql-ws; items are each `next` payload's data[field]. */
export function subscribeWs<T = any>(client: Client, query: string, variables: Record<string, unknown>, field: string, options: { keep?: boolean } = {}): Collected<T> {
  let unsubscribe = () => {};
  const c = collector<T>(() => unsubscribe(), options.keep ?? true);
  unsubscribe = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) c.fail(result.errors);
        else c.push(result.data![field]!);
      },
      error: (error) => c.fail(error),
      complete: () => c.complete(),
    },
  );
  return c;
}

/** Subscribes over SSE (graphql-yoga's `Accept: text/event-stream`); resolves with the HTTP status first. */
export async function subscribeSse<T = any>(httpUrl: string, key: string | null, query: string, variables: Record<string, unknown>, field: string): Promise<Collected<T> & { status: number; body?: unknown }> {
  const abort = new AbortController();
  const response = await fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  const c = collector<T>(() => abort.abort());
  if (!response.ok || !response.headers.get('content-type')?.includes('text/event-stream')) {
    const body = await response.json().catch(() => null);
    c.fail(body);
    return Object.assign(c, { status: response.status, body });
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (event === 'complete') c.complete();
          else if (data) {
            const payload = JSON.parse(data) as { data?: Record<string, T>; errors?: unknown[] };
            if (payload.errors?.length) c.fail(payload.errors);
            else if (payload.data) c.push(payload.data[field]!);
          }
        }
      }
      c.complete();
    } catch (error) {
      if (!abort.signal.aborted) c.fail(String(error));
    }
  })();
  return Object.assign(c, { status: response.status });
}

export const DEPROVISION_QUERY = `subscription($o: ID!, $after: ID) { deprovisionEvents(organizationId: $o, after: $after) {
  id type occurredAt receivedAt enforcedAt reason warnings
  user { id externalId userName email state } connection { id provider }
  revokedSessions revokedCredentials endedMemberships } }`;

export const LIFECYCLE_QUERY = `subscription($o: ID!, $after: ID, $types: [String!]) { lifecycleEvents(organizationId: $o, types: $types, after: $after) {
  id type occurredAt receivedAt enforcedAt user { id state } group { id displayName } connection { id provider } } }`;

/** The organization's lifecycle event ids, as the database has them. */
export async function eventIds(t: TestHub, orgId: string, types?: string[]): Promise<string[]> {
  const rows = await t.hub.db.prisma.lifecycleEvent.findMany({
    where: { organizationId: orgId, ...(types ? { type: { in: types } } : {}) },
    orderBy: { id: 'asc' },
    select: { id: true },
  });
  return rows.map((r) => r.id.toString());
}

/** Waits until n subscriptions of the organization have started on this hub (their position is known). */
export async function waitForSubscribers(t: TestHub, organizationId: string, n: number, timeoutMs = 10_000) {
  await vi.waitFor(() => expect(t.hub.events.subscribersOf(organizationId), 'subscriptions started').toBeGreaterThanOrEqual(n), { timeout: timeoutMs, interval: 10 });
}

let gc: (() => void) | undefined;
/** Heap in use after two full collections, to measure what a stream keeps (gc exposed for this process on first use). */
export function heapAfterGc(): number {
  if (!gc) {
    setFlagsFromString('--expose_gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
