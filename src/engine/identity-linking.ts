// Identity linking: one person, several sources. Users of different connections of an organization
// that share a person key are the same person (organization.identityLinking says how the key is
// made). When the organization's authoritative connection deprovisions the person, the engine
// deprovisions the linked users of every other connection in the same commit (see transitions/lifecycle.ts).
import type { EmailAddress } from './commands.ts';

export type IdentityLinking = 'NONE' | 'EXTERNAL_ID' | 'VERIFIED_EMAIL';

export interface LinkingSettings {
  mode: IdentityLinking;
  authoritativeConnectionId: string | null;
}

/** The reason recorded on a user deprovisioned because its linked person was; reactivation looks for it. */
export const LINKED_DEPROVISION_REASON = 'linked person deprovisioned by the authoritative connection';

/**
 * The key linking this user to the same person in other connections, or null.
 *
 * VERIFIED_EMAIL uses the primary email unless the source marked that address unverified
 * (`verified: false`, e.g. a self-service sign-up that never proved it), then the first address the
 * source marked verified. Directory sources (SCIM, WorkOS) manage addresses centrally and say
 * nothing about verification; their addresses count. A wrong link can only deprovision the
 * impostor's own account (propagation flows from the authoritative source only), while a missed
 * link leaves a leaver's access alive, so unstated counts as verified.
 */
export function personKeyOf(mode: IdentityLinking, user: { externalId: string | null; email: string | null; emails: readonly EmailAddress[] }): string | null {
  if (mode === 'EXTERNAL_ID') {
    const ext = user.externalId?.trim();
    return ext ? `ext:${ext}` : null;
  }
  if (mode === 'VERIFIED_EMAIL') {
    const lower = (s: string) => s.trim().toLowerCase();
    const entryOf = (address: string) => user.emails.find((e) => lower(e.value) === lower(address));
    if (user.email && entryOf(user.email)?.verified !== false) return `email:${lower(user.email)}`;
    const verified = user.emails.find((e) => e.verified === true);
    return verified ? `email:${lower(verified.value)}` : null;
  }
  return null;
}
