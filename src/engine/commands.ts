// Normalized lifecycle commands: the only language in which anything asks the engine for a change.
// Connectors translate their source into these; the GraphQL API issues them for manual actions.
// Validated at the engine's door, so a partner plugin's mistake is a clear error, not bad data.
import { z } from 'zod';
import { checkUntrustedValue, UntrustedJsonError } from '../http/untrusted-json.ts';

const text = (max = 1024) => z.string().max(max);
const optionalText = (max = 1024) => text(max).nullish();
const id = z.string().min(1).max(512);

export const UserRef = z.union([
  z.object({ sourceId: id }).strict(),
  z.object({ userId: z.uuid() }).strict(),
]);
export type UserRef = z.infer<typeof UserRef>;

export const GroupRef = z.union([
  z.object({ sourceId: id }).strict(),
  z.object({ groupId: z.uuid() }).strict(),
]);
export type GroupRef = z.infer<typeof GroupRef>;

export const EmailAddress = z.object({
  value: text(320),
  type: optionalText(64),
  primary: z.boolean().nullish(),
  verified: z.boolean().nullish(),
});
export type EmailAddress = z.infer<typeof EmailAddress>;

/** Absent fields are left as they are (merge) or cleared (replace); null clears. */
export const UserProfile = z.object({
  userName: optionalText(),
  externalId: optionalText(512),
  email: optionalText(320),
  emails: z.array(EmailAddress).max(100).optional(),
  givenName: optionalText(),
  familyName: optionalText(),
  displayName: optionalText(),
  title: optionalText(),
  department: optionalText(),
  employeeNumber: optionalText(),
  manager: z.object({ value: text(512), displayName: optionalText() }).nullish(),
  customAttributes: z.record(z.string(), z.unknown()).optional(),
  /** The source's own representation (e.g. the SCIM resource), kept for faithful round trips. */
  sourceData: z.record(z.string(), z.unknown()).optional(),
});
export type UserProfile = z.infer<typeof UserProfile>;

/** Source time of the change; older commands than what is stored are ignored. Defaults to receipt time. */
const occurredAt = z.coerce.date().optional();

export const UpsertUser = z.object({
  type: z.literal('upsertUser'),
  sourceId: id,
  /**
   * The hub id to give the user if this command creates it (a freshly generated UUID): lets a
   * protocol whose resource ids the hub issues (SCIM) use one id everywhere. Ignored for an
   * existing user; an id already in use is a CONFLICT.
   */
  id: z.uuid().optional(),
  profile: UserProfile,
  /** The source's active flag: false deprovisions, a change back to true reactivates. */
  active: z.boolean().optional(),
  /** Why the source reports the user inactive ("banned at Clerk"): the deprovision's recorded reason. */
  inactiveReason: optionalText(),
  /** merge: absent fields unchanged; replace: the profile is the whole record (SCIM PUT, full webhooks). */
  mode: z.enum(['merge', 'replace']).default('merge'),
  /** fail: an existing user (same sourceId, externalId or userName) is a CONFLICT (SCIM POST). */
  ifExists: z.enum(['update', 'fail']).default('update'),
  /** fail: a missing user is NOT_FOUND (SCIM PUT/PATCH). */
  ifAbsent: z.enum(['create', 'fail']).default('create'),
  /** Optimistic concurrency (SCIM If-Match, read-modify-write PATCH). */
  expectedVersion: z.number().int().positive().optional(),
  occurredAt,
});

export const DeactivateUser = z.object({
  type: z.literal('deactivateUser'),
  user: UserRef,
  reason: optionalText(),
  occurredAt,
});

export const ReactivateUser = z.object({
  type: z.literal('reactivateUser'),
  user: UserRef,
  occurredAt,
});

export const DeleteUser = z.object({
  type: z.literal('deleteUser'),
  user: UserRef,
  reason: optionalText(),
  occurredAt,
});

