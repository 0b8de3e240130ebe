export { InProcessEventBus, type EventBus } from './bus.ts';
export { RedisEventBus } from './redis-bus.ts';
export { EventStream, EventSubscription, StreamError, type StreamEvent, type SubscribeOptions } from './stream.ts';
import type { Logger } from '../hub/logger.ts';
import { InProcessEventBus, type EventBus } from './bus.ts';
import { RedisEventBus } from './redis-bus.ts';

/** Redis when REDIS_URL is set (several instances), otherwise in process. */
export function createEventBus(redisUrl: string | undefined, logger: Logger): EventBus {
  return redisUrl ? new RedisEventBus(redisUrl, logger) : new InProcessEventBus();
}
