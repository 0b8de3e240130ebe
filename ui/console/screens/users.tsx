// The organization's directory users: search, state filter, server-side cursor paging.
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { Badge, Empty, ErrorMessage, Loading, When, useTitle } from '../../shared/components.tsx';
import { Link } from '../../shared/router.tsx';
import { Pager, usePaging } from './paging.tsx';
import { SearchForm } from './search-form.tsx';

const Users = graphql(`
  query Users($organizationId: ID!, $search: String, $state: UserState, $first: Int, $after: String, $last: Int, $before: String) {
    organization(id: $organizationId) {
      id name
      users(search: $search, state: $state, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { node { id displayName userName email state isAdmin deprovisionedAt updatedAt connection { id name } } }
      }
    }
  }
`);

export const STATE_TONE = { ACTIVE: 'ok', DEPROVISIONED: 'danger', DELETED: 'warn' } as const;

export function UsersScreen({ organizationId }: { organizationId: string }) {
  useTitle('Users');
  const [search, setSearch] = useState('');
  const [state, setState] = useState<'' | 'ACTIVE' | 'DEPROVISIONED' | 'DELETED'>('');
  const paging = usePaging();
  const [{ data, error, fetching }] = useQuery({
    query: Users,
    variables: { organizationId, search: search || null, state: state || null, ...paging.page },
  });
  const users = data?.organization?.users;
  return (
    <>
      <div className="breadcrumbs"><Link to="/console">Organizations</Link> / <Link to={`/console/organizations/${organizationId}`}>{data?.organization?.name ?? 'Organization'}</Link> / Users</div>
      <h1>Users</h1>
      <SearchForm id="user-search" placeholder="email, user name, name or exact external id" onSearch={(text) => {
        setSearch(text);
        paging.reset();
      }}>
        <div className="field">
          <label htmlFor="user-state">State</label>
          <select id="user-state" value={state} onChange={(e) => {
            setState(e.target.value as typeof state);
            paging.reset();
          }}>
            <option value="">Active and deprovisioned</option>
            <option value="ACTIVE">Active</option>
            <option value="DEPROVISIONED">Deprovisioned</option>
            <option value="DELETED">Deleted (tombstones)</option>
          </select>
        </div>
      </SearchForm>
      {error && <ErrorMessage error={error} action="load the users" />}
      {fetching && !users && <Loading what="users" />}
      {data && !data.organization && !error && <div className="alert error" role="alert"><strong>No such organization.</strong></div>}
      {users && !users.edges.length && <Empty>{search || state ? 'No user matches. Change the search or the state filter.' : 'No users yet: they appear when a connection provisions them.'}</Empty>}
      {users && users.edges.length > 0 && (
        <>
          <div className="table-wrap" aria-busy={fetching}>
            <table>
              <caption className="sr-only">Users</caption>
              <thead><tr><th scope="col">User</th><th scope="col">State</th><th scope="col" className="wide-only">Connection</th><th scope="col" className="wide-only">Updated</th></tr></thead>
              <tbody>
                {users.edges.map(({ node: u }) => (
                  <tr key={u.id}>
                    <td><Link to={`/console/users/${u.id}`}>{u.displayName || u.userName || u.email || u.id}</Link>{u.isAdmin && <> <Badge>admin</Badge></>}<div className="muted">{u.email ?? u.userName}</div></td>
                    <td><Badge tone={STATE_TONE[u.state]}>{u.state.toLowerCase()}</Badge></td>
                    <td className="wide-only">{u.connection.name}</td>
                    <td className="wide-only"><When at={u.updatedAt} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pageInfo={users.pageInfo} shown={users.edges.length} total={users.totalCount} noun="users" onNext={() => paging.next(users.pageInfo.endCursor)} onPrevious={() => paging.previous(users.pageInfo.startCursor)} />
        </>
      )}
    </>
  );
}
