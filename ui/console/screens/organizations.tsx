// Every organization the session may see (an organization key's: its own).
import { useQuery } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { Empty, ErrorMessage, Loading, When, useTitle } from '../../shared/components.tsx';
import { Link } from '../../shared/router.tsx';

const Organizations = graphql(`
  query Organizations {
    organizations { id name slug createdAt connections { id status } }
  }
`);

export function OrganizationsScreen() {
  useTitle('Organizations');
  const [{ data, error, fetching }] = useQuery({ query: Organizations });
  return (
    <>
      <h1>Organizations</h1>
      {error && <ErrorMessage error={error} action="load the organizations" />}
      {fetching && !data && <Loading what="organizations" />}
      {data && !data.organizations.length && <Empty>No organizations yet. Create one with the <code>createOrganization</code> mutation (in <a href="/graphql">GraphiQL</a>).</Empty>}
      {data && data.organizations.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Organizations</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Slug</th><th scope="col">Connections</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {data.organizations.map((org) => (
                <tr key={org.id}>
                  <td><Link to={`/console/organizations/${org.id}`}>{org.name}</Link></td>
                  <td className="mono">{org.slug}</td>
                  <td>{org.connections.length}</td>
                  <td><When at={org.createdAt} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
