// The organization's audit log: verify the hash chain and its signed anchors, export it as CSV.
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { Empty, ErrorMessage, Loading, When, useTitle } from '../../shared/components.tsx';
import { downloadFile } from '../../shared/download.ts';
import { Link } from '../../shared/router.tsx';

const VerifyAuditChain = graphql(`
  query VerifyAuditChain($organizationId: ID!) {
    organization(id: $organizationId) { id name slug }
    verifyAuditChain(organizationId: $organizationId) { ok checked headSeq anchors anchoredThroughSeq lastAnchoredAt firstBrokenId reason }
  }
`);

const AuditLog = graphql(`
  query AuditLog($organizationId: ID!, $beforeSeq: String) {
    organization(id: $organizationId) {
      id name
      auditLog(first: 50, beforeSeq: $beforeSeq) { id seq at action actorType actorId targetType targetId testMode warnings hash }
    }
  }
`);

const ROWS = 50;

function AuditRows({ organizationId }: { organizationId: string }) {
  // The seqs each newer page started before: "Newer" goes back one.
  const [pages, setPages] = useState<Array<string | null>>([null]);
  const beforeSeq = pages.at(-1) ?? null;
  const [{ data, error, fetching }] = useQuery({ query: AuditLog, variables: { organizationId, beforeSeq } });
  const rows = data?.organization?.auditLog;
  return (
    <section aria-labelledby="rows-title">
      <h2 id="rows-title">Rows, newest first</h2>
      {error && <ErrorMessage error={error} action="load the audit log" />}
      {fetching && !rows && <Loading what="the audit log" />}
      {rows && !rows.length && <Empty>No audit rows yet.</Empty>}
      {rows && rows.length > 0 && (
        <>
          <div className="table-wrap" aria-busy={fetching}>
            <table aria-labelledby="rows-title">
              <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Action</th><th scope="col" className="wide-only">By</th><th scope="col" className="wide-only">Target</th><th scope="col" className="wide-only">Hash</th></tr></thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={row.id}>
                    <td>{row.seq}</td>
                    <td><When at={row.at} /></td>
                    <td className="mono">{row.action}{row.testMode ? ' (test mode)' : ''}{row.warnings.length ? <div className="muted">{row.warnings.join('; ')}</div> : null}</td>
                    <td className="wide-only">{row.actorType}{row.actorId ? <span className="muted mono"> {row.actorId.slice(0, 8)}</span> : null}</td>
                    <td className="wide-only">{row.targetType === 'user' && row.targetId ? <Link to={`/console/users/${row.targetId}`}>user</Link> : row.targetType ?? ''}</td>
                    <td className="wide-only mono muted" title={row.hash}>{row.hash.slice(0, 12)}…</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Audit log pages">
            <button type="button" disabled={pages.length === 1} onClick={() => setPages((p) => p.slice(0, -1))}>← Newer</button>
            <button type="button" disabled={rows.length < ROWS || rows.at(-1)?.seq === '1'} onClick={() => setPages((p) => [...p, rows.at(-1)!.seq])}>Older →</button>
            <span className="muted" role="status">Rows #{rows.at(-1)?.seq} to #{rows[0]?.seq}</span>
          </nav>
        </>
      )}
    </section>
  );
}

export function AuditScreen({ organizationId }: { organizationId: string }) {
  useTitle('Audit log');
  // Verification recomputes the whole chain: run when asked, not on every visit.
  const [requested, setRequested] = useState(false);
  const [{ data, error, fetching }, verify] = useQuery({ query: VerifyAuditChain, variables: { organizationId }, pause: !requested, requestPolicy: 'network-only' });
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);
  const result = data?.verifyAuditChain;
  return (
    <>
      <div className="breadcrumbs"><Link to="/console">Organizations</Link> / <Link to={`/console/organizations/${organizationId}`}>{data?.organization?.name ?? 'Organization'}</Link> / Audit log</div>
      <h1>Audit log</h1>
      <p className="muted">Every change is one append-only row, hash-chained to the one before and periodically signed with a key outside the database.</p>
      <section className="panel" aria-labelledby="verify-title">
        <h2 id="verify-title">Chain verification</h2>
        <button type="button" className="primary" disabled={fetching} onClick={() => (requested ? verify({ requestPolicy: 'network-only' }) : setRequested(true))}>
          {fetching ? 'Verifying…' : 'Verify the audit chain'}
        </button>
        {fetching && <Loading what="the verification (every row is recomputed)" />}
        {error && <ErrorMessage error={error} action="verify the audit chain" />}
        {result && !fetching && (result.ok ? (
          <div className="alert ok" role="status" style={{ marginTop: '0.75rem' }}>
            <strong>The chain verifies.</strong>
            <p>{result.checked.toLocaleString()} rows recomputed (through #{result.headSeq}); {result.anchors} signed anchors verified, covering rows through #{result.anchoredThroughSeq}.</p>
          </div>
        ) : (
          <div className="alert error" role="alert" style={{ marginTop: '0.75rem' }}>
            <strong>The chain does not verify.</strong>
            <p>{result.reason ?? 'A row was altered or removed.'} First row that does not hold: <code>{result.firstBrokenId ?? 'unknown'}</code>. Export the log and compare it with a backup.</p>
          </div>
        ))}
      </section>
      <section className="panel" aria-labelledby="export-title">
        <h2 id="export-title">Export</h2>
        <p className="muted">The whole log as CSV, with each row's hashes, for an auditor or your SIEM.</p>
        <button type="button" disabled={exporting} onClick={() => {
          setExporting(true);
          setExportError(null);
          downloadFile(`/audit/${organizationId}.csv`, 'audit.csv').catch((e: Error) => setExportError(e.message)).finally(() => setExporting(false));
        }}>{exporting ? 'Exporting…' : 'Download CSV'}</button>
        {exportError && <div className="alert error" role="alert" style={{ marginTop: '0.75rem' }}><strong>Could not export the audit log: {exportError}.</strong></div>}
      </section>
      <AuditRows organizationId={organizationId} />
    </>
  );
}
