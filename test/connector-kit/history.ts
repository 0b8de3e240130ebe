// Source histories for the conformance kit: a small world of users and groups changing over time,
// generated with fast-check. Each change carries the snapshot of what it touched right after it,
// so an adapter can write it in its source's wire format (full-object webhooks need that). The
// world's final state is what the hub must hold after every delivery, in any order.
import fc from 'fast-check';

export interface WorldUser {
  id: string;
  email: string;
  givenName: string;
  familyName: string;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface WorldGroup {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** `id` is unique across all the histories of a test (they share a connection): build delivery ids from it. */
interface ChangeBase {
  id: string;
  seq: number;
  at: Date;
}

export type Change =
  | (ChangeBase & { kind: 'userCreated' | 'userUpdated' | 'userDeactivated' | 'userReactivated'; user: WorldUser })
  | (ChangeBase & { kind: 'userDeleted'; user: WorldUser })
  | (ChangeBase & { kind: 'groupCreated' | 'groupRenamed'; group: WorldGroup })
  | (ChangeBase & { kind: 'groupDeleted'; group: WorldGroup })
  | (ChangeBase & { kind: 'memberAdded' | 'memberRemoved'; group: WorldGroup; user: WorldUser });

export type ChangeKind = Change['kind'];
type ChangeBody = Change extends infer C ? (C extends Change ? Omit<C, 'id' | 'seq' | 'at'> : never) : never;

export interface World {
  users: Map<string, WorldUser & { deleted: boolean }>;
  groups: Map<string, WorldGroup & { deleted: boolean }>;
  /** "group|user" pairs present now. */
  members: Set<string>;
}

export interface History {
  changes: Change[];
  world: World;
}

export const memberKey = (groupId: string, userId: string) => `${groupId}|${userId}`;

const USERS = ['u0', 'u1', 'u2'];
const GROUPS = ['g0', 'g1'];
const BASE = Date.UTC(2026, 0, 5, 9, 0, 0);
const WEIGHT: Record<ChangeKind, number> = {
  userCreated: 4, groupCreated: 3, memberAdded: 8, memberRemoved: 8, userUpdated: 2, userDeactivated: 3, userReactivated: 4,
  groupRenamed: 2, userDeleted: 1, groupDeleted: 1,
};

export interface Intent {
  /** Picks the kind of change among those possible at this point of the history. */
  kind: number;
  /** Picks what it changes among the possible targets. */
  target: number;
}

interface Candidate {
  kind: ChangeKind;
  userId?: string;
  groupId?: string;
}

/**
 * Plays intents against the world. Each intent picks one of the changes that make sense in the
 * current state (no removing a member that is not one, nothing after a deletion: sources do not
 * reuse ids), so every step changes something and every history is one a real source could send.
 */
export function playHistory(intents: readonly Intent[], supported: ReadonlySet<ChangeKind>, runId: string): History {
  let i = 0;
  return play(supported, runId, (possible) => {
    const intent = intents[i++];
    // Weighted so memberships and state changes are common and deletions (which end a thread) rare.
    const kinds = [...possible.keys()].flatMap((k) => Array<ChangeKind>(WEIGHT[k]).fill(k));
    if (!intent || !kinds.length) return null;
    const options = possible.get(kinds[intent.kind % kinds.length]!)!;
    return options[intent.target % options.length]!;
  });
}

/** A scripted history: e.g. [{ kind: 'userCreated', user: 0 }, { kind: 'memberAdded', group: 0, user: 0 }]. */
export function playScript(steps: ReadonlyArray<{ kind: ChangeKind; user?: number; group?: number }>, runId: string): History {
  let i = 0;
  return play(new Set(steps.map((s) => s.kind)), runId, (possible) => {
    const step = steps[i++];
    if (!step) return null;
    const match = possible.get(step.kind)?.find((c) => (step.user === undefined || c.userId === `${runId}-${USERS[step.user]}`) && (step.group === undefined || c.groupId === `${runId}-${GROUPS[step.group]}`));
    if (!match) throw new Error(`script step ${i - 1} (${JSON.stringify(step)}) is not possible at that point`);
    return match;
  });
}

function play(supported: ReadonlySet<ChangeKind>, runId: string, next: (possible: Map<ChangeKind, Candidate[]>) => Candidate | null): History {
  const world: World = { users: new Map(), groups: new Map(), members: new Set() };
  const changes: Change[] = [];
  const userIds = USERS.map((u) => `${runId}-${u}`);
  const groupIds = GROUPS.map((g) => `${runId}-${g}`);
  let version = 0;

  const candidates = (): Map<ChangeKind, Candidate[]> => {
    const out = new Map<ChangeKind, Candidate[]>();
    const add = (c: Candidate) => supported.has(c.kind) && out.set(c.kind, [...(out.get(c.kind) ?? []), c]);
    for (const userId of userIds) {
      const u = world.users.get(userId);
      if (!u) add({ kind: 'userCreated', userId });
      else if (!u.deleted) {
        add({ kind: 'userUpdated', userId });
        add({ kind: u.active ? 'userDeactivated' : 'userReactivated', userId });
        add({ kind: 'userDeleted', userId });
      }
    }
    for (const groupId of groupIds) {
      const g = world.groups.get(groupId);
      if (!g) add({ kind: 'groupCreated', groupId });
      else if (!g.deleted) {
        add({ kind: 'groupRenamed', groupId });
        add({ kind: 'groupDeleted', groupId });
        for (const userId of userIds) {
          const u = world.users.get(userId);
          if (!u || u.deleted) continue;
          add({ kind: world.members.has(memberKey(groupId, userId)) ? 'memberRemoved' : 'memberAdded', groupId, userId });
        }
      }
    }
    return out;
  };

  for (;;) {
    const chosen = next(candidates());
    if (!chosen) break;
    const { kind, userId, groupId } = chosen;
    const at = new Date(BASE + (changes.length + 1) * 60_000);
    const seq = changes.length;
    const user = userId ? world.users.get(userId) : undefined;
    const group = groupId ? world.groups.get(groupId) : undefined;
    version++;
    const push = (change: ChangeBody) => changes.push({ ...change, id: `${runId}.${seq}`, seq, at } as Change);
    switch (kind) {
      case 'userCreated': {
        // Emails and names carry the whole id: histories of several runs share a connection.
        const created = { id: userId!, email: `${userId}.v${version}@conformance.test`, givenName: `Given${userId!.slice(-2)}`, familyName: `Family${version}`, active: true, createdAt: at, updatedAt: at, deleted: false };
        world.users.set(userId!, created);
        push({ kind, user: snapshot(created) });
        break;
      }
      case 'userUpdated':
        Object.assign(user!, { email: `${userId}.v${version}@conformance.test`, familyName: `Family${version}`, updatedAt: at });
        push({ kind, user: snapshot(user!) });
        break;
      case 'userDeactivated':
      case 'userReactivated':
        Object.assign(user!, { active: kind === 'userReactivated', updatedAt: at });
        push({ kind, user: snapshot(user!) });
        break;
      case 'userDeleted':
        Object.assign(user!, { deleted: true, updatedAt: at });
        for (const key of [...world.members]) if (key.endsWith(`|${userId}`)) world.members.delete(key);
        push({ kind, user: snapshot(user!) });
        break;
      case 'groupCreated': {
        const created = { id: groupId!, name: `Team ${groupId} v${version}`, createdAt: at, updatedAt: at, deleted: false };
        world.groups.set(groupId!, created);
        push({ kind, group: snapshotGroup(created) });
        break;
      }
      case 'groupRenamed':
        Object.assign(group!, { name: `Team ${groupId} v${version}`, updatedAt: at });
        push({ kind, group: snapshotGroup(group!) });
        break;
      case 'groupDeleted':
        Object.assign(group!, { deleted: true, updatedAt: at });
        for (const key of [...world.members]) if (key.startsWith(`${groupId}|`)) world.members.delete(key);
        push({ kind, group: snapshotGroup(group!) });
        break;
      case 'memberAdded':
        world.members.add(memberKey(groupId!, userId!));
        push({ kind, group: snapshotGroup(group!), user: snapshot(user!) });
        break;
      case 'memberRemoved':
        world.members.delete(memberKey(groupId!, userId!));
        push({ kind, group: snapshotGroup(group!), user: snapshot(user!) });
        break;
    }
  }
  return { changes, world };
}

function snapshot(u: WorldUser): WorldUser {
  return { id: u.id, email: u.email, givenName: u.givenName, familyName: u.familyName, active: u.active, createdAt: u.createdAt, updatedAt: u.updatedAt };
}

function snapshotGroup(g: WorldGroup): WorldGroup {
  return { id: g.id, name: g.name, createdAt: g.createdAt, updatedAt: g.updatedAt };
}

/** Histories of 4 to 18 changes. */
export const intentsArbitrary = fc.array(fc.record({ kind: fc.nat(40), target: fc.nat(40) }), { minLength: 4, maxLength: 18 });

/**
 * The order deliveries reach the hub: a permutation (random sort keys), some redelivered again
 * later (duplicates, as senders retry after a lost answer).
 */
export const scheduleArbitrary = fc.record({
  sortKeys: fc.array(fc.integer(), { minLength: 24, maxLength: 24 }),
  duplicates: fc.array(fc.record({ which: fc.nat(23), position: fc.nat(30) }), { maxLength: 4 }),
});

export function schedule<T>(items: readonly T[], plan: { sortKeys: number[]; duplicates: { which: number; position: number }[] }): T[] {
  const order = items.map((item, i) => ({ item, key: plan.sortKeys[i % plan.sortKeys.length]! * 31 + i })).sort((a, b) => a.key - b.key).map((x) => x.item);
  for (const d of plan.duplicates) {
    if (!items.length) break;
    order.splice(d.position % (order.length + 1), 0, items[d.which % items.length]!);
  }
  return order;
}
