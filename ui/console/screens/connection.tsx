// A connection: its status and health, first sync and counts, SCIM tokens, pause/resume, test mode,
// deletion, sync (backfill) with progress, and the request log.
import { useEffect, useState, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '../../shared/graphql.ts';
import { ErrorMessage, Loading, When, useTitle } from '../../shared/components.tsx';
import { Link } from '../../shared/router.tsx';
import { StatusBadge, statusMeaning } from './connection-status.tsx';
import { ScimTokens } from './connection-tokens.tsx';
import { DeleteConnection, type Disposition } from './connection-delete.tsx';
import { RequestLog, SyncPanel } from './connection-activity.tsx';

export const ConnectionQuery = graphql(`
  query Connection($id: ID!, $logSize: Int!) {
    connection(id: $id) {
      id name provider status testMode createdAt scimBaseUrl webhookUrl
      organization { id name }
      health { lastSuccessAt lastFailureAt recentFailures lastError statusChangedAt lastRejectedCredentialsAt }
      counts { users activeUsers groups memberships }
      firstSync { startedAt completedAt users groups memberships }
      scimTokens { id name lastFour createdAt lastUsedAt expiresAt revokedAt }
      sync { id status processed total drifted startedAt finishedAt error }
      syncRuns(last: 5) { id status processed total drifted startedAt finishedAt error }
      requestLog(first: $logSize) { id at method path status durationMs client error requestId }
    }
  }
`);

const PauseConnection = graphql(`
  mutation PauseConnection($connectionId: ID!) { pauseConnection(input: { connectionId: $connectionId }) { connection { id status } } }
`);
const ResumeConnection = graphql(`
  mutation ResumeConnection($connectionId: ID!) { resumeConnection(input: { connectionId: $connectionId }) { connection { id status } } }
`);
const SetTestMode = graphql(`
  mutation SetConnectionTestMode($connectionId: ID!, $testMode: Boolean!) {
    setConnectionTestMode(input: { connectionId: $connectionId, testMode: $testMode }) { connection { id testMode } }
  }
`);

export function ConnectionScreen({ organizationId, connectionId }: { organizationId: string; connectionId: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: ConnectionQuery, variables: { id: connectionId, logSize: 50 } });
  const [deleted, setDeleted] = useState<{ name: string; disposition: Disposition; users: number } | null>(null);
  const connection = data?.connection;
  const running = connection?.sync?.status === 'RUNNING';
  const reload = () => refetch({ requestPolicy: 'network-only' });
  useTitle(deleted ? 'Connection deleted' : connection?.name ?? 'Connection');
  // A running sync's progress, read again every second until it ends.
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => refetch({ requestPolicy: 'network-only' }), 1000);
    return () => window.clearInterval(timer);
  }, [running, refetch]);
  if (deleted) return <Deleted organizationId={organizationId} {...deleted} />;
  if (error) return <ErrorMessage error={error} action="load the connection" />;
  if (fetching && !data) return <Loading what="the connection" />;
  if (!connection) return <div className="alert error" role="alert"><strong>No such connection.</strong> It does not exist, was deleted, or belongs to another organization. <Link to={`/console/organizations/${organizationId}`}>Back to the organization</Link></div>;
  const org = connection.organization;
  const showTokens = !!connection.scimBaseUrl || connection.scimTokens.length > 0;
  return (
    <>
      <div className="breadcrumbs"><Link to="/console">Organizations</Link> / <Link to={`/console/organizations/${org.id}`}>{org.name}</Link> / {connection.name}</div>
      <h1>{connection.name} <StatusBadge status={connection.status} />{connection.testMode && <> <span className="badge info">Test mode</span></>}</h1>
      <p className="lead">{statusMeaning(connection.status)} {connection.health.statusChangedAt && <span className="muted">Since <When at={connection.health.statusChangedAt} />.</span>}</p>

      <Health connection={connection} />
      {connection.scimBaseUrl && <p className="wrap">SCIM base URL: <code>{connection.scimBaseUrl}</code></p>}
      {connection.webhookUrl && <p className="wrap">Webhook URL: <code>{connection.webhookUrl}</code></p>}

      {showTokens && <ScimTokens connectionId={connection.id} tokens={connection.scimTokens} onChanged={reload} />}
      <Controls connection={connection} onChanged={reload} />
      <SyncPanel connection={connection} onChanged={reload} />
      <RequestLog entries={connection.requestLog} />
      <DeleteConnection connection={connection} onDeleted={(disposition) => setDeleted({ name: connection.name, disposition, users: connection.counts.activeUsers })} />
    </>
  );
}

