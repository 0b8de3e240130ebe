// A SCIM connection's bearer tokens: at most two active, so the identity provider can be moved to
// a new one before the old one is revoked (rotation without downtime). A new secret is shown once.
import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { Badge, CopyValue, ErrorMessage, When } from '../../shared/components.tsx';
import { ConfirmDialog } from '../dialog.tsx';
import type { Connection } from './connection.tsx';

const CreateScimToken = graphql(`
  mutation CreateScimToken($connectionId: ID!, $name: String, $expiresAt: DateTime) {
    createScimToken(input: { connectionId: $connectionId, name: $name, expiresAt: $expiresAt }) { token { id name lastFour expiresAt } secret }
  }
`);
const RevokeScimToken = graphql(`
  mutation RevokeScimToken($tokenId: ID!) { revokeScimToken(input: { tokenId: $tokenId }) { token { id revokedAt } } }
`);

type Token = Connection['scimTokens'][number];

const EXPIRY_CHOICES = [
  { label: 'Never', days: 0 },
  { label: 'In 30 days', days: 30 },
  { label: 'In 90 days', days: 90 },
  { label: 'In 1 year', days: 365 },
];

const isActive = (t: Token, now: number) => !t.revokedAt && !(t.expiresAt && Date.parse(t.expiresAt) <= now);

export function ScimTokens({ connectionId, tokens, onChanged }: { connectionId: string; tokens: Token[]; onChanged(): void }) {
  const [name, setName] = useState('');
  const [days, setDays] = useState(0);
  const [created, create] = useMutation(CreateScimToken);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const now = Date.now();
  const active = tokens.filter((t) => isActive(t, now)).length;
  // The last token created here, kept apart from the mutation's state so that a refused attempt
  // after it (the two-token limit) does not take the secret off the screen before it is copied.
  const [fresh, setFresh] = useState<{ name: string; secret: string } | null>(null);
  return (
    <section className="panel" aria-labelledby="tokens-title">
      <h2 id="tokens-title">SCIM tokens</h2>
      <p className="muted">
        The identity provider authenticates with one of these. A connection holds at most two active tokens, so you can rotate without
        downtime: create a new token, put it in the identity provider, check that its requests succeed (Last used), then revoke the old one.
      </p>
      <div className="table-wrap">
        <table aria-labelledby="tokens-title">
          <thead><tr><th scope="col">Name</th><th scope="col">Last four</th><th scope="col" className="wide-only">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span className="sr-only">Action</span></th></tr></thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{t.lastFour ? <code>…{t.lastFour}</code> : <span className="muted" title="Tokens issued before the hub kept the last four characters">not recorded</span>}</td>
                <td className="wide-only"><When at={t.createdAt} /></td>
                <td><When at={t.lastUsedAt} empty="never" /></td>
                <td><When at={t.expiresAt} empty="never" /></td>
                <td><TokenState token={t} now={now} /></td>
                <td>{isActive(t, now) && <button type="button" className="danger" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form className="row" style={{ marginTop: '0.75rem' }} onSubmit={(e) => {
        e.preventDefault();
        const expiresAt = days ? new Date(now + days * 86_400_000).toISOString() : null;
        void create({ connectionId, name: name.trim() || null, expiresAt }).then((r) => {
          if (r.error || !r.data) return;
          setFresh({ name: r.data.createScimToken.token.name, secret: r.data.createScimToken.secret });
          setName('');
          onChanged();
        });
      }}>
        <div className="field">
          <label htmlFor="token-name">New token's name <span className="hint">(optional)</span></label>
          <input id="token-name" type="text" maxLength={100} placeholder="e.g. Okta, March" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="token-expiry">Expires</label>
          <select id="token-expiry" value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {EXPIRY_CHOICES.map((c) => <option key={c.days} value={c.days}>{c.label}</option>)}
          </select>
        </div>
        <div className="field"><button className="primary" type="submit" disabled={created.fetching}>{created.fetching ? 'Creating…' : 'Create token'}</button></div>
      </form>
      <p className="hint">{active} of 2 active tokens{active >= 2 ? ': revoke one before creating another.' : '.'}</p>
      {created.error && <ErrorMessage error={created.error} action="create the token" />}
      {fresh && (
        <div className="alert ok" role="status">
          <strong>Token {fresh.name} created. Copy it now: it is not shown again.</strong>
          <CopyValue value={fresh.secret} label="SCIM token secret" />
          <p>Put it in the identity provider's provisioning settings as the bearer token, then revoke the old token once its requests succeed.</p>
          <button type="button" onClick={() => setFresh(null)}>I have copied it: hide</button>
        </div>
      )}
      {revoking && <RevokeToken token={revoking} onClose={() => setRevoking(null)} onRevoked={() => { setRevoking(null); onChanged(); }} />}
    </section>
  );
}

function TokenState({ token: t, now }: { token: Token; now: number }) {
  if (t.revokedAt) return <Badge>Revoked <When at={t.revokedAt} /></Badge>;
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return <Badge tone="warn">Expired</Badge>;
  return <Badge tone="ok">Active</Badge>;
}

function RevokeToken({ token, onClose, onRevoked }: { token: Token; onClose(): void; onRevoked(): void }) {
  const [revoke, doRevoke] = useMutation(RevokeScimToken);
  return (
    <ConfirmDialog
      title={`Revoke the token ${token.name}?`}
      confirmLabel="Revoke token"
      action="revoke the token"
      busy={revoke.fetching}
      error={revoke.error}
      onClose={onClose}
      onConfirm={() => void doRevoke({ tokenId: token.id }).then((r) => { if (!r.error) onRevoked(); })}
    >
      <p>Requests with this token{token.lastFour ? <> (ending <code>{token.lastFour}</code>)</> : null} are refused from now on, on every instance of the hub. This cannot be undone.</p>
      <p>If the identity provider still uses it, provisioning stops until it is given the other token. Last used: <When at={token.lastUsedAt} empty="never" />.</p>
    </ConfirmDialog>
  );
}
