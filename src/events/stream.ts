// The lifecycle event stream of one hub instance.
//
// - Published only after commit: the engine's onCommitted hands us committed rows; we publish a
//   notification "organization X has events up to id N" on the bus (in process, or Redis).
// - The database is the source of truth: each instance keeps one tail per organization that has
//   local subscribers. A tail reads the rows with id > its position once and fans the same objects
//   out to every local subscriber. Within an organization, ids follow commit order (they are taken
//   under the organization's audit-chain lock, held to commit), so reading "id > last" never skips a
//   smaller id that commits later.
// - Resume: a subscriber with `after` replays from the table, page by page as it is consumed, until
//   it reaches the tail's position, then switches to live in the same tick: no gap, no duplicate.
// - Bounded: a live subscriber holds at most `maxBuffered` undelivered events. One that falls
//   further behind (a slow reader, or one commit larger than the buffer: a bulk sync) drops its
//   buffer and reads from the table again as it consumes, holding one page at most. One still
//   behind after `maxLagMs` cannot keep up: it is closed with SUBSCRIBER_TOO_SLOW, the last id it
//   was given and the `after` to resume from without loss.
// - A lost notification (Redis down, another instance without Redis) only delays delivery: tails
//   also poll, every second while the bus is unhealthy and every few seconds otherwise.
import type { SqlExecutor } from '../storage/sql.ts';
import type { LifecycleEventRecord } from '../engine/types.ts';
import type { Logger } from '../hub/logger.ts';
import type { EventBus } from './bus.ts';
import { lastEventId, readEvents, type StreamEvent } from './read.ts';

export type { StreamEvent } from './read.ts';

export interface EventStreamOptions {
  sql: SqlExecutor;
  bus: EventBus;
  logger: Logger;
  /** Undelivered events one live subscriber may hold before it falls back to reading the table. */
  maxBuffered?: number;
  /** How long a subscriber may stay behind (after overflowing its buffer) before it is closed. */
  maxLagMs?: number;
  /** Safety-net poll of each tail while the bus is healthy. */
  pollIntervalMs?: number;
  /** Poll while the bus is unhealthy (Redis unreachable). */
  unhealthyPollIntervalMs?: number;
  /** Rows per database read (tail reads and replay pages). */
  pageSize?: number;
}

export type StreamErrorCode = 'SUBSCRIBER_TOO_SLOW' | 'STREAM_CLOSED';

export class StreamError extends Error {
  constructor(
    readonly code: StreamErrorCode,
    message: string,
    /** The last event this subscriber was given (null: none yet). */
    readonly lastDeliveredId: string | null,
    /** Pass as `after` to get exactly what this subscription had not delivered (filtered types included). */
    readonly resumeAfter: string,
  ) {
    super(message);
    this.name = 'StreamError';
  }
}

export interface SubscribeOptions {
  /** Replay every event with a larger id first; null or absent: only events committed from now on. */
  after?: bigint | null;
  /** Only these event types (null: all). */
  types?: readonly string[] | null;
}

export class EventStream {
  private readonly tails = new Map<string, OrganizationTail>();
  private readonly unsubscribeResync: () => void;
  private closed = false;
  readonly maxBuffered: number;
  readonly maxLagMs: number;
  readonly pageSize: number;
  readonly stats = { delivered: 0, overflows: 0, cutOff: 0, maxQueued: 0, tailReads: 0, replayReads: 0, readErrors: 0 };

  constructor(readonly options: EventStreamOptions) {
    this.maxBuffered = options.maxBuffered ?? 1000;
    this.maxLagMs = options.maxLagMs ?? 60_000;
    this.pageSize = options.pageSize ?? 500;
    this.unsubscribeResync = options.bus.onResync(() => {
      for (const tail of this.tails.values()) tail.read(true);
    });
  }

  get bus(): EventBus {
    return this.options.bus;
  }

  private readonly fanOutListeners = new Set<(events: readonly StreamEvent[]) => void>();