/** The connection as the screen reads it, for the panels that show parts of it. */
export type Connection = NonNullable<ResultOf<typeof ConnectionQuery>['connection']>;

function Health({ connection: c }: { connection: Connection }) {
  const h = c.health;
  const first = c.firstSync;
  return (
    <>
      <div className="grid-stats" aria-label="Health">
        <Stat label="Last success"><When at={h.lastSuccessAt} empty="never" /></Stat>
        <Stat label="Last failure"><When at={h.lastFailureAt} empty="none" /></Stat>
        <Stat label="Failures in a row">{h.recentFailures}</Stat>
        <Stat label="Last wrong token or signature"><When at={h.lastRejectedCredentialsAt} empty="none" /></Stat>
        <Stat label="Users">{c.counts.activeUsers} active of {c.counts.users}</Stat>
        <Stat label="Groups">{c.counts.groups} <span className="muted small">({c.counts.memberships} memberships)</span></Stat>
      </div>
      {h.lastError && (
        <div className={`alert ${c.status === 'FAILING' ? 'error' : 'info'}`} role="status">
          <strong>Last error</strong>{h.lastFailureAt && <> (<When at={h.lastFailureAt} />)</>}
          <p className="wrap">{h.lastError}</p>
        </div>
      )}
      <p>
        <strong>First sync: </strong>
        {!first ? <span className="muted">not started: it begins with the first authenticated request.</span>
          : first.completedAt
            ? <>completed <When at={first.completedAt} /> (started <When at={first.startedAt} />): {first.users} users, {first.groups} groups, {first.memberships} memberships.</>
            : <>running since <When at={first.startedAt} />: {first.users} users, {first.groups} groups, {first.memberships} memberships so far.</>}
      </p>
    </>
  );
}

function Controls({ connection: c, onChanged }: { connection: Connection; onChanged(): void }) {
  const [pause, doPause] = useMutation(PauseConnection);
  const [resume, doResume] = useMutation(ResumeConnection);
  const [testMode, doTestMode] = useMutation(SetTestMode);
  const paused = c.status === 'PAUSED';
  const after = (p: Promise<{ error?: unknown }>) => void p.then((r) => { if (!r.error) onChanged(); });
  return (
    <section className="panel" aria-labelledby="controls-title">
      <h2 id="controls-title">Pause and test mode</h2>
      <div className="control-row">
        <div>
          <strong>{paused ? 'Paused.' : 'Applying changes.'}</strong>{' '}
          <span className="muted">{paused ? 'Resume to apply what the identity provider sends again.' : 'Pausing refuses changes with "retry later"; nothing is lost, the identity provider retries.'}</span>
        </div>
        {paused
          ? <button type="button" className="primary" disabled={resume.fetching} onClick={() => after(doResume({ connectionId: c.id }))}>Resume connection</button>
          : <button type="button" disabled={pause.fetching} onClick={() => after(doPause({ connectionId: c.id }))}>Pause connection</button>}
      </div>
      <div className="control-row">
        <div>
          <strong>Test mode is {c.testMode ? 'on' : 'off'}.</strong>{' '}
          <span className="muted">In test mode the hub answers as if it applied each change, audits what would change, and applies nothing.</span>
        </div>
        <button type="button" disabled={testMode.fetching} onClick={() => after(doTestMode({ connectionId: c.id, testMode: !c.testMode }))}>
          {c.testMode ? 'Turn test mode off' : 'Turn test mode on'}
        </button>
      </div>
      {pause.error && <ErrorMessage error={pause.error} action="pause the connection" />}
      {resume.error && <ErrorMessage error={resume.error} action="resume the connection" />}
      {testMode.error && <ErrorMessage error={testMode.error} action="change test mode" />}
    </section>
  );
}

function Deleted({ organizationId, name, disposition, users }: { organizationId: string; name: string; disposition: Disposition; users: number }) {
  return (
    <div className="alert ok" role="status">
      <strong>Connection {name} deleted.</strong>
      <p>
        {disposition === 'DEPROVISION_USERS'
          ? `${users === 1 ? 'Its active user was' : `Its ${users} active users were`} deprovisioned: sessions and credentials revoked.`
          : 'Its users were kept as they are, no longer managed by any source.'}{' '}
        Its SCIM tokens no longer work.
      </p>
      <p><Link to={`/console/organizations/${organizationId}`}>Back to the organization</Link> · <Link to={`/console/organizations/${organizationId}/users`}>Its users</Link></p>
    </div>
  );
}

export function Stat({ label, children }: { label: string; children: ReactNode }) {
  return <div className="stat"><div className="label">{label}</div><div className="value">{children}</div></div>;
}
