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
// Signing as Svix and Standard Webhooks do, for connectors whose sources sign that way.
export { randomWebhookSecret, svixHeaders, svixSignature } from '../support/svix-signing.ts';

/** One delivery as the source sends it: its id (the same on every retry) and its exact body. */
export interface SourceDelivery {
  id: string;
  body: string;
}

/** Where a delivery goes and with which credentials: a connection of the hub under test. */
export interface DeliveryTarget<Config> {
  connectionId: string;
  /** POST /webhooks/:connectionId, for connectors with inbound(). */
  webhookUrl: string | null;
  /** The base URL of the connector's own endpoints (connection.scimBaseUrl), for push protocols. */
  endpointUrl: string | null;
  config: Config;
  /** The bearer token the hub issued for the connection (connectors with issuesBearerToken). */
  token: string | null;
}

export interface OutgoingRequest {
  url: string;
  method?: string;
  headers: Record<string, string>;
  body?: string;
}

/** The ways a delivery can fail verification; each is sent and must be refused with 401. */
export type Refusal = 'tampered-signature' | 'body-changed' | 'other-credentials' | 'stale-timestamp' | 'future-timestamp' | 'unsigned';

export interface ConformanceAdapter<Config extends Record<string, unknown> = Record<string, unknown>> {
  /** The connector under test (a built-in one is used as registered). */
  connector: AnyConnector;
  /** A valid config for a new connection; called for each connection, so secrets may differ. */
  config(): Config;
  /** Webhooks: the headers that sign this delivery as the source would at `signedAt` with this config. */
  sign?(delivery: SourceDelivery, config: Config, signedAt: Date): Record<string, string>;
  /**
   * Other protocols (push endpoints such as SCIM): the whole request for a delivery. Default: POST
   * the body to the webhook URL with sign()'s headers.
   */
  request?(delivery: SourceDelivery, target: DeliveryTarget<Config>, signedAt: Date): OutgoingRequest;
  /** Which refusals apply (default: all with sign(); 'other-credentials' and 'unsigned' with request()). */
  refusals?: readonly Refusal[];
  /** Which checks run (default: all). A push protocol applied in order may skip `convergence`. */
  checks?: { redelivery?: boolean; convergence?: boolean };
  /** Which changes the source can express (the others are left out of generated histories). */
  supports: readonly ChangeKind[];
  /** The source's delivery for one change (its snapshot fields are the state right after it). */
  encode(change: Change): SourceDelivery;
  /** The hub's sourceId of a world user / group (default: the same id). */
  userSourceId?(id: string): string;
  groupSourceId?(id: string): string;
  /** The displayName the hub should show for a group (default: its name). */
  groupDisplayName?(group: WorldGroup): string;
  /** Property runs (default 12; KIT_RUNS overrides). */
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

    async function newConnection(): Promise<DeliveryTarget<Config>> {
      const config = adapter.config();
      const data = await t.gqlOk(
        `mutation($o: ID!, $p: String!, $n: String!, $c: JSON) { createDirectoryConnection(input: { organizationId: $o, provider: $p, name: $n, config: $c }) { connection { id webhookUrl scimBaseUrl } secret } }`,
        { o: organizationId, p: connector.id, n: `kit ${++runs}`, c: config },
      );
      const { connection, secret } = data.createDirectoryConnection as { connection: { id: string; webhookUrl: string | null; scimBaseUrl: string | null }; secret: string | null };
      return { connectionId: connection.id, webhookUrl: connection.webhookUrl, endpointUrl: connection.scimBaseUrl, config, token: secret };
    }

    const build = (d: SourceDelivery, target: DeliveryTarget<Config>, signedAt = new Date()): OutgoingRequest => {
      if (adapter.request) return adapter.request(d, target, signedAt);
      if (!adapter.sign) throw new Error('the adapter needs sign() (webhooks) or request() (other protocols)');
      if (!target.webhookUrl) throw new Error(`${connector.id} connections have no webhookUrl: the connector has no inbound(); give the adapter a request()`);
      return { url: target.webhookUrl, method: 'POST', headers: adapter.sign(d, target.config, signedAt), body: d.body };
    };

