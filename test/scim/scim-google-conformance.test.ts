// Google Workspace (users only; Google publishes no wire format, so bodies are RFC-generic and
// marked assumed in the fixtures): test/fixtures/scim/google.
import { expect } from 'vitest';
import { describeIdpConformance, seedUser, type Scenario } from './fixtures.ts';
import { expectScimError } from './support.ts';

const scenarios: Record<string, Scenario> = {
  'create-user': {
    async check({ hub, conn }, r) {
      expect(r.body).toMatchObject({ userName: 'jane@example.com', active: true, name: { givenName: 'Jane', familyName: 'Doe' } });
      // Google sends application/json: answered in kind only if it asked; SCIM JSON otherwise.
      expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
      // The request log is written just after the response.
      const newestLogEntry = async () => {
        const log = await hub.gqlOk(`query($o: ID!) { organization(id: $o) { connections { requestLog(first: 5) { method path status client } } } }`, { o: conn.organizationId });
        return log.organization.connections[0].requestLog[0];
      };
      await expect.poll(newestLogEntry, { timeout: 2_000, interval: 20 }).toEqual({ method: 'POST', path: '/Users', status: 201, client: 'google' });
    },
  },
  'deprovision-delete': {
    async check({ conn, vars, dbUser }) {
      expectScimError(await conn.request('GET', `/Users/${vars.userId}`), 404);
      expect((await dbUser(vars.userId!)).state).toBe('DEPROVISIONED');
    },
  },
  'deprovision-suspend': {
    async check({ vars, dbUser }, r) {
      expect(r.body.active).toBe(false);
      expect((await dbUser(vars.userId!)).state).toBe('DEPROVISIONED');
    },
  },
  'get-user-by-username': {
    async setup(ctx) {
      ctx.vars.existing = await seedUser(ctx.conn, 'jane@example.com');
    },
    check: ({ vars }, r) => expect(r.body.Resources.map((u: any) => u.id)).toEqual([vars.existing]),
  },
  'test-connection-probe': {
    async setup(ctx) {
      await seedUser(ctx.conn, 'a@example.com');
      await seedUser(ctx.conn, 'b@example.com');
    },
    check: (_ctx, r) => expect(r.body).toMatchObject({ totalResults: 2, itemsPerPage: 1, startIndex: 1 }),
  },
};

describeIdpConformance('google', 'Google Workspace fixtures over HTTP', scenarios);
