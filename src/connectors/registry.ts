import type { AnyConnector } from './contract.ts';

const ID = /^[a-z][a-z0-9-]{1,62}$/;

export class ConnectorRegistry {
  private readonly byId = new Map<string, AnyConnector>();

  constructor(connectors: Iterable<AnyConnector> = []) {
    for (const c of connectors) this.register(c);
  }

  register(connector: AnyConnector): void {
    if (!ID.test(connector.id)) throw new Error(`connector id "${connector.id}" must be lower-case letters, digits and dashes`);
    if (this.byId.has(connector.id)) throw new Error(`two connectors claim the id "${connector.id}"`);
    this.byId.set(connector.id, connector);
  }

  get(id: string): AnyConnector | undefined {
    return this.byId.get(id);
  }

  list(): AnyConnector[] {
    return [...this.byId.values()];
  }

  revokesUpstream = (provider: string): boolean => typeof this.byId.get(provider)?.revoke === 'function';
}
