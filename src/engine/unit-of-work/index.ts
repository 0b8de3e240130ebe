// One transaction's view of lifecycle state: rows are loaded in bulk (and locked), changed in
// memory by the transitions, and written back in a handful of multi-row statements. Several
// deliveries can share a unit of work (group commit); `checkpoint`/`rollbackTo` undo one
// delivery's in-memory changes when it fails, leaving the others intact.
import type { SqlExecutor } from '../../storage/sql.ts';
import { linkAuditDrafts, type AuditDraft } from '../audit-log.ts';
import type { RoleMapping } from '../roles.ts';
import type { GroupRecord, LifecycleEventRecord, MembershipRecord, UserRecord } from '../types.ts';
import { appendAuditAndEvents } from './audit.ts';
import { flushDeliveries, type DeliveryRecord } from './deliveries.ts';
import { flushGroups, loadGroupsSql } from './groups.ts';
import { flushMappings, mappingsSql, type MappingWrite } from './mappings.ts';
import { flushMemberships, membershipPairsSql, membershipsOfGroupSql, membershipsOfUsersSql } from './memberships.ts';
import { findSessionSql, flushSessions, offboardingSql, type NewSession, type SessionRevocation } from './sessions.ts';
import type { EventDraft, OrganizationInfo, SessionLike, Tracked } from './types.ts';
import { countOtherAdminsSql, flushUsers, loadUsersSql, lockOrganizationSql } from './users.ts';

export type { ConnectionInfo, EventDraft, OrganizationInfo, SessionLike } from './types.ts';

type Journal = Array<() => void>;

const date = (v: string | null | undefined) => (v == null ? null : new Date(v));

const sourceKey = (connectionId: string, sourceId: string) => `${connectionId}\u0000${sourceId}`;
const membershipKey = (groupId: string, userId: string) => `${groupId}\u0000${userId}`;

export interface PersistResult {
  events: LifecycleEventRecord[];
}

export class UnitOfWork {
  private readonly users = new Map<string, Tracked<UserRecord>>();
  private readonly userIdBySource = new Map<string, string>();
  private readonly groups = new Map<string, Tracked<GroupRecord>>();
  private readonly groupIdBySource = new Map<string, string>();
  private readonly memberships = new Map<string, Tracked<MembershipRecord>>();
  private readonly membershipsLoadedForUser = new Set<string>();
  private readonly membershipsLoadedForGroup = new Set<string>();
  private readonly mappingsByGroup = new Map<string, RoleMapping[]>();
  private readonly sessionRevocations = new Map<string, SessionRevocation>();
  private readonly newSessions: NewSession[] = [];
  private readonly mappingWrites: MappingWrite[] = [];
  private readonly deliveries: DeliveryRecord[] = [];
  private readonly deferredWrites: Array<(tx: SqlExecutor) => Promise<unknown>> = [];
  readonly audit: AuditDraft[] = [];
  readonly events: EventDraft[] = [];
  private journal: Journal = [];

  constructor(
    readonly tx: SqlExecutor,
    readonly organization: OrganizationInfo,
    readonly now: Date,
  ) {}

  // ---- loading -------------------------------------------------------------------------------

  private trackUser(row: UserRecord) {
    if (this.users.has(row.id)) return this.users.get(row.id)!.current;
    this.users.set(row.id, { current: row, original: row });
    this.userIdBySource.set(sourceKey(row.connectionId, row.sourceId), row.id);
    return row;
  }

  private trackGroup(row: GroupRecord) {
    if (this.groups.has(row.id)) return this.groups.get(row.id)!.current;
    this.groups.set(row.id, { current: row, original: row });
    this.groupIdBySource.set(sourceKey(row.connectionId, row.sourceId), row.id);
    return row;
  }

  private trackMembership(row: MembershipRecord) {
    const key = membershipKey(row.groupId, row.userId);
    if (!this.memberships.has(key)) this.memberships.set(key, { current: row, original: row });
  }

  /**
   * Loads and locks, in id order (a stable lock order across writers), the users a batch refers to:
   * by source id or hub id, and any user holding a userName or externalId the batch wants.
   */
  async loadUsers(q: { connectionId?: string; sourceIds?: string[]; userNameKeys?: string[]; externalIdKeys?: string[]; ids?: string[] }) {
    const sourceIds = (q.sourceIds ?? []).filter((s) => !this.userIdBySource.has(sourceKey(q.connectionId ?? '', s)));
    const ids = (q.ids ?? []).filter((id) => !this.users.has(id));
    const nameKeys = q.userNameKeys ?? [];
    const extKeys = q.externalIdKeys ?? [];
    if (!sourceIds.length && !ids.length && !nameKeys.length && !extKeys.length) return;
    const rows = await this.tx.query<UserRecord>(loadUsersSql, [this.organization.id, ids, q.connectionId ?? null, sourceIds, nameKeys, extKeys]);
    for (const row of rows) this.trackUser(row);
  }