  /** Called each time this instance hands newly committed events to its live subscribers (metrics). */
  onFanOut(listener: (events: readonly StreamEvent[]) => void): () => void {
    this.fanOutListeners.add(listener);
    return () => void this.fanOutListeners.delete(listener);
  }

  /** @internal */
  fannedOut(events: readonly StreamEvent[]) {
    for (const listener of this.fanOutListeners) {
      try {
        listener(events);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'an event fan-out listener failed');
      }
    }
  }

  /** engine.onCommitted: one notification per organization, with its largest new id. */
  committed(events: readonly LifecycleEventRecord[]) {
    const last = new Map<string, bigint>();
    for (const e of events) {
      const id = BigInt(e.id);
      if (id > (last.get(e.organizationId) ?? 0n)) last.set(e.organizationId, id);
    }
    for (const [organizationId, id] of last) this.options.bus.publish(organizationId, id);
  }

  /** A subscription to an organization's events: an async iterator, ended by return(). */
  async subscribe(organizationId: string, options: SubscribeOptions = {}): Promise<EventSubscription> {
    if (this.closed) throw new StreamError('STREAM_CLOSED', 'the server is shutting down; reconnect and resume with after', null, String(options.after ?? '0'));
    let tail = this.tails.get(organizationId);
    if (!tail) this.tails.set(organizationId, (tail = new OrganizationTail(this, organizationId)));
    const subscription = new EventSubscription(this, tail, options);
    // Attached before the tail's position is known, so nothing read meanwhile is missed.
    tail.attach(subscription);
    try {
      await tail.ready;
    } catch (error) {
      subscription.return();
      throw error;
    }
    subscription.start();
    return subscription;
  }

  /** Undelivered events held for live subscribers, and subscriber counts (for tests and metrics). */
  snapshot() {
    let subscribers = 0;
    let buffered = 0;
    for (const tail of this.tails.values()) {
      for (const s of tail.subscribers) {
        // Counted once its starting position is known: from then on nothing committed is missed.
        if (s.started) subscribers++;
        buffered += s.buffered;
      }
    }
    return { tails: this.tails.size, subscribers, buffered, ...this.stats, bus: this.options.bus.kind, busHealthy: this.options.bus.healthy };
  }

  /** Started subscriptions of one organization on this instance. */
  subscribersOf(organizationId: string): number {
    let n = 0;
    for (const s of this.tails.get(organizationId)?.subscribers ?? []) if (s.started) n++;
    return n;
  }

  /** @internal */
  dropTail(tail: OrganizationTail) {
    if (this.tails.get(tail.organizationId) === tail) this.tails.delete(tail.organizationId);
  }

  /** Ends every subscription (server shutdown): each client is told where to resume from. */
  endSubscriptions() {
    for (const tail of [...this.tails.values()]) {
      for (const s of [...tail.subscribers]) s.fail('STREAM_CLOSED', 'the server is shutting down');
      tail.dispose();
    }
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeResync();
    this.endSubscriptions();
    await this.options.bus.close();
  }
}

