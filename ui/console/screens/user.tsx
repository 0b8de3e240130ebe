// A user: state, roles, groups, sessions and credentials with their revocation status, audit trail
// and the deprovision evidence. A deprovision committed while the page is open shows up live.
import { useCallback, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { Badge, Empty, ErrorMessage, Loading, When, useTitle } from '../../shared/components.tsx';
import { downloadFile } from '../../shared/download.ts';
import { Link } from '../../shared/router.tsx';
import { LiveIndicator, useLifecycleEvents } from '../live.tsx';
import { STATE_TONE } from './users.tsx';

const UserPage = graphql(`
  query UserPage($id: ID!) {
    user(id: $id) {
      id organizationId displayName userName email externalId sourceId state isAdmin title department
      deprovisionedAt deprovisionReason createdAt updatedAt
      connection { id name provider organization { id name } }
      roles
      groups { id displayName }
      sessions { id externalRef createdAt revokedAt revokedReason revocationStatus revocationAttempts revocationError revocationConfirmedAt }
      credentials { id kind name externalRef createdAt revokedAt revokedReason revocationStatus revocationAttempts revocationError revocationConfirmedAt }
      auditTrail(first: 100) { id seq at action actorType actorId targetType warnings testMode }
    }
  }
`);

const Evidence = graphql(`
  query UserEvidence($id: ID!) {
    deprovisionEvidence(userId: $id) { downloadPath chain { ok } deprovisions { eventId enforcedAt reason } }
  }
`);

const LatestEvent = graphql(`
  query LatestEventId($organizationId: ID!) { latestLifecycleEventId(organizationId: $organizationId) }
`);

const REVOCATION_TONE = { CONFIRMED: 'ok', NOT_REQUIRED: 'ok', PENDING: 'warn', FAILED: 'danger' } as const;
const REVOCATION_WORDS = { CONFIRMED: 'revoked, confirmed upstream', NOT_REQUIRED: 'revoked', PENDING: 'revoked here, upstream pending', FAILED: 'upstream revocation failed: act by hand' } as const;

type Revocable = { id: string; externalRef: string; createdAt: string; revokedAt: string | null; revokedReason: string | null; revocationStatus: keyof typeof REVOCATION_TONE | null; revocationAttempts: number; revocationError: string | null };

export function UserScreen({ userId }: { userId: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: UserPage, variables: { id: userId } });
  const user = data?.user;
  const [latest] = useQuery({ query: LatestEvent, variables: { organizationId: user?.organizationId ?? '' }, pause: !user, requestPolicy: 'network-only' });
  const [evidence, refetchEvidence] = useQuery({ query: Evidence, variables: { id: userId }, pause: user?.state === 'ACTIVE' || !user });
  const [downloadError, setDownloadError] = useState<string | null>(null);
  useTitle(user ? (user.displayName ?? user.userName ?? 'User') : 'User');
  const onEvent = useCallback((event: { user: { id: string } | null }) => {
    if (event.user?.id !== userId) return;
    refetch({ requestPolicy: 'network-only' });
    refetchEvidence({ requestPolicy: 'network-only' });
  }, [userId, refetch, refetchEvidence]);
  const live = useLifecycleEvents({
    organizationId: user?.organizationId ?? '',
    after: latest.data ? latest.data.latestLifecycleEventId : undefined,
    enabled: !!user,
    onEvent,
  });
  if (error) return <ErrorMessage error={error} action="load the user" />;
  if (fetching && !data) return <Loading what="the user" />;
  if (!user) return <div className="alert error" role="alert"><strong>No such user.</strong> It was removed, or belongs to an organization this session cannot see. <Link to="/console">Back to the organizations</Link></div>;
  const name = user.displayName ?? user.userName ?? user.email ?? user.id;
  return (
    <>
      <div className="breadcrumbs"><Link to="/console">Organizations</Link> / <Link to={`/console/organizations/${user.organizationId}`}>{user.connection.organization.name}</Link> / <Link to={`/console/organizations/${user.organizationId}/users`}>Users</Link> / {name}</div>
      <h1>{name} <Badge tone={STATE_TONE[user.state]}>{user.state.toLowerCase()}</Badge></h1>
      <LiveIndicator {...live} />
      {user.state !== 'ACTIVE' && (
        <div className="alert error" role="status" aria-live="polite">
          <strong>Deprovisioned <When at={user.deprovisionedAt} /></strong>
          {user.deprovisionReason && <p>Reason: {user.deprovisionReason}</p>}
          <p>
            Sessions and credentials revoked, memberships ended, roles dropped.{' '}
            {evidence.data && (
              <button type="button" onClick={() => {
                setDownloadError(null);
                downloadFile(evidence.data!.deprovisionEvidence.downloadPath, `deprovision-evidence-${user.id}.json`).catch((e: Error) => setDownloadError(e.message));
              }}>Download deprovision evidence (JSON)</button>
            )}
          </p>
          {evidence.error && <ErrorMessage error={evidence.error} action="load the deprovision evidence" />}
          {downloadError && <p>Could not download the evidence: {downloadError}.</p>}
        </div>
      )}
      <dl className="facts">
        <Field label="Email">{user.email ?? '—'}</Field>
        <Field label="User name">{user.userName ?? '—'}</Field>
        <Field label="External id">{user.externalId ?? '—'}</Field>
        <Field label="Connection"><Link to={`/console/organizations/${user.organizationId}/connections/${user.connection.id}`}>{user.connection.name}</Link></Field>
        <Field label="Roles">{user.roles.length ? user.roles.join(', ') : 'none'}</Field>
        <Field label="Groups">{user.groups.length ? user.groups.map((g) => g.displayName).join(', ') : 'none'}</Field>
      </dl>
      <h2 id="sessions">Sessions</h2>
      <RevocableTable labelledBy="sessions" rows={user.sessions} noun="sessions" />
      <h2 id="credentials">Credentials</h2>
      <RevocableTable labelledBy="credentials" rows={user.credentials.map((c) => ({ ...c, externalRef: `${c.kind}: ${c.name ?? c.externalRef}` }))} noun="credentials" />
      <h2 id="audit-trail">Audit trail</h2>
      {!user.auditTrail.length ? <Empty>No audit rows about this user.</Empty> : (
        <div className="table-wrap">
          <table aria-labelledby="audit-trail">
            <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Action</th><th scope="col">By</th></tr></thead>
            <tbody>
              {user.auditTrail.map((row) => (
                <tr key={row.id}><td>{row.seq}</td><td><When at={row.at} /></td><td className="mono">{row.action}{row.testMode ? ' (test mode)' : ''}{row.warnings.length ? <div className="muted">{row.warnings.join('; ')}</div> : null}</td><td>{row.actorType}{row.actorId ? <span className="muted mono"> {row.actorId.slice(0, 8)}</span> : null}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return <div><dt>{label}</dt><dd>{children}</dd></div>;
}

function RevocableTable({ rows, noun, labelledBy }: { rows: Revocable[]; noun: string; labelledBy: string }) {
  if (!rows.length) return <Empty>No {noun} registered for this user.</Empty>;
  return (
    <div className="table-wrap">
      <table aria-labelledby={labelledBy}>
        <thead><tr><th scope="col">Reference</th><th scope="col">Created</th><th scope="col">Revocation</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td className="mono wrap">{r.externalRef}</td>
              <td><When at={r.createdAt} /></td>
              <td>
                {r.revokedAt ? (
                  <>
                    <Badge tone={r.revocationStatus ? REVOCATION_TONE[r.revocationStatus] : 'ok'}>{r.revocationStatus ? REVOCATION_WORDS[r.revocationStatus] : 'revoked'}</Badge>
                    <div className="muted"><When at={r.revokedAt} />{r.revokedReason ? ` · ${r.revokedReason}` : ''}{r.revocationAttempts ? ` · ${r.revocationAttempts} attempt(s)` : ''}</div>
                    {r.revocationError && <div className="wrap">{r.revocationError}</div>}
                  </>
                ) : <Badge>active</Badge>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
