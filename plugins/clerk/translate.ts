// Clerk objects (Backend API JSON, as webhooks and the SDK's `raw` carry them) to lifecycle
// commands. Shared by webhook deliveries and the backfill, so both say the same thing.
//
// Model:
// - a Clerk user is a user; its primary email comes from primary_email_address_id, an address
//   counts as verified when Clerk says so (identity linking relies on it); public_metadata is
//   where Clerk puts directory-synced attributes, so it becomes the custom attributes;
//   private_metadata and unsafe_metadata are never read (they may hold anything);
// - banned, deprovisioned (Directory Sync) and, by default, locked mean inactive;
// - a Clerk organization is a group ("Northwind (northwind)"), and each of its roles is a group
//   too ("Northwind (northwind) · Admin"), so an administrator maps roles the way they map any
//   group: setGroupMapping on the role group. The default roles' groups always exist.
import { z } from 'zod';
import type { LifecycleCommandInput } from 'lifecycle-hub/connector';

const EmailAddress = z.object({
  id: z.string(),
  email_address: z.string(),
  verification: z.object({ status: z.string().nullish() }).nullish(),
});

export const ClerkUser = z.object({
  id: z.string().min(1),
  username: z.string().nullish(),
  first_name: z.string().nullish(),
  last_name: z.string().nullish(),
  external_id: z.string().nullish(),
  primary_email_address_id: z.string().nullish(),
  email_addresses: z.array(EmailAddress).default([]),
  public_metadata: z.record(z.string(), z.unknown()).nullish(),
  banned: z.boolean().default(false),
  locked: z.boolean().default(false),
  deprovisioned: z.boolean().default(false),
  created_at: z.number().nullish(),
  updated_at: z.number(),
  last_sign_in_at: z.number().nullish(),
  /** Directory Sync details; not in Clerk's published schema, read when present. */
  scim: z.object({ external_id: z.string().nullish() }).loose().nullish(),
});
export type ClerkUser = z.infer<typeof ClerkUser>;

export const ClerkOrganization = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  slug: z.string().nullish(),
  updated_at: z.number(),
});
export type ClerkOrganization = z.infer<typeof ClerkOrganization>;

export const ClerkMembership = z.object({
  id: z.string().min(1),
  role: z.string().min(1),
  role_name: z.string().nullish(),
  organization: ClerkOrganization,
  public_user_data: z.object({ user_id: z.string().min(1) }),
  updated_at: z.number(),
});
export type ClerkMembership = z.infer<typeof ClerkMembership>;

export const ClerkSession = z.object({
  id: z.string().min(1),
  user_id: z.string().min(1),
  status: z.string(),
  created_at: z.number(),
  updated_at: z.number(),
});

export const ClerkDeleted = z.object({ id: z.string().min(1) });

export interface ClerkOptions {
  /** Treat a locked user (too many failed sign-ins) as inactive. Default true. */
  lockedIsInactive?: boolean;
}

/** Clerk's built-in roles; their groups exist for every organization. */
export const DEFAULT_ROLES = [
  { key: 'org:admin', name: 'Admin' },
  { key: 'org:member', name: 'Member' },
] as const;

const ms = (value: number) => new Date(value);

/**
 * The envelope's `timestamp` as a date. Clerk documents milliseconds but some examples show
 * seconds: a value too small to be milliseconds since 2001 is read as seconds.
 */
export function eventTime(timestamp: unknown): Date | undefined {
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp <= 0) return undefined;
  return new Date(timestamp < 1e12 ? timestamp * 1000 : timestamp);
}

function inactiveReason(user: ClerkUser, options: ClerkOptions): string | null {
  if (user.banned) return 'banned at Clerk';
  if (user.deprovisioned) return "deprovisioned by Clerk Directory Sync (the customer's identity provider)";
  if (user.locked && options.lockedIsInactive !== false) return 'locked at Clerk (too many failed sign-in attempts)';
  return null;
}

