// Notifications across instances over Redis pub/sub (ioredis). Each instance subscribes to the
// channels of the organizations it has subscribers for, so a notification reaches only the
// instances that need it; and every instance to the one control channel of credential revocations.
//
// Written on ioredis directly rather than @graphql-yoga/redis-event-target: that package neither
// awaits nor catches its PUBLISH/SUBSCRIBE promises, so with Redis down every notification is an
// unhandled rejection (which ends a Node process) or, with ioredis's offline queue, memory that
// grows for as long as the outage lasts. Here a failed publish is counted and dropped: delivery does
// not depend on it (readers poll the database while the bus is unhealthy, and catch up on recovery).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../hub/logger.ts';
import { LocalListeners, RevocationListeners, type CredentialRevoked, type CredentialRevokedListener, type EventBus, type NotificationListener } from './bus.ts';

const CHANNEL_PREFIX = 'lifecycle-hub:events:';
/** Messages: {"from": instance id, "kind", "id"} as JSON. */
const CREDENTIAL_REVOKED_CHANNEL = 'lifecycle-hub:control:credential-revoked';

export class RedisEventBus implements EventBus {
  readonly kind = 'redis';
  private readonly instanceId = randomUUID();
  private readonly listeners = new LocalListeners();
  private readonly revocations = new RevocationListeners();
  private readonly resyncListeners = new Set<() => void>();
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private lastErrorLog = 0;
  private closed = false;
  readonly stats = { published: 0, publishFailures: 0, received: 0 };

  constructor(url: string, private readonly logger: Logger) {
    const options = {
      // Fail fast instead of queueing while Redis is away: nothing here is worth buffering.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      autoResubscribe: false,
      connectionName: `lifecycle-hub-${this.instanceId.slice(0, 8)}`,
    };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    for (const client of [this.publisher, this.subscriber]) client.on('error', (error: Error) => this.warn('Redis connection error', error));
    this.subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
    // (Re)connected: subscribe to every channel this instance needs, then have readers look at the
    // database, since notifications published while we were away are gone.
    this.subscriber.on('ready', () => {
      const channels = [CREDENTIAL_REVOKED_CHANNEL, ...this.listeners.organizations().map((o) => CHANNEL_PREFIX + o)];
      this.subscriber.subscribe(...channels).then(
        () => {
          this.logger.info({ channels: channels.length }, 'lifecycle event notifications connected to Redis');
          for (const listener of this.resyncListeners) listener();
        },
        (error: Error) => this.warn('could not subscribe to Redis channels', error),
      );
    });
    this.publisher.on('ready', () => {
      for (const listener of this.resyncListeners) listener();
    });
  }

  get healthy(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Round trip to Redis on the publishing connection (readiness); rejects at once while disconnected. */
  async ping(timeoutMs = 2_000): Promise<void> {
    // Not connected: say so rather than send (a command refused by ioredis's disabled offline queue
    // also surfaces as an unhandled rejection inside ioredis).
    for (const [name, client] of [['publishing', this.publisher], ['subscriber', this.subscriber]] as const) {
      if (client.status !== 'ready') throw new Error(`the Redis ${name} connection is ${client.status}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const pong = this.publisher.ping();
    // Settles after the timeout too: never an unhandled rejection.
    pong.catch(() => {});
    try {
      await Promise.race([
        pong,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  publish(organizationId: string, lastEventId: bigint) {
    // This instance's own readers need no round trip through Redis.
    this.listeners.emit(organizationId, lastEventId);
    if (this.closed) return;
    this.stats.published++;
    this.publisher.publish(CHANNEL_PREFIX + organizationId, `${this.instanceId} ${lastEventId}`).catch((error: Error) => {
      this.stats.publishFailures++;
      this.warn('could not publish a lifecycle event notification to Redis; other instances will find the event by polling', error);
    });
  }

  subscribe(organizationId: string, listener: NotificationListener, onListening?: () => void) {
    const { remove } = this.listeners.add(organizationId, listener);
    const channel = CHANNEL_PREFIX + organizationId;
    if (this.subscriber.status === 'ready') {
      // SUBSCRIBE again when already subscribed is harmless, and its reply says we are listening.
      this.subscriber.subscribe(channel).then(
        () => onListening?.(),
        (error: Error) => this.warn('could not subscribe to a Redis channel', error),
      );
    } else if (onListening) {
      // Not connected: readers poll, and a resync follows the reconnection.
      queueMicrotask(onListening);
    }
    return () => {
      if (remove().last && this.subscriber.status === 'ready') {
        this.subscriber.unsubscribe(channel).catch((error: Error) => this.warn('could not unsubscribe from a Redis channel', error));
      }
    };
  }

  publishCredentialRevoked(revoked: CredentialRevoked) {
    this.revocations.emit(revoked);
    if (this.closed) return;
    const message = JSON.stringify({ from: this.instanceId, kind: revoked.kind, id: revoked.id });
    this.publisher.publish(CREDENTIAL_REVOKED_CHANNEL, message).catch((error: Error) => {
      this.stats.publishFailures++;
      this.warn('could not publish a credential revocation to Redis; other instances find it when they re-check their live credentials', error);
    });
  }

  onCredentialRevoked(listener: CredentialRevokedListener) {
    return this.revocations.add(listener);
  }

  onResync(listener: () => void) {
    this.resyncListeners.add(listener);
    return () => void this.resyncListeners.delete(listener);
  }

  private receive(channel: string, message: string) {
    if (channel === CREDENTIAL_REVOKED_CHANNEL) return this.receiveRevocation(message);
    if (!channel.startsWith(CHANNEL_PREFIX)) return;
    const [from, id] = message.split(' ');
    if (from === this.instanceId || !id || !/^\d+$/.test(id)) return;
    this.stats.received++;
    this.listeners.emit(channel.slice(CHANNEL_PREFIX.length), BigInt(id));
  }

  private receiveRevocation(message: string) {
    let parsed: { from?: unknown; kind?: unknown; id?: unknown };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    const { from, kind, id } = parsed ?? {};
    if (from === this.instanceId || typeof kind !== 'string' || typeof id !== 'string' || kind.length > 50 || id.length > 200) return;
    this.stats.received++;
    try {
      this.revocations.emit({ kind, id });
    } catch (error) {
      this.logger.error({ err: error }, 'a credential revocation listener failed');
    }
  }

  /** At most one log line every 10 s: an outage must not flood the logs. */
  private warn(message: string, error: Error) {
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.logger.warn({ err: { message: error.message } }, message);
  }

  async close() {
    this.closed = true;
    await Promise.all([this.publisher, this.subscriber].map((c) => c.quit().catch(() => c.disconnect())));
  }
}
