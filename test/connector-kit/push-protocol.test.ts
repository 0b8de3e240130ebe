// The kit's request() path, for connectors that serve their own endpoints with a hub-issued bearer
// token (as SCIM does) instead of receiving webhooks: a small push connector run through the kit.
import { Hono } from 'hono';
import { z } from 'zod';
import { defineConnector, isEngineError, type LifecycleCommandInput } from 'lifecycle-hub/connector';
import { connectorConformance, type Change } from 'lifecycle-hub/connector/kit';

/** POST /push/:connectionId with `Authorization: Bearer <token>` and one change as JSON. */
const push = defineConnector({
  id: 'push-example',
  displayName: 'Push example',
  configSchema: z.object({}).strict(),
  issuesBearerToken: true,
  endpoints: {
    basePath: '/push',
    create(hub) {
      const app = new Hono();
      app.post('/:connectionId', async (c) => {
        const token = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
        const connection = token ? await hub.authenticate(c.req.param('connectionId'), token) : null;
        if (!connection) return c.json({ error: 'unauthorized' }, 401);
        const { id, commands } = (await c.req.json()) as { id: string; commands: LifecycleCommandInput[] };
        try {
          const outcome = await hub.apply(connection, commands, { deliveryId: id });
          return c.json({ status: outcome.status }, 200);
        } catch (error) {
          if (isEngineError(error) && (error.code === 'NOT_FOUND' || error.code === 'CONFLICT')) return c.json({ error: error.message }, 409);
          throw error;
        }
      });
      return app;
    },
  },
});

function commandsOf(change: Change): LifecycleCommandInput[] {
  const occurredAt = change.at;
  switch (change.kind) {
    case 'userCreated':
    case 'userUpdated':
    case 'userDeactivated':
    case 'userReactivated': {
      const u = change.user;
      return [{ type: 'upsertUser', sourceId: u.id, mode: 'replace', active: u.active, occurredAt, profile: { userName: u.email, email: u.email, givenName: u.givenName, familyName: u.familyName } }];
    }
    case 'userDeleted':
      return [{ type: 'deleteUser', user: { sourceId: change.user.id }, occurredAt }];
    case 'groupCreated':
    case 'groupRenamed':
      return [{ type: 'upsertGroup', sourceId: change.group.id, displayName: change.group.name, occurredAt }];
    case 'groupDeleted':
      return [{ type: 'deleteGroup', group: { sourceId: change.group.id }, occurredAt }];
    case 'memberAdded':
      return [{ type: 'addMembers', group: { sourceId: change.group.id }, users: [{ sourceId: change.user.id }], occurredAt }];
    case 'memberRemoved':
      return [{ type: 'removeMembers', group: { sourceId: change.group.id }, users: [{ sourceId: change.user.id }], ifUserAbsent: 'fail', occurredAt }];
  }
}

connectorConformance({
  connector: push,
  config: () => ({}),
  request: (delivery, target) => ({ url: target.endpointUrl!, method: 'POST', headers: { authorization: `Bearer ${target.token}` }, body: delivery.body }),
  refusals: ['tampered-signature', 'other-credentials', 'unsigned'],
  // Convergence is the template's and Clerk's job here; this file shows the request() path.
  checks: { convergence: false },
  supports: ['userCreated', 'userUpdated', 'userDeactivated', 'userReactivated', 'userDeleted', 'groupCreated', 'groupRenamed', 'groupDeleted', 'memberAdded', 'memberRemoved'],
  encode: (change) => ({ id: `push_${change.id}`, body: JSON.stringify({ id: `push_${change.id}`, commands: commandsOf(change) }) }),
});
