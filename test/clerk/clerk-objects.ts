// Clerk objects for tests, built from the recorded fixtures (test/fixtures/clerk) so every shape
// stays Clerk's: a test changes only the fields it is about.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { svixHeaders } from '../support/svix-signing.ts';

const dir = join(import.meta.dirname, '../fixtures/clerk');
export const fixture = <T = any>(name: string): T => JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
export const rawFixture = (name: string): string => readFileSync(join(dir, name), 'utf8');

const clone = <T>(v: T): T => structuredClone(v);
const userTemplate = fixture('user.created.json').data;
const membershipTemplate = fixture('organizationMembership.created.json').data;
const sessionTemplate = fixture('session.created.json').data;
const envelopeTemplate = fixture('user.created.json');

export interface UserSpec {
  id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  externalId?: string | null;
  verified?: boolean;
  banned?: boolean;
  locked?: boolean;
  deprovisioned?: boolean;
  publicMetadata?: Record<string, unknown>;
  createdAt?: number;
  updatedAt?: number;
}

export function clerkUser(spec: UserSpec): any {
  const u = clone(userTemplate);
  const emailId = `idn_${spec.id.replace(/^user_/, '')}`;
  Object.assign(u, {
    id: spec.id,
    external_id: spec.externalId === undefined ? null : spec.externalId,
    first_name: spec.firstName ?? 'Test',
    last_name: spec.lastName ?? spec.id,
    primary_email_address_id: emailId,
    public_metadata: spec.publicMetadata ?? {},
    banned: spec.banned ?? false,
    locked: spec.locked ?? false,
    deprovisioned: spec.deprovisioned ?? false,
    lockout_expires_in_seconds: spec.locked ? 3600 : null,
    created_at: spec.createdAt ?? 1773152551000,
    updated_at: spec.updatedAt ?? spec.createdAt ?? 1773152551000,
  });
  u.email_addresses = [{ ...clone(userTemplate.email_addresses[0]), id: emailId, email_address: spec.email, verification: { ...clone(userTemplate.email_addresses[0].verification), status: spec.verified === false ? 'unverified' : 'verified' } }];
  u.enterprise_accounts = [];
  return u;
}

export interface OrgSpec {
  id: string;
  name: string;
  slug?: string | null;
  updatedAt?: number;
}

export function clerkOrganization(spec: OrgSpec): any {
  return { ...clone(membershipTemplate.organization), id: spec.id, name: spec.name, slug: spec.slug === undefined ? spec.id.toLowerCase() : spec.slug, updated_at: spec.updatedAt ?? 1772979751000 };
}

export function clerkMembership(org: any, user: { id: string; email?: string }, role = 'org:member', updatedAt = 1773152851000): any {
  const m = clone(membershipTemplate);
  return {
    ...m,
    id: `orgmem_${org.id}_${user.id}`,
    role,
    role_name: role === 'org:admin' ? 'Admin' : role === 'org:member' ? 'Member' : null,
    organization: org,
    public_user_data: { ...m.public_user_data, user_id: user.id, identifier: user.email ?? `${user.id}@clerk.test` },
    created_at: updatedAt,
    updated_at: updatedAt,
  };
}

export function clerkSession(id: string, userId: string, status = 'active', at = 1773154351000): any {
  const s = clone(sessionTemplate);
  delete s.user;
  return { ...s, id, user_id: userId, status, created_at: at, updated_at: at };
}

/** A webhook body as Clerk sends it. */
export function clerkEvent(type: string, data: unknown, timestamp = Date.now()): string {
  return JSON.stringify({ data, event_attributes: envelopeTemplate.event_attributes, instance_id: envelopeTemplate.instance_id, object: 'event', timestamp, type });
}

/** POSTs a Clerk webhook to the hub, signed as Svix signs it. */
export async function sendClerk(webhookUrl: string, secret: string, body: string, options: { id?: string; signedAt?: Date; headers?: Record<string, string> } = {}) {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const response = await fetch(webhookUrl, { method: 'POST', headers: { ...svixHeaders(secret, id, body, { signedAt: options.signedAt }), ...options.headers }, body });
  return { status: response.status, body: (await response.json()) as Record<string, any>, id };
}
