// The organization's lifecycle events as they are committed (graphql-ws), newest first.
import { useCallback, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { Empty, When, useTitle } from '../../shared/components.tsx';
import { Link } from '../../shared/router.tsx';
import { LiveIndicator, useLifecycleEvents, type LiveEvent } from '../live.tsx';

const KEEP = 200;

const LatestEvent = graphql(`
  query FeedStart($organizationId: ID!) { organization(id: $organizationId) { id name } latestLifecycleEventId(organizationId: $organizationId) }
`);

export function EventsScreen({ organizationId }: { organizationId: string }) {
  useTitle('Live events');
  const [start] = useQuery({ query: LatestEvent, variables: { organizationId }, requestPolicy: 'network-only' });
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const onEvent = useCallback((event: LiveEvent) => setEvents((list) => [event, ...list].slice(0, KEEP)), []);
  const live = useLifecycleEvents({ organizationId, after: start.data ? start.data.latestLifecycleEventId : undefined, onEvent });
  return (
    <>
      <div className="breadcrumbs"><Link to="/console">Organizations</Link> / <Link to={`/console/organizations/${organizationId}`}>{start.data?.organization?.name ?? 'Organization'}</Link> / Live events</div>
      <h1>Live events</h1>
      <LiveIndicator {...live} />
      {!events.length ? <Empty>No events since this page opened. Provisioning, deprovisioning and membership changes appear here the moment they are committed.</Empty> : (
        <ul className="feed panel" aria-label="Lifecycle events, newest first" aria-live="polite">
          {events.map((e) => (
            <li key={e.id}>
              <When at={e.enforcedAt} />
              <strong className="mono">{e.type}</strong>
              {e.user && <Link to={`/console/users/${e.user.id}`}>{e.user.displayName ?? e.user.email ?? e.user.userName ?? e.user.id}</Link>}
              {e.group && <span>{e.group.displayName}</span>}
              {e.connection && <span className="muted">via {e.connection.name}</span>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
