// After the instructions: the live first request, groups to roles, test mode and pause, done.
import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import type { ResultOf } from '../shared/graphql.ts';
import { Badge, CopyValue, ErrorMessage, Loading, When } from '../shared/components.tsx';
import {
  ConnectionStatusQuery, CreateScimToken, EndSession, MappingPreviewQuery, MappingQuery, PreviewQuery, PauseConnection, RemoveGroupMapping, ResumeConnection, RevokeScimToken, SetGroupMapping, SetTestMode,
} from './operations.ts';
import { lastRefusal, refusalInWords } from './request-errors.ts';
import { Step, type PortalOrganization } from './steps.tsx';

const POLL_MS = 2000;
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The connection, asked again every two seconds (a setup session has no subscription of its own). */
function useLiveConnection(connectionId: string) {
  const [result, reexecute] = useQuery({ query: ConnectionStatusQuery, variables: { id: connectionId }, requestPolicy: 'network-only' });
  useEffect(() => {
    const timer = window.setInterval(() => reexecute({ requestPolicy: 'network-only' }), POLL_MS);
    return () => window.clearInterval(timer);
  }, [reexecute]);
  return result;
}

function RefusalNotice({ idpName, log, rejectedCredentialsAt }: { idpName: string; log: Parameters<typeof lastRefusal>[0]; rejectedCredentialsAt: string | null }) {
  const refusal = lastRefusal(log, rejectedCredentialsAt);
  if (!refusal) return null;
  return (
    <div className="alert error" role="alert">
      <strong>{refusalInWords(idpName, refusal)}</strong>
      <p className="muted">{refusal.path ? `${refusal.method} ${refusal.path}` : 'A request with a token this connection does not accept'} · answered {refusal.status} · <When at={refusal.at} /></p>
    </div>
  );
}

