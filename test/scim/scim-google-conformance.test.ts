// Google Workspace (users only; Google publishes no wire format, so bodies are RFC-generic and
// marked assumed in the fixtures): test/fixtures/scim/google.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { TestHub } from '../support/server.ts';
import { fixtureTests, seedUser, type Scenario } from './fixtures.ts';
import { expectScimError, startScimHub } from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startScimHub();
});
afterAll(async () => {
  await t?.close();
});

const dbUser = (id: string) => t.db.prisma.directoryUser.findUniqueOrThrow({ where: { id } });

const scenarios: Record<string, Scenario> = {
  'create-user': {
    async check({ t: hub, conn }, r) {
      expect(r.body).toMatchObject({ userName: 'jane@example.com', active: true, name: { givenName: 'Jane', familyName: 'Doe' } });
      // Google sends application/json: answered in kind only if it asked; SCIM JSON otherwise.
      expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
      // The request log is written just after the response.
      let entries: unknown[] = [];
      for (let i = 0; i < 100 && !entries.length; i++) {
        const log = await hub.gqlOk(`query($o: ID!) { organization(id: $o) { connections { requestLog(first: 5) { method path status client } } } }`, { o: conn.organizationId });
        entries = log.organization.connections[0].requestLog;
        if (!entries.length) await new Promise((res) => setTimeout(res, 20));
      }
      expect(entries[0]).toEqual({ method: 'POST', path: '/Users', status: 201, client: 'google' });
    },
  },
  'deprovision-delete': {
    async check({ conn, vars }) {
      expectScimError(await conn.request('GET', `/Users/${vars.userId}`), 404);
      expect((await dbUser(vars.userId!)).state).toBe('DEPROVISIONED');
    },
  },
  'deprovision-suspend': {
    async check({ vars }, r) {
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

describe('Google Workspace fixtures over HTTP', () => {
  fixtureTests(() => t, 'google', scenarios);
});
