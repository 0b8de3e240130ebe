// Test data setup for the read benchmarks: one organization with a large SCIM directory (users,
// groups, memberships, group → role mappings), written straight into a migrated database before
// the hub starts on it.
//
// Why bulk SQL and not the engine: the engine applies 500-user deliveries at ~650 users/s on
// PGlite on the 2-core bench machine (10,000 users in ~15 s), so 100,000 would take ~2.5 minutes
// of the 10-minute budget; these statements take seconds. The organization, connection, groups
// and role mappings do go through the admin functions and the engine; only the user and membership
// rows are inserted directly, with the roles the engine would compute (computeRoles, same rule).
// Seeded users have no audit rows or lifecycle events: nothing the users page reads.
import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { builtinConnectors } from '../plugins/index.ts';
import { createApiKey } from '../src/tenancy/api-keys.ts';
import { createConnection } from '../src/tenancy/connections.ts';
import { createOrganization } from '../src/tenancy/organizations.ts';
import { ConnectorRegistry } from '../src/connectors/registry.ts';
import type { Database } from '../src/storage/database.ts';
import { LifecycleEngine } from '../src/engine/engine.ts';
import { computeRoles } from '../src/engine/roles.ts';
import { SecretBox } from '../src/secrets/index.ts';

export interface SeededDirectory {
  organizationId: string;
  /** An organization API key (what a SaaS backend reading its users holds). */
  key: string;
  connectionId: string;
  users: number;
  groups: number;
  memberships: number;
  mappings: number;
}

const CHUNK = 10_000;

export async function seedLargeDirectory(db: Database, options: { users: number; groups: number; encryptionKey: Buffer; log(m: string): void }): Promise<SeededDirectory> {
  const actor = { type: 'system' as const, name: 'bench-seed' };
  const org = await createOrganization(db.sql, { name: 'Bench Directory', slug: `bench-dir-${randomBytes(3).toString('hex')}` }, actor);
  const { secret: key } = await createApiKey(db.sql, { organizationId: org.id, name: 'bench reader' }, actor);
  const registry = new ConnectorRegistry(builtinConnectors);
  const { connectionId } = await createConnection({ sql: db.sql, registry, box: SecretBox.fromKey(options.encryptionKey) }, { organizationId: org.id, provider: 'scim', name: 'Okta' }, actor);

  // Groups and their role mappings through the engine (no members yet, so nothing to recompute):
  // the first 5 groups grant the admin role, the next 10 viewer, the next 15 a workspace role.
  const engine = new LifecycleEngine({ sql: db.sql });
  const groupSourceIds = Array.from({ length: options.groups }, (_, g) => `grp-${g}`);
  await engine.execute({
    connectionId,
    actor: { type: 'connection', connectionId },
    commands: groupSourceIds.map((sourceId, g) => ({ type: 'upsertGroup' as const, sourceId, displayName: `Department ${g}` })),
  });
  const mappingOf = (g: number): { workspace: string; role: string } | null =>
    g < 5 ? { workspace: '', role: 'admin' } : g < 15 ? { workspace: '', role: 'viewer' } : g < 30 ? { workspace: `ws-${g % 5}`, role: 'member' } : null;
  const mappingCommands = groupSourceIds.flatMap((sourceId, g) => {
    const m = mappingOf(g);
    return m ? [{ type: 'setGroupMapping' as const, group: { sourceId }, workspace: m.workspace, role: m.role }] : [];
  });
  if (mappingCommands.length) await engine.execute({ connectionId, actor: { type: 'connection', connectionId }, commands: mappingCommands });
  const groupRows = await db.sql.query<{ id: string; sourceId: string }>('SELECT id, source_id AS "sourceId" FROM directory_group WHERE connection_id = $1', [connectionId]);
  const groupIdOf = new Map(groupRows.map((r) => [r.sourceId, r.id]));
  const groupIds = groupSourceIds.map((s) => groupIdOf.get(s)!);
  const mappings = groupIds.flatMap((groupId, g) => {
    const m = mappingOf(g);
    return m ? [{ groupId, ...m }] : [];
  });
  const settings = { roleRanking: ['viewer', 'member', 'admin'], defaultRole: 'member' };

  // Users, each a member of two groups (one for every 100th user), in chunks of CHUNK rows per statement.
  const started = performance.now();
  let memberships = 0;
  for (let start = 0; start < options.users; start += CHUNK) {
    const n = Math.min(CHUNK, options.users - start);
    const ids: string[] = [];
    const names: string[] = [];
    const roles: string[] = [];
    const admins: boolean[] = [];
    const memberGroup: string[] = [];
    const memberUser: string[] = [];
    for (let k = 0; k < n; k++) {
      const i = start + k;
      const id = uuidv7();
      const groupsOf = [i % options.groups];
      const second = Math.floor(i / options.groups) % options.groups;
      if (i % 100 !== 0 && second !== groupsOf[0]) groupsOf.push(second);
      const memberOf = groupsOf.map((g) => groupIds[g]!);
      const effective = computeRoles(memberOf, mappings, settings);
      ids.push(id);
      names.push(`user${i}@bench.example.com`);
      roles.push(JSON.stringify(effective.roles));
      admins.push(effective.isAdmin);
      for (const g of memberOf) {
        memberGroup.push(g);
        memberUser.push(id);
      }
    }
    await db.sql.query(
      `INSERT INTO directory_user (id, organization_id, connection_id, source_id, external_id, external_id_key, user_name, user_name_key, email, emails,
         given_name, family_name, display_name, title, department, roles, is_admin, last_synced_at, source_data)
       SELECT u.id, $1, $2, u.id::text, 'ext-' || (u.n + $7), 'ext-' || (u.n + $7), u.name, u.name, u.name,
         jsonb_build_array(jsonb_build_object('value', u.name, 'type', 'work', 'primary', true)),
         'Bench', 'User ' || (u.n + $7), 'Bench User ' || (u.n + $7), 'Engineer', 'Department ' || ((u.n + $7) % 100), u.roles, u.admin, now(), '{}'::jsonb
       FROM unnest($3::uuid[], $4::text[], $5::jsonb[], $6::boolean[]) WITH ORDINALITY AS u(id, name, roles, admin, n)`,
      [org.id, connectionId, ids, names, roles, admins, start - 1],
    );
    await db.sql.query(
      `INSERT INTO group_membership (group_id, user_id, organization_id) SELECT g, u, $1 FROM unnest($2::uuid[], $3::uuid[]) AS m(g, u)`,
      [org.id, memberGroup, memberUser],
    );
    memberships += memberGroup.length;
    if ((start + n) % 50_000 === 0 || start + n === options.users) options.log(`seeded ${start + n}/${options.users} users`);
  }
  await db.sql.query(
    `UPDATE directory_group g SET member_count = c.n FROM (SELECT group_id, count(*)::int AS n FROM group_membership WHERE organization_id = $1 GROUP BY group_id) c WHERE c.group_id = g.id`,
    [org.id],
  );
  // What autovacuum would do on a live database: planner statistics for the new rows.
  await db.sql.query('ANALYZE directory_user');
  await db.sql.query('ANALYZE group_membership');
  await db.sql.query('ANALYZE directory_group');
  options.log(`${options.users} users and ${memberships} memberships inserted in ${Math.round(performance.now() - started)} ms`);
  return { organizationId: org.id, key, connectionId, users: options.users, groups: options.groups, memberships, mappings: mappings.length };
}
