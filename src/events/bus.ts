// The notification bus: it carries only "organization X has lifecycle events up to id N". The
// events themselves are always read from the lifecycle_event table (the source of truth), so a lost
// or duplicated notification can delay delivery but never lose, reorder or duplicate an event.
//
// Beside them, one control message: "credential {kind, id} was revoked", so that every instance
// ends what still runs under it (src/tenancy/credential-revocations.ts, which also covers a lost one).

export type NotificationListener = (lastEventId: bigint) => void;

export interface CredentialRevoked {
  kind: string;
  id: string;
}

export type CredentialRevokedListener = (revoked: CredentialRevoked) => void;

export interface EventBus {
  /** Tells every instance (this one included) that the organization has committed events up to this id. */
  publish(organizationId: string, lastEventId: bigint): void;
  /**
   * Listens for an organization's notifications; returns the unsubscribe function. `onListening`
   * runs once notifications from every instance are arriving (anything published before may have
   * been missed: read the table then).
   */
  subscribe(organizationId: string, listener: NotificationListener, onListening?: () => void): () => void;
  /** Tells every instance that a credential was revoked; this one's listeners are called before it returns. */
  publishCredentialRevoked(revoked: CredentialRevoked): void;
  onCredentialRevoked(listener: CredentialRevokedListener): () => void;
  /** Called after the transport recovers from an outage, when notifications may have been missed. */
  onResync(listener: () => void): () => void;
  /** False while notifications from other instances may not arrive (readers then poll more often). */
  readonly healthy: boolean;
  readonly kind: 'in-process' | 'redis';
  close(): Promise<void>;
}

/** Listeners by organization, shared by the transports for delivery inside this process. */
export class LocalListeners {
  private readonly byOrganization = new Map<string, Set<NotificationListener>>();

  add(organizationId: string, listener: NotificationListener): { first: boolean; remove: () => { last: boolean } } {
    let set = this.byOrganization.get(organizationId);
    const first = !set;
    if (!set) this.byOrganization.set(organizationId, (set = new Set()));
    set.add(listener);
    return {
      first,
      remove: () => {
        const current = this.byOrganization.get(organizationId);
        if (!current?.delete(listener)) return { last: false };
        if (current.size) return { last: false };
        this.byOrganization.delete(organizationId);
        return { last: true };
      },
    };
  }

  emit(organizationId: string, lastEventId: bigint) {
    const set = this.byOrganization.get(organizationId);
    if (!set) return;
    for (const listener of [...set]) listener(lastEventId);
  }

  organizations(): string[] {
    return [...this.byOrganization.keys()];
  }
}

/** Credential revocation listeners, shared by the transports for delivery inside this process. */
export class RevocationListeners {
  private readonly listeners = new Set<CredentialRevokedListener>();

  add(listener: CredentialRevokedListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(revoked: CredentialRevoked) {
    for (const listener of [...this.listeners]) listener(revoked);
  }
}

/** One instance: notifications go straight from the commit to this process's readers. */
export class InProcessEventBus implements EventBus {
  readonly kind = 'in-process';
  readonly healthy = true;
  private readonly listeners = new LocalListeners();
  private readonly revocations = new RevocationListeners();

  publish(organizationId: string, lastEventId: bigint) {
    this.listeners.emit(organizationId, lastEventId);
  }

  publishCredentialRevoked(revoked: CredentialRevoked) {
    this.revocations.emit(revoked);
  }

  onCredentialRevoked(listener: CredentialRevokedListener) {
    return this.revocations.add(listener);
  }

  subscribe(organizationId: string, listener: NotificationListener, onListening?: () => void) {
    const { remove } = this.listeners.add(organizationId, listener);
    if (onListening) queueMicrotask(onListening);
    return () => void remove();
  }

  onResync() {
    return () => {};
  }

  async close() {}
}
