// The connector conformance kit: what every webhook connector must do, checked over real HTTP
// against a real Lifecycle Hub. A plugin author calls `connectorConformance(adapter)` from a vitest
// file; the adapter says how their source writes and signs a delivery. See README.md here.
//
// Checked:
//  - a delivery that fails verification (tampered signature or body, wrong secret, stale or missing
//    timestamp, no signature) is answered 401 and changes nothing;
//  - a redelivery (same delivery id, signed again) is answered 2xx and changes nothing;
//  - generated histories delivered in any order, with duplicates, and with the deliveries the hub
//    refused as not-yet-applicable (409) retried as a sender would, all converge on the source's
//    final state: users (state, email, names), groups (names, deletion) and memberships
//    (property-based, fast-check).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../../plugins/index.ts';
import type { AnyConnector } from '../../src/connectors/contract.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { intentsArbitrary, memberKey, playHistory, playScript, schedule, scheduleArbitrary, type Change, type ChangeKind, type World, type WorldGroup } from './history.ts';

export type { Change, ChangeKind, World, WorldGroup, WorldUser } from './history.ts';

/** One delivery as the source sends it: its id (the same on every retry) and its exact body. */
export interface SourceDelivery {
  id: string;
  body: string;
}

export interface ConformanceAdapter<Config extends Record<string, unknown> = Record<string, unknown>> {
  /** The connector under test (a built-in one is used as registered). */
  connector: AnyConnector;
  /** A valid config for a new connection; called for each connection, so secrets may differ. */
  config(): Config;
  /** The headers that sign this delivery as the source would at `signedAt` with this config's secret. */
  sign(delivery: SourceDelivery, config: Config, signedAt: Date): Record<string, string>;
  /** Which changes the source can express (the others are left out of generated histories). */
  supports: readonly ChangeKind[];
  /** The source's delivery for one change (its snapshot fields are the state right after it). */
  encode(change: Change): SourceDelivery;
  /** The hub's sourceId of a world user / group (default: the same id). */
  userSourceId?(id: string): string;
  groupSourceId?(id: string): string;
  /** The displayName the hub should show for a group (default: its name). */
  groupDisplayName?(group: WorldGroup): string;
  /** Property runs (default 12; each is a fresh connection and a full history over HTTP). */
  numRuns?: number;
}

interface Snapshot {
  users: number;
  audit: number;
  events: number;
  deliveries: number;
  versions: string;
}

