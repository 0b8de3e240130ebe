// What the unit of work hands the transitions and takes from them (index.ts re-exports these).
import type { IdentityLinking } from '../identity-linking.ts';
import type { RoleSettings } from '../roles.ts';

export interface ConnectionInfo {
  id: string;
  organizationId: string;
  provider: string;
  status: 'AWAITING_FIRST_REQUEST' | 'ACTIVE' | 'PAUSED' | 'FAILING' | 'STALE';
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

export interface Tracked<T> {
  current: T;
  /** null: created in this unit of work. */
  original: T | null;
}