  async loadGroups(q: { connectionId?: string; sourceIds?: string[]; displayNameKeys?: string[]; ids?: string[] }) {
    const sourceIds = (q.sourceIds ?? []).filter((s) => !this.groupIdBySource.has(sourceKey(q.connectionId ?? '', s)));
    const ids = (q.ids ?? []).filter((id) => !this.groups.has(id));
    const nameKeys = q.displayNameKeys ?? [];
    if (!sourceIds.length && !ids.length && !nameKeys.length) return;
    const rows = await this.tx.query<GroupRecord>(loadGroupsSql, [this.organization.id, ids, q.connectionId ?? null, sourceIds, nameKeys]);
    for (const row of rows) this.trackGroup(row);
  }

  /** Every membership row (active, suspended or removed) of these users. */
  async loadMembershipsOfUsers(userIds: string[]) {
    const todo = userIds.filter((id) => !this.membershipsLoadedForUser.has(id) && this.users.get(id)?.original !== null);
    for (const id of userIds) this.membershipsLoadedForUser.add(id);
    if (!todo.length) return;
    const rows = await this.tx.query<MembershipRecord>(membershipsOfUsersSql, [todo]);
    for (const row of rows) this.trackMembership(row);
  }

  async loadMembershipsOfGroup(groupId: string) {
    if (this.membershipsLoadedForGroup.has(groupId)) return;
    this.membershipsLoadedForGroup.add(groupId);
    if (this.groups.get(groupId)?.original === null) return;
    const rows = await this.tx.query<MembershipRecord>(membershipsOfGroupSql, [groupId]);
    for (const row of rows) this.trackMembership(row);
  }

  async loadMembershipPairs(groupId: string, userIds: string[]) {
    if (this.membershipsLoadedForGroup.has(groupId)) return;
    const todo = userIds.filter((u) => !this.membershipsLoadedForUser.has(u) && !this.memberships.has(membershipKey(groupId, u)));
    if (!todo.length) return;
    const rows = await this.tx.query<MembershipRecord>(membershipPairsSql, [groupId, todo]);
    for (const row of rows) this.trackMembership(row);
  }

  async loadMappings(groupIds: string[]) {
    const todo = [...new Set(groupIds)].filter((g) => !this.mappingsByGroup.has(g));
    if (!todo.length) return;
    for (const g of todo) this.mappingsByGroup.set(g, []);
    const rows = await this.tx.query<RoleMapping>(mappingsSql, [todo]);
    for (const row of rows) this.mappingsByGroup.get(row.groupId)!.push(row);
  }

  mappingsOf(groupId: string): RoleMapping[] {
    return this.mappingsByGroup.get(groupId) ?? [];
  }

  /**
   * Active admins other than these, counted under the organization's row lock: two transactions
   * each removing one of the last two admins must not both see the other still there.
   */
  async countOtherActiveAdmins(excludingUserIds: string[]): Promise<number> {
    await this.tx.query(lockOrganizationSql, [this.organization.id]);
    const [row] = await this.tx.query<{ n: number }>(countOtherAdminsSql, [this.organization.id, excludingUserIds]);
    // Users changed in memory but not yet written count as they are now.
    let n = row?.n ?? 0;
    for (const t of this.users.values()) {
      if (excludingUserIds.includes(t.current.id)) continue;
      const wasCounted = t.original !== null && t.original.isAdmin && t.original.state === 'ACTIVE';
      const isNow = t.current.isAdmin && t.current.state === 'ACTIVE';
      n += Number(isNow) - Number(wasCounted);
    }
    return n;
  }

  /**
   * What a deprovision takes away from a user, read and locked in one statement: every membership
   * row (tracked, as loadMembershipsOfUsers), and the live sessions and credentials (returned).
   */
  async loadOffboarding(userId: string): Promise<Record<'session' | 'credential', SessionLike[]>> {
    const needMemberships = !this.membershipsLoadedForUser.has(userId) && this.users.get(userId)?.original !== null;
    this.membershipsLoadedForUser.add(userId);
    const [row] = await this.tx.query<{ memberships: Array<Record<string, string | null>> | null; sessions: SessionLike[] | null; credentials: SessionLike[] | null }>(
      offboardingSql,
      [userId, needMemberships],
    );
    for (const m of row?.memberships ?? []) {
      this.trackMembership({
        groupId: m.groupId!, userId: m.userId!, organizationId: m.organizationId!, suspendedAt: date(m.suspendedAt), removedAt: date(m.removedAt),
        sourceUpdatedAt: date(m.sourceUpdatedAt), createdAt: date(m.createdAt)!,
      });
    }
    const live = (table: 'session' | 'credential', rows: SessionLike[] | null) =>
      (rows ?? []).filter((r) => !this.sessionRevocations.has(`${table}:${r.id}`)).map((r) => ({ ...r, revokedAt: null }));
    return { session: live('session', row?.sessions ?? null), credential: live('credential', row?.credentials ?? null) };
  }

