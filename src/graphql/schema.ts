import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import './types/enums.ts';
import './types/organization.ts';
import './types/connection.ts';
import './types/connection-lifecycle.ts';
import './types/user.ts';
import './types/session.ts';
import './types/group.ts';
import './types/connection-groups.ts';
import './types/audit.ts';
import './types/api-key.ts';
import './types/sync.ts';
import './types/identity-linking.ts';
import './types/request-log.ts';
import './types/subscriptions.ts';
import './types/events.ts';
import './types/webhooks.ts';
import './types/evidence.ts';
import './types/browser-session.ts';

export const schema = builder.toSchema({ sortSchema: false });

/** The SDL checked in as schema.graphql (sorted, so diffs show real changes only). */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
