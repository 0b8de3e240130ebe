import type { AnyConnector } from './contract.ts';

const ID = /^[a-z][a-z0-9-]{1,62}$/;
const METHODS = ['inbound', 'pull', 'backfill', 'revoke', 'stillExists'] as const;

/** Why this value is not a usable connector, or null. Messages say what to fix. */
export function connectorProblem(value: unknown): string | null {
  const c = value as Partial<AnyConnector> | null;
  if (!c || typeof c !== 'object') return 'expected an object made with defineConnector({ id, displayName, configSchema, ... })';
  if (typeof c.id !== 'string' || !ID.test(c.id)) return `id ${JSON.stringify(c.id)} must be 2 to 63 lower-case letters, digits and dashes, starting with a letter`;
  if (typeof c.displayName !== 'string' || !c.displayName.trim()) return `connector "${c.id}" needs a displayName`;
  if (!c.configSchema || typeof (c.configSchema as { safeParse?: unknown }).safeParse !== 'function') return `connector "${c.id}": configSchema must be a zod schema`;
  if (c.secretFields !== undefined && (!Array.isArray(c.secretFields) || c.secretFields.some((f) => typeof f !== 'string'))) return `connector "${c.id}": secretFields must be a list of config field names`;
  if (c.api !== undefined && (!c.api || !Array.isArray(c.api.hosts) || c.api.hosts.some((h) => typeof h !== 'string' || !h || h.includes('/')) || (c.api.baseUrlField !== undefined && typeof c.api.baseUrlField !== 'string'))) {
    return `connector "${c.id}": api needs hosts (host names such as "api.example.com") and, optionally, the baseUrlField of its config`;
  }
  for (const m of METHODS) if (c[m] !== undefined && typeof c[m] !== 'function') return `connector "${c.id}": ${m} must be a function`;
  if (c.endpoints !== undefined && (typeof c.endpoints.basePath !== 'string' || !c.endpoints.basePath.startsWith('/') || typeof c.endpoints.create !== 'function')) {
    return `connector "${c.id}": endpoints needs a basePath starting with "/" and a create(hub) function`;
  }
  return null;
}

export class ConnectorRegistry {
  private readonly byId = new Map<string, AnyConnector>();

  constructor(connectors: Iterable<AnyConnector> = []) {
    for (const c of connectors) this.register(c);
  }

  register(connector: AnyConnector): void {
    const problem = connectorProblem(connector);
    if (problem) throw new Error(problem);
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