export function connectorConformance<Config extends Record<string, unknown>>(adapter: ConformanceAdapter<Config>) {
  const { connector } = adapter;
  const userSourceId = adapter.userSourceId ?? ((id: string) => id);
  const groupSourceId = adapter.groupSourceId ?? ((id: string) => id);
  const groupDisplayName = adapter.groupDisplayName ?? ((g: WorldGroup) => g.name);

  describe(`${connector.displayName} (${connector.id}) conformance`, () => {
    let t: TestHub;
    let organizationId: string;
    let runs = 0;

    beforeAll(async () => {
      const builtin = builtinConnectors.some((c) => c.id === connector.id);
      t = await startTestHub({ connectors: builtin ? [] : [connector] });
      const data = await t.gqlOk(`mutation($s: String!) { createOrganization(input: { name: "Conformance", slug: $s }) { organization { id } } }`, { s: `kit-${connector.id}-${Date.now()}` });
      organizationId = data.createOrganization.organization.id;
    });
    afterAll(async () => {
      await t?.close();
    });

    async function newConnection() {
      const config = adapter.config();
      const data = await t.gqlOk(
        `mutation($o: ID!, $p: String!, $n: String!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: $n, config: $c }) { connection { id webhookUrl } } }`,
        { o: organizationId, p: connector.id, n: `kit ${++runs}`, c: config },
      );
      const { id, webhookUrl } = data.createDirectoryConnection.connection as { id: string; webhookUrl: string | null };
      if (!webhookUrl) throw new Error(`${connector.id} connections have no webhookUrl: the connector has no inbound()`);
      return { id, webhookUrl, config };
    }

    const post = async (url: string, body: string, headers: Record<string, string>) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { status: response.status, body: (await response.json().catch(() => null)) as Record<string, unknown> | null };
    };

    async function snapshot(connectionId: string): Promise<Snapshot> {
      const [row] = await t.db.sql.query<Snapshot>(
        `SELECT (SELECT count(*)::int FROM directory_user WHERE connection_id = $1) AS users,
                (SELECT count(*)::int FROM audit_event WHERE organization_id = $2) AS audit,
                (SELECT count(*)::int FROM lifecycle_event WHERE organization_id = $2) AS events,
                (SELECT count(*)::int FROM inbound_delivery WHERE connection_id = $1) AS deliveries,
                (SELECT coalesce(string_agg(source_id || ':' || version || ':' || state, ',' ORDER BY source_id), '') FROM directory_user WHERE connection_id = $1) AS versions`,
        [connectionId, organizationId],
      );
      return row!;
    }

    const firstUser = (): Change => {
      const history = playHistory([{ kind: 0, target: 0 }], new Set<ChangeKind>(['userCreated']), `first-${Date.now()}`);
      return history.changes[0]!;
    };

    describe('verification', () => {
      const refusals: Array<[string, (d: SourceDelivery, config: Config, other: Config) => { body: string; headers: Record<string, string> }]> = [
        ['a tampered signature', (d, c) => ({ body: d.body, headers: mapSignature(adapter.sign(d, c, new Date()), flipLastChar) })],
        ['a body changed after signing', (d, c) => ({ body: d.body.replace(/}\s*$/, ', "tampered": true}'), headers: adapter.sign(d, c, new Date()) })],
        ["another connection's secret", (d, _c, other) => ({ body: d.body, headers: adapter.sign(d, other, new Date()) })],
        ['a timestamp 10 minutes old (a replay)', (d, c) => ({ body: d.body, headers: adapter.sign(d, c, new Date(Date.now() - 10 * 60_000)) })],
        ['a timestamp 10 minutes ahead', (d, c) => ({ body: d.body, headers: adapter.sign(d, c, new Date(Date.now() + 10 * 60_000)) })],
        ['no signature headers', (d) => ({ body: d.body, headers: {} })],
      ];
      for (const [name, build] of refusals) {
        it(`refuses ${name} with 401 and changes nothing`, async () => {
          const { id, webhookUrl, config } = await newConnection();
          const delivery = adapter.encode(firstUser());
          const before = await snapshot(id);
          const { body, headers } = build(delivery, config, adapter.config());
          const response = await post(webhookUrl, body, headers);
          expect(response.status, JSON.stringify(response.body)).toBe(401);
          expect(typeof response.body?.message).toBe('string');
          expect(await snapshot(id)).toEqual(before);
          // The genuine delivery still applies afterwards: the refusal consumed nothing.
          const genuine = await post(webhookUrl, delivery.body, adapter.sign(delivery, config, new Date()));
          expect(genuine.status).toBe(200);
          expect((await snapshot(id)).users).toBe(before.users + 1);
        });
      }
    });

    describe('redelivery', () => {
      it('applies a delivery once: the same id, signed again later, changes nothing', async () => {
        const { id, webhookUrl, config } = await newConnection();
        const delivery = adapter.encode(firstUser());
        const first = await post(webhookUrl, delivery.body, adapter.sign(delivery, config, new Date(Date.now() - 60_000)));
        expect(first.status).toBe(200);
        const after = await snapshot(id);
        expect(after.users).toBe(1);
        for (let i = 0; i < 2; i++) {
          const again = await post(webhookUrl, delivery.body, adapter.sign(delivery, config, new Date()));
          expect(again.status).toBe(200);
          expect(again.body?.status).toBe('duplicate');
        }
        expect(await snapshot(id)).toEqual(after);
      });
    });

    /** Delivers like a sender: every delivery once, then the refused (409) ones again, until all applied. */
    async function deliverAll(webhookUrl: string, config: Config, ordered: SourceDelivery[]) {
      let queue = ordered;
      while (queue.length) {
        const retry: SourceDelivery[] = [];
        let progressed = false;
        for (const d of queue) {
          const response = await post(webhookUrl, d.body, adapter.sign(d, config, new Date()));
          if (response.status === 200) progressed = true;
          else if (response.status === 409) retry.push(d);
          else throw new Error(`delivery ${d.id} answered ${response.status}: ${JSON.stringify(response.body)}\n${d.body}`);
        }
        if (!progressed && retry.length) throw new Error(`deliveries refused on every retry (they would never apply): ${retry.map((d) => d.id).join(', ')}`);
        queue = retry;
      }
    }

    describe('convergence', () => {
      const scripts: Array<[string, Parameters<typeof playScript>[0]]> = [
        ['a membership added then removed', [{ kind: 'userCreated', user: 0 }, { kind: 'groupCreated', group: 0 }, { kind: 'memberAdded', group: 0, user: 0 }, { kind: 'memberRemoved', group: 0, user: 0 }]],
        ['a user deactivated, reactivated, updated', [{ kind: 'userCreated', user: 0 }, { kind: 'userDeactivated', user: 0 }, { kind: 'userReactivated', user: 0 }, { kind: 'userUpdated', user: 0 }]],
        ['a member deleted at the source', [{ kind: 'userCreated', user: 0 }, { kind: 'groupCreated', group: 0 }, { kind: 'memberAdded', group: 0, user: 0 }, { kind: 'userDeleted', user: 0 }]],
        ['a group deleted with its members', [{ kind: 'groupCreated', group: 0 }, { kind: 'userCreated', user: 0 }, { kind: 'memberAdded', group: 0, user: 0 }, { kind: 'groupDeleted', group: 0 }]],
      ];
      for (const [name, steps] of scripts) {
        const runnable = steps.every((step) => adapter.supports.includes(step.kind));
        it.runIf(runnable)(`every delivery order of ${name} ends in the source's state`, async () => {
          // One connection, each order with its own users and groups (ids carry the order);
          // several orders at once (the engine batches them).
          const { id, webhookUrl, config } = await newConnection();
          const orders = permutations(steps.map((_, i) => i));
          const runOrder = async (order: number[]) => {
            const { changes, world } = playScript(steps, `o${order.join('')}`);
            const deliveries = changes.map((c) => adapter.encode(c));
            await deliverAll(webhookUrl, config, order.map((i) => deliveries[i]!));
            await expectWorld(t, id, world, { userSourceId, groupSourceId, groupDisplayName }, `order ${order.join(',')}`);
          };
          const workers = Array.from({ length: 6 }, async () => {
            for (let order = orders.shift(); order; order = orders.shift()) await runOrder(order);
          });
          await Promise.all(workers);
        });
      }

      it("reaches the source's final state from any delivery order, with duplicates and retries of refused deliveries (generated histories)", async () => {
        const { id, webhookUrl, config } = await newConnection();
        let run = 0;
        await fc.assert(
          fc.asyncProperty(intentsArbitrary, scheduleArbitrary, async (intents, plan) => {
            // Each run (and each shrinking attempt) with users and groups of its own.
            const { changes, world } = playHistory(intents, new Set(adapter.supports), `r${++run}`);
            const deliveries = changes.map((c) => adapter.encode(c));
            await deliverAll(webhookUrl, config, schedule(deliveries, plan));
            await expectWorld(t, id, world, { userSourceId, groupSourceId, groupDisplayName }, `history ${changes.map((c) => c.kind).join(',')}`);
          }),
          { numRuns: Number(process.env.KIT_RUNS ?? adapter.numRuns ?? 12) },
        );
      });
    });
  });
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

