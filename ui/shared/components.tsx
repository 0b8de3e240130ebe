// Pieces every screen uses: loading, empty and error states, dates, badges, copy-to-clipboard.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { readableError } from './errors.ts';

export function Loading({ what }: { what: string }) {
  return <p className="loading" role="status">Loading {what}…</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function ErrorMessage({ error, action }: { error: CombinedError; action?: string }) {
  const { sentence, detail, code } = readableError(error);
  return (
    <div className="alert error" role="alert">
      <strong>{action ? `Could not ${action}. ` : ''}{sentence}</strong>
      {detail && <p>Details: {detail} <span className="muted">({code})</span></p>}
      {code === 'UNAUTHENTICATED' && <p><a href={window.location.pathname}>Sign in again</a></p>}
    </div>
  );
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function When({ at, empty = '—' }: { at: string | null | undefined; empty?: string }) {
  if (!at) return <span className="muted">{empty}</span>;
  return <time dateTime={at} title={at}>{dateFormat.format(new Date(at))}</time>;
}

export function Badge({ tone, children }: { tone?: 'ok' | 'danger' | 'warn'; children: ReactNode }) {
  return <span className={`badge${tone ? ` ${tone}` : ''}`}>{children}</span>;
}

/** A value shown with a Copy button (a setup link, a token); says so when copied. */
export function CopyValue({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return (
    <div className="secret">
      <code aria-label={label}>{value}</code>
      <button
        type="button"
        onClick={async () => {
          await navigator.clipboard?.writeText(value).catch(() => undefined);
          setCopied(true);
          timer.current = window.setTimeout(() => setCopied(false), 2500);
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
      <span role="status" className="muted">{copied ? `${label} copied to the clipboard` : ''}</span>
    </div>
  );
}

/** Sets the document title (announced by screen readers on navigation). */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · Lifecycle Hub`;
  }, [title]);
}
