// The one confirmation dialog every destructive or writing action goes
// through: a modal <dialog> (focus moves to Cancel, so a stray Enter changes
// nothing; Escape cancels).

import { useEffect, useRef } from 'preact/hooks';

export interface PendingQuestion {
  question: string;
  detail: string | undefined;
  answer: (ok: boolean) => void;
}

export function ConfirmDialog({ pending }: { pending: PendingQuestion | undefined }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (pending && !dialog.open) dialog.showModal();
    if (!pending && dialog.open) dialog.close();
  }, [pending]);
  return (
    <dialog
      ref={ref}
      data-testid={pending ? 'confirm-dialog' : undefined}
      aria-labelledby="confirm-question"
      onCancel={(e) => {
        e.preventDefault();
        pending?.answer(false);
      }}
    >
      {pending && (
        <form method="dialog" onSubmit={(e) => e.preventDefault()}>
          <p id="confirm-question" class="confirm-question">{pending.question}</p>
          {pending.detail && <pre class="confirm-detail">{pending.detail}</pre>}
          <div class="buttons">
            <button type="button" data-testid="confirm-cancel" autofocus onClick={() => pending.answer(false)}>
              Cancel
            </button>
            <button type="button" class="danger" data-testid="confirm-ok" onClick={() => pending.answer(true)}>
              OK
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
