// Not a plugin: what test/connectors/import-boundary.test.ts must refuse, checked as if this folder
// were plugins/ (so the test is seen to fail on each kind of import it exists to stop).
import { defineConnector } from 'lifecycle-hub/connector';
import type { LifecycleCommandInput } from '../../../src/engine/commands.ts';
import { connectorConformance } from 'lifecycle-hub/connector/kit';
import { svixHeaders } from '../../support/svix-signing.ts';
import { helper } from './sibling.ts';

export { nameKey } from '../../../src/engine/name-key.ts';
export const commands: LifecycleCommandInput[] = [];
export const used = [defineConnector, connectorConformance, svixHeaders, helper];
export const later = () => import('../../../src/storage/sql.ts');
