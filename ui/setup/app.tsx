// The setup portal: what a setup link (/setup#<secret>) opens. The secret is read from the fragment,
// removed from the address bar at once, and exchanged for the HttpOnly session cookie
// (startSetupSession); the steps then use only that session.
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { ErrorMessage, Loading, useTitle } from '../shared/components.tsx';
import { errorCode } from '../shared/errors.ts';
import { StartSetupSession, ViewerQuery } from './operations.ts';
import { LinkRefused, NoLink } from './refused.tsx';
import { SetupSteps } from './steps.tsx';

/** Taken once per page load, before React renders twice in development. */
const linkSecret = (() => {
  const secret = window.location.hash.slice(1);
  if (secret) history.replaceState(null, '', window.location.pathname + window.location.search);
  return secret ? decodeURIComponent(secret) : null;
})();

export function SetupApp() {
  const [start, startSession] = useMutation(StartSetupSession);
  const started = useRef(false);
  const [ready, setReady] = useState(linkSecret === null);
  useEffect(() => {
    if (started.current || linkSecret === null) return;
    started.current = true;
    void startSession({ token: linkSecret }).then(() => setReady(true));
  }, [startSession]);
  if (!ready) return <Frame><Loading what="your setup link" /></Frame>;
  if (start.error) {
    const code = errorCode(start.error);
    // A link used once keeps working in the browser that opened it (its cookie): go on with it.
    if (code !== 'LINK_USED') return <Frame><LinkRefused code={code ?? 'UNKNOWN'} /></Frame>;
  }
  return <Frame><Session fromLink={linkSecret !== null} /></Frame>;
}

function Session({ fromLink }: { fromLink: boolean }) {
  const [{ data, error, fetching }] = useQuery({ query: ViewerQuery, requestPolicy: 'network-only' });
  if (fetching && !data) return <Loading what="your setup session" />;
  if (error) return <ErrorMessage error={error} action="open the setup" />;
  const viewer = data?.viewer;
  if (!viewer || viewer.kind !== 'SETUP' || !viewer.organization) return fromLink ? <LinkRefused code="LINK_USED" /> : <NoLink />;
  return <SetupSteps organization={viewer.organization} connectionId={viewer.connectionId ?? null} expiresAt={viewer.expiresAt ?? null} />;
}

function Frame({ children }: { children: React.ReactNode }) {
  useTitle('Set up your directory');
  return (
    <div className="portal">
      <a className="skip-link" href="#main">Skip to the setup</a>
      <main id="main" className="portal-main">{children}</main>
    </div>
  );
}
