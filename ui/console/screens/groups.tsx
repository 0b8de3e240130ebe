// The organization's directory groups: search and server-side cursor paging.
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { Empty, ErrorMessage, Loading, useTitle } from '../../shared/components.tsx';
import { Link } from '../../shared/router.tsx';
import { Pager, usePaging } from './paging.tsx';
import { SearchForm } from './search-form.tsx';

const Groups = graphql(`
  query Groups($organizationId: ID!, $search: String, $first: Int, $after: String, $last: Int, $before: String) {
    organization(id: $organizationId) {
      id name
      groups(search: $search, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { node { id displayName memberCount externalId connection { id name } mappings { id role workspace } } }
      }
    }
  }
`);

export function GroupsScreen({ organizationId }: { organizationId: string }) {
  useTitle('Groups');
  const [search, setSearch] = useState('');
  const paging = usePaging();
  const [{ data, error, fetching }] = useQuery({ query: Groups, variables: { organizationId, search: search || null, ...paging.page } });
  const groups = data?.organization?.groups;
  return (
    <>
      <div className="breadcrumbs"><Link to="/console">Organizations</Link> / <Link to={`/console/organizations/${organizationId}`}>{data?.organization?.name ?? 'Organization'}</Link> / Groups</div>
      <h1>Groups</h1>
      <SearchForm id="group-search" placeholder="group name" onSearch={(text) => {
        setSearch(text);
        paging.reset();
      }} />
      {error && <ErrorMessage error={error} action="load the groups" />}
      {fetching && !groups && <Loading what="groups" />}
      {groups && !groups.edges.length && <Empty>{search ? 'No group matches this search.' : 'No groups yet: they appear when a connection pushes them.'}</Empty>}
      {groups && groups.edges.length > 0 && (
        <>
          <div className="table-wrap" aria-busy={fetching}>
            <table>
              <caption className="sr-only">Groups</caption>
              <thead><tr><th scope="col">Group</th><th scope="col">Members</th><th scope="col">Connection</th><th scope="col">Grants</th></tr></thead>
              <tbody>
                {groups.edges.map(({ node: g }) => (
                  <tr key={g.id}>
                    <td className="wrap">{g.displayName}<div className="muted mono">{g.externalId ?? ''}</div></td>
                    <td>{g.memberCount}</td>
                    <td>{g.connection.name}</td>
                    <td>{g.mappings.length ? g.mappings.map((m) => `${m.workspace ? `${m.workspace}: ` : ''}${m.role ?? 'default role'}`).join(', ') : <span className="muted">nothing</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pageInfo={groups.pageInfo} shown={groups.edges.length} total={groups.totalCount} noun="groups" onNext={() => paging.next(groups.pageInfo.endCursor)} onPrevious={() => paging.previous(groups.pageInfo.startCursor)} />
        </>
      )}
    </>
  );
}
