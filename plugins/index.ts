// The connectors that ship with Lifecycle Hub. Partner connectors load from npm packages named in
// LIFECYCLE_PLUGINS (see plugins/README.md); plugins/template is the example to copy.
import type { AnyConnector } from 'lifecycle-hub/connector';
import clerk from './clerk/index.ts';
import { scimConnector } from './scim/index.ts';
import { stytchConnector } from './stytch/index.ts';
import { workosConnector } from './workos/index.ts';

export const builtinConnectors: AnyConnector[] = [scimConnector, clerk, workosConnector, stytchConnector];
