// A modal dialog (the native <dialog>: focus is trapped and Escape closes it, by the browser rather
// than by hand) and a confirm dialog built on it, for the console's irreversible actions.
import { useEffect, useId, useRef, type ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { ErrorMessage } from '../shared/components.tsx';

export function Dialog({ title, onClose, children }: { title: string; onClose(): void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onClose={onClose}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/** "Are you sure?" with what happens, the action in words on the button, and the refusal if any. */
export function ConfirmDialog({ title, children, confirmLabel, busy, error, action, onConfirm, onClose }: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busy: boolean;
  error?: CombinedError;
  /** For the error: "Could not <action>." */
  action: string;
  onConfirm(): void;
  onClose(): void;
}) {
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      {error && <ErrorMessage error={error} action={action} />}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" className="danger-solid" disabled={busy} onClick={onConfirm}>{busy ? 'Working…' : confirmLabel}</button>
      </div>
    </Dialog>
  );
}
