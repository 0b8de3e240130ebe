// The connector contract: what a source plugin (built in, or a partner's npm package) implements.
// A connector only translates. It verifies what its source sends and turns it into normalized
// lifecycle commands; the hub's lifecycle engine applies them. A connector never writes to the
// database. See plugins/README.md for the partner guide.
import type { Hono, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { LifecycleCommandInput } from '../engine/commands.ts';
import type { DeliveryOutcome } from '../engine/types.ts';
import type { OutboundHttp } from '../outbound/index.ts';
import { parseUntrustedJson, UntrustedJsonError } from '../http/untrusted-json.ts';
import type { DirectoryReader } from './directory/types.ts';

export type { OutboundHttp };

/** A connection as its connector sees it: secrets decrypted, never sent to API clients. */
export interface ConnectionView<Config = Record<string, unknown>> {
  id: string;
  organizationId: string;
  provider: string;
  name: string;
  /** PAUSED refuses changes (answer "retry later"); the others accept them (see DirectoryConnection.status). */
  status: 'AWAITING_FIRST_REQUEST' | 'ACTIVE' | 'PAUSED' | 'FAILING' | 'STALE';
  testMode: boolean;
  config: Config;
  cursor: string | null;
}

export interface ApplyOptions {
  /** The source's id for this delivery: a redelivery with the same id changes nothing. */
  deliveryId?: string;
  receivedAt?: Date;
}

export interface ConnectorContext<Config = Record<string, unknown>> {
  connection: ConnectionView<Config>;
  logger: Logger;
  /**
   * The only way to call the source's API: fetch, an undici dispatcher, or run() for SDKs that use
   * the global fetch. Reaches only the hosts in the connector's `api.hosts` (and those the operator
   * allows), never a private address, never follows a redirect (src/outbound).
   */
  outbound: OutboundHttp;
  /**
   * Aborted when the hub shuts down (or a run is cancelled): stop paging and return or throw. In
   * `revoke`, aborted when the attempt times out (REVOCATION_CALL_TIMEOUT_MS). Pass it on:
   * `fetch(url, { signal })`, or `outbound.run(fn, { signal })` around an SDK that takes none.
   */
  signal?: AbortSignal;
  /** What this connection holds: its live users and groups, read-only (on inbound, pull and backfill calls). */
  directory?: DirectoryReader;
  /**
   * Source ids of this connection's users or groups not deleted at the source, optionally only those
   * whose sourceData contains `sourceData` (e.g. `{ directory_id }`). Read-only. For the rare event
   * that names a whole scope instead of its members (WorkOS dsync.deleted: a directory is gone and
   * no per-user events follow).
   */
  knownSourceIds?(kind: 'user' | 'group', sourceData?: Record<string, string>): Promise<string[]>;
}

/** One inbound HTTP delivery (webhook), body unparsed: signatures are over the exact bytes. */
export interface InboundRequest {
  method: string;
  url: string;
  headers: Headers;
  rawBody: string;
}

/**
 * What a verified delivery means. `deliveryId` is the source's id for the delivery, the same on
 * every retry of it (Svix's `svix-id`, an event id): the engine applies one id once.
 * `wake: true` asks the hub to run this connection's `pull()` now (the delivery is only a hint that
 * the source's ordered feed has news).
 */
export type InboundResult =
  | { deliveryId: string; commands: LifecycleCommandInput[]; occurredAt?: Date; wake?: boolean }
  /**
   * Verified but nothing to do (an event type the hub does not model). Acknowledged with 2xx.
   * `wake`: the delivery only signals that the source changed; the hub should read the connector's
   * ordered feed (`pull`) now rather than at the next poll (WorkOS with `useEventsApi`).
   */
  | { deliveryId: string; ignored: string; wake?: boolean };

/**
 * The delivery's signature or freshness did not verify: answered 401 and nothing changes. Say what
 * to check in the message (which secret, which header); never echo secrets or signatures.
 */
export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerificationError';
  }
}

/**
 * Webhooks arrive in any order (Svix, WorkOS and the rest retry without ordering): a removal naming
 * a user the hub has not seen yet must be retried after the user arrives, not skipped. The hub
 * applies this to every inbound delivery, so a connector cannot forget it; a connector that sets
 * `ifUserAbsent` itself keeps its choice.
 */
export function asUnorderedDelivery(commands: readonly LifecycleCommandInput[]): LifecycleCommandInput[] {
  return commands.map((command) =>
    command.type === 'removeMembers' && (command as { ifUserAbsent?: unknown }).ifUserAbsent === undefined ? { ...command, ifUserAbsent: 'fail' as const } : command,
  );
}

/** The payload is not something this connector understands: answered 400 and nothing changes. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/**
 * A verified webhook body as JSON: what every connector parses its deliveries with instead of
 * JSON.parse. Invalid JSON, a `__proto__` key (or `constructor.prototype`), and text that is not
 * well-formed Unicode (a lone surrogate) are a PayloadError (400); see src/http/untrusted-json.ts.
 */
export function parseWebhookJson(rawBody: string): unknown {
  try {
    return parseUntrustedJson(rawBody);
  } catch (error) {
    if (error instanceof UntrustedJsonError) throw new PayloadError(error.problem === 'syntax' ? 'the body is not JSON' : `the body is refused: ${error.message}`);
    throw error;
  }
}

// By name as well as by class: a partner package may bring its own copy of this module.
export const isVerificationError = (error: unknown): error is Error => error instanceof VerificationError || (error as Error | null)?.name === 'VerificationError';
export const isPayloadError = (error: unknown): error is Error => error instanceof PayloadError || (error as Error | null)?.name === 'PayloadError';

