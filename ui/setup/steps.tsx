// The portal's steps, in the order an IT admin expects: choose the identity provider → its
// instructions with the SCIM base URL and a token → the first request → map groups to roles →
// test mode and pause → done. Each step's heading takes the focus when it opens.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { CopyValue, ErrorMessage } from '../shared/components.tsx';
import { IDENTITY_PROVIDERS, identityProvider, type IdentityProvider } from './idps.ts';
import { Markdown, splitInstructions } from './markdown.tsx';
import { ConnectionStatusQuery, CreateConnection, CreateScimToken } from './operations.ts';
import { DoneStep, MappingStep, SettingsStep, WaitingStep } from './later-steps.tsx';

export const STEPS = ['Identity provider', 'Instructions', 'First sync', 'Groups and roles', 'Test mode', 'Done'] as const;

export interface PortalOrganization { id: string; name: string }

export function SetupSteps({ organization, connectionId: initialConnection, expiresAt }: { organization: PortalOrganization; connectionId: string | null; expiresAt: string | null }) {
  const [step, setStep] = useState(0);
  const [idp, setIdp] = useState<IdentityProvider | null>(null);
  const [connectionId, setConnectionId] = useState(initialConnection);
  const [token, setToken] = useState<string | null>(null);
  const next = () => setStep((s) => Math.min(s + 1, STEPS.length - 1));
  const back = () => setStep((s) => Math.max(s - 1, 0));
  const idpName = idp?.name.replace('Microsoft ', '') ?? 'your identity provider';
  return (
    <>
      <header className="portal-header">
        <p className="muted">Directory setup for <strong>{organization.name}</strong></p>
        <Stepper step={step} />
      </header>
      {step === 0 && <ChooseStep chosen={idp} onChoose={(p) => { setIdp(p); next(); }} />}
      {step === 1 && idp && (
        <InstructionsStep
          idp={idp} organization={organization} connectionId={connectionId} token={token}
          onConnection={setConnectionId} onToken={setToken} onBack={back} onNext={next}
        />
      )}
      {step === 2 && connectionId && <WaitingStep idpName={idpName} connectionId={connectionId} onBack={back} onNext={next} />}
      {step === 3 && connectionId && <MappingStep connectionId={connectionId} onBack={back} onNext={next} />}
      {step === 4 && connectionId && <SettingsStep idpName={idpName} connectionId={connectionId} onBack={back} onNext={next} />}
      {step === 5 && connectionId && <DoneStep idpName={idpName} organization={organization} connectionId={connectionId} expiresAt={expiresAt} onBack={back} />}
    </>
  );
}

function Stepper({ step }: { step: number }) {
  return (
    <ol className="stepper" aria-label="Setup steps">
      {STEPS.map((name, i) => (
        <li key={name} className={i < step ? 'done' : i === step ? 'current' : undefined} aria-current={i === step ? 'step' : undefined}>
          <span className="stepper-number" aria-hidden="true">{i < step ? '✓' : i + 1}</span>
          <span className="stepper-name">{name}</span>
        </li>
      ))}
    </ol>
  );
}

/** A step: its heading (focused when it opens, so keyboard and screen-reader users start there) and its buttons. */
export function Step({ title, intro, children, onBack, next }: { title: string; intro?: ReactNode; children: ReactNode; onBack?: () => void; next?: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="panel step" aria-labelledby="step-heading">
      <h1 id="step-heading" ref={heading} tabIndex={-1}>{title}</h1>
      {intro && <p className="lead">{intro}</p>}
      {children}
      {(onBack || next) && (
        <div className="step-actions">
          {onBack && <button type="button" onClick={onBack}>Back</button>}
          <span className="spacer" />
          {next}
        </div>
      )}
    </section>
  );
}

function ChooseStep({ chosen, onChoose }: { chosen: IdentityProvider | null; onChoose: (idp: IdentityProvider) => void }) {
  return (
    <Step title="Which identity provider do you use?" intro="Choose where your company's people and groups are managed. The next step shows that provider's own instructions.">
      <ul className="idp-list">
        {IDENTITY_PROVIDERS.map((p) => (
          <li key={p.id}>
            <button type="button" className={`idp${chosen?.id === p.id ? ' chosen' : ''}`} onClick={() => onChoose(p)}>
              <span className="idp-name">{p.name}</span>
              <span className="idp-hint">{p.hint}</span>
            </button>
          </li>
        ))}
      </ul>
    </Step>
  );
}

interface InstructionsProps {
  idp: IdentityProvider;
  organization: PortalOrganization;
  connectionId: string | null;
  token: string | null;
  onConnection: (id: string) => void;
  onToken: (secret: string) => void;
  onBack: () => void;
  onNext: () => void;
}

function InstructionsStep({ idp, organization, connectionId, token, onConnection, onToken, onBack, onNext }: InstructionsProps) {
  const [created, createConnection] = useMutation(CreateConnection);
  const [issued, createToken] = useMutation(CreateScimToken);
  const [{ data }] = useQuery({ query: ConnectionStatusQuery, variables: { id: connectionId ?? '' }, pause: !connectionId });
  const asked = useRef(false);
  // The connection and a token are made when the instructions open: the admin needs both to follow them.
  useEffect(() => {
    if (asked.current || token) return;
    asked.current = true;
    if (!connectionId) {
      void createConnection({ organizationId: organization.id, name: `${idp.name} (SCIM)` }).then((r) => {
        const payload = r.data?.createDirectoryConnection;
        if (payload) { onConnection(payload.connection.id); if (payload.secret) onToken(payload.secret); }
      });
    } else {
      void createToken({ connectionId, name: `${idp.name} ${new Date().toISOString().slice(0, 10)}` }).then((r) => {
        if (r.data?.createScimToken) onToken(r.data.createScimToken.secret);
      });
    }
  }, [connectionId, token, idp, organization.id, createConnection, createToken, onConnection, onToken]);
  const baseUrl = created.data?.createDirectoryConnection.connection.scimBaseUrl ?? data?.connection?.scimBaseUrl ?? null;
  const { steps, reference } = splitInstructions(idp.markdown);
  const error = created.error ?? issued.error;
  return (
    <Step
      title={`Connect ${idp.name}`}
      intro={`Follow these steps in ${idp.name}'s admin console. Paste the two values on this page where the steps ask for them.`}
      onBack={onBack}
      next={<button type="button" className="primary" onClick={onNext} disabled={!connectionId}>I saved the settings in {idp.name.replace('Microsoft ', '')}</button>}
    >
      <div className="instructions">
        <aside className="credentials" aria-label="Values to paste">
          <h2>Values to paste</h2>
          {error && <ErrorMessage error={error} action="prepare the connection" />}
          <h3>SCIM base URL</h3>
          {baseUrl ? <CopyValue value={baseUrl} label="SCIM base URL" /> : <p className="muted" role="status">Preparing…</p>}
          <h3>Token</h3>
          {token ? (
            <>
              <CopyValue value={token} label="SCIM token" />
              <p className="alert warn"><strong>You will not see this token again.</strong> Paste it in {idp.name} now. If you lose it, come back with a new setup link and create another.</p>
            </>
          ) : !error && <p className="muted" role="status">Creating a token…</p>}
        </aside>
        <div className="idp-steps">
          <h2>In {idp.name}</h2>
          <Markdown source={steps} />
          {reference && (
            <details>
              <summary>What {idp.name} sends, and what happens</summary>
              <Markdown source={reference} />
            </details>
          )}
        </div>
      </div>
    </Step>
  );
}

export const providerName = (id: string) => identityProvider(id).name;
