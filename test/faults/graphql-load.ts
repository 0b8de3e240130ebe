// GraphQL writes beside the SCIM load: registerSession (an engine command, audited) for users the
// SCIM load created, recording every one the hub acknowledged (200 without errors).
import type { SqlExecutor } from '../../src/storage/sql.ts';

const REGISTER_SESSION = 'mutation($u: ID!, $r: String!) { registerSession(input: { userId: $u, externalRef: $r }) { session { id } } }';

export class GraphQLWriteLoad {
  /** externalRef → user id, acknowledged. */
  readonly sessions = new Map<string, string>();
  acked = 0;
  failed = 0;
  /** The last refusal or network error (for the soak's log). */
  lastFailure = '';
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private next = 0;

  constructor(
    private url: string,
    private readonly key: string,
    /** Users to register sessions for (acknowledged SCIM users). */
    private readonly userIds: () => string[],
    private readonly options: { onAck?: () => void } = {},
  ) {}

  setUrl(url: string) {
    this.url = url;
  }

  start() {
    this.stopped = false;
    this.running = this.client();
  }

  /** Stops issuing new requests without waiting (the server is about to die). */
  halt() {
    this.stopped = true;
  }

  finished() {
    return this.running;
  }

  private async client() {
    while (!this.stopped) {
      const users = this.userIds();
      if (!users.length) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const userId = users[this.next % users.length]!;
      const externalRef = `soak-session-${this.next++}`;
      try {
        const response = await fetch(`${this.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.key}` },
          body: JSON.stringify({ query: REGISTER_SESSION, variables: { u: userId, r: externalRef } }),
          signal: AbortSignal.timeout(60_000),
        });
        const body = (await response.json()) as { data?: { registerSession?: { session?: { id: string } } }; errors?: unknown[] };
        if (response.status === 200 && !body.errors && body.data?.registerSession?.session?.id) {
          this.sessions.set(externalRef, userId);
          this.acked++;
          this.options.onAck?.();
          continue;
        }
        this.failed++;
        this.lastFailure = `${response.status} ${JSON.stringify(body.errors ?? body).slice(0, 300)}`;
      } catch (error) {
        this.failed++;
        this.lastFailure = String((error as Error).cause ?? error);
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Acknowledged sessions not found in the database. */
  async lost(sql: SqlExecutor): Promise<string[]> {
    const rows = await sql.query<{ externalRef: string; userId: string }>('SELECT external_ref AS "externalRef", user_id AS "userId" FROM session WHERE external_ref LIKE $1', ['soak-session-%']);
    const found = new Set(rows.map((r) => `${r.externalRef}/${r.userId}`));
    return [...this.sessions].filter(([ref, user]) => !found.has(`${ref}/${user}`)).map(([ref, user]) => `session ${ref} of user ${user}`);
  }
}