export interface PullPage {
  commands: LifecycleCommandInput[];
  /**
   * Delivery id for the page, so a page applied twice (the hub stopped before saving the cursor)
   * changes nothing. Defaults to one derived from the cursor read from and the cursor returned.
   */
  deliveryId?: string;
  /** Where to continue from; persisted only after the page is applied. */
  cursor: string | null;
  /** False when the feed has nothing newer right now. */
  hasMore: boolean;
}

export interface BackfillPage {
  commands: LifecycleCommandInput[];
  /** Source ids of every user this page lists (drift = users here the listing never named). */
  seenUserSourceIds: string[];
  /** Total users at the source, when the source says. */
  total?: number;
}

export type RevocationTarget =
  | { type: 'session'; id: string; externalRef: string; user: { id: string; sourceId: string } }
  | { type: 'credential'; id: string; kind: string; externalRef: string; user: { id: string; sourceId: string } }
  /** The person was deprovisioned by another (authoritative) source: block them here too. */
  | { type: 'user'; user: { id: string; sourceId: string } };

/** What the hub offers push-protocol endpoints (SCIM) mounted by a connector. */
export interface ConnectorHub {
  publicUrl: string;
  logger: Logger;
  /** The connection a bearer token opens, or null; the token is compared in constant time. */
  authenticate(connectionId: string, bearerToken: string): Promise<ConnectionView | null>;
  /** Applies commands through the lifecycle engine on behalf of the connection. */
  apply(connection: ConnectionView, commands: LifecycleCommandInput[], options?: ApplyOptions): Promise<DeliveryOutcome>;
  /** Reads of what the connection holds, for serving the source's reads (SCIM GET and filters). Takes the connection `authenticate` returned. */
  directory(connection: ConnectionView): DirectoryReader;
  /**
   * Counts requests by client address whose credentials fail (`failed(status)` on the answer) and
   * answers an address past AUTH_FAILURES_PER_ADDRESS with `answer` (a 429 in your protocol,
   * Retry-After is added) without running the route. Use it on every route that authenticates.
   */
  throttleAuthFailures(failed: (status: number) => boolean, answer: (retryAfterSeconds: number) => Response): MiddlewareHandler;
  /** A request whose credentials were refused: counted in the connection's metrics, never written to its request log. */
  refusedRequest(connectionId: string, method: string, status: number): void;
  /** Records a request in the connection's request log (connection.requestLog in GraphQL). */
  logRequest(connectionId: string, entry: { requestId: string; method: string; path: string; status: number; durationMs: number; client?: string | null; error?: string | null }): void;
  /** The source was just heard from: sets the connection's lastSyncedAt (throttled by the hub, not one write per request). */
  touchConnection(connectionId: string): void;
}

export interface ConnectorDefinition<Schema extends z.ZodType = z.ZodType> {
  /** Stable id, the `provider` of its connections ("scim", "clerk", "acme-hris"). */
  id: string;
  displayName: string;
  description?: string;
  /** Validates createDirectoryConnection's `config`; errors name the field. */
  configSchema: Schema;
  /** Config fields stored encrypted and never returned by the API. */
  secretFields?: readonly string[];
  /**
   * The source's API as its vendor documents it. `hosts`: the only hosts ctx.outbound may reach
   * (an operator can add more with OUTBOUND_ALLOWED_HOSTS). `baseUrlField`: the config field that
   * overrides the API's base URL, if any; the hub refuses a value on any other host.
   */
  api?: { hosts: readonly string[]; baseUrlField?: string };
  /** The hub issues a bearer token for the source to push with (SCIM). Shown once, stored hashed. */
  issuesBearerToken?: boolean;
  /** Push endpoints served under `${basePath}/${connectionId}` (SCIM: "/scim/v2"). */
  endpoints?: { basePath: string; create(hub: ConnectorHub): Hono };
  /** Verifies one webhook delivery and translates it. Throw VerificationError or PayloadError. */
  inbound?(request: InboundRequest, ctx: ConnectorContext<z.infer<Schema>>): Promise<InboundResult>;
  /**
   * Reads the source's ordered feed after `cursor`; the hub polls it every PULL_INTERVAL_SECONDS
   * (and when inbound returns `wake`). Nothing new, or a connection configured not to read the feed:
   * return no commands and the same cursor, without calling the source.
   */
  pull?(cursor: string | null, ctx: ConnectorContext<z.infer<Schema>>): Promise<PullPage>;
  /**
   * Lists everything at the source, for a first sync and reconciliation: users first, then groups
   * with their full member lists (replaceMembers). Each page is applied as it comes.
   */
  backfill?(ctx: ConnectorContext<z.infer<Schema>>): AsyncIterable<BackfillPage>;
  /**
   * Of these source ids, the ones the source still has. Called after a backfill for the users it
   * did not list (drift), before they are reported or deprovisioned: implement it when a listing
   * can miss records that exist (offset pagination while records are deleted).
   */
  stillExists?(sourceIds: string[], ctx: ConnectorContext<z.infer<Schema>>): Promise<string[]>;
  /** Revokes a session or credential (or blocks a user) at the source. Throw to have it retried. */
  revoke?(target: RevocationTarget, ctx: ConnectorContext<z.infer<Schema>>): Promise<void>;
}

export type AnyConnector = ConnectorDefinition<z.ZodType>;

/** Identity helper that keeps the config type flowing into the connector's methods. */
export function defineConnector<Schema extends z.ZodType>(definition: ConnectorDefinition<Schema>): ConnectorDefinition<Schema> {
  return definition;
}
