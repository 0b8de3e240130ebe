// The connectors that ship with Lifecycle Hub. Partner connectors load from npm packages named in
// LIFECYCLE_PLUGINS (see plugins/README.md).
import type { AnyConnector } from '../src/connectors/contract.ts';
import { scimConnector } from './scim/index.ts';

export const builtinConnectors: AnyConnector[] = [scimConnector];