    const send = async (req: OutgoingRequest) => {
      const response = await fetch(req.url, { method: req.method ?? 'POST', headers: { 'content-type': 'application/json', ...req.headers }, body: req.body });
      const text = await response.text();
      let body: Record<string, unknown> | null = null;
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
      } catch {
        body = { text };
      }
      return { status: response.status, ok: response.ok, body };
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
      const refusals: Record<Refusal, [string, (d: SourceDelivery, target: DeliveryTarget<Config>, other: DeliveryTarget<Config>) => OutgoingRequest]> = {
        'tampered-signature': ['a tampered signature', (d, target) => {
          const req = build(d, target);
          return { ...req, headers: mapSignature(req.headers, flipLastChar) };
        }],
        'body-changed': ['a body changed after signing', (d, target) => {
          const req = build(d, target);
          return { ...req, body: req.body?.replace(/}\s*$/, ', "tampered": true}') };
        }],
        'other-credentials': ["another connection's secret", (d, target, other) => build(d, { ...target, config: other.config, token: other.token })],
        'stale-timestamp': ['a timestamp 10 minutes old (a replay)', (d, target) => build(d, target, new Date(Date.now() - 10 * 60_000))],
        'future-timestamp': ['a timestamp 10 minutes ahead', (d, target) => build(d, target, new Date(Date.now() + 10 * 60_000))],
        unsigned: ['no signature or credentials', (d, target) => {
          const req = build(d, target);
          return { ...req, headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => /^content-type$/i.test(k))) };
        }],
      };
      const applicable: readonly Refusal[] = adapter.refusals ?? (adapter.request ? ['other-credentials', 'unsigned'] : (Object.keys(refusals) as Refusal[]));
      for (const kind of applicable) {
        const [name, make] = refusals[kind];
        it(`refuses ${name} with 401 and changes nothing`, async () => {
          const target = await newConnection();
          const other = await newConnection();
          const delivery = adapter.encode(firstUser());
          const before = await snapshot(target.connectionId);
          const response = await send(make(delivery, target, other));
          expect(response.status, JSON.stringify(response.body)).toBe(401);
          expect(await snapshot(target.connectionId)).toEqual(before);
          // The genuine delivery still applies afterwards: the refusal consumed nothing.
          const genuine = await send(build(delivery, target));
          expect(genuine.ok, JSON.stringify(genuine.body)).toBe(true);
          expect((await snapshot(target.connectionId)).users).toBe(before.users + 1);
        });
      }
    });

    describe.runIf(adapter.checks?.redelivery !== false)('redelivery', () => {
      it('applies a delivery once: the same delivery, sent again later, changes nothing', async () => {
        const target = await newConnection();
        const delivery = adapter.encode(firstUser());
        const first = await send(build(delivery, target, new Date(Date.now() - 60_000)));
        expect(first.ok, JSON.stringify(first.body)).toBe(true);
        const after = await snapshot(target.connectionId);
        expect(after.users).toBe(1);
        for (let i = 0; i < 2; i++) {
          const again = await send(build(delivery, target));
          expect(again.ok, JSON.stringify(again.body)).toBe(true);
          // Webhooks are recognized by their delivery id.
          if (!adapter.request) expect(again.body?.status).toBe('duplicate');
        }
        expect(await snapshot(target.connectionId)).toEqual(after);
      });
    });

    /** Delivers like a sender: every delivery once, then the refused (409) ones again, until all applied. */
    async function deliverAll(target: DeliveryTarget<Config>, ordered: SourceDelivery[]) {
      let queue = ordered;
      while (queue.length) {
        const retry: SourceDelivery[] = [];
        let progressed = false;
        for (const d of queue) {
          const response = await send(build(d, target));
          if (response.ok) progressed = true;
          else if (response.status === 409) retry.push(d);
          else throw new Error(`delivery ${d.id} answered ${response.status}: ${JSON.stringify(response.body)}\n${d.body}`);
        }
        if (!progressed && retry.length) throw new Error(`deliveries refused on every retry (they would never apply): ${retry.map((d) => d.id).join(', ')}`);
        queue = retry;
      }
    }

    describe.runIf(adapter.checks?.convergence !== false)('convergence', () => {
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
          const target = await newConnection();
          const orders = permutations(steps.map((_, i) => i));
          const runOrder = async (order: number[]) => {
            const { changes, world } = playScript(steps, `o${order.join('')}`);
            const deliveries = changes.map((c) => adapter.encode(c));
            await deliverAll(target, order.map((i) => deliveries[i]!));
            await expectWorld(t, target.connectionId, world, { userSourceId, groupSourceId, groupDisplayName }, `order ${order.join(',')}`);
          };
          const workers = Array.from({ length: 6 }, async () => {
            for (let order = orders.shift(); order; order = orders.shift()) await runOrder(order);
          });
          await Promise.all(workers);
        });
      }

      it("reaches the source's final state from any delivery order, with duplicates and retries of refused deliveries (generated histories)", async () => {
        const target = await newConnection();
        let run = 0;
        await fc.assert(
          fc.asyncProperty(intentsArbitrary, scheduleArbitrary, async (intents, plan) => {
            // Each run (and each shrinking attempt) with users and groups of its own.
            const { changes, world } = playHistory(intents, new Set(adapter.supports), `r${++run}`);
            const deliveries = changes.map((c) => adapter.encode(c));
            await deliverAll(target, schedule(deliveries, plan));
            await expectWorld(t, target.connectionId, world, { userSourceId, groupSourceId, groupDisplayName }, `history ${changes.map((c) => c.kind).join(',')}`);
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

/** Applies `change` to every header that carries a signature or credentials. */
function mapSignature(headers: Record<string, string>, change: (v: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  let touched = false;
  for (const [k, v] of Object.entries(headers)) {
    const isSignature = /signature|authorization/i.test(k);
    touched ||= isSignature;
    // Svix-style headers list several signatures; an Authorization header is "<scheme> <token>".
    out[k] = !isSignature ? v : /authorization/i.test(k) ? v.replace(/\S+$/, change) : v.split(' ').map(change).join(' ');
  }
  if (!touched) throw new Error('the request has no header named like "*signature*" or "authorization": the kit cannot tamper with it');
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
