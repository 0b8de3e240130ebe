// POST /webhooks/:connectionId — one inbound delivery: the connection's connector verifies and
// translates it, the lifecycle engine applies the commands. The status tells the sender whether
// to retry: 2xx done (or a duplicate), 4xx never retry, 409/503 retry later.
import type { Context } from 'hono';
import { loadConnectionView } from '../admin/connections.ts';
import { connectorContext } from '../connectors/context.ts';
import { PayloadError, VerificationError } from '../connectors/contract.ts';
import { EngineError } from '../engine/errors.ts';
import type { Hub } from '../hub.ts';

export async function handleWebhook(hub: Hub, c: Context): Promise<Response> {
  const connectionId = c.req.param('connectionId') ?? '';
  const started = performance.now();
  const requestId = c.get('requestId' as never) as string;
  const connection = await loadConnectionView({ sql: hub.db.sql, box: hub.box }, connectionId).catch(() => null);
  const connector = connection ? hub.registry.get(connection.provider) : undefined;
  if (!connection || !connector?.inbound) return c.json({ error: 'not_found', message: 'no webhook connection at this URL' }, 404);

  const log = (status: number, error?: string) =>
    hub.logger[status >= 500 ? 'error' : status >= 400 ? 'warn' : 'debug']({ requestId, connectionId, provider: connection.provider, status, error, ms: Math.round(performance.now() - started) }, 'webhook');
  const rawBody = await c.req.text();
  try {
    const { tokenHash: _t, ...view } = connection;
    const result = await connector.inbound(
      { method: c.req.method, url: c.req.url, headers: c.req.raw.headers, rawBody },
      connectorContext({ sql: hub.db.sql, logger: hub.logger }, view),
    );
    if ('ignored' in result) {
      log(200);
      // wake: the connector's ordered feed (pull) holds the change; a pull runner reads it.
      return c.json({ status: 'ignored', deliveryId: result.deliveryId, reason: result.ignored, ...(result.wake ? { wake: true } : {}) }, 200);
    }
    const outcome = await hub.engine.execute({
      connectionId,
      deliveryId: result.deliveryId,
      actor: { type: 'connection', connectionId },
      commands: result.commands,
    });
    log(200);
    return c.json({ status: outcome.status, deliveryId: result.deliveryId, events: outcome.events.length }, 200);
  } catch (error) {
    if (error instanceof VerificationError) {
      log(401, error.message);
      return c.json({ error: 'invalid_signature', message: error.message }, 401);
    }
    if (error instanceof PayloadError) {
      log(400, error.message);
      return c.json({ error: 'invalid_payload', message: error.message }, 400);
    }
    if (error instanceof EngineError) {
      if (error.retryable) {
        log(503, error.message);
        c.header('Retry-After', String(error.details.retryAfterSeconds ?? 30));
        return c.json({ error: error.code.toLowerCase(), message: error.message }, 503);
      }
      // A delivery naming something not there yet (reordered): the sender's retry will apply it.
      const status = error.code === 'NOT_FOUND' || error.code === 'CONFLICT' || error.code === 'PRECONDITION_FAILED' ? 409 : 422;
      log(status, error.message);
      return c.json({ error: error.code.toLowerCase(), message: error.message }, status);
    }
    log(500, (error as Error).message);
    hub.logger.error({ err: error, requestId, connectionId }, 'webhook failed');
    return c.json({ error: 'internal', message: 'the delivery could not be processed; it will succeed on retry if the cause was transient' }, 500);
  }
}
