// Each connector's way out (ctx.outbound): the hub's outbound guard (src/outbound) limited to the
// hosts the connector declares as its vendor's documented API (`api.hosts`) plus the operator's
// OUTBOUND_ALLOWED_HOSTS. A config field that overrides the API base URL (`api.baseUrlField`) is
// checked against the same list when a connection is created: an organization can never point a
// connector, and the vendor secret it sends, at a host the operator did not allow.
import { allowList, createOutbound, urlRefusal, type OutboundHttp, type OutboundPolicy } from '../outbound/index.ts';
import type { AnyConnector } from './contract.ts';

export interface OutboundSettings {
  /** OUTBOUND_ALLOW_PRIVATE_NETWORKS */
  allowPrivateNetworks: boolean;
  /** OUTBOUND_ALLOWED_HOSTS: hosts every connector may reach in addition to its own (stand-ins, proxies). */
  allowedHosts: readonly string[];
}

export class ConnectorOutbound {
  private readonly byConnector = new Map<string, OutboundHttp>();

  constructor(readonly settings: OutboundSettings) {}

  private policy(connector: AnyConnector): OutboundPolicy {
    return {
      name: connector.displayName,
      allowedHosts: allowList(connector.api?.hosts ?? [], this.settings.allowedHosts),
      allowPrivateNetworks: this.settings.allowPrivateNetworks,
    };
  }

  /** The guard this connector's requests go through (one per connector: it pools connections). */
  for(connector: AnyConnector): OutboundHttp {
    let outbound = this.byConnector.get(connector.id);
    if (!outbound) this.byConnector.set(connector.id, (outbound = createOutbound(this.policy(connector))));
    return outbound;
  }

  /** Why a connection's config may not be stored (its base URL names a host not allowed), or null. */
  configProblem(connector: AnyConnector, config: Record<string, unknown>): { field: string; message: string } | null {
    const field = connector.api?.baseUrlField;
    const value = field ? config[field] : undefined;
    if (!field || value === undefined) return null;
    const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : null;
    if (!url) return { field: `config.${field}`, message: 'must be a URL' };
    const refusal = urlRefusal(url, this.policy(connector));
    if (!refusal) return null;
    const documented = connector.api?.hosts.join(', ') || 'none';
    const message =
      refusal.reason === 'host'
        ? `must be on ${connector.displayName}'s API host (${documented}): ${url.hostname} is not allowed. Leave it out to use ${connector.displayName}'s API; other hosts (a proxy, a test stand-in) are allowed only by the hub's operator, with OUTBOUND_ALLOWED_HOSTS`
        : refusal.message.replace(`${connector.displayName}: `, '');
    return { field: `config.${field}`, message };
  }
}
