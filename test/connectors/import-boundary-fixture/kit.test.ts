// Not run (vitest.config.ts excludes this folder); checked only for its imports: a plugin's test may use the kit.
import { connectorConformance } from 'lifecycle-hub/connector/kit';

export const kit = connectorConformance;