/** One organization's reader on this instance, shared by all its local subscribers. */
class OrganizationTail {
  readonly subscribers = new Set<EventSubscription>();
  /** Every event with an id up to this one has been read and fanned out. */
  lastId = 0n;
  readonly ready: Promise<void>;
  private reading = false;
  private again = false;
  private wanted = 0n;
  private lastReadAt = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly stream: EventStream,
    readonly organizationId: string,
  ) {
    const { bus } = stream.options;
    // Listen first, then learn the position: a notification in between is not lost.
    this.unsubscribe = bus.subscribe(
      organizationId,
      (id) => this.notify(id),
      () => this.read(true),
    );
    this.ready = lastEventId(stream.options.sql, organizationId).then((id) => {
      this.lastId = id;
    });
    this.ready.catch(() => this.dispose());
    const healthyMs = stream.options.pollIntervalMs ?? 5_000;
    const unhealthyMs = stream.options.unhealthyPollIntervalMs ?? 1_000;
    this.timer = setInterval(() => {
      if (!bus.healthy || Date.now() - this.lastReadAt >= healthyMs) this.read(true);
    }, Math.min(healthyMs, unhealthyMs));
    this.timer.unref();
  }

  attach(subscription: EventSubscription) {
    this.subscribers.add(subscription);
  }

  detach(subscription: EventSubscription) {
    this.subscribers.delete(subscription);
    if (this.subscribers.size === 0) this.dispose();
  }

  notify(id: bigint) {
    if (id > this.wanted) this.wanted = id;
    if (id > this.lastId) this.read(false);
  }

  /** Reads and fans out everything after lastId; concurrent calls fold into one more pass. */
  read(force: boolean) {
    if (this.reading) {
      if (force) this.again = true;
      return;
    }
    this.reading = true;
    void this.readLoop().finally(() => {
      this.reading = false;
    });
  }

  private async readLoop() {
    const { sql, logger } = this.stream.options;
    try {
      await this.ready;
      let progressed: boolean;
      do {
        this.again = false;
        progressed = false;
        for (;;) {
          this.lastReadAt = Date.now();
          this.stream.stats.tailReads++;
          const page = await readEvents(sql, this.organizationId, { after: this.lastId, limit: this.stream.pageSize });
          if (!page.length) break;
          progressed = true;
          this.lastId = BigInt(page[page.length - 1]!.id);
          for (const subscriber of [...this.subscribers]) subscriber.push(page);
          this.stream.fannedOut(page);
          if (page.length < this.stream.pageSize) break;
        }
        // A notification for an id we cannot see (its rows gone, a confused peer) must not spin.
      } while (this.again || (progressed && this.wanted > this.lastId));
    } catch (error) {
      this.stream.stats.readErrors++;
      // Retried on the next notification or poll; subscribers simply wait.
      logger.warn({ err: error, organizationId: this.organizationId }, 'could not read lifecycle events; retrying');
    }
  }

  dispose() {
    clearInterval(this.timer);
    this.unsubscribe();
    this.stream.dropTail(this);
  }
}

/** One subscriber: replays from the table after `after`, then takes live events from its tail. */
export class EventSubscription implements AsyncIterableIterator<StreamEvent> {
  /** Every event up to this id has been delivered, filtered out, or is in the queue. */
  private cursor = 0n;
  private live = false;
  /** Set when the live buffer overflowed; cleared once the subscriber catches up with its tail. */
  private behindSince: number | null = null;
  private queue: StreamEvent[] = [];
  private replay: StreamEvent[] = [];
  private replayIndex = 0;
  private waiter: ((result: IteratorResult<StreamEvent>) => void) | null = null;
  private failure: StreamError | null = null;
  private finished = false;
  private readonly types: Set<string> | null;
  lastDeliveredId: string | null = null;

  constructor(
    private readonly stream: EventStream,
    private readonly tail: OrganizationTail,
    private readonly options: SubscribeOptions,
  ) {
    this.types = options.types?.length ? new Set(options.types) : null;
  }

  get buffered(): number {
    return this.queue.length;
  }

  started = false;

  /** @internal called once the tail knows its position. */
  start() {
    this.started = true;
    const after = this.options.after ?? null;
    this.cursor = after ?? this.tail.lastId;
    this.live = this.cursor >= this.tail.lastId;
  }