export const UpsertGroup = z.object({
  type: z.literal('upsertGroup'),
  sourceId: id,
  /** As UpsertUser.id: the hub id of a group this command creates. */
  id: z.uuid().optional(),
  displayName: text(),
  externalId: optionalText(512),
  sourceData: z.record(z.string(), z.unknown()).optional(),
  ifExists: z.enum(['update', 'fail']).default('update'),
  ifAbsent: z.enum(['create', 'fail']).default('create'),
  expectedVersion: z.number().int().positive().optional(),
  /**
   * The source promises group names unique per connection (SCIM's displayName has uniqueness
   * "server"): a name another live group holds is then a CONFLICT. Webhook sources (Clerk
   * organizations, WorkOS and Stytch groups) allow duplicate names, so by default they are kept.
   */
  uniqueName: z.boolean().default(false),
  occurredAt,
});

export const DeleteGroup = z.object({ type: z.literal('deleteGroup'), group: GroupRef, occurredAt });

const members = z.array(UserRef).max(50_000);
export const AddMembers = z.object({ type: z.literal('addMembers'), group: GroupRef, users: members, occurredAt });
export const RemoveMembers = z.object({
  type: z.literal('removeMembers'),
  group: GroupRef,
  users: members,
  /**
   * A named user the hub does not know (yet). skip: nothing to remove (push protocols such as SCIM,
   * whose source applies changes in order). fail: NOT_FOUND, so an unordered source (webhooks)
   * retries once the user has arrived, and a late, older "added" cannot undo the removal. Webhook
   * deliveries get fail unless the connector says otherwise (asUnorderedDelivery).
   */
  ifUserAbsent: z.enum(['skip', 'fail']).default('skip'),
  occurredAt,
});
export const ReplaceMembers = z.object({ type: z.literal('replaceMembers'), group: GroupRef, users: members, occurredAt });

export const SetGroupMapping = z.object({
  type: z.literal('setGroupMapping'),
  group: GroupRef,
  workspace: text(256).default(''),
  role: optionalText(128),
});

export const RemoveGroupMapping = z.object({
  type: z.literal('removeGroupMapping'),
  group: GroupRef,
  workspace: text(256).default(''),
});

/** The organization's role ranking and default role; every member's roles are recomputed. */
export const SetRoleSettings = z.object({
  type: z.literal('setRoleSettings'),
  roleRanking: z.array(text(128).min(1)).min(1).max(100).optional(),
  /** null: users no mapping reaches get no role. */
  defaultRole: optionalText(128),
});

export const CredentialKind = z.enum(['api_key', 'oauth_token', 'ssh_key', 'service_account', 'personal_access_token', 'other']);
export type CredentialKind = z.infer<typeof CredentialKind>;

export const RegisterSession = z.object({
  type: z.literal('registerSession'),
  user: UserRef,
  externalRef: id,
  occurredAt,
});

/** The source says a session it owns has ended (signed out, expired, revoked there). */
export const EndSession = z.object({
  type: z.literal('endSession'),
  user: UserRef,
  externalRef: id,
  reason: optionalText(),
  occurredAt,
});

export const RegisterCredential = z.object({
  type: z.literal('registerCredential'),
  user: UserRef,
  kind: CredentialKind,
  externalRef: id,
  name: optionalText(),
  occurredAt,
});

/**
 * A connection's sync (backfill) run reached a phase: recorded as an audit row and a lifecycle
 * event (`sync.<phase>`). Issued by the hub's sync runner only (system actor), never by connectors.
 */
export const RecordSync = z.object({
  type: z.literal('recordSync'),
  connectionId: z.uuid(),
  runId: z.uuid(),
  phase: z.enum(['started', 'progress', 'completed', 'failed', 'drift_detected']),
  processed: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullish(),
  /** Users present here but gone at the source (drift_detected, completed). */
  drifted: z.number().int().nonnegative().optional(),
  driftedUsers: z.array(z.object({ userId: z.uuid(), sourceId: id, email: optionalText(320) })).max(1000).optional(),
  /** True when the drifted users were deprovisioned (the connection's deprovisionOnDrift). */
  deprovisioned: z.boolean().optional(),
  /** Records the source sent that could not be applied, with why (completed). */
  rejected: z.number().int().nonnegative().optional(),
  error: optionalText(4000),
});

