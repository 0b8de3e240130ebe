// An error thrown outside any request (in a timer, an event emitter, a library's observer) ends a
// Node process by default, and with it every organization's service: in issue 14 (item 1) one
// tenant's request polluted Object.prototype, prom-client's GC observer then threw on the extra
// "label", and the process exited. Errors inside requests already fail only that request (a 500,
// logged). The ones outside any request are logged and counted here, and the hub keeps serving:
// its state is in the database, written in transactions that a half-done step never commits.
import type { Logger } from 'pino';
import type { HubMetrics } from './metrics.ts';

export function keepServingOnStrayErrors(logger: Logger, metrics: HubMetrics): () => void {
  const onException = (error: Error) => {
    metrics.strayErrors.inc({ kind: 'exception' });
    logger.error({ err: error }, 'uncaught exception outside any request (the hub keeps serving; please report it)');
  };
  const onRejection = (reason: unknown) => {
    metrics.strayErrors.inc({ kind: 'rejection' });
    logger.error({ err: reason }, 'unhandled promise rejection outside any request (the hub keeps serving; please report it)');
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
