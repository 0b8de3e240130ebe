import type { EmailAddress, LifecycleCommandInput } from './commands.ts';

export type UserState = 'ACTIVE' | 'DEPROVISIONED' | 'DELETED';

/** Who asked for a change: on every audit row. */
export type Actor =
  | { type: 'connection'; connectionId: string }
  | { type: 'api_key'; apiKeyId: string }
  | { type: 'admin'; apiKeyId: string | null }
  /** A customer's IT admin in a setup browser session (src/tenancy/browser-sessions.ts). */
  | { type: 'setup_session'; sessionId: string }
  | { type: 'system'; name: string };

export interface Delivery {
  /** Required for API actions; for connector deliveries it comes from the connection. */
  organizationId?: string;
  /** Directory commands run on behalf of this connection (its users, groups, status and mode). */
  connectionId?: string;
  /** The source's delivery id (webhook id): a second delivery with the same id changes nothing. */
  deliveryId?: string;
  actor: Actor;
  receivedAt?: Date;
  commands: readonly LifecycleCommandInput[];
}

export interface UserRecord {
  id: string;
  organizationId: string;
  connectionId: string;
  sourceId: string;
  externalId: string | null;
  userName: string | null;
  userNameKey: string | null;
  externalIdKey: string | null;
  email: string | null;
  emails: EmailAddress[];
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  title: string | null;
  department: string | null;
  employeeNumber: string | null;
  manager: { value: string; displayName?: string | null } | null;
  customAttributes: Record<string, unknown>;
  sourceData: Record<string, unknown>;
  state: UserState;
  /** The last active flag the source reported. */
  sourceActive: boolean;
  deprovisionedAt: Date | null;
  deprovisionReason: string | null;
  sourceDeletedAt: Date | null;
  /** Source time of the newest profile applied. */
  sourceUpdatedAt: Date | null;
  /** Source time of the newest lifecycle state (active, deleted) applied. */
  sourceStateAt: Date | null;
  lastSyncedAt: Date | null;
  roles: Record<string, string>;
  isAdmin: boolean;
  personKey: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface GroupRecord {
  id: string;
  organizationId: string;
  connectionId: string;
  sourceId: string;
  externalId: string | null;
  displayName: string;
  displayNameKey: string | null;
  sourceData: Record<string, unknown>;
  deletedAt: Date | null;
  sourceUpdatedAt: Date | null;
  memberCount: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface MembershipRecord {
  groupId: string;
  userId: string;
  organizationId: string;
  suspendedAt: Date | null;
  removedAt: Date | null;
  sourceUpdatedAt: Date | null;
  createdAt: Date;
}

export interface LifecycleEventRecord {
  id: string;
  organizationId: string;
  type: string;
  userId: string | null;
  groupId: string | null;
  connectionId: string | null;
  deliveryId: string | null;
  auditEventId: string | null;
  occurredAt: Date;
  receivedAt: Date;
  enforcedAt: Date;
  data: Record<string, unknown>;
}

export type CommandStatus =
  /** Changed state. */
  | 'applied'
  /** Already so: nothing to change. */
  | 'noop'
  /** Older than what is stored: ignored. */
  | 'stale'
  /** Test mode: recorded what would change, applied nothing. */
  | 'dry_run';

export interface CommandResult {
  status: CommandStatus;
  user?: UserRecord;
  group?: GroupRecord;
  /** Fields whose value changed. */
  changed?: string[];
  /** A session or credential this command registered. */
  created?: { type: 'session' | 'credential'; id: string };
  warnings?: string[];
}

export interface DeliveryOutcome {
  /** duplicate: this delivery id was already applied; nothing was done. */
  status: 'applied' | 'duplicate' | 'noop' | 'dry_run';
  results: CommandResult[];
  events: LifecycleEventRecord[];
}
