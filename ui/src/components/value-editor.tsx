// The value textarea with Cancel and Save, inside the caller's <form> (whose
// submit asks for confirmation and writes): used to edit a key and to create one.

export function ValueEditor({ label, value, onInput, onCancel }: { label: string; value: string; onInput: (v: string) => void; onCancel: () => void }) {
  return (
    <>
      <label>
        {label}
        <textarea data-testid="key-value-input" rows={8} value={value} onInput={(e) => onInput(e.currentTarget.value)} />
      </label>
      <div class="buttons">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" data-testid="key-save">
          Save
        </button>
      </div>
    </>
  );
}
