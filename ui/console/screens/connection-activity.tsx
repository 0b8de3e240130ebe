// A connection's activity: the sync (backfill) panel with its progress, and the request log.
import { useMutation } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { Badge, Empty, ErrorMessage, When } from '../../shared/components.tsx';
import type { Connection } from './connection.tsx';

const SyncConnection = graphql(`
  mutation SyncConnection($connectionId: ID!) {
    syncConnection(input: { connectionId: $connectionId }) { alreadyRunning sync { id status processed total } }
  }
`);

export function SyncPanel({ connection, onChanged }: { connection: Connection; onChanged(): void }) {
  const [sync, startSync] = useMutation(SyncConnection);
  const running = connection.sync?.status === 'RUNNING';
  // A SCIM connection is pushed to: there is nothing to pull, so no panel unless it somehow ran.
  if (connection.provider === 'scim' && !connection.sync) return null;
  return (
    <>
      <h2 id="sync">Sync (backfill)</h2>
      <div className="panel">
        {connection.provider === 'scim' ? (
          <p className="muted">SCIM connections are pushed to by the identity provider: there is nothing to pull.</p>
        ) : (
          <>
            <button type="button" className="primary" disabled={running || sync.fetching} onClick={() => void startSync({ connectionId: connection.id }).then(onChanged)}>
              {running ? 'Sync running…' : 'Sync now'}
            </button>
            {sync.error && <ErrorMessage error={sync.error} action="start the sync" />}
          </>
        )}
        {connection.sync && <SyncProgress run={connection.sync} />}
        {connection.syncRuns.length > 1 && (
          <div className="table-wrap" style={{ marginTop: '0.75rem' }}>
            <table aria-labelledby="sync">
              <thead><tr><th scope="col">Started</th><th scope="col">Status</th><th scope="col">Users</th><th scope="col">Drifted</th><th scope="col">Error</th></tr></thead>
              <tbody>
                {connection.syncRuns.map((run) => (
                  <tr key={run.id}><td><When at={run.startedAt} /></td><td>{run.status.toLowerCase()}</td><td>{run.processed}{run.total != null ? ` / ${run.total}` : ''}</td><td>{run.drifted}</td><td className="wrap">{run.error ?? ''}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </>
  );
}

function SyncProgress({ run }: { run: NonNullable<Connection['sync']> }) {
  return (
    <div style={{ marginTop: '0.75rem' }}>
      <p>
        Latest: <strong>{run.status.toLowerCase()}</strong>, {run.processed}{run.total != null ? ` of ${run.total}` : ''} users, started <When at={run.startedAt} />
        {run.finishedAt && <>, finished <When at={run.finishedAt} /></>}{run.drifted ? `, ${run.drifted} drifted` : ''}.
      </p>
      {run.status === 'RUNNING' && <progress className="progress" aria-label="Sync progress" max={run.total ?? undefined} value={run.total ? run.processed : undefined} />}
      {run.error && <p className="muted">{run.error}</p>}
    </div>
  );
}

export function RequestLog({ entries }: { entries: Connection['requestLog'] }) {
  return (
    <>
      <h2 id="request-log">Request log</h2>
      {!entries.length ? (
        <Empty>No requests yet. Once the source calls this connection, each request appears here with its outcome.</Empty>
      ) : (
        <div className="table-wrap">
          <table aria-labelledby="request-log">
            <thead><tr><th scope="col">When</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Time</th><th scope="col">Client</th><th scope="col">Error</th></tr></thead>
            <tbody>
              {entries.map((r) => (
                <tr key={r.id}>
                  <td><When at={r.at} /></td>
                  <td className="mono wrap">{r.method} {r.path}</td>
                  <td><Badge tone={r.status >= 400 ? 'danger' : 'ok'}>{r.status}</Badge></td>
                  <td>{r.durationMs} ms</td>
                  <td>{r.client ?? ''}</td>
                  <td className="wrap">{r.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