  async findSession(table: 'session' | 'credential', userId: string, externalRef: string, kind?: string): Promise<SessionLike | undefined> {
    const pending = this.newSessions.find((s) => s.table === table && s.row.userId === userId && s.row.externalRef === externalRef && (kind === undefined || s.row.kind === kind));
    if (pending) return { ...(pending.row as unknown as SessionLike) };
    const [row] = await this.tx.query<SessionLike>(findSessionSql(table, kind), kind ? [userId, externalRef, kind] : [userId, externalRef]);
    if (row && this.sessionRevocations.has(`${table}:${row.id}`)) row.revokedAt = this.now;
    return row;
  }

  // ---- reading tracked state -----------------------------------------------------------------

  userBySource(connectionId: string, sourceId: string): UserRecord | undefined {
    const id = this.userIdBySource.get(sourceKey(connectionId, sourceId));
    return id ? this.users.get(id)?.current : undefined;
  }

  user(id: string): UserRecord | undefined {
    return this.users.get(id)?.current;
  }

  isNewUser(id: string): boolean {
    return this.users.get(id)?.original === null;
  }

  originalUser(id: string): UserRecord | null | undefined {
    return this.users.get(id)?.original;
  }

  /** Another live user of the connection holding this userName or externalId key. */
  userHoldingKey(connectionId: string, field: 'userNameKey' | 'externalIdKey', key: string, exceptId?: string): UserRecord | undefined {
    for (const t of this.users.values()) {
      const u = t.current;
      if (u.connectionId === connectionId && u.id !== exceptId && u[field] === key) return u;
    }
    return undefined;
  }

  groupBySource(connectionId: string, sourceId: string): GroupRecord | undefined {
    const id = this.groupIdBySource.get(sourceKey(connectionId, sourceId));
    return id ? this.groups.get(id)?.current : undefined;
  }

  group(id: string): GroupRecord | undefined {
    return this.groups.get(id)?.current;
  }

  groupHoldingName(connectionId: string, displayNameKey: string, exceptId?: string): GroupRecord | undefined {
    for (const t of this.groups.values()) {
      const g = t.current;
      if (g.connectionId === connectionId && g.id !== exceptId && g.deletedAt === null && g.displayNameKey === displayNameKey) return g;
    }
    return undefined;
  }

  membership(groupId: string, userId: string): MembershipRecord | undefined {
    return this.memberships.get(membershipKey(groupId, userId))?.current;
  }

  membershipsOfUser(userId: string): MembershipRecord[] {
    return [...this.memberships.values()].map((t) => t.current).filter((m) => m.userId === userId);
  }

  membershipsOfGroup(groupId: string): MembershipRecord[] {
    return [...this.memberships.values()].map((t) => t.current).filter((m) => m.groupId === groupId);
  }

  // ---- changing tracked state (journaled) ----------------------------------------------------

  setUser(next: UserRecord) {
    const prev = this.users.get(next.id);
    const key = sourceKey(next.connectionId, next.sourceId);
    const hadKey = this.userIdBySource.get(key);
    this.journal.push(() => {
      if (prev) this.users.set(next.id, prev);
      else this.users.delete(next.id);
      if (hadKey === undefined) this.userIdBySource.delete(key);
    });
    this.users.set(next.id, { current: next, original: prev ? prev.original : null });
    this.userIdBySource.set(key, next.id);
  }

  setGroup(next: GroupRecord) {
    const prev = this.groups.get(next.id);
    const key = sourceKey(next.connectionId, next.sourceId);
    const hadKey = this.groupIdBySource.get(key);
    this.journal.push(() => {
      if (prev) this.groups.set(next.id, prev);
      else this.groups.delete(next.id);
      if (hadKey === undefined) this.groupIdBySource.delete(key);
    });
    this.groups.set(next.id, { current: next, original: prev ? prev.original : null });
    this.groupIdBySource.set(key, next.id);
  }

