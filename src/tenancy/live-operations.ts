// What is still running on this instance under each credential: graphql-ws sockets and
// subscription streams (graphql-ws and SSE). Authentication happens when they start; revoking the
// credential must end them too (credential-revocations.ts), or a socket opened before the
// revocation would go on working.
import type { Principal } from './principal.ts';

/**
 * Kinds of credential a live operation can run under: API keys, and browser sessions (console and
 * setup cookies, src/tenancy/browser-sessions.ts). SCIM tokens and connections can be added here
 * and revoked the same way.
 */
export type CredentialKind = 'api_key' | 'browser_session';

export interface Credential {
  kind: CredentialKind;
  id: string;
}

/**
 * The revocable credentials a principal authenticated with: its API key (none for the environment's
 * ADMIN_API_KEY, which cannot be revoked) and its browser session. A console session ends with
 * either: signing out, or its key being revoked.
 */
export function credentialsOf(principal: Principal | null | undefined): Credential[] {
  if (!principal) return [];
  const credentials: Credential[] = [];
  if (principal.kind !== 'setup' && principal.apiKeyId) credentials.push({ kind: 'api_key', id: principal.apiKeyId });
  if (principal.browserSession) credentials.push({ kind: 'browser_session', id: principal.browserSession.id });
  return credentials;
}

/** How a live operation is ended when its credential is revoked. */
export type EndOperation = (credential: Credential) => void;

const keyOf = (credential: Credential) => `${credential.kind}:${credential.id}`;

export class LiveOperations {
  private readonly byCredential = new Map<string, { credential: Credential; ends: Set<EndOperation> }>();

  /** Registers an operation running under `credential`; returns the function to call when it ends by itself. */
  add(credential: Credential, end: EndOperation): () => void {
    const key = keyOf(credential);
    let entry = this.byCredential.get(key);
    if (!entry) this.byCredential.set(key, (entry = { credential: { kind: credential.kind, id: credential.id }, ends: new Set() }));
    // One entry per registration, even for the same function twice.
    const registration: EndOperation = (c) => end(c);
    entry.ends.add(registration);
    return () => {
      const current = this.byCredential.get(key);
      if (!current?.ends.delete(registration)) return;
      if (!current.ends.size) this.byCredential.delete(key);
    };
  }

  /** Ends every operation of the credential on this instance; returns how many. */
  endAll(credential: Credential, onError: (error: unknown) => void): number {
    const key = keyOf(credential);
    const entry = this.byCredential.get(key);
    if (!entry) return 0;
    this.byCredential.delete(key);
    for (const end of entry.ends) {
      try {
        end(entry.credential);
      } catch (error) {
        onError(error);
      }
    }
    return entry.ends.size;
  }

  /** Credentials with operations running here, of one kind. */
  credentials(kind: CredentialKind): string[] {
    return [...this.byCredential.values()].filter((e) => e.credential.kind === kind).map((e) => e.credential.id);
  }
}
