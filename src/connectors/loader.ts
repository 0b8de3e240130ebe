import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { builtinConnectors } from '../../plugins/index.ts';
import type { AnyConnector } from './contract.ts';
import { ConnectorRegistry, connectorProblem } from './registry.ts';

/** A path (./x, ../x, /x, C:\x) or an npm package name. Paths resolve from the working directory. */
function importTarget(specifier: string): string {
  return /^(\.{1,2}[\\/]|[\\/]|[A-Za-z]:[\\/])/.test(specifier) ? pathToFileURL(resolve(specifier)).href : specifier;
}

let registered: Promise<unknown> | undefined;
/**
 * `npm start` runs the compiled bundle (dist/main.js); a plugin given as a TypeScript path still
 * loads, through tsx's loader, registered only then (it costs memory a hub without one never pays).
 */
function typeScriptLoader(): Promise<unknown> {
  // Running from source (tsx, vitest): TypeScript already loads.
  if (import.meta.url.endsWith('.ts')) return Promise.resolve();
  registered ??= import('tsx/esm/api').then(({ register }) => register());
  return registered;
}

/**
 * The built-in connectors plus each module named in LIFECYCLE_PLUGINS (an npm package name or a
 * path). A plugin that cannot be loaded stops startup with an error naming it and saying why.
 */
export async function loadConnectors(specifiers: readonly string[], extra: readonly AnyConnector[] = []): Promise<ConnectorRegistry> {
  const registry = new ConnectorRegistry();
  for (const connector of [...builtinConnectors, ...extra]) registry.register(connector);
  for (const specifier of specifiers) {
    let loaded: Record<string, unknown>;
    try {
      if (/\.[cm]?tsx?$/.test(specifier)) await typeScriptLoader();
      loaded = (await import(importTarget(specifier))) as Record<string, unknown>;
    } catch (error) {
      const message = (error as Error).message;
      const hint = /Cannot find (module|package)|ERR_MODULE_NOT_FOUND/.test(`${(error as { code?: string }).code} ${message}`)
        ? ` (install it next to the hub with npm, or give a path starting with ./ or /)`
        : '';
      throw new Error(`plugin "${specifier}" (LIFECYCLE_PLUGINS) could not be loaded: ${message}${hint}`);
    }
    const candidate = loaded.default ?? loaded.connector;
    if (candidate === undefined) {
      throw new Error(`plugin "${specifier}" (LIFECYCLE_PLUGINS) does not export a connector: export default defineConnector({ id, displayName, configSchema, ... })`);
    }
    const problem = connectorProblem(candidate);
    if (problem) throw new Error(`plugin "${specifier}" (LIFECYCLE_PLUGINS) is not a valid connector: ${problem}`);
    try {
      registry.register(candidate as AnyConnector);
    } catch (error) {
      throw new Error(`plugin "${specifier}" (LIFECYCLE_PLUGINS): ${(error as Error).message}`);
    }
  }
  return registry;
}
