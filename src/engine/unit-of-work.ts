// One transaction's view of lifecycle state: rows are loaded in bulk (and locked), changed in
// memory by the transitions, and written back in a handful of multi-row statements. Several
// deliveries can share a unit of work (group commit); `checkpoint`/`rollbackTo` undo one
// delivery's in-memory changes when it fails, leaving the others intact.
import type { IdentityLinking } from './identity-linking.ts';
import { prepared, type SqlExecutor } from '../db/sql.ts';
import { appendAuditAndEventsSql, appendAuditSql, jsonSafe, linkAuditDrafts, type AuditDraft } from './audit-log.ts';
import type { RoleMapping, RoleSettings } from './roles.ts';
import type { GroupRecord, LifecycleEventRecord, MembershipRecord, UserRecord } from './types.ts';

export interface ConnectionInfo {
  id: string;
  organizationId: string;
  provider: string;
  status: 'ACTIVE' | 'PAUSED';
  testMode: boolean;
  deprovisionPolicy: 'SOFT' | 'HARD_DELETE';
  deniedAttributes: string[];
}

export interface OrganizationInfo extends RoleSettings {
  id: string;
  /** Read with the batch's context (one statement fewer per batch than asking when needed). */
  identityLinking: IdentityLinking;
  authoritativeConnectionId: string | null;
  /** Ids the batch's commands ask to create with (upsertUser.id / upsertGroup.id) that a row already has. */
  takenIds: string[];
}


export interface SessionLike {
  id: string;
  userId: string;
  connectionId: string | null;
  /** The owning connection's provider (connector id), when upstream-owned. */
  provider?: string | null;
  externalRef: string;
  kind?: string;
  revokedAt: Date | null;
}

export interface EventDraft {
  type: string;
  userId?: string | null;
  groupId?: string | null;
  connectionId?: string | null;
  deliveryId?: string | null;
  occurredAt: Date;
  receivedAt: Date;
  data?: Record<string, unknown>;
  /** Index into the audit drafts of this unit of work: links the event to its audit row. */
  auditIndex?: number;
}

interface Tracked<T> {
  current: T;
  /** null: created in this unit of work. */
  original: T | null;
}

type Journal = Array<() => void>;

const userColumns = `id, organization_id AS "organizationId", connection_id AS "connectionId", source_id AS "sourceId",
  external_id AS "externalId", user_name AS "userName", user_name_key AS "userNameKey", external_id_key AS "externalIdKey",
  email, emails, given_name AS "givenName", family_name AS "familyName", display_name AS "displayName", title, department,
  employee_number AS "employeeNumber", manager, custom_attributes AS "customAttributes", source_data AS "sourceData", state,
  source_active AS "sourceActive", deprovisioned_at AS "deprovisionedAt", deprovision_reason AS "deprovisionReason",
  source_deleted_at AS "sourceDeletedAt", source_updated_at AS "sourceUpdatedAt", source_state_at AS "sourceStateAt", last_synced_at AS "lastSyncedAt", roles,
  is_admin AS "isAdmin", person_key AS "personKey", version, created_at AS "createdAt", updated_at AS "updatedAt"`;

