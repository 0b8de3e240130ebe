// "Credential {kind, id} was revoked", told to every instance (the event bus's control channel:
// Redis with REDIS_URL, in process otherwise). Each instance then, at once, drops its cached
// authentication of the credential and ends what still runs under it here: graphql-ws sockets
// (closed with 4401) and subscription streams (ended with UNAUTHENTICATED), registered in
// LiveOperations when they start.
//
// A broadcast can be lost (Redis down, a publish that failed): live credentials are also checked
// against the database when the bus reconnects and every RECHECK_INTERVAL_MS, and each graphql-ws
// operation re-authenticates its socket's key (src/http/graphql-ws-auth.ts), so a lost message
// delays the end by at most that, never forever.
import type { SqlExecutor } from '../storage/sql.ts';
import type { CredentialRevoked, EventBus } from '../events/bus.ts';
import type { Logger } from '../hub/logger.ts';
import { PeriodicTask } from '../jobs/periodic.ts';
import { LiveOperations, type Credential, type CredentialKind, type EndOperation } from './live-operations.ts';
import type { ApiKeyAuthenticator } from './principal.ts';
import { endedSessions } from './browser-sessions.ts';

const RECHECK_INTERVAL_MS = 30_000;
/** A revocation is remembered this long, so an operation authenticated just before it (its lookup in flight) still ends. */
const REMEMBER_MS = 60_000;
const REMEMBER_MAX = 10_000;

/** Per kind: the ids among these that are no longer valid (revoked or deleted). */
const FIND_REVOKED: Record<CredentialKind, (sql: SqlExecutor, ids: string[]) => Promise<string[]>> = {
  api_key: async (sql, ids) => {
    const valid = await sql.query<{ id: string }>('SELECT id::text AS id FROM api_key WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL', [ids]);
    const stillValid = new Set(valid.map((r) => r.id));
    return ids.filter((id) => !stillValid.has(id));
  },
  // Signed out, expired, its setup link revoked or expired, or its console key revoked.
  browser_session: endedSessions,
};

const isKind = (kind: string): kind is CredentialKind => Object.hasOwn(FIND_REVOKED, kind);

export interface CredentialRevocationsOptions {
  bus: EventBus;
  sql: SqlExecutor;
  auth: ApiKeyAuthenticator;
  logger: Logger;
  recheckIntervalMs?: number;
}

export class CredentialRevocations {
  private readonly live = new LiveOperations();
  private readonly recent = new Map<string, number>();
  private readonly stops: Array<() => void> = [];
  private readonly rechecks: PeriodicTask;

  constructor(private readonly options: CredentialRevocationsOptions) {
    const { bus } = options;
    this.stops.push(bus.onCredentialRevoked((revoked) => this.endHere(revoked)));
    // The re-check is the hub's one periodic-task helper: single flight, woken when Redis comes back.
    const intervalMs = options.recheckIntervalMs ?? RECHECK_INTERVAL_MS;
    this.rechecks = new PeriodicTask({ name: 'live credential re-check', logger: options.logger, intervalMs, firstRunAfterMs: intervalMs, run: () => this.recheck() });
    this.rechecks.start();
    this.stops.push(bus.onResync(() => this.rechecks.wake()));
  }

  /**
   * Registers a live operation to `end` when its credential is revoked; returns the function to
   * call when it ends by itself. Ended at once if the credential was revoked a moment ago.
   */
  track(credential: Credential, end: EndOperation): () => void {
    if (this.revokedRecently(credential)) {
      end(credential);
      return () => {};
    }
    return this.live.add(credential, end);
  }

  /** Call once the revocation is committed: every instance, this one first, ends the credential's operations. */
  revoked(credential: Credential): void {
    this.options.bus.publishCredentialRevoked(credential);
  }

  /** Looks up the live credentials in the database and ends those revoked meanwhile. */
  async recheck(): Promise<void> {
    for (const kind of Object.keys(FIND_REVOKED) as CredentialKind[]) {
      const ids = this.live.credentials(kind);
      if (!ids.length) continue;
      try {
        for (const id of await FIND_REVOKED[kind](this.options.sql, ids)) this.endHere({ kind, id });
      } catch (error) {
        this.options.logger.warn({ err: error, kind }, 'could not re-check live credentials; retrying at the next interval');
      }
    }
  }

  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    await this.rechecks.stop();
  }

  private endHere(revoked: CredentialRevoked) {
    if (!isKind(revoked.kind)) return;
    const credential: Credential = { kind: revoked.kind, id: revoked.id };
    this.remember(credential);
    if (credential.kind === 'api_key') this.options.auth.forgetApiKey(credential.id);
    const ended = this.live.endAll(credential, (error) => this.options.logger.error({ err: error }, 'could not end an operation of a revoked credential'));
    if (ended) this.options.logger.info({ credential, ended }, 'ended the live operations of a revoked credential');
  }

  private remember(credential: Credential) {
    const now = Date.now();
    // Oldest first (insertion order): drop the expired, and the oldest past REMEMBER_MAX.
    for (const [key, at] of this.recent) {
      if (now - at < REMEMBER_MS && this.recent.size < REMEMBER_MAX) break;
      this.recent.delete(key);
    }
    const key = `${credential.kind}:${credential.id}`;
    this.recent.delete(key);
    this.recent.set(key, now);
  }

  private revokedRecently(credential: Credential): boolean {
    const at = this.recent.get(`${credential.kind}:${credential.id}`);
    return at !== undefined && Date.now() - at < REMEMBER_MS;
  }
}
