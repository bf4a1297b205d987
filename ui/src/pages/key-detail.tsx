// The selected key: its value (pretty-printed when JSON or YAML), revisions,
// version, lease, and its earlier values back to the compacted revision, each
// shown as a diff against the value that replaced it. Edit and delete go
// through the confirmation dialog.

import { useEffect, useState } from 'preact/hooks';
import { decodeText, encodeText, int } from '../api/codec.js';
import { errorText, isPermissionDenied, needsLogin } from '../api/client.js';
import type { KeyValue, RangeResponse } from '../api/types.js';
import { ValueEditor } from '../components/value-editor.js';
import { useShell } from '../context.js';
import { diffLines } from '../lib/diff.js';
import { prettyJson, prettyValue, type Pretty } from '../lib/pretty.js';

/** Earlier values fetched per key (one Range each). */
const HISTORY_MAX = 10;

interface History {
  items: KeyValue[];
  /** Why the history stops where it does. */
  end: string;
}

export function KeyDetail({ keyName, onChanged }: { keyName: string; onChanged: (deleted: boolean) => void }) {
  const { api, ask, showError } = useShell();
  const [kv, setKv] = useState<KeyValue | null | undefined>();
  const [error, setError] = useState<string>();
  const [pretty, setPretty] = useState<Pretty>();
  const [history, setHistory] = useState<History>();
  const [editing, setEditing] = useState<string>();
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    setKv(undefined);
    setError(undefined);
    setHistory(undefined);
    setEditing(undefined);
    setPretty(undefined);
    void (async () => {
      try {
        const res = await api.post<RangeResponse>('/v3/kv/range', { key: encodeText(keyName) });
        const found = res.kvs?.[0] ?? null;
        if (!live) return;
        setKv(found);
        if (!found) return;
        const text = decodeText(found.value);
        void prettyValue(text).then((p) => live && setPretty(p));
        const h = await loadHistory(found);
        if (live) setHistory(h);
      } catch (e) {
        if (!live || needsLogin(e)) return;
        setError(isPermissionDenied(e) ? `Permission denied: you may not read "${keyName}".` : errorText(e));
      }
    })();
    return () => {
      live = false;
    };
  }, [keyName, reload]);

  const loadHistory = async (latest: KeyValue): Promise<History> => {
    const items: KeyValue[] = [];
    let cur = latest;
    while (items.length < HISTORY_MAX) {
      if (int(cur.version) <= 1) return { items, end: `created at revision ${int(latest.create_revision)}` };
      try {
        const res = await api.post<RangeResponse>('/v3/kv/range', { key: encodeText(keyName), revision: String(int(cur.mod_revision) - 1) });
        const prev = res.kvs?.[0];
        if (!prev) return { items, end: 'no earlier value' };
        items.push(prev);
        cur = prev;
      } catch (e) {
        if (errorText(e).includes('compacted')) return { items, end: 'earlier values are compacted' };
        return { items, end: errorText(e) };
      }
    }
    return { items, end: `only the last ${HISTORY_MAX} earlier values are shown` };
  };

  const save = async (): Promise<void> => {
    if (editing === undefined || !kv) return;
    if (!(await ask(`Save a new value for "${keyName}"?`, editing))) return;
    try {
      // Keep the key's lease: a plain Put would detach it.
      await api.post('/v3/kv/put', { key: encodeText(keyName), value: encodeText(editing), ...(int(kv.lease) ? { ignore_lease: true } : {}) });
      showError(undefined);
      setReload((r) => r + 1);
      onChanged(false);
    } catch (e) {
      showError(`put ${keyName}: ${errorText(e)}`);
    }
  };
  const remove = async (): Promise<void> => {
    if (!(await ask(`Delete the key "${keyName}"?`))) return;
    try {
      await api.post('/v3/kv/deleterange', { key: encodeText(keyName) });
      showError(undefined);
      onChanged(true);
    } catch (e) {
      showError(`delete ${keyName}: ${errorText(e)}`);
    }
  };

  if (error) return <div class="card error" role="alert" data-testid="key-detail-error">{error}</div>;
  if (kv === undefined) return <p class="muted">Loading {keyName}…</p>;
  if (kv === null) return <p class="muted">The key "{keyName}" does not exist (any more).</p>;
  const raw = decodeText(kv.value);
  const lease = int(kv.lease);
  return (
    <div class="card detail" data-testid="key-detail">
      <h2 data-testid="key-name" class="key-name">
        {keyName}
      </h2>
      <dl class="facts">
        <dt>Created at revision</dt>
        <dd data-testid="key-create-revision">{int(kv.create_revision)}</dd>
        <dt>Modified at revision</dt>
        <dd data-testid="key-mod-revision">{int(kv.mod_revision)}</dd>
        <dt>Version</dt>
        <dd data-testid="key-version">{int(kv.version)}</dd>
        <dt>Lease</dt>
        <dd data-testid="key-lease">{lease ? `${kv.lease} (${BigInt(kv.lease!).toString(16)})` : 'none'}</dd>
      </dl>
      {editing === undefined ? (
        <>
          <h3>
            Value {pretty && pretty.format !== 'text' && <small>({pretty.format}, pretty-printed)</small>}
          </h3>
          <pre class="value" data-testid="key-value">
            {pretty?.text ?? raw}
          </pre>
          <div class="buttons">
            <button type="button" data-testid="key-edit" onClick={() => setEditing(raw)}>
              Edit
            </button>
            <button type="button" class="danger" data-testid="key-delete" onClick={() => void remove()}>
              Delete
            </button>
          </div>
        </>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <ValueEditor label="New value" value={editing} onInput={setEditing} onCancel={() => setEditing(undefined)} />
        </form>
      )}
      <h3>History</h3>
      {history === undefined ? (
        <p class="muted">Loading…</p>
      ) : (
        <ol class="history" data-testid="key-history">
          {history.items.map((item, i) => {
            const newer = i === 0 ? kv : history.items[i - 1]!;
            return <HistoryItem key={item.mod_revision} item={item} newer={newer} />;
          })}
          <li class="muted">{history.end}</li>
        </ol>
      )}
    </div>
  );
}

function HistoryItem({ item, newer }: { item: KeyValue; newer: KeyValue }) {
  // JSON on both sides is compared as pretty-printed, so a change shows as the lines it touched.
  const [before, after] = [decodeText(item.value), decodeText(newer.value)];
  const [pb, pa] = [prettyJson(before), prettyJson(after)];
  const lines = pb && pa ? diffLines(pb.text, pa.text) : diffLines(before, after);
  return (
    <li data-testid="key-history-item" data-revision={int(item.mod_revision)}>
      <div>
        revision {int(item.mod_revision)} (version {int(item.version)}) → revision {int(newer.mod_revision)}
      </div>
      <pre class="diff">
        {lines.map((l, i) => (
          <div key={i} class={l.op}>
            {l.op === 'add' ? '+ ' : l.op === 'del' ? '- ' : '  '}
            {l.text}
          </div>
        ))}
      </pre>
    </li>
  );
}