const groupColumns = `id, organization_id AS "organizationId", connection_id AS "connectionId", source_id AS "sourceId",
  external_id AS "externalId", display_name AS "displayName", display_name_key AS "displayNameKey", source_data AS "sourceData",
  deleted_at AS "deletedAt", source_updated_at AS "sourceUpdatedAt", member_count AS "memberCount", version,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

const membershipColumns = `group_id AS "groupId", user_id AS "userId", organization_id AS "organizationId",
  suspended_at AS "suspendedAt", removed_at AS "removedAt", source_updated_at AS "sourceUpdatedAt", created_at AS "createdAt"`;

const upsertUsersSql = prepared(`
  INSERT INTO directory_user (id, organization_id, connection_id, source_id, external_id, user_name, user_name_key, external_id_key, email, emails,
    given_name, family_name, display_name, title, department, employee_number, manager, custom_attributes, source_data, state, source_active,
    deprovisioned_at, deprovision_reason, source_deleted_at, source_updated_at, source_state_at, last_synced_at, roles, is_admin, person_key, version, created_at, updated_at)
  SELECT id, "organizationId", "connectionId", "sourceId", "externalId", "userName", "userNameKey", "externalIdKey", email, emails,
    "givenName", "familyName", "displayName", title, department, "employeeNumber", manager, "customAttributes", "sourceData", state, "sourceActive",
    "deprovisionedAt", "deprovisionReason", "sourceDeletedAt", "sourceUpdatedAt", "sourceStateAt", "lastSyncedAt", roles, "isAdmin", "personKey", version, "createdAt", "updatedAt"
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "organizationId" uuid, "connectionId" uuid, "sourceId" text, "externalId" text, "userName" text,
    "userNameKey" text, "externalIdKey" text, email text, emails jsonb, "givenName" text, "familyName" text, "displayName" text, title text,
    department text, "employeeNumber" text, manager jsonb, "customAttributes" jsonb, "sourceData" jsonb, state "UserState", "sourceActive" boolean,
    "deprovisionedAt" timestamptz, "deprovisionReason" text, "sourceDeletedAt" timestamptz, "sourceUpdatedAt" timestamptz, "sourceStateAt" timestamptz, "lastSyncedAt" timestamptz,
    roles jsonb, "isAdmin" boolean, "personKey" text, version int, "createdAt" timestamptz, "updatedAt" timestamptz)
  ON CONFLICT (id) DO UPDATE SET external_id = EXCLUDED.external_id, user_name = EXCLUDED.user_name, user_name_key = EXCLUDED.user_name_key,
    external_id_key = EXCLUDED.external_id_key, email = EXCLUDED.email, emails = EXCLUDED.emails, given_name = EXCLUDED.given_name,
    family_name = EXCLUDED.family_name, display_name = EXCLUDED.display_name, title = EXCLUDED.title, department = EXCLUDED.department,
    employee_number = EXCLUDED.employee_number, manager = EXCLUDED.manager, custom_attributes = EXCLUDED.custom_attributes,
    source_data = EXCLUDED.source_data, state = EXCLUDED.state, source_active = EXCLUDED.source_active, deprovisioned_at = EXCLUDED.deprovisioned_at,
    deprovision_reason = EXCLUDED.deprovision_reason, source_deleted_at = EXCLUDED.source_deleted_at, source_updated_at = EXCLUDED.source_updated_at,
    source_state_at = EXCLUDED.source_state_at,
    last_synced_at = EXCLUDED.last_synced_at, roles = EXCLUDED.roles, is_admin = EXCLUDED.is_admin, person_key = EXCLUDED.person_key,
    version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`);

const upsertGroupsSql = prepared(`
  INSERT INTO directory_group (id, organization_id, connection_id, source_id, external_id, display_name, display_name_key, source_data, deleted_at,
    source_updated_at, member_count, version, created_at, updated_at)
  SELECT id, "organizationId", "connectionId", "sourceId", "externalId", "displayName", "displayNameKey", "sourceData", "deletedAt",
    "sourceUpdatedAt", 0, version, "createdAt", "updatedAt"
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "organizationId" uuid, "connectionId" uuid, "sourceId" text, "externalId" text,
    "displayName" text, "displayNameKey" text, "sourceData" jsonb, "deletedAt" timestamptz, "sourceUpdatedAt" timestamptz, version int,
    "createdAt" timestamptz, "updatedAt" timestamptz)
  ON CONFLICT (id) DO UPDATE SET external_id = EXCLUDED.external_id, display_name = EXCLUDED.display_name,
    display_name_key = EXCLUDED.display_name_key, source_data = EXCLUDED.source_data, deleted_at = EXCLUDED.deleted_at,
    source_updated_at = EXCLUDED.source_updated_at, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`);

// Member counts move by deltas: increments commute, so concurrent writers on one group stay exact.
const adjustMemberCountsSql = prepared(`
  UPDATE directory_group g SET member_count = g.member_count + d.delta
  FROM jsonb_to_recordset($1::jsonb) AS d(id uuid, delta int) WHERE g.id = d.id`);

const upsertMembershipsSql = prepared(`
  INSERT INTO group_membership (group_id, user_id, organization_id, suspended_at, removed_at, source_updated_at, created_at)
  SELECT "groupId", "userId", "organizationId", "suspendedAt", "removedAt", "sourceUpdatedAt", "createdAt"
  FROM jsonb_to_recordset($1::jsonb) AS r("groupId" uuid, "userId" uuid, "organizationId" uuid, "suspendedAt" timestamptz,
    "removedAt" timestamptz, "sourceUpdatedAt" timestamptz, "createdAt" timestamptz)
  ON CONFLICT (group_id, user_id) DO UPDATE SET suspended_at = EXCLUDED.suspended_at, removed_at = EXCLUDED.removed_at,
    source_updated_at = EXCLUDED.source_updated_at`);

// Users and groups are locked in id order (a stable order across writers). Membership rows are
// locked too: every membership change also holds its user's row, so readers see the latest.
const loadUsersSql = prepared(`SELECT ${userColumns} FROM directory_user
  WHERE organization_id = $1 AND (id = ANY($2::uuid[]) OR (connection_id = $3::uuid AND
    (source_id = ANY($4::text[]) OR user_name_key = ANY($5::text[]) OR external_id_key = ANY($6::text[]))))
  ORDER BY id FOR UPDATE`);
const loadGroupsSql = prepared(`SELECT ${groupColumns} FROM directory_group
  WHERE organization_id = $1 AND (id = ANY($2::uuid[]) OR (connection_id = $3::uuid AND
    (source_id = ANY($4::text[]) OR (display_name_key = ANY($5::text[]) AND deleted_at IS NULL))))
  ORDER BY id FOR UPDATE`);
const membershipsOfUsersSql = prepared(`SELECT ${membershipColumns} FROM group_membership WHERE user_id = ANY($1::uuid[]) ORDER BY group_id, user_id FOR UPDATE`);
const membershipsOfGroupSql = prepared(`SELECT ${membershipColumns} FROM group_membership WHERE group_id = $1 ORDER BY user_id FOR UPDATE`);
const membershipPairsSql = prepared(`SELECT ${membershipColumns} FROM group_membership WHERE group_id = $1 AND user_id = ANY($2::uuid[]) ORDER BY user_id FOR UPDATE`);
// Row locks in the CTEs as in the separate loads (memberships, then sessions, then credentials, each in key order).
const offboardingSql = prepared(`
  WITH m AS (SELECT ${membershipColumns} FROM group_membership WHERE $2::boolean AND user_id = $1 ORDER BY group_id FOR UPDATE),
  s AS (SELECT t.id, t.user_id AS "userId", t.connection_id AS "connectionId", c.provider, t.external_ref AS "externalRef"
    FROM session t LEFT JOIN directory_connection c ON c.id = t.connection_id WHERE t.user_id = $1 AND t.revoked_at IS NULL ORDER BY t.id FOR UPDATE OF t),
  k AS (SELECT t.id, t.user_id AS "userId", t.connection_id AS "connectionId", c.provider, t.external_ref AS "externalRef", t.kind
    FROM credential t LEFT JOIN directory_connection c ON c.id = t.connection_id WHERE t.user_id = $1 AND t.revoked_at IS NULL ORDER BY t.id FOR UPDATE OF t)
  SELECT (SELECT json_agg(m) FROM m) AS memberships, (SELECT json_agg(s ORDER BY s.id) FROM s) AS sessions, (SELECT json_agg(k ORDER BY k.id) FROM k) AS credentials`);
const date = (v: string | null | undefined) => (v == null ? null : new Date(v));
const lockOrganizationSql = prepared('SELECT 1 FROM organization WHERE id = $1 FOR UPDATE');
const countOtherAdminsSql = prepared(`SELECT count(*)::int AS n FROM directory_user
  WHERE organization_id = $1 AND is_admin AND state = 'ACTIVE' AND NOT (id = ANY($2::uuid[]))`);
const mappingsSql = prepared('SELECT group_id AS "groupId", workspace, role FROM group_mapping WHERE group_id = ANY($1::uuid[])');

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
  private readonly sessionRevocations = new Map<string, { table: 'session' | 'credential'; id: string; status: string; reason: string; confirmed: boolean }>();
  private readonly newSessions: Array<{ table: 'session' | 'credential'; row: Record<string, unknown> }> = [];
  private readonly mappingWrites: Array<{ op: 'set' | 'remove'; groupId: string; workspace: string; role: string | null }> = [];
  private readonly deliveries: Array<{ connectionId: string; deliveryId: string; outcome: string; commandCount: number }> = [];
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
    const [row] = await this.tx.query<SessionLike>(
      `SELECT id, user_id AS "userId", connection_id AS "connectionId", external_ref AS "externalRef", revoked_at AS "revokedAt"
       FROM ${table} WHERE user_id = $1 AND external_ref = $2 ${kind ? 'AND kind = $3' : ''} FOR UPDATE`,
      kind ? [userId, externalRef, kind] : [userId, externalRef],
    );
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

  /**
   * Writes everything in a few multi-row statements; the audit chain lock is taken last so it is
   * held only for the final insert and the commit.
   */
  /** The chain head, when the caller already holds its lock (PGlite reads it with the context). */
  chainHead: { seq: number; hash: string } | undefined;

  async persist(options: { dryRun?: boolean } = {}): Promise<PersistResult> {
    const tx = this.tx;
    if (!options.dryRun) {
      const users = this.dirtyUsers();
      if (users.length) await tx.query(upsertUsersSql, [JSON.stringify(users.map(jsonSafe))]);

      const groups = this.dirtyGroups();
      if (groups.length) await tx.query(upsertGroupsSql, [JSON.stringify(groups.map(jsonSafe))]);

      const changedMemberships = [...this.memberships.values()].filter((t) => t.current !== t.original);
      if (changedMemberships.length) {
        await tx.query(upsertMembershipsSql, [JSON.stringify(changedMemberships.map((t) => jsonSafe(t.current)))]);
        const deltas = new Map<string, number>();
        const active = (m: MembershipRecord | null) => (m && !m.suspendedAt && !m.removedAt ? 1 : 0);
        for (const t of changedMemberships) {
          const d = active(t.current) - active(t.original);
          if (d) deltas.set(t.current.groupId, (deltas.get(t.current.groupId) ?? 0) + d);
        }
        if (deltas.size) await tx.query(adjustMemberCountsSql, [JSON.stringify([...deltas].map(([id, delta]) => ({ id, delta })))]);
      }

      for (const table of ['session', 'credential'] as const) {
        const revocations = [...this.sessionRevocations.values()].filter((r) => r.table === table);
        if (revocations.length) {
          await tx.query(
            `UPDATE ${table} t SET revoked_at = $2, revoked_reason = r.reason, revocation_status = r.status::"RevocationStatus",
               revocation_confirmed_at = CASE WHEN r.confirmed THEN $2::timestamptz END,
               next_attempt_at = CASE WHEN r.status = 'PENDING' THEN $2::timestamptz END
             FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, reason text, status text, confirmed boolean)
             WHERE t.id = r.id AND t.revoked_at IS NULL`,
            [JSON.stringify(revocations), this.now],
          );
        }
        const inserts = this.newSessions.filter((s) => s.table === table).map((s) => jsonSafe(s.row));
        if (inserts.length) {
          await tx.query(
            `INSERT INTO ${table} (id, organization_id, user_id, connection_id, external_ref, created_at, revoked_at, revoked_reason, revocation_status,
               next_attempt_at ${table === 'credential' ? ', kind, name' : ''})
             SELECT id, "organizationId", "userId", "connectionId", "externalRef", "createdAt", "revokedAt", "revokedReason",
               "revocationStatus"::"RevocationStatus", CASE WHEN "revocationStatus" = 'PENDING' THEN "revokedAt" END ${table === 'credential' ? ', kind, name' : ''}
             FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "organizationId" uuid, "userId" uuid, "connectionId" uuid, "externalRef" text,
               "createdAt" timestamptz, "revokedAt" timestamptz, "revokedReason" text, "revocationStatus" text, kind text, name text)`,
            [JSON.stringify(inserts)],
          );
        }
      }

      for (const m of this.mappingWrites) {
        if (m.op === 'set') {
          await tx.query(
            `INSERT INTO group_mapping (id, organization_id, group_id, workspace, role, created_at, updated_at)
             VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $5)
             ON CONFLICT (group_id, workspace) DO UPDATE SET role = EXCLUDED.role, updated_at = EXCLUDED.updated_at`,
            [this.organization.id, m.groupId, m.workspace, m.role, this.now],
          );
        } else {
          await tx.query('DELETE FROM group_mapping WHERE group_id = $1 AND workspace = $2', [m.groupId, m.workspace]);
        }
      }

      for (const write of this.deferredWrites) await write(tx);

      if (this.deliveries.length) {
        // No ON CONFLICT: a concurrent writer that applied the same delivery first makes this fail,
        // the batch is retried, and the retry sees the delivery as a duplicate.
        await tx.query(
          `INSERT INTO inbound_delivery (connection_id, delivery_id, received_at, outcome, command_count)
           SELECT "connectionId", "deliveryId", $2, outcome, "commandCount"
           FROM jsonb_to_recordset($1::jsonb) AS r("connectionId" uuid, "deliveryId" text, outcome text, "commandCount" int)`,
          [JSON.stringify(this.deliveries), this.now],
        );
      }
    }

    if (!this.audit.length) return { events: [] };
    const { rows, head } = await linkAuditDrafts(tx, this.organization.id, this.audit, this.now, this.chainHead);
    this.chainHead = head;
    const chain = [JSON.stringify(rows), this.organization.id, head.seq, head.hash];
    if (options.dryRun || !this.events.length) {
      await tx.query(appendAuditSql, chain);
      return { events: [] };
    }
    const events = await tx.query<LifecycleEventRecord>(appendAuditAndEventsSql, [
      ...chain,
      JSON.stringify(
        this.events.map((e, ord) => ({
          ord,
          type: e.type,
          userId: e.userId ?? null,
          groupId: e.groupId ?? null,
          connectionId: e.connectionId ?? null,
          deliveryId: e.deliveryId ?? null,
          auditEventId: e.auditIndex !== undefined ? rows[e.auditIndex]!.id : null,
          occurredAt: e.occurredAt,
          receivedAt: e.receivedAt,
          data: jsonSafe(e.data ?? {}),
        })),
      ),
    ]);
    events.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    return { events };
  }
}
