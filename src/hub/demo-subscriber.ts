// A live subscriber for `npm run demo`: opens a graphql-ws subscription to an organization's
// deprovisionEvents and prints each deprovision as it is enforced. Also a small, readable example
// of what an app's session service does with the stream (including resuming with `after`).
//
//   const watcher = await watchDeprovisions({ url: 'http://localhost:4000', key, organizationId });
//   ... deprovision someone ...
//   await watcher.close();
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface DeprovisionEvent {
  id: string;
  type: string;
  occurredAt: string;
  receivedAt: string;
  enforcedAt: string;
  reason: string | null;
  warnings: string[];
  user: { id: string; externalId: string | null; userName: string | null; email: string | null; state: string } | null;
  connection: { id: string; provider: string } | null;
  revokedSessions: string[];
  revokedCredentials: string[];
  endedMemberships: string[];
}

export interface WatchOptions {
  /** The hub's base URL (http://...); the WebSocket goes to <url>/graphql. */
  url: string;
  /** An API key of the organization (or an admin key). */
  key: string;
  organizationId: string;
  /** Resume after this event id (the last one you handled). */
  after?: string | null;
  /** Called for each deprovision; defaults to printing it. */
  onEvent?: (event: DeprovisionEvent) => void;
  /** Where the default printer writes (default: stdout). */
  print?: (line: string) => void;
}

export interface Watcher {
  /** The last event id received: resume from it with `after`. */
  readonly lastEventId: string | null;
  close(): Promise<void>;
}

const QUERY = `subscription($o: ID!, $after: ID) { deprovisionEvents(organizationId: $o, after: $after) {
  id type occurredAt receivedAt enforcedAt reason warnings
  user { id externalId userName email state } connection { id provider }
  revokedSessions revokedCredentials endedMemberships } }`;

/** One deprovision, as a few lines a person can read. */
export function formatDeprovision(event: DeprovisionEvent): string {
  const who = event.user?.userName ?? event.user?.email ?? event.user?.id ?? 'a user';
  const by = event.connection ? `${event.connection.provider} connection ${event.connection.id}` : 'the API';
  const ms = (a: string, b: string) => `${new Date(b).getTime() - new Date(a).getTime()} ms`;
  const lines = [
    `⛔ deprovisioned ${who} (event ${event.id}, via ${by})`,
    `   reason: ${event.reason ?? '—'}`,
    `   signalled ${event.occurredAt} · received +${ms(event.occurredAt, event.receivedAt)} · enforced +${ms(event.receivedAt, event.enforcedAt)} after receipt`,
    `   revoked ${event.revokedSessions.length} session(s), ${event.revokedCredentials.length} credential(s); ended ${event.endedMemberships.length} membership(s)`,
  ];
  for (const warning of event.warnings) lines.push(`   ⚠ ${warning}`);
  return lines.join('\n');
}

/** Subscribes from now on (or after `after`); resolves once connected. Every later deprovision is printed. */
export async function watchDeprovisions(options: WatchOptions): Promise<Watcher> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const onEvent = options.onEvent ?? ((event: DeprovisionEvent) => print(formatDeprovision(event)));
  // Start from the organization's newest event, so nothing committed after this call is missed.
  let lastEventId: string | null = options.after ?? (await latestEventId(options));
  const client: Client = createClient({
    url: `${options.url.replace(/^http/, 'ws').replace(/\/+$/, '')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${options.key}` },
    lazy: false,
    // Reconnect on a dropped connection, resuming after the last event seen: nothing is missed.
    retryAttempts: 5,
    onNonLazyError: () => {},
  });
  const connected = new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', (event) => {
      const { code, reason } = event as { code?: number; reason?: string };
      if (code === 4403) reject(new Error(`the hub refused the key (${code} ${reason ?? ''})`));
    });
  });
  let unsubscribe = () => {};
  let closed = false;
  // The stream ends with a reason: a subscriber too slow, or a server shutting down, is told where
  // to resume, and does so.
  const ended = (errors: unknown) => {
    const first = Array.isArray(errors) ? (errors[0] as { message?: string; extensions?: { code?: string; resumeAfter?: string } }) : undefined;
    if (!closed && (first?.extensions?.code === 'SUBSCRIBER_TOO_SLOW' || first?.extensions?.code === 'STREAM_CLOSED')) {
      lastEventId = first.extensions.resumeAfter ?? lastEventId;
      subscribe();
    } else if (!closed) print(`subscription ended: ${first?.message ?? String((errors as Error)?.message ?? errors)}`);
  };
  const subscribe = () => {
    unsubscribe = client.subscribe<{ deprovisionEvents: DeprovisionEvent }>(
      { query: QUERY, variables: { o: options.organizationId, after: lastEventId } },
      {
        next: (result) => {
          const event = result.data?.deprovisionEvents;
          if (event) {
            lastEventId = event.id;
            onEvent(event);
          } else ended(result.errors);
        },
        error: ended,
        complete: () => {},
      },
    );
  };
  subscribe();
  await connected;
  return {
    get lastEventId() {
      return lastEventId;
    },
    async close() {
      closed = true;
      unsubscribe();
      await client.dispose();
    },
  };
}

async function latestEventId(options: WatchOptions): Promise<string | null> {
  const response = await fetch(`${options.url.replace(/\/+$/, '')}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.key}` },
    body: JSON.stringify({ query: 'query($o: ID!) { latestLifecycleEventId(organizationId: $o) }', variables: { o: options.organizationId } }),
  });
  const body = (await response.json()) as { data?: { latestLifecycleEventId: string | null }; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(`could not watch deprovisions: ${body.errors[0]!.message}`);
  return body.data?.latestLifecycleEventId ?? '0';
}
