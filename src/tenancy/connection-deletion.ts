// deleteConnection: the connection is marked deleted and its tokens revoked in one engine command
// (audited, `connection.deleted` in the event stream), every instance is told at once (its SCIM
// tokens stop opening anything, even from a cached check), then its users are either deprovisioned
// one page at a time through the engine (the usual revocations, events and audit rows) or kept,
// detached from any source.
//
// The row itself is kept, hidden from the API: users keep naming where they came from, the audit
// trail keeps its target, and the revocation job can still revoke upstream sessions its deprovisions
// left PENDING.
import type { Actor } from '../engine/types.ts';
import type { Hub } from '../hub/hub.ts';
import { HubError } from '../hub/errors.ts';
import { connectionChanged } from './connections.ts';

export type ConnectionDisposition = 'DEPROVISION_USERS' | 'KEEP_USERS';

/** Users deprovisioned per engine delivery: big enough to be fast, small enough to log progress. */
const DEPROVISION_PAGE = 200;

export async function deleteConnection(hub: Hub, connectionId: string, disposition: ConnectionDisposition, actor: Actor, organizationScope: string | null): Promise<{ deprovisioned: number }> {
  const [row] = await hub.db.sql.query<{ organizationId: string }>(
    'SELECT organization_id AS "organizationId" FROM directory_connection WHERE id = $1 AND deleted_at IS NULL',
    [connectionId],
  );
  if (!row || (organizationScope && row.organizationId !== organizationScope)) throw new HubError('NOT_FOUND', `connection ${connectionId} not found`, { field: 'connectionId' });
  const { organizationId } = row;
  const outcome = await hub.engine.execute({ organizationId, actor, commands: [{ type: 'recordConnectionChange', change: 'deleted', connectionId, disposition }] });
  // Another request deleted it first: to this one, it is gone.
  if (outcome.status !== 'applied') throw new HubError('NOT_FOUND', `connection ${connectionId} not found`, { field: 'connectionId' });
  connectionChanged(connectionId);
  hub.events.bus.publishCredentialRevoked({ kind: 'connection', id: connectionId });

  if (disposition === 'KEEP_USERS') return { deprovisioned: 0 };
  const log = hub.logger.child({ connectionId, organizationId });
  const [{ total }] = (await hub.db.sql.query<{ total: number }>(`SELECT count(*)::int AS total FROM directory_user WHERE connection_id = $1 AND state = 'ACTIVE'`, [connectionId])) as [{ total: number }];
  log.info({ total }, 'deleteConnection: deprovisioning the connection\'s users');
  let done = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await hub.db.sql.query<{ id: string }>(
      `SELECT id FROM directory_user WHERE connection_id = $1 AND state = 'ACTIVE' AND id > $2 ORDER BY id LIMIT ${DEPROVISION_PAGE}`,
      [connectionId, after],
    );
    if (!page.length) break;
    await hub.engine.execute({
      organizationId,
      actor,
      commands: page.map((u) => ({ type: 'deactivateUser' as const, user: { userId: u.id }, reason: 'connection deleted' })),
    });
    done += page.length;
    after = page[page.length - 1]!.id;
    log.info({ done, total }, `deleteConnection: deprovisioned ${done} of ${total} users`);
  }
  return { deprovisioned: done };
}