  setMembership(next: MembershipRecord) {
    const key = membershipKey(next.groupId, next.userId);
    const prev = this.memberships.get(key);
    this.journal.push(() => {
      if (prev) this.memberships.set(key, prev);
      else this.memberships.delete(key);
    });
    this.memberships.set(key, { current: next, original: prev ? prev.original : null });
  }

  revokeSession(table: 'session' | 'credential', id: string, reason: string, status: 'NOT_REQUIRED' | 'PENDING' | 'CONFIRMED') {
    const key = `${table}:${id}`;
    this.journal.push(() => this.sessionRevocations.delete(key));
    this.sessionRevocations.set(key, { table, id, status, reason, confirmed: status === 'CONFIRMED' });
  }

  addSession(table: 'session' | 'credential', row: Record<string, unknown>) {
    this.journal.push(() => this.newSessions.splice(this.newSessions.indexOf(entry), 1));
    const entry = { table, row };
    this.newSessions.push(entry);
  }

  writeMapping(op: 'set' | 'remove', groupId: string, workspace: string, role: string | null) {
    const before = this.mappingsByGroup.get(groupId) ?? [];
    this.journal.push(() => {
      this.mappingsByGroup.set(groupId, before);
      this.mappingWrites.pop();
    });
    const rest = before.filter((m) => m.workspace !== workspace);
    this.mappingsByGroup.set(groupId, op === 'set' ? [...rest, { groupId, workspace, role }] : rest);
    this.mappingWrites.push({ op, groupId, workspace, role });
  }

  /** A single-row write the bulk statements do not cover (recordRevocation); undone with its delivery. */
  deferWrite(write: (tx: SqlExecutor) => Promise<unknown>) {
    this.journal.push(() => this.deferredWrites.pop());
    this.deferredWrites.push(write);
  }

  recordDelivery(connectionId: string, deliveryId: string, outcome: string, commandCount: number) {
    this.journal.push(() => this.deliveries.pop());
    this.deliveries.push({ connectionId, deliveryId, outcome, commandCount });
  }

  addAudit(draft: AuditDraft): number {
    this.journal.push(() => this.audit.pop());
    this.audit.push(draft);
    return this.audit.length - 1;
  }

  addEvent(draft: EventDraft) {
    this.journal.push(() => this.events.pop());
    this.events.push(draft);
  }

  checkpoint(): number {
    return this.journal.length;
  }

  rollbackTo(checkpoint: number) {
    while (this.journal.length > checkpoint) this.journal.pop()!();
  }

  get hasWrites(): boolean {
    return this.audit.length > 0 || this.deliveries.length > 0 || this.dirtyUsers().length > 0 || this.dirtyGroups().length > 0;
  }

  private dirtyUsers(): UserRecord[] {
    return [...this.users.values()].filter((t) => t.current !== t.original).map((t) => t.current);
  }

  private dirtyGroups(): GroupRecord[] {
    return [...this.groups.values()].filter((t) => t.current !== t.original).map((t) => t.current);
  }


  // ---- writing -------------------------------------------------------------------------------

  /** The chain head, when the caller already holds its lock (PGlite reads it with the context). */
  chainHead: { seq: number; hash: string } | undefined;

  /**
   * Writes everything in a few multi-row statements, one flush per table (each beside its SQL).
   * Keep the order: it is the order every writer takes row locks in (users, groups, memberships and
   * their groups' counts, sessions, credentials, mappings, deferred single-row writes, deliveries,
   * the audit chain head last), so concurrent batches wait for each other instead of deadlocking, and the chain lock is
   * held only for the final insert and the commit.
   */
  async persist(options: { dryRun?: boolean } = {}): Promise<PersistResult> {
    const tx = this.tx;
    if (!options.dryRun) {
      await flushUsers(tx, this.dirtyUsers());
      await flushGroups(tx, this.dirtyGroups());
      await flushMemberships(tx, [...this.memberships.values()].filter((t) => t.current !== t.original));
      await flushSessions(tx, [...this.sessionRevocations.values()], this.newSessions, this.now);
      await flushMappings(tx, this.organization.id, this.mappingWrites, this.now);
      for (const write of this.deferredWrites) await write(tx);
      await flushDeliveries(tx, this.deliveries, this.now);
    }

    if (!this.audit.length) return { events: [] };
    const linked = await linkAuditDrafts(tx, this.organization.id, this.audit, this.now, this.chainHead);
    this.chainHead = linked.head;
    // A dry run's audit rows are written (marked testMode), its events are not.
    return { events: await appendAuditAndEvents(tx, this.organization.id, linked, options.dryRun ? [] : this.events) };
  }
}