export function WaitingStep({ idpName, connectionId, onBack, onNext }: { idpName: string; connectionId: string; onBack: () => void; onNext: () => void }) {
  const { data, error } = useLiveConnection(connectionId);
  const connection = data?.connection;
  const connected = connection && connection.status !== 'AWAITING_FIRST_REQUEST';
  return (
    <Step
      title={connected ? `Connected to your ${idpName}` : `Waiting for ${idpName}`}
      onBack={onBack}
      next={<button type="button" className="primary" onClick={onNext} disabled={!connected}>Map groups to roles</button>}
    >
      {error && <ErrorMessage error={error} action="check the connection" />}
      <div className={`live ${connected ? 'ok' : 'waiting'}`} role="status" aria-live="polite">
        {!connection ? 'Checking…' : connected ? (
          <p><strong>Connected to your {idpName}.</strong> Synced {plural(connection.counts.users, 'user')}, {plural(connection.counts.groups, 'group')}.</p>
        ) : (
          <p><span className="spinner" aria-hidden="true" /> Waiting for the first request from {idpName}… In {idpName}, test the connection or assign a user to the app; this page updates by itself.</p>
        )}
      </div>
      {connection && <RefusalNotice idpName={idpName} log={connection.requestLog} rejectedCredentialsAt={connection.health.lastRejectedCredentialsAt} />}
      {connected && connection.firstSync && !connection.firstSync.completedAt && (
        <p className="muted">{idpName} is still sending its first batch; the numbers grow until it is done.</p>
      )}
      {connection?.status === 'PAUSED' && <p className="alert warn">The connection is paused: {idpName}'s requests are refused until it is resumed (step 5).</p>}
    </Step>
  );
}

type MappingData = ResultOf<typeof MappingQuery>;

export function MappingStep({ connectionId, onBack, onNext }: { connectionId: string; onBack: () => void; onNext: () => void }) {
  const [result, reexecute] = useQuery({ query: MappingQuery, variables: { id: connectionId }, requestPolicy: 'network-only' });
  const { data, error } = result;
  const ranking = data?.viewer?.organization?.roleRanking ?? [];
  const groups = data?.connection?.groups ?? [];
  const [preview, reexecutePreview] = useQuery({ query: PreviewQuery, variables: { id: connectionId }, requestPolicy: 'network-only' });
  const refresh = () => { reexecute({ requestPolicy: 'network-only' }); reexecutePreview({ requestPolicy: 'network-only' }); };
  return (
    <Step
      title="Give your groups roles"
      intro="Choose the role each group's members get in the app. Groups you leave at “No role” give nothing; people in no mapped group get the default role."
      onBack={onBack}
      next={<button type="button" className="primary" onClick={onNext}>Continue</button>}
    >
      {error && <ErrorMessage error={error} action="load the groups" />}
      {!data && !error && <Loading what="your groups" />}
      {ranking.length > 0 && (
        <p className="callout"><strong>Highest role wins.</strong> Someone in several groups gets the highest of their roles. From lowest to highest: {ranking.join(' < ')}.</p>
      )}
      {data && groups.length === 0 && <p className="empty">No groups yet. Push groups from your identity provider (Okta: <em>Push Groups</em>); they appear here.</p>}
      <ul className="mapping-list">
        {groups.map((g) => <GroupRow key={g.id} group={g} ranking={ranking} onSaved={refresh} />)}
      </ul>
      {preview.data && <WhoGetsWhat data={preview.data} />}
    </Step>
  );
}

type GroupData = NonNullable<MappingData['connection']>['groups'][number];

function GroupRow({ group, ranking, onSaved }: { group: GroupData; ranking: readonly string[]; onSaved: () => void }) {
  const current = group.mappings.find((m) => m.workspace === null) ?? group.mappings[0] ?? null;
  const [role, setRole] = useState(current?.role ?? '');
  const [workspace, setWorkspace] = useState(current?.workspace ?? '');
  const [set, setMapping] = useMutation(SetGroupMapping);
  const [removed, removeMapping] = useMutation(RemoveGroupMapping);
  const id = `group-${group.id}`;
  const save = async () => {
    const ws = workspace.trim() || null;
    if (current && (current.workspace ?? null) !== ws) await removeMapping({ groupId: group.id, workspace: current.workspace });
    const r = role ? await setMapping({ groupId: group.id, role, workspace: ws }) : current ? await removeMapping({ groupId: group.id, workspace: current.workspace }) : null;
    if (!r?.error) onSaved();
  };
  const changed = role !== (current?.role ?? '') || workspace.trim() !== (current?.workspace ?? '');
  // The group's mappings as Save would leave them: its other workspaces as they are, this row's as edited.
  const edited = useMemo(() => [
    ...group.mappings.filter((m) => m !== current).map((m) => ({ role: m.role, workspace: m.workspace })),
    ...(role ? [{ role, workspace: workspace.trim() || null }] : []),
  ], [group.mappings, current, role, workspace]);
  const proposal = useDebounced(edited, 300);
  return (
    <li className="mapping">
      <div className="mapping-group">
        <strong id={`${id}-name`}>{group.displayName}</strong>
        <span className="muted">{plural(group.memberCount, 'member')}</span>
      </div>
      <label>
        <span>Role</span>
        <select value={role} onChange={(e) => setRole(e.target.value)} aria-describedby={`${id}-name`}>
          <option value="">No role</option>
          {[...ranking].reverse().map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </label>
      <label>
        <span>Workspace <span className="muted">(optional)</span></span>
        <input value={workspace} onChange={(e) => setWorkspace(e.target.value)} placeholder="whole organization" aria-describedby={`${id}-name`} />
      </label>
      <button type="button" onClick={save} disabled={!changed || set.fetching || removed.fetching} aria-describedby={`${id}-name`}>Save</button>
      {current && !changed && <span className="muted saved" role="status">Saved: {current.role ?? 'default role'}{current.workspace ? ` in ${current.workspace}` : ''}</span>}
      {(set.error ?? removed.error) && <ErrorMessage error={(set.error ?? removed.error)!} action="save the mapping" />}
      {changed && <IfSaved groupId={group.id} mappings={proposal} settling={proposal !== edited} describedBy={`${id}-name`} />}
    </li>
  );
}

const nameOf = (u: { displayName: string | null; email: string | null; userName: string | null }) => u.displayName ?? u.email ?? u.userName ?? 'someone';
const rolesText = (roles: readonly string[]) => (roles.length ? roles.join(', ') : 'no role');

/** Under a row being edited: whose roles Save would change, from groupMappingPreview. */
function IfSaved({ groupId, mappings, settling, describedBy }: { groupId: string; mappings: Array<{ role: string | null; workspace: string | null }>; settling: boolean; describedBy: string }) {
  const [{ data, error, fetching }] = useQuery({ query: MappingPreviewQuery, variables: { groupId, mappings }, requestPolicy: 'network-only', pause: settling });
  const p = settling || fetching ? undefined : data?.groupMappingPreview;
  return (
    <div className="if-saved" role="status" aria-live="polite" aria-describedby={describedBy}>
      {error ? <ErrorMessage error={error} action="preview this mapping" />
        : !p ? <span className="muted">Working out who this changes…</span>
        : p.changed === 0 ? <span className="muted">Saving changes nobody's roles.</span>
        : (
          <>
            <strong>If you save: {p.changed === 1 ? '1 person' : `${p.changed} people`} of {plural(p.members, 'member')} {p.changed === 1 ? 'gets' : 'get'} new roles.</strong>
            <ul>
              {p.changes.map((c) => <li key={c.user.id}>{nameOf(c.user)}: {rolesText(c.before)} → <strong>{rolesText(c.after)}</strong></li>)}
              {p.changed > p.changes.length && <li className="muted">and {p.changed - p.changes.length} more</li>}
            </ul>
          </>
        )}
      {p?.warnings.map((w) => <p key={w} className="alert warn">{w}</p>)}
    </div>
  );
}

/** The value once it has stopped changing for `ms` (a preview per pause in typing, not per keystroke). */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Who gets what: the members of the connection's groups with the roles they hold now (mappings apply at once). */
function WhoGetsWhat({ data }: { data: ResultOf<typeof PreviewQuery> }) {
  const people = useMemo(() => {
    const byId = new Map<string, { name: string; roles: readonly string[]; groups: string[] }>();
    for (const g of data.connection?.groups ?? []) {
      for (const { node } of g.members.edges) {
        const person = byId.get(node.id) ?? { name: String(node.displayName ?? node.email ?? node.userName), roles: node.roles, groups: [] as string[] };
        person.groups.push(g.displayName);
        byId.set(node.id, person);
      }
    }
    return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
  }, [data]);
  if (!people.length) return null;
  return (
    <>
      <h2>Who gets what</h2>
      <p className="muted">Each person's roles now, from the mappings saved above (the first 20 members of the first 25 groups).</p>
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col">Person</th><th scope="col">Groups</th><th scope="col">Roles</th></tr></thead>
          <tbody>
            {people.map((p) => (
              <tr key={p.name}>
                <td>{p.name}</td>
                <td>{p.groups.join(', ')}</td>
                <td>{p.roles.length ? p.roles.map((r) => <Badge key={r} tone="ok">{r}</Badge>) : <span className="muted">default role</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function SettingsStep({ idpName, connectionId, onBack, onNext }: { idpName: string; connectionId: string; onBack: () => void; onNext: () => void }) {
  const { data, error } = useLiveConnection(connectionId);
  const [testMode, setTestMode] = useMutation(SetTestMode);
  const [paused, pause] = useMutation(PauseConnection);
  const [resumed, resume] = useMutation(ResumeConnection);
  // What the last change answered, shown at once (the poll catches up within two seconds).
  const [changed, setChanged] = useState<{ testMode?: boolean; status?: string }>({});
  const polled = data?.connection;
  const connection = polled && { ...polled, ...changed };
  useEffect(() => setChanged({}), [polled]);
  const failure = testMode.error ?? paused.error ?? resumed.error;
  return (
    <Step title="Test mode, pause and resume" onBack={onBack} next={<button type="button" className="primary" onClick={onNext}>Finish</button>}>
      {error && <ErrorMessage error={error} action="load the connection" />}
      {failure && <ErrorMessage error={failure} action="change the connection" />}
      {connection && (
        <>
          <div className="setting">
            <label className="switch">
              <input type="checkbox" checked={connection.testMode} onChange={async (e) => { const on = e.target.checked; setChanged((c) => ({ ...c, testMode: on })); const r = await setTestMode({ id: connectionId, testMode: on }); if (r.error) setChanged({}); }} disabled={testMode.fetching} />
              <span><strong>Test mode</strong> — {idpName}'s changes are recorded but not applied: nobody gains or loses access. Turn it off when the groups look right.</span>
            </label>
          </div>
          <div className="setting">
            <p>Status: <Badge tone={connection.status === 'ACTIVE' ? 'ok' : connection.status === 'PAUSED' ? 'warn' : 'danger'}>{connection.status.replaceAll('_', ' ').toLowerCase()}</Badge></p>
            {connection.status === 'PAUSED' ? (
              <button type="button" onClick={async () => { const r = await resume({ id: connectionId }); if (r.data) setChanged((c) => ({ ...c, status: r.data!.resumeConnection.connection.status })); }} disabled={resumed.fetching}>Resume</button>
            ) : (
              <button type="button" onClick={async () => { const r = await pause({ id: connectionId }); if (r.data) setChanged((c) => ({ ...c, status: r.data!.pauseConnection.connection.status })); }} disabled={paused.fetching}>Pause</button>
            )}
            <p className="muted">While paused, {idpName}'s requests are refused and it retries them later; nothing is lost.</p>
          </div>
          <RefusalNotice idpName={idpName} log={connection.requestLog} rejectedCredentialsAt={connection.health.lastRejectedCredentialsAt} />
          <Tokens idpName={idpName} connectionId={connectionId} tokens={connection.scimTokens} />
        </>
      )}
    </Step>
  );
}

type TokenRow = { id: string; name: string; lastFour: string | null; createdAt: string; lastUsedAt: string | null; expiresAt: string | null; revokedAt: string | null };

/** Rotation without downtime: a second token, pasted in the IdP, then the old one revoked. */
function Tokens({ idpName, connectionId, tokens }: { idpName: string; connectionId: string; tokens: readonly TokenRow[] }) {
  const [created, create] = useMutation(CreateScimToken);
  const [revoked, revoke] = useMutation(RevokeScimToken);
  const active = tokens.filter((t) => !t.revokedAt);
  return (
    <div className="setting">
      <h2>Tokens</h2>
      <p className="muted">To replace the token: create a new one, paste it in {idpName}, then revoke the old one. Both work in between.</p>
      <ul className="tokens">
        {active.map((t) => (
          <li key={t.id}>
            <span><strong>{t.name}</strong> {t.lastFour && <code>…{t.lastFour}</code>} · last used <When at={t.lastUsedAt} empty="never" /></span>
            {active.length > 1 && <button type="button" onClick={() => revoke({ tokenId: t.id })} disabled={revoked.fetching}>Revoke {t.name}</button>}
          </li>
        ))}
      </ul>
      {created.data?.createScimToken ? (
        <>
          <CopyValue value={created.data.createScimToken.secret} label="New SCIM token" />
          <p className="alert warn"><strong>You will not see this token again.</strong> Paste it in {idpName}, then revoke the old one.</p>
        </>
      ) : active.length < 2 && <button type="button" onClick={() => create({ connectionId, name: `${idpName} ${new Date().toISOString().slice(0, 10)}` })} disabled={created.fetching}>Create a new token</button>}
      {(created.error ?? revoked.error) && <ErrorMessage error={(created.error ?? revoked.error)!} action="change the tokens" />}
    </div>
  );
}

export function DoneStep({ idpName, organization, connectionId, expiresAt, onBack }: { idpName: string; organization: PortalOrganization; connectionId: string; expiresAt: string | null; onBack: () => void }) {
  const { data } = useLiveConnection(connectionId);
  const [ended, endSession] = useMutation(EndSession);
  const c = data?.connection;
  return (
    <Step title="You're all set" onBack={ended.data ? undefined : onBack}>
      <p className="lead">{idpName} now keeps {organization.name}'s people and groups up to date: joiners get access, leavers lose it, without anyone filing a ticket.</p>
      {c && <p>{plural(c.counts.users, 'user')} and {plural(c.counts.groups, 'group')} so far; test mode is <strong>{c.testMode ? 'on' : 'off'}</strong>; the connection is <strong>{c.status.replaceAll('_', ' ').toLowerCase()}</strong>.</p>}
      <p className="muted">This page stays open to you in this browser until <When at={expiresAt} empty="the link expires" />. To change anything later, ask your vendor for a new setup link.</p>
      {ended.data ? <p role="status"><strong>Signed out.</strong> You can close this page.</p> : <button type="button" onClick={() => endSession({})}>Sign out and close</button>}
    </Step>
  );
}
