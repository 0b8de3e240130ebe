// POST /webhooks/:connectionId — one inbound delivery: the connection's connector verifies and
// translates it, the lifecycle engine applies the commands. The status tells the sender whether
// to retry (Svix, WorkOS and most senders retry any non-2xx):
//   200  applied, nothing to do, a duplicate, or a dry run (test mode)
//   400  not a payload this connector understands        never succeeds as sent
//   401  signature or timestamp did not verify           nothing changed
//   404  no connection at this URL                        fix the URL at the sender
//   409  names something not here yet (reordered)        succeeds on a later retry
//   422  the connector produced an invalid change         a connector bug; nothing changed
//        or the source sent a value the hub refuses       fix it at the source; nothing changed
//   503  paused, database busy or connector not loaded  retry after Retry-After
// Every answer to a known connection but a 401 is also recorded in its request log (connection.requestLog).
import type { Context } from 'hono';
import { loadConnectionView } from '../tenancy/connections.ts';
import { connectorContext } from '../connectors/context.ts';
import { asUnorderedDelivery, isPayloadError, isVerificationError } from '../connectors/contract.ts';
import { ERRORS, knownError } from '../hub/errors.ts';
import type { Hub } from '../hub/hub.ts';
import { connectorHub } from './app.ts';

interface Answer {
  status: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 500 | 503;
  body: Record<string, unknown>;
  retryAfter?: number;
  error?: string;
}

const fail = (status: Answer['status'], code: string, message: string, retryAfter?: number): Answer => ({ status, body: { error: code, message }, error: message, retryAfter });

export async function handleWebhook(hub: Hub, c: Context): Promise<Response> {
  const connectionId = c.req.param('connectionId') ?? '';
  const started = performance.now();
  const receivedAt = new Date();
  const requestId = c.get('requestId' as never) as string;

  let connection: Awaited<ReturnType<typeof loadConnectionView>>;
  try {
    connection = await loadConnectionView({ sql: hub.db.sql, box: hub.box }, connectionId);
  } catch (error) {
    hub.logger.error({ err: error, requestId, connectionId }, 'webhook: could not load the connection');
    const known = knownError(error);
    const answer = known?.code === 'UNAVAILABLE'
      ? fail(503, 'unavailable', known.message, known.details.retryAfterSeconds)
      : fail(500, 'internal', 'the connection could not be loaded; retry later');
    return respond(c, answer);
  }
  if (!connection) {
    return respond(c, fail(404, 'not_found', 'no connection receives webhooks at this URL: copy the connection\'s webhookUrl again (the connection may have been deleted)'));
  }

  const record = async (answer: Answer) => {
    const durationMs = Math.round(performance.now() - started);
    // A delivery whose signature did not verify is anyone's: counted in metrics, kept out of the
    // customer's log (only its time is kept, health.lastRejectedCredentialsAt).
    if (answer.status === 401) hub.lifecycle.rejectedCredentials(connection.id);
    else {
      connectorHub(hub).logRequest(connection.id, {
        requestId, method: 'POST', path: `/webhooks/${connection.id}`, status: answer.status, durationMs, client: connection.provider, error: answer.error ?? null,
      });
    }
    hub.metrics.connectionRequest('webhook', connection.id, connection.provider, 'POST', answer.status);
    // A verified delivery that worked: the source was heard from (activates, or recovers a STALE
    // connection). Awaited, which only a connection not yet ACTIVE ever waits for: the answer follows
    // the activation's commit, so the sender's next delivery (a retry included) finds it done.
    if (answer.status < 400) await hub.lifecycle.heardFrom(connection.organizationId, connection.id, connection.status);
    const level = answer.status >= 500 ? 'error' : answer.status >= 400 ? 'warn' : 'debug';
    hub.logger[level]({ requestId, connectionId, provider: connection.provider, status: answer.status, error: answer.error, ms: durationMs }, 'webhook');
    return respond(c, answer);
  };

  const connector = hub.registry.get(connection.provider);
  if (!connector) {
    return record(fail(503, 'connector_not_loaded', `the "${connection.provider}" connector is not loaded on this server: add its package to LIFECYCLE_PLUGINS and restart; the sender's retries will then be applied`, 300));
  }
  if (!connector.inbound) {
    return record(fail(404, 'not_found', `${connector.displayName} connections do not receive webhooks`));
  }

  const rawBody = await c.req.text();
  try {
    const view = connection;
    const result = await connector.inbound(
      { method: c.req.method, url: c.req.url, headers: c.req.raw.headers, rawBody },
      connectorContext({ sql: hub.db.sql, logger: hub.logger, outbound: hub.outbound.for(connector) }, view),
    );
    if (result.wake) hub.sync.wake(connection.id);
    if ('ignored' in result) {
      // wake: the connector's ordered feed (pull) holds the change; the pull runner reads it now.
      return record({ status: 200, body: { status: 'ignored', deliveryId: result.deliveryId, reason: result.ignored, ...(result.wake ? { wake: true } : {}) } });
    }
    const outcome = await hub.engine.execute({
      connectionId,
      deliveryId: result.deliveryId,
      receivedAt,
      actor: { type: 'connection', connectionId },
      commands: asUnorderedDelivery(result.commands),
    });
    return record({ status: 200, body: { status: outcome.status, deliveryId: result.deliveryId, events: outcome.events.length } });
  } catch (error) {
    return record(answerFor(error, connector.displayName, hub, requestId));
  }
}

function answerFor(error: unknown, displayName: string, hub: Hub, requestId: string): Answer {
  if (isVerificationError(error)) return fail(401, 'invalid_signature', (error as Error).message);
  if (isPayloadError(error)) return fail(400, 'invalid_payload', (error as Error).message);
  const known = knownError(error);
  if (known) {
    // The status is the error table's (src/hub/errors.ts); the message tells the sender what it means.
    const status = ERRORS[known.code].webhook;
    const code = known.code.toLowerCase();
    if (status === 503) return fail(503, code, known.message, known.details.retryAfterSeconds ?? 30);
    // A delivery naming something not there yet (reordered): the sender's retry will apply it.
    if (status === 409) return fail(409, code, `${known.message}; not applied now: it will be when the sender retries after the change it depends on has arrived`);
    // Understood, and refused for what it says (RFC 9110 §15.5.21): the sender's retries fail alike
    // until the value is changed at the source, whose next change of the record is then applied.
    if (known.details.sourceValue) return fail(422, 'invalid_value', `${displayName} sent a value the hub refuses: ${known.message}; nothing was applied`);
    if (status === 422) return fail(422, code, `the ${displayName} connector produced a change the hub refuses (${known.message}); nothing was applied. This is a connector bug: report it with this delivery`);
    return fail(status, code, known.message);
  }
  hub.logger.error({ err: error, requestId }, 'webhook failed');
  return fail(500, 'internal', 'the delivery could not be processed; nothing was applied. It will succeed on retry if the cause was transient');
}

function respond(c: Context, answer: Answer): Response {
  if (answer.retryAfter) c.header('Retry-After', String(answer.retryAfter));
  return c.json(answer.body, answer.status);
}
