// #/keys: the key tree on the left (from the filter's prefix, or the root),
// the selected key on the right, and a form for a new key.

import { useState } from 'preact/hooks';
import { encodeText } from '../api/codec.js';
import { errorText } from '../api/client.js';
import { ValueEditor } from '../components/value-editor.js';
import { useShell } from '../context.js';
import { KeyDetail } from './key-detail.js';
import { KeyTreeList } from './key-tree.js';

export function KeysPage() {
  const { api, ask, showError } = useShell();
  const [filter, setFilter] = useState('');
  const [root, setRoot] = useState('');
  const [selected, setSelected] = useState<string>();
  const [creating, setCreating] = useState<{ name: string; value: string }>();
  // Bumped to reload the tree (refresh, after a write).
  const [treeGen, setTreeGen] = useState(0);

  const create = async (): Promise<void> => {
    if (!creating || creating.name === '') return;
    if (!(await ask(`Create the key "${creating.name}"?`, creating.value))) return;
    try {
      await api.post('/v3/kv/put', { key: encodeText(creating.name), value: encodeText(creating.value) });
      showError(undefined);
      setSelected(creating.name);
      setCreating(undefined);
      setTreeGen((g) => g + 1);
    } catch (e) {
      showError(`put ${creating.name}: ${errorText(e)}`);
    }
  };

  return (
    <div class="keys">
      <section class="tree-pane" aria-label="Key tree">
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            setRoot(filter);
            setTreeGen((g) => g + 1);
          }}
        >
          <label class="grow">
            <span class="sr-only">Prefix</span>
            <input data-testid="key-filter" placeholder="prefix, e.g. /app/" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
          </label>
          <button type="submit" data-testid="key-filter-go">
            Go
          </button>
          <button type="button" data-testid="key-refresh" onClick={() => setTreeGen((g) => g + 1)}>
            Refresh
          </button>
          <button type="button" data-testid="key-new" onClick={() => setCreating({ name: root, value: '' })}>
            New key
          </button>
        </form>
        <p class="muted">{root === '' ? 'All keys' : `Keys under "${root}"`}</p>
        <div class="key-tree" data-testid="key-tree">
          <KeyTreeList key={`${root}:${treeGen}`} prefix={root} selected={selected} onSelect={(k) => (setSelected(k), setCreating(undefined))} />
        </div>
      </section>
      <section class="detail-pane" aria-label="Selected key">
        {creating ? (
          <form
            class="card"
            onSubmit={(e) => {
              e.preventDefault();
              void create();
            }}
          >
            <h2>New key</h2>
            <label>
              Key
              <input data-testid="key-new-name" value={creating.name} required onInput={(e) => setCreating({ ...creating, name: e.currentTarget.value })} />
            </label>
            <ValueEditor label="Value" value={creating.value} onInput={(value) => setCreating({ ...creating, value })} onCancel={() => setCreating(undefined)} />
          </form>
        ) : selected !== undefined ? (
          <KeyDetail
            key={selected}
            keyName={selected}
            onChanged={(deleted) => {
              // An edit leaves the tree as it is (expanded prefixes stay open).
              if (!deleted) return;
              setSelected(undefined);
              setTreeGen((g) => g + 1);
            }}
          />
        ) : (
          <p class="muted">Select a key in the tree.</p>
        )}
      </section>
    </div>
  );
}
