// The console's frame: who is signed in (or the sign-in page), the navigation, and the routes.
import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../shared/graphql.ts';
import { ErrorMessage, useTitle } from '../shared/components.tsx';
import { errorCode } from '../shared/errors.ts';
import { Link, match, useRouter } from '../shared/router.tsx';
import { OrganizationsScreen } from './screens/organizations.tsx';
import { OrganizationScreen } from './screens/organization.tsx';
import { UsersScreen } from './screens/users.tsx';
import { GroupsScreen } from './screens/groups.tsx';
import { UserScreen } from './screens/user.tsx';
import { ConnectionScreen } from './screens/connection.tsx';
import { AuditScreen } from './screens/audit.tsx';
import { EventsScreen } from './screens/events.tsx';

// Whether a session exists and what it may see: the organizations it can read (an organization
// key's session sees its own; an admin's, all).
const SignedIn = graphql(`
  query SignedIn { organizations { id name slug } }
`);

// Console sign-in: the key is exchanged for an HttpOnly session cookie; sign-out ends it.
const StartConsoleSession = graphql(`
  mutation StartConsoleSession($apiKey: String!) {
    startConsoleSession(input: { apiKey: $apiKey }) { viewer { kind } }
  }
`);

const EndSession = graphql(`
  mutation EndSession { endSession { ended } }
`);

const routes: Array<[string, (params: Record<string, string>) => ReactNode]> = [
  ['/console', () => <OrganizationsScreen />],
  ['/console/organizations/:orgId', (p) => <OrganizationScreen organizationId={p.orgId!} />],
  ['/console/organizations/:orgId/users', (p) => <UsersScreen organizationId={p.orgId!} />],
  ['/console/organizations/:orgId/groups', (p) => <GroupsScreen organizationId={p.orgId!} />],
  ['/console/organizations/:orgId/audit', (p) => <AuditScreen organizationId={p.orgId!} />],
  ['/console/organizations/:orgId/events', (p) => <EventsScreen organizationId={p.orgId!} />],
  ['/console/organizations/:orgId/connections/:connectionId', (p) => <ConnectionScreen organizationId={p.orgId!} connectionId={p.connectionId!} />],
  ['/console/users/:userId', (p) => <UserScreen userId={p.userId!} />],
];

export function ConsoleApp() {
  const [{ data, error }, refetch] = useQuery({ query: SignedIn, requestPolicy: 'network-only' });
  // The screen's own query starts with this one rather than after it (one round trip less before
  // the page shows its data); a signed-out browser gets the sign-in page from whichever answers.
  if (errorCode(error) === 'UNAUTHENTICATED') return <SignIn onSignedIn={() => refetch({ requestPolicy: 'network-only' })} />;
  if (error) return <main className="signin"><ErrorMessage error={error} action="open the console" /></main>;
  return <Shell organizations={data?.organizations ?? []} />;
}

function SignIn({ onSignedIn }: { onSignedIn(): void }) {
  useTitle('Sign in');
  const [apiKey, setApiKey] = useState('');
  const [{ fetching, error }, start] = useMutation(StartConsoleSession);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // The key goes to the hub once, in the body of this request, and is exchanged for an HttpOnly
    // cookie; the field is cleared, and nothing keeps it.
    const result = await start({ apiKey: apiKey.trim() });
    setApiKey('');
    if (!result.error) onSignedIn();
  };
  return (
    <main className="signin" id="main">
      <h1>Lifecycle Hub console</h1>
      <form className="panel" onSubmit={submit} aria-describedby="signin-hint">
        <div className="field">
          <label htmlFor="api-key">API key</label>
          <input id="api-key" name="api-key" type="password" autoComplete="off" spellCheck={false} required value={apiKey} onChange={(e) => setApiKey(e.target.value)} />
          <p className="hint" id="signin-hint">An admin key, or an organization's key. It is exchanged for a session cookie and not stored by this browser.</p>
        </div>
        {error && (errorCode(error) === 'UNAUTHENTICATED'
          ? <div className="alert error" role="alert"><strong>The hub does not accept this key.</strong><p>Check that it was copied whole and has not been revoked, or ask for a new key.</p></div>
          : <ErrorMessage error={error} action="sign in" />)}
        <button className="primary" type="submit" disabled={fetching || !apiKey.trim()}>{fetching ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}

function Shell({ organizations }: { organizations: Array<{ id: string; name: string; slug: string }> }) {
  const { location } = useRouter();
  const [, endSession] = useMutation(EndSession);
  let screen: ReactNode = null;
  for (const [pattern, render] of routes) {
    const params = match(pattern, location.path);
    if (params) {
      screen = render(params);
      break;
    }
  }
  const orgInPath = /^\/console\/organizations\/([^/]+)/.exec(location.path)?.[1];
  const org = organizations.find((o) => o.id === orgInPath) ?? (organizations.length === 1 ? organizations[0] : undefined);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header>
        <Link to="/console">Lifecycle Hub</Link>
        <span className="spacer" />
        <button type="button" onClick={async () => {
          await endSession({});
          window.location.assign('/console');
        }}>Sign out</button>
      </header>
      <nav aria-label="Console">
        <ul>
          <li><Link to="/console">Organizations</Link></li>
          {org && (
            <>
              <li className="nav-title" aria-hidden="true">{org.name}</li>
              <li><Link to={`/console/organizations/${org.id}`}>Connections</Link></li>
              <li><Link to={`/console/organizations/${org.id}/users`}>Users</Link></li>
              <li><Link to={`/console/organizations/${org.id}/groups`}>Groups</Link></li>
              <li><Link to={`/console/organizations/${org.id}/audit`}>Audit log</Link></li>
              <li><Link to={`/console/organizations/${org.id}/events`}>Live events</Link></li>
            </>
          )}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {screen ?? <NotFound />}
      </main>
    </div>
  );
}

function NotFound() {
  useTitle('Not found');
  return (
    <div className="panel">
      <h1>No such page</h1>
      <p>This address is not a console page. <Link to="/console">Go to the organizations</Link>.</p>
    </div>
  );
}
