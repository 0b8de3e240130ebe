import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { builtinConnectors } from '../../plugins/index.ts';
import type { AnyConnector } from './contract.ts';
import { ConnectorRegistry } from './registry.ts';

function looksLikeConnector(value: unknown): value is AnyConnector {
  const v = value as Partial<AnyConnector> | null;
  return !!v && typeof v.id === 'string' && typeof v.displayName === 'string' && typeof v.configSchema === 'object';
}

/**
 * The built-in connectors plus each module named in LIFECYCLE_PLUGINS (an npm package name or a
 * path). A plugin that cannot be loaded stops startup with an error naming it.
 */
export async function loadConnectors(specifiers: readonly string[], extra: readonly AnyConnector[] = []): Promise<ConnectorRegistry> {
  const registry = new ConnectorRegistry();
  for (const connector of [...builtinConnectors, ...extra]) registry.register(connector);
  for (const specifier of specifiers) {
    let loaded: Record<string, unknown>;
    try {
      const target = specifier.startsWith('.') || specifier.startsWith('/') ? pathToFileURL(resolve(specifier)).href : specifier;
      loaded = (await import(target)) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`plugin "${specifier}" (LIFECYCLE_PLUGINS) could not be loaded: ${(error as Error).message}`);
    }
    const candidate = loaded.default ?? loaded.connector;
    if (!looksLikeConnector(candidate)) {
      throw new Error(`plugin "${specifier}" (LIFECYCLE_PLUGINS) does not export a connector: export default defineConnector({ id, displayName, configSchema, ... })`);
    }
    try {
      registry.register(candidate);
    } catch (error) {
      throw new Error(`plugin "${specifier}" (LIFECYCLE_PLUGINS): ${(error as Error).message}`);
    }
  }
  return registry;
}
