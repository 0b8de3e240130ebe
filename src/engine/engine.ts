// The lifecycle engine: the only code that changes lifecycle state.
//
// Every change arrives as a Delivery of normalized commands and is applied in one transaction with
// its audit rows and lifecycle events, or not at all. Deliveries of one organization queue up and
// are applied in order; while one transaction is in flight the next ones gather into a batch that
// shares the following transaction (group commit): no added latency when idle, far fewer round
// trips and chain-lock acquisitions under load. A delivery that fails leaves the rest of its batch
// untouched: its in-memory changes are rolled back before anything is written.
import { isTransientDatabaseError, isUniqueViolation, prepared, type SqlClient, type SqlExecutor } from '../db/sql.ts';
import { CommandValidationError, parseCommands, type LifecycleCommand } from './commands.ts';
import { databaseUnavailable, EngineError } from './errors.ts';
import { nameKey } from './name-key.ts';
import { applyCommand, prefetch, type ApplyContext } from './transitions.ts';
import type { CommandResult, Delivery, DeliveryOutcome, LifecycleEventRecord } from './types.ts';
import { UnitOfWork, type ConnectionInfo, type OrganizationInfo } from './unit-of-work.ts';

export interface EngineOptions {
  sql: SqlClient;
  /** Most deliveries one transaction takes. */
  maxBatchDeliveries?: number;
  /** Most commands one transaction takes (a delivery is never split). */
  maxBatchCommands?: number;
  /** True when this provider's connector can revoke sessions and credentials upstream. */
  revokesUpstream?: (provider: string) => boolean;
  /** Attempts for a batch failing on a transient database error before giving up with UNAVAILABLE. */
  retries?: number;
  /**
   * Batches of one organization in flight at once (default: 4 on PostgreSQL, 1 on PGlite, whose
   * single session runs one transaction at a time). Concurrent batches never name the same user or
   * group, so each entity's deliveries still apply in arrival order; the audit-chain lock orders the
   * commits.
   */
  maxInFlightPerOrganization?: number;
  onError?: (error: unknown, context: string) => void;
}

export type CommittedListener = (events: LifecycleEventRecord[]) => void;

interface Pending {
  delivery: Delivery;
  commands: LifecycleCommand[];
  organizationId: string;
  /** The users and groups it names ("*" for organization-wide changes). */
  keys: Set<string>;
  resolve(outcome: DeliveryOutcome): void;
  reject(error: unknown): void;
  outcome?: DeliveryOutcome;
  error?: unknown;
  eventRange?: [number, number];
  dryRun?: boolean;
}