  /** @internal the tail's newly read events (ids ascending). */
  push(events: readonly StreamEvent[]) {
    if (this.finished) return;
    if (!this.live) {
      if (this.behindSince !== null && Date.now() - this.behindSince > this.stream.maxLagMs) {
        this.stream.stats.cutOff++;
        this.fail('SUBSCRIBER_TOO_SLOW', `this subscriber stayed more than ${Math.round(this.stream.maxLagMs / 1000)} s behind the organization's events and was closed`);
      }
      return;
    }
    for (const event of events) {
      const id = BigInt(event.id);
      if (id <= this.cursor) continue;
      if (this.types && !this.types.has(event.type)) {
        this.cursor = id;
        continue;
      }
      if (this.waiter) {
        this.cursor = id;
        const resolve = this.waiter;
        this.waiter = null;
        resolve(this.deliver(event));
      } else if (this.queue.length >= this.stream.maxBuffered) {
        // Full: let the buffer go and read from the table as the subscriber consumes.
        this.stream.stats.overflows++;
        this.cursor = this.resumePoint();
        this.queue = [];
        this.replay = [];
        this.replayIndex = 0;
        this.live = false;
        this.behindSince ??= Date.now();
        return;
      } else {
        this.cursor = id;
        this.queue.push(event);
        if (this.queue.length > this.stream.stats.maxQueued) this.stream.stats.maxQueued = this.queue.length;
      }
    }
  }

  /** Everything up to this id was delivered or filtered out: `after` for a lossless resume. */
  private resumePoint(): bigint {
    if (this.replayIndex < this.replay.length) return BigInt(this.replay[this.replayIndex]!.id) - 1n;
    if (this.queue.length) return BigInt(this.queue[0]!.id) - 1n;
    return this.cursor;
  }

  /** Ends the subscription with an error, delivered at the next read. Memory is released now. */
  fail(code: StreamErrorCode, why: string) {
    if (this.finished || this.failure) return;
    const resumeAfter = this.resumePoint().toString();
    this.failure = new StreamError(code, `${why}; subscribe again with after: "${resumeAfter}" to continue without loss`, this.lastDeliveredId, resumeAfter);
    // A pending read is woken with neither a value nor done: next() then throws the failure.
    this.release({ value: undefined, done: false } as unknown as IteratorResult<StreamEvent>);
  }

  /** Drops what is held, leaves the tail, and answers a pending read with `wake`. */
  private release(wake: IteratorResult<StreamEvent>) {
    this.queue = [];
    this.replay = [];
    this.tail.detach(this);
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve(wake);
    }
  }

  private deliver(event: StreamEvent): IteratorResult<StreamEvent> {
    this.lastDeliveredId = event.id;
    this.stream.stats.delivered++;
    return { value: event, done: false };
  }

  async next(): Promise<IteratorResult<StreamEvent>> {
    for (;;) {
      if (this.failure) {
        const failure = this.failure;
        this.finish();
        throw failure;
      }
      if (this.finished) return { value: undefined, done: true };
      // What replay read comes first: live events queued meanwhile all have larger ids.
      if (this.replayIndex < this.replay.length) return this.deliver(this.replay[this.replayIndex++]!);
      if (!this.live) {
        await this.readReplayPage();
        continue;
      }
      const next = this.queue.shift();
      if (next) return this.deliver(next);
      const result = await new Promise<IteratorResult<StreamEvent>>((resolve) => {
        this.waiter = resolve;
      });
      if (result.done || result.value) return result;
      // Woken by fail(): loop to throw.
    }
  }

  private async readReplayPage() {
    const upTo = this.tail.lastId;
    const pageSize = this.stream.pageSize;
    this.stream.stats.replayReads++;
    const page = await readEvents(this.stream.options.sql, this.tail.organizationId, { after: this.cursor, upTo, limit: pageSize, types: this.types ? [...this.types] : null });
    if (this.finished || this.failure) return;
    this.replay = page;
    this.replayIndex = 0;
    this.cursor = page.length === pageSize ? BigInt(page[page.length - 1]!.id) : upTo;
    // Caught up with the tail: from here on its fan-out carries everything after cursor. Checked
    // in the same tick as the read completes, so no fan-out can slip in between.
    if (this.cursor >= this.tail.lastId) {
      this.live = true;
      this.behindSince = null;
    }
  }

  async return(): Promise<IteratorResult<StreamEvent>> {
    this.finish();
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<StreamEvent>> {
    this.finish();
    throw error;
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    this.release({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
