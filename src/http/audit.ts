// Audit exports (org key for its own organization, or an admin key):
//   GET /audit/<organizationId>.csv            the organization's audit log, streamed page by page
//   GET /audit/evidence/<userId>.json          deprovisionEvidence as a downloadable document
// Read only: no route (and no GraphQL field) updates or deletes an audit row; the table refuses it too.
import { Hono, type Context } from 'hono';
import { stringify } from 'csv-stringify/sync';
import { buildDeprovisionEvidence } from '../audit/evidence.ts';
import { ApiKeyAuthenticator, canAccessOrganization, type Principal } from '../tenancy/principal.ts';
import { auditRowColumns } from '../engine/audit-log.ts';
import type { Hub } from '../hub/hub.ts';
import { isUuid } from '../storage/sql.ts';
import { browserCredential } from './session-cookies.ts';

const PAGE = 1000;

export const AUDIT_CSV_COLUMNS = ['seq', 'id', 'at', 'action', 'actor_type', 'actor_id', 'delivery_id', 'target_type', 'target_id', 'test_mode', 'warnings', 'data', 'prev_hash', 'hash'] as const;

// An API key, or the console's session cookie (with the CSRF header its pages send: a link from
// another site cannot download). A setup-portal session may not export the audit log.
async function principalOf(hub: Hub, c: Context): Promise<Principal | null> {
  const browser = browserCredential(c.req.raw.headers, hub.publicUrl, hub.config.corsAllowedOrigins);
  if (browser) {
    if ('refusal' in browser) return null;
    const session = await hub.browserSessions.resolve(browser.cookie);
    return session && session.kind !== 'setup' ? session : null;
  }
  return hub.auth.authenticate(ApiKeyAuthenticator.bearer(c.req.header('authorization')));
}

const unauthorized = (c: Context) => {
  c.header('WWW-Authenticate', 'Bearer');
  return c.json({ error: 'unauthenticated', message: 'send an API key: Authorization: Bearer <key>' }, 401);
};
// Missing and another organization's look alike: ids leak nothing.
const notFound = (c: Context, what: string) => c.json({ error: 'not_found', message: `${what} not found` }, 404);

export function auditRoutes(hub: Hub): Hono {
  const app = new Hono();

  app.get('/evidence/:file', async (c) => {
    const principal = await principalOf(hub, c);
    if (!principal) return unauthorized(c);
    const userId = c.req.param('file').replace(/\.json$/, '');
    if (!isUuid(userId)) return notFound(c, 'user');
    const [owner] = await hub.db.sql.query<{ organizationId: string }>('SELECT organization_id AS "organizationId" FROM directory_user WHERE id = $1', [userId]);
    if (!owner || !canAccessOrganization(principal, owner.organizationId)) return notFound(c, 'user');
    const evidence = await buildDeprovisionEvidence(hub.db.sql, hub.auditSigner, userId);
    if (!evidence) return notFound(c, 'user');
    c.header('Content-Disposition', `attachment; filename="deprovision-evidence-${userId}.json"`);
    c.header('Cache-Control', 'no-store');
    return c.body(`${JSON.stringify(evidence, null, 2)}\n`, 200, { 'Content-Type': 'application/json; charset=utf-8' });
  });

  app.get('/:file', async (c) => {
    const principal = await principalOf(hub, c);
    if (!principal) return unauthorized(c);
    const file = c.req.param('file');
    const organizationId = file.endsWith('.csv') ? file.slice(0, -4) : '';
    if (!isUuid(organizationId) || !canAccessOrganization(principal, organizationId)) return notFound(c, 'organization');
    const [org] = await hub.db.sql.query<{ slug: string }>('SELECT slug FROM organization WHERE id = $1', [organizationId]);
    if (!org) return notFound(c, 'organization');

    // Pulled a page at a time as the client reads: memory holds one page, whatever the log's size.
    let afterSeq = 0;
    let first = true;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const rows = await hub.db.sql.query<Record<string, unknown> & { seq: string | number; at: Date }>(
            `SELECT ${auditRowColumns} FROM audit_event WHERE organization_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
            [organizationId, afterSeq, PAGE],
          );
          const records = rows.map((r) => [
            String(r.seq), r.id, new Date(r.at).toISOString(), r.action, r.actorType, r.actorId, r.deliveryId, r.targetType, r.targetId,
            r.testMode ? 'true' : 'false', JSON.stringify(r.warnings ?? []), JSON.stringify(r.data ?? {}), r.prevHash, r.hash,
          ]);
          // escape_formulas: a value from a source (a delivery id, a name) must not run as a
          // spreadsheet formula when the auditor opens the file.
          const text = stringify(records, { header: first, columns: [...AUDIT_CSV_COLUMNS], escape_formulas: true, cast: { string: (v) => v } });
          first = false;
          if (text) controller.enqueue(encoder.encode(text));
          if (rows.length < PAGE) controller.close();
          else afterSeq = Number(rows[rows.length - 1]!.seq);
        } catch (error) {
          hub.logger.error({ err: error, organizationId }, 'audit CSV export failed');
          controller.error(error);
        }
      },
    });
    return new Response(body, {
      headers: {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="audit-${org.slug}.csv"`,
        'Cache-Control': 'no-store',
      },
    });
  });

  return app;
}