/**
 * The outcome of one attempt to revoke, at its source, a session or credential a deprovision marked
 * PENDING (reported by the revocation job, src/jobs/revocation.ts). A report for another attempt than
 * the next one, or for a row no longer PENDING, changes nothing (a retried or raced report).
 */
export const RecordRevocation = z.object({
  type: z.literal('recordRevocation'),
  target: z.enum(['session', 'credential']),
  id: z.uuid(),
  /** 1 for the first attempt. */
  attempt: z.number().int().positive().max(1000),
  /** confirmed: revoked upstream. retry: failed, try again at nextAttemptAt. failed: gave up. */
  outcome: z.enum(['confirmed', 'retry', 'failed']),
  error: optionalText(2000),
  nextAttemptAt: z.coerce.date().optional(),
});

const ConnectionStatusValue = z.enum(['AWAITING_FIRST_REQUEST', 'ACTIVE', 'PAUSED', 'FAILING', 'STALE']);

/**
 * A change of a connection's lifecycle the hub itself decides (src/tenancy/connection-lifecycle.ts):
 * a status transition, a SCIM token about to expire, the connection deleted. Each is a conditional
 * UPDATE: of racing instances only the one whose UPDATE matched writes the audit row and the event.
 */
export const RecordConnectionChange = z.discriminatedUnion('change', [
  z.object({
    type: z.literal('recordConnectionChange'),
    change: z.literal('status'),
    connectionId: z.uuid(),
    /** Applies only while the connection is in one of these. */
    from: z.array(ConnectionStatusValue).min(1),
    to: ConnectionStatusValue,
    reason: optionalText(2000),
  }),
  z.object({ type: z.literal('recordConnectionChange'), change: z.literal('token_expiring'), connectionId: z.uuid(), tokenId: z.uuid() }),
  z.object({
    type: z.literal('recordConnectionChange'),
    change: z.literal('deleted'),
    connectionId: z.uuid(),
    disposition: z.enum(['DEPROVISION_USERS', 'KEEP_USERS']),
  }),
]);

export const LifecycleCommand = z.discriminatedUnion('type', [
  UpsertUser,
  DeactivateUser,
  ReactivateUser,
  DeleteUser,
  UpsertGroup,
  DeleteGroup,
  AddMembers,
  RemoveMembers,
  ReplaceMembers,
  SetGroupMapping,
  RemoveGroupMapping,
  SetRoleSettings,
  RegisterSession,
  EndSession,
  RegisterCredential,
  RecordSync,
  RecordRevocation,
  RecordConnectionChange,
]);
export type LifecycleCommand = z.infer<typeof LifecycleCommand>;
/** What a connector builds: defaults may be left out. */
export type LifecycleCommandInput = z.input<typeof LifecycleCommand>;
export type CommandType = LifecycleCommand['type'];

/** PostgreSQL text and JSONB cannot hold NUL; a source sending one must not fail the whole delivery. */
function stripNul(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
  if (Array.isArray(value)) return value.map(stripNul);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[stripNul(k) as string] = stripNul(v);
    return out;
  }
  return value;
}

export function parseCommands(input: readonly LifecycleCommandInput[]): LifecycleCommand[] {
  return input.map((command, index) => {
    const name = `command ${index} (${(command as { type?: string }).type ?? 'unknown'})`;
    // Every source's values pass here on their way to the database: text it cannot store (a lone
    // surrogate) is the source's value to fix, and a "__proto__" key would reach the copies below
    // as a prototype (issue 14, items 1 and 5), whichever entry point or connector let it through.
    try {
      checkUntrustedValue(command);
    } catch (error) {
      if (error instanceof UntrustedJsonError) throw new CommandValidationError(`${name}: ${error.message}`, error.path ?? '(command)', true);
      throw error;
    }
    const parsed = LifecycleCommand.safeParse(stripNul(command));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.join('.') || '(command)';
      throw new CommandValidationError(`${name}: ${path}: ${issue?.message}`, path);
    }
    return parsed.data;
  });
}

export class CommandValidationError extends Error {
  constructor(
    message: string,
    readonly path: string,
    /** The source's own value is refused (not a connector's mistake): fixed at the source. */
    readonly sourceValue = false,
  ) {
    super(message);
    this.name = 'CommandValidationError';
  }
}
