// The lifecycle engine: the only code that changes lifecycle state.
//
// Every change arrives as a Delivery of normalized commands and is applied in one transaction with
// its audit rows and lifecycle events, or not at all. Deliveries of one organization queue up and
// are applied in order; while one transaction is in flight the next ones gather into a batch that
// shares the following transaction (group commit): no added latency when idle, far fewer round
// trips and chain-lock acquisitions under load. A delivery that fails leaves the rest of its batch
// untouched: its in-memory changes are rolled back before anything is written.
import { isTransientDatabaseError, isUniqueViolation, type SqlClient } from '../storage/sql.ts';
import { backoffSleep, type BackoffPolicy } from '../jobs/backoff.ts';
import { CommandValidationError, parseCommands, type LifecycleCommand } from './commands.ts';
import type { AuditDraft } from './audit-log.ts';
import { isHubError } from '../hub/errors.ts';
import { databaseUnavailable, EngineError } from './errors.ts';
import { entityKeys, knownDeliveries, loadContext } from './batch.ts';
import { applyCommand, prefetch, type ApplyContext } from './transitions/index.ts';
import type { CommandResult, Delivery, DeliveryOutcome, LifecycleEventRecord } from './types.ts';
import { UnitOfWork, type ConnectionInfo } from './unit-of-work/index.ts';

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

/** Serialization / race retries: 25 ms · 4^n up to 2 s, ±50 % so racing writers part. */
const SERIALIZATION_RETRY: BackoffPolicy = { baseMs: 25, factor: 4, maxMs: 2_000, jitter: [0.5, 1.5] };

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
      if (error instanceof CommandValidationError) throw new EngineError('INVALID_COMMAND', error.message, { field: error.path, ...(error.sourceValue ? { sourceValue: true } : {}) });
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
          await backoffSleep(attempt + 1, SERIALIZATION_RETRY);
          continue;
        }
        if (batch.length > 1 && !isTransientDatabaseError(error)) {
          // Find the culprit: each delivery alone, so only it fails.
          for (const p of batch) await this.runWithRecovery(organizationId, [p]);
          return;
        }
        const failure = isTransientDatabaseError(error) ? databaseUnavailable() : error;
        if (!isHubError(failure)) this.options.onError?.(error, 'lifecycle engine batch');
        for (const p of batch) p.error = failure;
        this.settle(batch);
        return;
      }
    }
  }

  /**
   * Tells the onCommitted listeners (subscriptions, metrics, the webhook worker) of committed events.
   * Called after every execute; also by the one writer outside it that appends with the engine's own
   * statements (the webhook worker disabling an endpoint, src/webhooks/disable.ts), so its events
   * reach the same listeners.
   */
  publish(events: LifecycleEventRecord[]) {
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

  /**
   * What a delivery would do, worked out by the same transitions as execute() and never written:
   * its commands run on a unit of work that is not persisted, in a transaction rolled back. For
   * previews (the setup portal's "who gets what" for a mapping not saved yet), so no screen
   * recomputes roles its own way. Outside the organization's queue: it commits nothing, so there
   * is nothing to order; its row locks last one short transaction.
   */
  async preview(delivery: Delivery): Promise<{ results: CommandResult[]; audit: readonly AuditDraft[] }> {
    let commands: LifecycleCommand[];
    try {
      commands = parseCommands(delivery.commands);
    } catch (error) {
      if (error instanceof CommandValidationError) throw new EngineError('INVALID_COMMAND', error.message, { field: error.path });
      throw error;
    }
    const organizationId = await this.organizationOf(delivery);
    const pending = { delivery, commands, organizationId, keys: new Set<string>(), resolve() {}, reject() {} } satisfies Pending;
    let outcome: { results: CommandResult[]; audit: readonly AuditDraft[] } | undefined;
    const rollback = new Error('preview: rolled back');
    try {
      await this.sql.transaction(async (tx) => {
        const { organization, connections } = await loadContext(tx, organizationId, [pending], false);
        const connection = delivery.connectionId ? connections.get(delivery.connectionId) ?? null : null;
        const uow = new UnitOfWork(tx, organization, new Date());
        const ctx: ApplyContext = {
          uow, connection, actor: delivery.actor, deliveryId: null, receivedAt: delivery.receivedAt ?? new Date(), dryRun: true,
          revokesUpstream: this.options.revokesUpstream ?? (() => false),
        };
        const results: CommandResult[] = [];
        for (const command of commands) results.push(await applyCommand(ctx, command));
        outcome = { results, audit: uow.audit };
        throw rollback;
      });
    } catch (error) {
      if (error !== rollback) throw isTransientDatabaseError(error) ? databaseUnavailable() : error;
    }
    return outcome!;
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