export function upsertUser(user: ClerkUser, options: ClerkOptions): LifecycleCommandInput {
  const primary = user.email_addresses.find((e) => e.id === user.primary_email_address_id) ?? null;
  const reason = inactiveReason(user, options);
  const displayName = [user.first_name, user.last_name].filter(Boolean).join(' ') || null;
  return {
    type: 'upsertUser',
    sourceId: user.id,
    // Every delivery carries the whole user: a field it no longer has is cleared.
    mode: 'replace',
    active: reason === null,
    ...(reason ? { inactiveReason: reason } : {}),
    // Clerk's own change time orders updates (the envelope timestamp is not reliable for that).
    occurredAt: ms(user.updated_at),
    profile: {
      userName: user.username ?? primary?.email_address ?? null,
      email: primary?.email_address ?? null,
      emails: user.email_addresses.map((e) => ({ value: e.email_address, primary: e.id === user.primary_email_address_id, verified: e.verification?.status === 'verified' })),
      externalId: user.external_id ?? user.scim?.external_id ?? null,
      givenName: user.first_name ?? null,
      familyName: user.last_name ?? null,
      displayName,
      customAttributes: (user.public_metadata ?? {}) as Record<string, unknown>,
      sourceData: {
        object: 'user', id: user.id, username: user.username ?? null, banned: user.banned, locked: user.locked, deprovisioned: user.deprovisioned,
        created_at: user.created_at ?? null, updated_at: user.updated_at, last_sign_in_at: user.last_sign_in_at ?? null, ...(user.scim ? { scim: user.scim } : {}),
      },
    },
  };
}

// ---- organizations as groups --------------------------------------------------------------------

export const organizationGroupId = (organizationId: string) => organizationId;
export const roleGroupId = (organizationId: string, role: string) => `${organizationId}#${role}`;

/** Names are unique per connection; Clerk organization names are not, their slugs (or ids) are. */
export const organizationLabel = (org: Pick<ClerkOrganization, 'id' | 'name' | 'slug'>) => `${org.name} (${org.slug || org.id})`;

export function roleName(role: string, name?: string | null): string {
  if (name) return name;
  const bare = role.replace(/^org:/, '').replace(/[_-]+/g, ' ');
  return bare.charAt(0).toUpperCase() + bare.slice(1);
}

/** The organization's group and its roles' groups (the default roles and `extra`), as of the organization's updated_at. */
export function organizationGroups(org: ClerkOrganization, extra: Array<{ key: string; name?: string | null }> = []): LifecycleCommandInput[] {
  const at = ms(org.updated_at);
  const roles = new Map<string, string>(DEFAULT_ROLES.map((r) => [r.key, r.name]));
  for (const r of extra) roles.set(r.key, roleName(r.key, r.name));
  return [
    { type: 'upsertGroup', sourceId: organizationGroupId(org.id), displayName: organizationLabel(org), sourceData: { object: 'organization', id: org.id, slug: org.slug ?? null }, occurredAt: at },
    ...[...roles].map(([key, name]): LifecycleCommandInput => ({
      type: 'upsertGroup', sourceId: roleGroupId(org.id, key), displayName: `${organizationLabel(org)} · ${name}`,
      sourceData: { object: 'role', organization_id: org.id, role: key }, occurredAt: at,
    })),
  ];
}

export function deleteOrganization(organizationId: string, at: Date | undefined): LifecycleCommandInput[] {
  return [organizationGroupId(organizationId), ...DEFAULT_ROLES.map((r) => roleGroupId(organizationId, r.key))].map((sourceId) => ({ type: 'deleteGroup', group: { sourceId }, occurredAt: at }));
}

/** A membership created or changed: in the organization's group and its role's group, out of the other default roles' groups. */
export function membershipUpserted(m: ClerkMembership): LifecycleCommandInput[] {
  const at = ms(m.updated_at);
  const users = [{ sourceId: m.public_user_data.user_id }];
  const org = m.organization.id;
  return [
    ...organizationGroups(m.organization, [{ key: m.role, name: m.role_name }]),
    { type: 'addMembers', group: { sourceId: organizationGroupId(org) }, users, occurredAt: at },
    { type: 'addMembers', group: { sourceId: roleGroupId(org, m.role) }, users, occurredAt: at },
    ...DEFAULT_ROLES.filter((r) => r.key !== m.role).map((r): LifecycleCommandInput => ({ type: 'removeMembers', group: { sourceId: roleGroupId(org, r.key) }, users, occurredAt: at })),
  ];
}

/**
 * A membership ended. Clerk does not bump updated_at on deletion, so the deletion's own time (the
 * envelope's) orders it after the membership's last change.
 */
export function membershipDeleted(m: ClerkMembership, eventAt: Date | undefined): LifecycleCommandInput[] {
  const updated = ms(m.updated_at);
  const at = eventAt && eventAt > updated ? eventAt : new Date(updated.getTime() + 1);
  const users = [{ sourceId: m.public_user_data.user_id }];
  const org = m.organization.id;
  const roles = new Set<string>([m.role, ...DEFAULT_ROLES.map((r) => r.key)]);
  return [
    ...organizationGroups(m.organization, [{ key: m.role, name: m.role_name }]),
    ...[organizationGroupId(org), ...[...roles].map((r) => roleGroupId(org, r))].map((sourceId): LifecycleCommandInput => ({
      type: 'removeMembers', group: { sourceId }, users, occurredAt: at,
    })),
  ];
}
