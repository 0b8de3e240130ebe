// An organization's setup links: create one (its URL shown once, with a copy button), the list of
// those handed out (created, expires, opened, revoked), and Revoke, which also ends the session
// an IT admin opened from it.
import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql, type ResultOf } from '../../shared/graphql.ts';
import { Badge, CopyValue, Empty, ErrorMessage, When } from '../../shared/components.tsx';
import { ConfirmDialog } from '../dialog.tsx';

const CreateSetupLink = graphql(`
  mutation CreateSetupLink($organizationId: ID!, $connectionId: ID, $expiresInSeconds: Int) {
    createSetupLink(input: { organizationId: $organizationId, connectionId: $connectionId, expiresInSeconds: $expiresInSeconds }) {
      url
      setupLink { id expiresAt }
    }
  }
`);
const RevokeSetupLink = graphql(`
  mutation RevokeSetupLink($setupLinkId: ID!) { revokeSetupLink(input: { setupLinkId: $setupLinkId }) { setupLink { id revokedAt } } }
`);

export const SetupLinkFields = graphql(`
  fragment SetupLinkFields on SetupLink { id connectionId createdAt expiresAt usedAt revokedAt }
`);
type SetupLink = ResultOf<typeof SetupLinkFields>;

const EXPIRY_CHOICES = [
  { label: '1 hour', seconds: 3600 },
  { label: '24 hours', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
];

export function SetupLinks({ organizationId, connections, links, onChanged }: {
  organizationId: string;
  connections: Array<{ id: string; name: string }>;
  links: SetupLink[];
  onChanged(): void;
}) {
  const [connectionId, setConnectionId] = useState('');
  const [expiresInSeconds, setExpires] = useState(86_400);
  const [{ data, error, fetching }, create] = useMutation(CreateSetupLink);
  const [revoking, setRevoking] = useState<SetupLink | null>(null);
  const link = data?.createSetupLink;
  const now = Date.now();
  const connectionName = (id: string | null) => (id ? connections.find((c) => c.id === id)?.name ?? 'A deleted connection' : 'A new SCIM connection');
  return (
    <section className="panel" aria-labelledby="setup-link-title">
      <h2 id="setup-link-title">Setup links</h2>
      <p className="muted">A one-time link for the customer's IT admin: it opens the setup portal for this organization's directory only. The link is shown once.</p>
      <form className="row" onSubmit={(e) => {
        e.preventDefault();
        void create({ organizationId, connectionId: connectionId || null, expiresInSeconds }).then((r) => { if (!r.error) onChanged(); });
      }}>
        <div className="field">
          <label htmlFor="setup-connection">Connection</label>
          <select id="setup-connection" value={connectionId} onChange={(e) => setConnectionId(e.target.value)}>
            <option value="">A new SCIM connection (the admin creates it)</option>
            {connections.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="setup-expiry">Expires after</label>
          <select id="setup-expiry" value={expiresInSeconds} onChange={(e) => setExpires(Number(e.target.value))}>
            {EXPIRY_CHOICES.map((c) => <option key={c.seconds} value={c.seconds}>{c.label}</option>)}
          </select>
        </div>
        <div className="field"><button className="primary" type="submit" disabled={fetching}>{fetching ? 'Creating…' : 'Create setup link'}</button></div>
      </form>
      {error && <ErrorMessage error={error} action="create the setup link" />}
      {link && (
        <div className="alert ok" role="status">
          <strong>Setup link created. Copy it now: it is not shown again.</strong>
          <CopyValue value={link.url} label="Setup link URL" />
          <p>Expires <When at={link.setupLink.expiresAt} />.</p>
        </div>
      )}

      <h3 id="setup-links-list">Handed out</h3>
      {!links.length ? <Empty>No setup links yet.</Empty> : (
        <div className="table-wrap">
          <table aria-labelledby="setup-links-list">
            <thead><tr><th scope="col" className="wide-only">Created</th><th scope="col">Sets up</th><th scope="col">Expires</th><th scope="col" className="wide-only">Opened</th><th scope="col">State</th><th scope="col"><span className="sr-only">Action</span></th></tr></thead>
            <tbody>
              {links.map((l) => {
                const expired = Date.parse(l.expiresAt) <= now;
                return (
                  <tr key={l.id} data-setup-link={l.id}>
                    <td className="wide-only"><When at={l.createdAt} /></td>
                    <td>{connectionName(l.connectionId)}</td>
                    <td><When at={l.expiresAt} /></td>
                    <td className="wide-only"><When at={l.usedAt} empty="not yet" /></td>
                    <td>{l.revokedAt ? <><Badge>Revoked</Badge><div className="muted small"><When at={l.revokedAt} /></div></>
                      : expired ? <Badge>Expired</Badge>
                        : l.usedAt ? <><Badge tone="warn">Opened</Badge><div className="muted small">Its setup session is open until the link expires.</div></>
                          : <Badge tone="ok">Not opened yet</Badge>}</td>
                    <td>{!l.revokedAt && !expired && <button type="button" className="danger" onClick={() => setRevoking(l)}>Revoke</button>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {revoking && <RevokeLink link={revoking} onClose={() => setRevoking(null)} onRevoked={() => { setRevoking(null); onChanged(); }} />}
    </section>
  );
}

function RevokeLink({ link, onClose, onRevoked }: { link: SetupLink; onClose(): void; onRevoked(): void }) {
  const [revoke, doRevoke] = useMutation(RevokeSetupLink);
  return (
    <ConfirmDialog
      title="Revoke this setup link?"
      confirmLabel="Revoke link"
      action="revoke the setup link"
      busy={revoke.fetching}
      error={revoke.error}
      onClose={onClose}
      onConfirm={() => void doRevoke({ setupLinkId: link.id }).then((r) => { if (!r.error) onRevoked(); })}
    >
      <p>The link stops working at once{link.usedAt ? ', and the setup session the IT admin opened from it ends now, on every instance of the hub' : ''}. This cannot be undone: send a new link if they still need one.</p>
    </ConfirmDialog>
  );
}
