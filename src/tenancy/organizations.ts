import { v7 as uuidv7 } from 'uuid';
import type { SqlClient } from '../storage/sql.ts';
import { isUniqueViolation } from '../storage/sql.ts';
import { appendAudit } from '../engine/audit-log.ts';
import { personKeyOf, type IdentityLinking } from '../engine/identity-linking.ts';
import type { Actor } from '../engine/types.ts';
import { HubError } from '../hub/errors.ts';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export interface OrganizationRow {
  id: string;
  name: string;
  slug: string;
}

export async function createOrganization(sql: SqlClient, input: { name: string; slug: string }, actor: Actor): Promise<OrganizationRow> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw new HubError('BAD_USER_INPUT', 'name must be 1 to 200 characters', { field: 'name' });
  if (!SLUG.test(input.slug)) {
    throw new HubError('BAD_USER_INPUT', 'slug must be 1 to 64 lower-case letters, digits or dashes, not starting or ending with a dash', { field: 'slug' });
  }
  const id = uuidv7();
  try {
    return await sql.transaction(async (tx) => {
      const [row] = await tx.query<OrganizationRow>(
        'INSERT INTO organization (id, name, slug, updated_at) VALUES ($1, $2, $3, now()) RETURNING id, name, slug',
        [id, name, input.slug],
      );
      await tx.query('INSERT INTO audit_chain_head (organization_id) VALUES ($1)', [id]);
      await appendAudit(tx, id, [{ action: 'organization.created', actor, targetType: 'organization', targetId: id, data: { name, slug: input.slug } }]);
      return row!;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new HubError('CONFLICT', `an organization with slug "${input.slug}" already exists`, { field: 'slug' });
    throw error;
  }
}

export interface IdentitySettingsInput {
  identityLinking?: 'NONE' | 'EXTERNAL_ID' | 'VERIFIED_EMAIL';
  authoritativeConnectionId?: string | null;
}

/** How users of several connections are linked into one person. (Role settings go through the engine: setRoleSettings.) */
export async function updateIdentitySettings(sql: SqlClient, organizationId: string, input: IdentitySettingsInput, actor: Actor) {
  if (input.identityLinking === undefined && input.authoritativeConnectionId === undefined) return;
  return sql.transaction(async (tx) => {
    const [current] = await tx.query<{ roleRanking: string[]; defaultRole: string | null; identityLinking: IdentityLinking }>(
      'SELECT role_ranking AS "roleRanking", default_role AS "defaultRole", identity_linking AS "identityLinking" FROM organization WHERE id = $1 FOR UPDATE',
      [organizationId],
    );
    if (!current) throw new HubError('NOT_FOUND', `organization ${organizationId} not found`);
    if (input.authoritativeConnectionId) {
      const found = await tx.query('SELECT 1 FROM directory_connection WHERE id = $1 AND organization_id = $2', [input.authoritativeConnectionId, organizationId]);
      if (!found.length) throw new HubError('NOT_FOUND', `connection ${input.authoritativeConnectionId} not found`, { field: 'authoritativeConnectionId' });
    }
    await tx.query(
      `UPDATE organization SET identity_linking = COALESCE($2::"IdentityLinking", identity_linking),
         authoritative_connection_id = CASE WHEN $4 THEN $3::uuid ELSE authoritative_connection_id END, updated_at = now()
       WHERE id = $1`,
      [organizationId, input.identityLinking ?? null, input.authoritativeConnectionId ?? null, input.authoritativeConnectionId !== undefined],
    );
    const relinked = input.identityLinking && input.identityLinking !== current.identityLinking ? await recomputePersonKeys(tx, organizationId, input.identityLinking) : null;
    await appendAudit(tx, organizationId, [{
      action: 'organization.identity_settings_changed', actor, targetType: 'organization', targetId: organizationId,
      data: { ...input, ...(relinked !== null ? { relinkedUsers: relinked } : {}) },
    }]);
  });
}

/**
 * Re-keys every user of the organization for a new linking mode (the engine keys users as they
 * change; this covers the ones already there). Rows are locked in id order, as the engine locks
 * them, so this never deadlocks with deliveries being applied. Returns how many keys changed.
 */
async function recomputePersonKeys(tx: Parameters<Parameters<SqlClient['transaction']>[0]>[0], organizationId: string, mode: IdentityLinking): Promise<number> {
  const users = await tx.query<{ id: string; externalId: string | null; email: string | null; emails: unknown; personKey: string | null }>(
    `SELECT id, external_id AS "externalId", email, emails, person_key AS "personKey" FROM directory_user
     WHERE organization_id = $1 AND state <> 'DELETED' ORDER BY id FOR UPDATE`,
    [organizationId],
  );
  const changes = users
    .map((u) => ({ id: u.id, personKey: personKeyOf(mode, { externalId: u.externalId, email: u.email, emails: Array.isArray(u.emails) ? u.emails : [] }), before: u.personKey }))
    .filter((u) => u.personKey !== u.before);
  for (let i = 0; i < changes.length; i += 5_000) {
    await tx.query(
      `UPDATE directory_user d SET person_key = r."personKey" FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "personKey" text) WHERE d.id = r.id`,
      [JSON.stringify(changes.slice(i, i + 5_000).map(({ id, personKey }) => ({ id, personKey })))],
    );
  }
  return changes.length;
}
