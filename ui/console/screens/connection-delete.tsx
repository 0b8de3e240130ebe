// Deleting a connection: the operator chooses what happens to its users (deprovisioned, or kept
// without a source) and types the connection's name, since neither choice can be undone.
import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../shared/graphql.ts';
import { ErrorMessage } from '../../shared/components.tsx';
import { Dialog } from '../dialog.tsx';
import type { Connection } from './connection.tsx';

const DeleteConnectionMutation = graphql(`
  mutation DeleteConnection($connectionId: ID!, $disposition: ConnectionDisposition!) {
    deleteConnection(input: { connectionId: $connectionId, disposition: $disposition }) { deletedConnectionId }
  }
`);

export type Disposition = 'DEPROVISION_USERS' | 'KEEP_USERS';

export function DeleteConnection({ connection, onDeleted }: { connection: Connection; onDeleted(disposition: Disposition): void }) {
  const [open, setOpen] = useState(false);
  return (
    <section className="panel danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete this connection</h2>
      <p className="muted">Its tokens stop working at once, and you choose what happens to its {activeUsers(connection.counts.activeUsers)}. This cannot be undone.</p>
      <button type="button" className="danger" onClick={() => setOpen(true)}>Delete connection…</button>
      {open && <DeleteDialog connection={connection} onClose={() => setOpen(false)} onDeleted={onDeleted} />}
    </section>
  );
}

function DeleteDialog({ connection, onClose, onDeleted }: { connection: Connection; onClose(): void; onDeleted(disposition: Disposition): void }) {
  const [disposition, setDisposition] = useState<Disposition | null>(null);
  const [typed, setTyped] = useState('');
  const [result, remove] = useMutation(DeleteConnectionMutation);
  const users = activeUsers(connection.counts.activeUsers);
  const ready = disposition !== null && typed === connection.name && !result.fetching;
  return (
    <Dialog title={`Delete the connection ${connection.name}?`} onClose={onClose}>
      <p>Its SCIM tokens stop working at once, and it leaves the console's lists. This cannot be undone.</p>
      <form onSubmit={(e) => {
        e.preventDefault();
        if (!ready) return;
        void remove({ connectionId: connection.id, disposition }).then((r) => { if (!r.error) onDeleted(disposition); });
      }}>
        <fieldset className="choices">
          <legend>What happens to its {users}?</legend>
          <label className="choice">
            <input type="radio" name="disposition" value="DEPROVISION_USERS" checked={disposition === 'DEPROVISION_USERS'} onChange={() => setDisposition('DEPROVISION_USERS')} />
            <span><strong>Deprovision them</strong><span className="hint">
              Each loses access now, as if the identity provider had removed them: sessions and credentials revoked, memberships ended,
              roles dropped, with deprovision evidence. Choose this when the customer leaves.
            </span></span>
          </label>
          <label className="choice">
            <input type="radio" name="disposition" value="KEEP_USERS" checked={disposition === 'KEEP_USERS'} onChange={() => setDisposition('KEEP_USERS')} />
            <span><strong>Keep them</strong><span className="hint">
              They stay as they are, with their access, no longer managed by any source (audited as detached). Choose this when moving to
              another connection; deprovision anyone left over by hand.
            </span></span>
          </label>
        </fieldset>
        <div className="field">
          <label htmlFor="delete-confirm-name">Type the connection's name, <code>{connection.name}</code>, to confirm</label>
          <input id="delete-confirm-name" type="text" autoComplete="off" spellCheck={false} value={typed} onChange={(e) => setTyped(e.target.value)} />
        </div>
        {result.error && <ErrorMessage error={result.error} action="delete the connection" />}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="danger-solid" disabled={!ready}>{result.fetching ? 'Deleting…' : 'Delete connection'}</button>
        </div>
      </form>
    </Dialog>
  );
}

const activeUsers = (n: number) => `${n} active ${n === 1 ? 'user' : 'users'}`;
