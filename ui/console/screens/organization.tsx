// An organization: its connections (state, health, last success, errors) and setup links.
import { useQuery } from 'urql';
import { graphql, readFragment } from '../../shared/graphql.ts';
import { Badge, Empty, ErrorMessage, Loading, When, useTitle } from '../../shared/components.tsx';
import { Link } from '../../shared/router.tsx';
import { StatusBadge } from './connection-status.tsx';
import { SetupLinkFields, SetupLinks } from './setup-links.tsx';

const OrganizationConnections = graphql(`
  query OrganizationConnections($id: ID!) {
    organization(id: $id) {
      id name slug createdAt
      connections { id name provider status testMode lastSyncedAt lastError lastErrorAt createdAt sync { id status processed total } }
      setupLinks { ...SetupLinkFields }
    }
  }
`, [SetupLinkFields]);

export function OrganizationScreen({ organizationId }: { organizationId: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: OrganizationConnections, variables: { id: organizationId } });
  const org = data?.organization;
  useTitle(org?.name ?? 'Organization');
  if (error) return <ErrorMessage error={error} action="load the organization" />;
  if (fetching && !data) return <Loading what="the organization" />;
  if (!org) return <div className="alert error" role="alert"><strong>No such organization.</strong> <Link to="/console">Back to the organizations</Link></div>;
  return (
    <>
      <div className="breadcrumbs"><Link to="/console">Organizations</Link> / {org.name}</div>
      <h1>{org.name} <span className="muted mono">{org.slug}</span></h1>
      <h2 id="connections">Connections</h2>
      {!org.connections.length ? (
        <Empty>No connections yet. Send the customer a setup link (below) and their IT admin connects their identity provider.</Empty>
      ) : (
        <div className="table-wrap">
          <table aria-labelledby="connections">
            <thead><tr><th scope="col">Connection</th><th scope="col">State</th><th scope="col">Last success</th><th scope="col">Last error</th><th scope="col">Sync</th></tr></thead>
            <tbody>
              {org.connections.map((c) => (
                <tr key={c.id}>
                  <td><Link to={`/console/organizations/${org.id}/connections/${c.id}`}>{c.name}</Link><div className="muted">{c.provider}{c.testMode ? ' · test mode' : ''}</div></td>
                  <td><StatusBadge status={c.status} /></td>
                  <td><When at={c.lastSyncedAt} empty="never" /></td>
                  <td className="wrap">{c.lastError ? <><Badge tone="danger">error</Badge> {c.lastError} <div className="muted"><When at={c.lastErrorAt} /></div></> : <span className="muted">none</span>}</td>
                  <td>{c.sync ? <>{c.sync.status.toLowerCase()} {c.sync.processed}{c.sync.total != null ? ` / ${c.sync.total}` : ''}</> : <span className="muted">never</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <SetupLinks organizationId={org.id} connections={org.connections} links={org.setupLinks.map((l) => readFragment(SetupLinkFields, l))} onChanged={() => refetch({ requestPolicy: 'network-only' })} />
    </>
  );
}