function flipLastChar(value: string): string {
  const last = value.at(-2) === '=' ? value.length - 3 : value.length - 1;
  const c = value[last]!;
  return value.slice(0, last) + (c === 'A' ? 'B' : 'A') + value.slice(last + 1);
}

/** Applies `change` to every header that looks like a signature (its name contains "signature"). */
function mapSignature(headers: Record<string, string>, change: (v: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  let touched = false;
  for (const [k, v] of Object.entries(headers)) {
    const isSignature = /signature/i.test(k);
    touched ||= isSignature;
    out[k] = isSignature ? v.split(' ').map(change).join(' ') : v;
  }
  if (!touched) throw new Error('the adapter\'s sign() returned no header named like "*signature*": the kit cannot tamper with it');
  return out;
}

/** The hub's state for the connection, compared with the world (the source's final state). */
async function expectWorld(
  t: TestHub,
  connectionId: string,
  world: World,
  names: { userSourceId(id: string): string; groupSourceId(id: string): string; groupDisplayName(g: WorldGroup): string },
  label: string,
) {
  const users = new Map(
    (await t.db.prisma.directoryUser.findMany({ where: { connectionId } })).map((u) => [u.sourceId, u] as const),
  );
  const groups = new Map((await t.db.prisma.directoryGroup.findMany({ where: { connectionId } })).map((g) => [g.sourceId, g] as const));
  const memberships = await t.db.prisma.groupMembership.findMany({ where: { group: { connectionId }, removedAt: null }, select: { groupId: true, userId: true } });
  const present = new Set(memberships.map((m) => `${m.groupId}|${m.userId}`));

  for (const u of world.users.values()) {
    const hub = users.get(names.userSourceId(u.id));
    if (u.deleted) {
      expect(hub && (hub.sourceDeletedAt !== null || hub.state === 'DELETED'), `${label}: user ${u.id} was deleted at the source`).toBe(true);
      continue;
    }
    expect(hub, `${label}: user ${u.id} exists`).toBeDefined();
    expect({ label, id: u.id, state: hub!.state, email: hub!.email, givenName: hub!.givenName, familyName: hub!.familyName }).toEqual({
      label, id: u.id, state: u.active ? 'ACTIVE' : 'DEPROVISIONED', email: u.email, givenName: u.givenName, familyName: u.familyName,
    });
  }
  for (const g of world.groups.values()) {
    const hub = groups.get(names.groupSourceId(g.id));
    if (g.deleted) {
      expect(!hub || hub.deletedAt !== null, `${label}: group ${g.id} was deleted at the source`).toBe(true);
      continue;
    }
    expect(hub, `${label}: group ${g.id} exists`).toBeDefined();
    expect({ label, id: g.id, deleted: hub!.deletedAt !== null, displayName: hub!.displayName }).toEqual({ label, id: g.id, deleted: false, displayName: names.groupDisplayName(g) });
    for (const u of world.users.values()) {
      if (u.deleted) continue;
      const hubUser = users.get(names.userSourceId(u.id))!;
      expect(present.has(`${hub!.id}|${hubUser.id}`), `${label}: membership of ${u.id} in ${g.id}`).toBe(world.members.has(memberKey(g.id, u.id)));
    }
  }
}
