// A user's profile as a source sends it: which fields apply (denied attributes dropped), the keys
// that keep userName and externalId unique within a connection, and what changed.
import { v7 as uuidv7 } from 'uuid';
import type { UserProfile } from '../commands.ts';
import { EngineError } from '../errors.ts';
import { invisibleCharacterIn, nameKey, showName } from '../name-key.ts';
import type { UserRecord } from '../types.ts';
import type { ConnectionInfo } from '../unit-of-work/index.ts';
import { same, type ApplyContext } from './context.ts';

const profileFields = [
  'userName', 'externalId', 'email', 'emails', 'givenName', 'familyName', 'displayName', 'title', 'department',
  'employeeNumber', 'manager', 'customAttributes', 'sourceData',
] as const satisfies readonly (keyof UserProfile & keyof UserRecord)[];

/** Removes denied attribute names at any depth (matching the last segment of URN-style keys too). */
function dropDenied<T>(value: T, denied: Set<string>): T {
  if (Array.isArray(value)) return value.map((v) => dropDenied(v, denied)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const last = k.slice(k.lastIndexOf(':') + 1).toLowerCase();
      if (denied.has(k.toLowerCase()) || denied.has(last)) continue;
      out[k] = dropDenied(v, denied);
    }
    return out as T;
  }
  return value;
}

function primaryEmail(emails: UserRecord['emails']): string | null {
  return (emails.find((e) => e.primary) ?? emails[0])?.value ?? null;
}

export function applyProfile(ctx: ApplyContext, base: UserRecord, profile: UserProfile, mode: 'merge' | 'replace'): UserRecord {
  const denied = new Set((ctx.connection?.deniedAttributes ?? []).map((d) => d.toLowerCase()));
  const next: UserRecord = { ...base };
  const set = <K extends (typeof profileFields)[number]>(field: K, value: UserRecord[K]) => {
    next[field] = value;
  };
  for (const field of profileFields) {
    const given = profile[field];
    if (field === 'customAttributes') {
      const incoming = dropDenied(given ?? {}, denied) as Record<string, unknown>;
      if (mode === 'replace') set('customAttributes', incoming);
      else if (given !== undefined) {
        const merged = { ...base.customAttributes };
        for (const [k, v] of Object.entries(incoming)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        set('customAttributes', merged);
      }
      continue;
    }
    if (field === 'sourceData') {
      if (given !== undefined || mode === 'replace') set('sourceData', dropDenied(given ?? {}, denied) as Record<string, unknown>);
      continue;
    }
    if (field === 'emails') {
      if (given !== undefined || mode === 'replace') set('emails', (given as UserRecord['emails'] | undefined) ?? []);
      continue;
    }
    if (given !== undefined || mode === 'replace') set(field, (given ?? null) as never);
  }
  if (profile.email === undefined && (profile.emails !== undefined || mode === 'replace')) next.email = primaryEmail(next.emails);
  if (next.userName && next.userName !== base.userName) refuseInvisible(next.userName);
  const live = next.sourceDeletedAt === null;
  next.userNameKey = live ? nameKey(next.userName) : null;
  next.externalIdKey = live ? next.externalId || null : null;
  return next;
}

export function changedFields(before: UserRecord, after: UserRecord): string[] {
  return profileFields.filter((f) => !same(before[f], after[f]));
}

// Only in a userName that is new or changed: a user stored with one before they were refused can
// still be updated and deprovisioned (its source re-sends the name with every change).
function refuseInvisible(userName: string) {
  const found = invisibleCharacterIn(userName);
  if (!found) return;
  throw new EngineError(
    'INVALID_COMMAND',
    `userName ${showName(userName)} contains an invisible character (${found.codePoint} at position ${found.index}), which would make it look like another userName: remove it at the source`,
    { field: 'userName', sourceValue: true },
  );
}

/**
 * Refuses a user whose userName or externalId key another live user of its connection holds.
 * `before`: the stored user this is an update of. Its key may predate today's keys (a collision the
 * migration that normalized them kept and reported, docs/operations.md): while its userName is
 * unchanged it keeps that key until the normalized one is free, so its source can still update
 * and deprovision it.
 */
export function checkUserKeys(ctx: ApplyContext, user: UserRecord, before?: UserRecord) {
  const { uow } = ctx;
  if (user.userNameKey) {
    const holder = uow.userHoldingKey(user.connectionId, 'userNameKey', user.userNameKey, user.id);
    if (holder && before?.userNameKey && before.userName === user.userName) user.userNameKey = before.userNameKey;
    else if (holder) throw new EngineError('CONFLICT', `userName ${showName(user.userName ?? '')} is already taken in this connection`, { field: 'userName', existingId: holder.sourceId });
  }
  if (user.externalIdKey) {
    const holder = uow.userHoldingKey(user.connectionId, 'externalIdKey', user.externalIdKey, user.id);
    if (holder) throw new EngineError('CONFLICT', `externalId "${user.externalId}" is already taken in this connection`, { field: 'externalId', existingId: holder.sourceId });
  }
}

/** A user with no profile yet: what a provision fills in, and the base of a tombstone. */
export function blankUser(ctx: ApplyContext, connection: ConnectionInfo, sourceId: string): UserRecord {
  const now = ctx.uow.now;
  return {
    id: uuidv7(), organizationId: connection.organizationId, connectionId: connection.id, sourceId, externalId: null, userName: null,
    userNameKey: null, externalIdKey: null, email: null, emails: [], givenName: null, familyName: null, displayName: null, title: null,
    department: null, employeeNumber: null, manager: null, customAttributes: {}, sourceData: {}, state: 'ACTIVE', sourceActive: true,
    deprovisionedAt: null, deprovisionReason: null, sourceDeletedAt: null, sourceUpdatedAt: null, sourceStateAt: null, lastSyncedAt: now,
    roles: {}, isAdmin: false, personKey: null, version: 1, createdAt: now, updatedAt: now,
  };
}

/** What a user.provisioned audit row shows of the profile. */
export function summarize(user: UserRecord) {
  return { userName: user.userName, externalId: user.externalId, email: user.email, displayName: user.displayName };
}