interface OrgQueue {
  pending: Pending[];
  /** Entity keys of the batches in flight ("*": an organization-wide change is in flight). */
  inFlight: Array<Set<string>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LifecycleEngine {
  private readonly sql: SqlClient;
  private readonly queues = new Map<string, OrgQueue>();
  private readonly connectionOrg = new Map<string, string>();
  private readonly listeners = new Set<CommittedListener>();
  private readonly maxBatchDeliveries: number;
  private readonly maxBatchCommands: number;
  private readonly retries: number;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  readonly stats = { batches: 0, deliveries: 0, retries: 0 };

  constructor(private readonly options: EngineOptions) {
    this.sql = options.sql;
    this.maxBatchDeliveries = options.maxBatchDeliveries ?? 64;
    this.maxBatchCommands = options.maxBatchCommands ?? 5_000;
    this.retries = options.retries ?? 4;
    this.maxInFlight = options.maxInFlightPerOrganization ?? (options.sql.dialect === 'postgres' ? 4 : 1);
  }

  /** Called after each commit with its lifecycle events, in id order. */
  onCommitted(listener: CommittedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies a delivery; resolves once it is committed (or known to be a duplicate). */
  async execute(delivery: Delivery): Promise<DeliveryOutcome> {
    let commands: LifecycleCommand[];
    try {
      commands = parseCommands(delivery.commands);
    } catch (error) {
      if (error instanceof CommandValidationError) throw new EngineError('INVALID_COMMAND', error.message, { field: error.path });
      throw error;
    }
    const organizationId = await this.organizationOf(delivery);
    return new Promise<DeliveryOutcome>((resolve, reject) => {
      const queue = this.queues.get(organizationId) ?? { pending: [], inFlight: [] };
      this.queues.set(organizationId, queue);
      const keys = entityKeys(delivery.connectionId, commands);
      queue.pending.push({ delivery: { ...delivery, receivedAt: delivery.receivedAt ?? new Date() }, commands, organizationId, keys, resolve, reject });
      this.inFlight++;
      this.pump(organizationId, queue);
    });
  }

  /** Resolves when every accepted delivery has been committed or rejected (for shutdown). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async organizationOf(delivery: Delivery): Promise<string> {
    if (!delivery.connectionId) {
      if (!delivery.organizationId) throw new EngineError('INVALID_COMMAND', 'a delivery names a connection or an organization');
      return delivery.organizationId;
    }
    const cached = this.connectionOrg.get(delivery.connectionId);
    if (cached) return cached;
    const rows = await this.sql.query<{ organizationId: string }>(
      'SELECT organization_id AS "organizationId" FROM directory_connection WHERE id = $1',
      [delivery.connectionId],
    ).catch((error: unknown) => {
      throw isTransientDatabaseError(error) ? databaseUnavailable() : error;
    });
    const organizationId = rows[0]?.organizationId;
    if (!organizationId) throw new EngineError('NOT_FOUND', `connection ${delivery.connectionId} not found`);
    if (delivery.organizationId && delivery.organizationId !== organizationId) throw new EngineError('NOT_FOUND', `connection ${delivery.connectionId} not found`);
    // A connection never moves to another organization, so this never goes stale.
    this.connectionOrg.set(delivery.connectionId, organizationId);
    return organizationId;
  }

  /** Starts batches while there is room and work that does not overlap what is in flight. */
  private pump(organizationId: string, queue: OrgQueue) {
    while (queue.inFlight.length < this.maxInFlight && queue.pending.length) {
      const batch = this.takeBatch(queue);
      if (!batch.length) break;
      const keys = new Set<string>();
      for (const p of batch) for (const k of p.keys) keys.add(k);
      queue.inFlight.push(keys);
      void this.runWithRecovery(organizationId, batch).finally(() => {
        queue.inFlight.splice(queue.inFlight.indexOf(keys), 1);
        if (!queue.pending.length && !queue.inFlight.length) this.queues.delete(organizationId);
        // Next batch after one turn of the event loop: a PGlite transaction never yields to I/O,
        // so requests that arrived meanwhile are only parsed and queued now, and join that batch.
        else setImmediate(() => this.pump(organizationId, queue));
      });
    }
  }

  /** The head of the queue, up to the first delivery that overlaps a batch in flight. */
  private takeBatch(queue: OrgQueue): Pending[] {
    const busy = (p: Pending) =>
      queue.inFlight.some((keys) => keys.has('*') || p.keys.has('*') ? true : [...p.keys].some((k) => keys.has(k)));
    const batch: Pending[] = [];
    let commands = 0;
    while (queue.pending.length && batch.length < this.maxBatchDeliveries) {
      const next = queue.pending[0]!;
      if (busy(next)) break;
      // An organization-wide change shares its transaction with nothing.
      if (batch.length && (next.keys.has('*') || batch[0]!.keys.has('*'))) break;
      if (batch.length && commands + next.commands.length > this.maxBatchCommands) break;
      batch.push(queue.pending.shift()!);
      commands += next.commands.length;
    }
    return batch;
  }

  private settle(batch: Pending[]) {
    for (const p of batch) {
      if (p.error !== undefined) p.reject(p.error);
      else p.resolve(p.outcome!);
      this.inFlight--;
    }
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  private async runWithRecovery(organizationId: string, batch: Pending[]) {
    for (let attempt = 0; ; attempt++) {
      for (const p of batch) {
        delete p.outcome;
        delete p.error;
      }
      try {
        const events = await this.runBatch(organizationId, batch);
        this.stats.batches++;
        this.stats.deliveries += batch.length;
        this.settle(batch);
        this.publish(events);
        return;
      } catch (error) {
        // Another writer got there first (same delivery, same new user): reload and try again.
        const racing = isUniqueViolation(error) && attempt === 0;
        if ((isTransientDatabaseError(error) || racing) && attempt < this.retries) {
          this.stats.retries++;
          await sleep(Math.min(2_000, 25 * 4 ** attempt) * (0.5 + Math.random()));
          continue;
        }
        if (batch.length > 1 && !isTransientDatabaseError(error)) {
          // Find the culprit: each delivery alone, so only it fails.
          for (const p of batch) await this.runWithRecovery(organizationId, [p]);
          return;
        }
        const failure = isTransientDatabaseError(error) ? databaseUnavailable() : error;
        if (!(failure instanceof EngineError)) this.options.onError?.(error, 'lifecycle engine batch');
        for (const p of batch) p.error = failure;
        this.settle(batch);
        return;
      }
    }
  }

  private publish(events: LifecycleEventRecord[]) {
    if (!events.length) return;
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (error) {
        this.options.onError?.(error, 'lifecycle event listener');
      }
    }
  }

  private async runBatch(organizationId: string, batch: Pending[]): Promise<LifecycleEventRecord[]> {
    return this.sql.transaction(async (tx) => {
      const now = new Date();
      // PGlite runs one transaction at a time, so the chain head can be read up front (one round
      // trip fewer); on PostgreSQL its lock is taken last, to be held as briefly as possible.
      const early = this.sql.dialect === 'pglite';
      const { organization, connections, chainHead } = await loadContext(tx, organizationId, batch, early);
      const duplicates = await knownDeliveries(tx, batch);

      const live = new UnitOfWork(tx, organization, now);
      const dry = new UnitOfWork(tx, organization, now);
      const runnable: Pending[] = [];
      for (const p of batch) {
        const connection = p.delivery.connectionId ? connections.get(p.delivery.connectionId) : null;
        if (p.delivery.connectionId && !connection) {
          p.error = new EngineError('NOT_FOUND', `connection ${p.delivery.connectionId} not found`);
        } else if (connection?.status === 'PAUSED') {
          p.error = new EngineError('CONNECTION_PAUSED', `connection ${connection.id} is paused; resume it to apply changes`, { retryAfterSeconds: 60 });
        } else if (p.delivery.deliveryId && connection && duplicates.has(`${connection.id}\u0000${p.delivery.deliveryId}`)) {
          p.outcome = { status: 'duplicate', results: [], events: [] };
        } else {
          p.dryRun = connection?.testMode ?? false;
          runnable.push(p);
        }
      }
      for (const [uow, dryRun] of [[live, false], [dry, true]] as const) {
        const group = runnable.filter((p) => p.dryRun === dryRun);
        if (!group.length) continue;
        for (const connection of new Set(group.map((p) => (p.delivery.connectionId ? connections.get(p.delivery.connectionId)! : null)))) {
          await prefetch(uow, connection, group.filter((p) => (p.delivery.connectionId ?? null) === (connection?.id ?? null)).flatMap((p) => p.commands));
        }
        const seenInBatch = new Set<string>();
        for (const p of group) await this.applyDelivery(uow, p, connections, seenInBatch);
      }

      live.chainHead = chainHead;
      const { events } = await live.persist();
      dry.chainHead = live.chainHead;
      await dry.persist({ dryRun: true });
      for (const p of runnable) {
        if (p.outcome && p.eventRange && !p.dryRun) p.outcome.events = events.slice(p.eventRange[0], p.eventRange[1]);
      }
      return events;
    });
  }

  private async applyDelivery(uow: UnitOfWork, p: Pending, connections: Map<string, ConnectionInfo>, seenInBatch: Set<string>) {
    const { delivery } = p;
    const connection = delivery.connectionId ? connections.get(delivery.connectionId)! : null;
    if (delivery.deliveryId && connection) {
      const key = `${connection.id}\u0000${delivery.deliveryId}`;
      if (seenInBatch.has(key)) {
        p.outcome = { status: 'duplicate', results: [], events: [] };
        return;
      }
    }
    const ctx: ApplyContext = {
      uow,
      connection,
      actor: delivery.actor,
      deliveryId: delivery.deliveryId ?? null,
      receivedAt: delivery.receivedAt!,
      dryRun: p.dryRun ?? false,
      revokesUpstream: this.options.revokesUpstream ?? (() => false),
    };
    const checkpoint = uow.checkpoint();
    const firstEvent = uow.events.length;
    try {
      const results: CommandResult[] = [];
      for (const command of p.commands) results.push(await applyCommand(ctx, command));
      const changed = results.some((r) => r.status === 'applied' || r.status === 'dry_run');
      const status = ctx.dryRun ? 'dry_run' : changed ? 'applied' : 'noop';
      if (delivery.deliveryId && connection) seenInBatch.add(`${connection.id}\u0000${delivery.deliveryId}`);
      if (delivery.deliveryId && connection && !ctx.dryRun) {
        const outcome = results.every((r) => r.status === 'stale') && results.length ? 'stale' : status;
        uow.recordDelivery(connection.id, delivery.deliveryId, outcome, p.commands.length);
      }
      p.outcome = { status, results, events: [] };
      p.eventRange = [firstEvent, uow.events.length];
    } catch (error) {
      uow.rollbackTo(checkpoint);
      if (error instanceof EngineError) p.error = error;
      else throw error;
    }
  }
}

// Identity-linking settings, and which ids the batch wants to create with are taken already (in any
// organization: creating with one is refused, never an overwrite), all in the context's one statement.
const organizationExtras = `o.identity_linking AS "identityLinking", o.authoritative_connection_id AS "authoritativeConnectionId",
    CASE WHEN cardinality($3::uuid[]) = 0 THEN '{}'::uuid[] ELSE ARRAY(
      SELECT id FROM directory_user WHERE id = ANY($3::uuid[]) UNION ALL SELECT id FROM directory_group WHERE id = ANY($3::uuid[])) END AS "takenIds"`;

const loadContextSql = prepared(`
  SELECT o.id, o.role_ranking AS "roleRanking", o.default_role AS "defaultRole", ${organizationExtras},
    CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object('id', c.id, 'organizationId', c.organization_id, 'provider', c.provider,
      'status', c.status, 'testMode', c.test_mode, 'deprovisionPolicy', c.deprovision_policy, 'deniedAttributes', c.denied_attributes) END AS connection
  FROM organization o LEFT JOIN directory_connection c ON c.organization_id = o.id AND c.id = ANY($2::uuid[])
  WHERE o.id = $1`);

const loadContextWithHeadSql = prepared(`
  SELECT o.id, o.role_ranking AS "roleRanking", o.default_role AS "defaultRole", ${organizationExtras}, h.seq AS "headSeq", h.hash AS "headHash",
    CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object('id', c.id, 'organizationId', c.organization_id, 'provider', c.provider,
      'status', c.status, 'testMode', c.test_mode, 'deprovisionPolicy', c.deprovision_policy, 'deniedAttributes', c.denied_attributes) END AS connection
  FROM organization o JOIN audit_chain_head h ON h.organization_id = o.id
  LEFT JOIN directory_connection c ON c.organization_id = o.id AND c.id = ANY($2::uuid[])
  WHERE o.id = $1`);

const knownDeliveriesSql = prepared(`
  SELECT connection_id AS "connectionId", delivery_id AS "deliveryId" FROM inbound_delivery
  WHERE (connection_id, delivery_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))`);

/** What a delivery names, for keeping concurrent batches apart. */
function entityKeys(connectionId: string | undefined, commands: readonly LifecycleCommand[]): Set<string> {
  const keys = new Set<string>();
  const scope = connectionId ?? 'api';
  const user = (ref: { sourceId: string } | { userId: string }) => keys.add('sourceId' in ref ? `u:${scope}:${ref.sourceId}` : `u:${ref.userId}`);
  const group = (ref: { sourceId: string } | { groupId: string }) => keys.add('sourceId' in ref ? `g:${scope}:${ref.sourceId}` : `g:${ref.groupId}`);
  for (const c of commands) {
    switch (c.type) {
      case 'upsertUser': {
        keys.add(`u:${scope}:${c.sourceId}`);
        // Unique keys compete across users: two users claiming one userName must not race.
        const name = nameKey(c.profile.userName);
        if (name) keys.add(`name:${scope}:${name}`);
        if (c.profile.externalId) keys.add(`ext:${scope}:${c.profile.externalId}`);
        break;
      }
      case 'upsertGroup': {
        keys.add(`g:${scope}:${c.sourceId}`);
        const name = nameKey(c.displayName);
        if (name) keys.add(`gname:${scope}:${name}`);
        break;
      }
      case 'deleteGroup':
        group(c.group);
        break;
      case 'addMembers':
      case 'removeMembers':
      case 'replaceMembers':
        group(c.group);
        c.users.forEach(user);
        break;
      // Mapping and role-setting changes recompute roles across the organization: they run alone.
      case 'setGroupMapping':
      case 'removeGroupMapping':
      case 'setRoleSettings':
        keys.add('*');
        break;
      case 'recordSync':
        keys.add(`sync:${c.connectionId}`);
        break;
      // One session or credential row (the revocation worker's report), locked by the command itself.
      case 'recordRevocation':
        keys.add(`${c.target}:${c.id}`);
        break;
      default:
        user(c.user);
    }
  }
  return keys;
}

async function loadContext(tx: SqlExecutor, organizationId: string, batch: Pending[], withChainHead: boolean) {
  const connectionIds = [...new Set(batch.map((p) => p.delivery.connectionId).filter((c): c is string => !!c))];
  const requestedIds: string[] = [];
  for (const p of batch) for (const c of p.commands) if ((c.type === 'upsertUser' || c.type === 'upsertGroup') && c.id) requestedIds.push(c.id);
  const rows = await tx.query<OrganizationInfo & { connection: ConnectionInfo | null; headSeq: string | number; headHash: string }>(
    withChainHead ? loadContextWithHeadSql : loadContextSql,
    [organizationId, connectionIds, requestedIds],
  );
  if (!rows.length) throw new EngineError('NOT_FOUND', `organization ${organizationId} not found`);
  const { connection: _c, headSeq, headHash, ...organization } = rows[0]!;
  const connections = new Map<string, ConnectionInfo>();
  for (const row of rows) if (row.connection) connections.set(row.connection.id, row.connection);
  const chainHead = withChainHead ? { seq: Number(headSeq), hash: headHash } : undefined;
  return { organization: organization as OrganizationInfo, connections, chainHead };
}

async function knownDeliveries(tx: SqlExecutor, batch: Pending[]): Promise<Set<string>> {
  const keyed = batch.filter((p) => p.delivery.deliveryId && p.delivery.connectionId);
  if (!keyed.length) return new Set();
  const rows = await tx.query<{ connectionId: string; deliveryId: string }>(knownDeliveriesSql, [keyed.map((p) => p.delivery.connectionId), keyed.map((p) => p.delivery.deliveryId)],
  );
  return new Set(rows.map((r) => `${r.connectionId}\u0000${r.deliveryId}`));
}
