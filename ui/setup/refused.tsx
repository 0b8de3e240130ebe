// The pages for a link that cannot be used (expired, revoked, used in another browser) and for
// /setup opened without one: what happened, and what to do.
import { useEffect, useRef } from 'react';

const WHAT_HAPPENED: Record<string, string> = {
  LINK_EXPIRED: 'This setup link has expired. Links work for a limited time (a day, unless your vendor chose otherwise).',
  LINK_REVOKED: 'This setup link was withdrawn by the company that sent it.',
  LINK_USED: 'This setup link was already opened, in another browser or tab. A link works once, in the browser that opened it first.',
};

export function LinkRefused({ code }: { code: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="panel refused" aria-labelledby="refused-heading">
      <h1 id="refused-heading" ref={heading} tabIndex={-1}>This setup link can no longer be used</h1>
      <p className="lead">{WHAT_HAPPENED[code] ?? 'This setup link is not valid: it may have been copied incompletely.'}</p>
      <h2>What to do</h2>
      <ol>
        <li>Ask the person who sent you the link (the administrator at your vendor) for a new setup link.</li>
        <li>Open the new link in this browser and follow the steps. Nothing you set up before is lost.</li>
      </ol>
      <p className="muted">Your identity provider keeps working: only this page is closed to you.</p>
    </section>
  );
}

export function NoLink() {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="panel refused" aria-labelledby="nolink-heading">
      <h1 id="nolink-heading" ref={heading} tabIndex={-1}>Open your setup link</h1>
      <p className="lead">This page connects your company's directory. It opens from the setup link your vendor sent you.</p>
      <p>Open that link (it ends in <code>/setup#…</code>). If you no longer have it, or it has expired, ask your vendor's administrator for a new one.</p>
    </section>
  );
}
