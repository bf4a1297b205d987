// The key tree: a prefix's children one page at a time (lib/tree.ts), each
// prefix expandable in place, each key selectable. A prefix the user may not
// read says so where its children would be.

import { useEffect, useState } from 'preact/hooks';
import { bytesToBase64, decodeText, prefixRange } from '../api/codec.js';
import { errorText, isPermissionDenied, needsLogin } from '../api/client.js';
import type { RangeResponse } from '../api/types.js';
import { useShell } from '../context.js';
import { childLabel, groupPage, mergeChildren, type TreeChild } from '../lib/tree.js';

/** Keys read per page: enough to fill a screen, small whatever the keyspace holds. */
export const TREE_PAGE = 100;
/** Bound on the Range calls one page of children may take (keys of few, big directories). */
const MAX_READS_PER_LOAD = 20;

interface Props {
  prefix: string;
  selected: string | undefined;
  onSelect: (key: string) => void;
}

export function KeyTreeList({ prefix, selected, onSelect }: Props) {
  const { api } = useShell();
  const [children, setChildren] = useState<TreeChild[]>([]);
  const [next, setNext] = useState<Uint8Array | undefined>();
  const [state, setState] = useState<'loading' | 'done' | { error: string }>('loading');

  const load = async (from: Uint8Array | undefined, shown: TreeChild[]): Promise<void> => {
    setState('loading');
    const range = prefixRange(prefix);
    let all = shown;
    let start = from;
    try {
      // A page of keys can hold a single directory's keys: keep reading (each read
      // starts past the last directory) until a screenful of children is there.
      for (let reads = 0; reads < MAX_READS_PER_LOAD; reads++) {
        const res = await api.post<RangeResponse>('/v3/kv/range', {
          key: start ? bytesToBase64(start) : range.key,
          range_end: range.range_end,
          keys_only: true,
          limit: TREE_PAGE,
        });
        const page = groupPage(prefix, (res.kvs ?? []).map((kv) => decodeText(kv.key)), res.more === true);
        all = mergeChildren(all, page.children);
        start = page.next;
        if (!start || all.length - shown.length >= TREE_PAGE) break;
      }
      setChildren(all);
      setNext(start);
      setState('done');
    } catch (e) {
      if (needsLogin(e)) return;
      setState({
        error: isPermissionDenied(e)
          ? `Permission denied: you may not read the keys under "${prefix}". Enter a prefix you may read in the filter above.`
          : errorText(e),
      });
    }
  };
  useEffect(() => {
    void load(undefined, []);
  }, [prefix]);

  return (
    <>
      <ul class="tree" role="group">
        {children.map((c) => (
          <TreeItem key={c.kind + c.key} parent={prefix} child={c} selected={selected} onSelect={onSelect} />
        ))}
        {state === 'done' && children.length === 0 && <li class="empty">no keys</li>}
        {typeof state === 'object' && (
          <li class="error" role="alert" data-testid="key-tree-error">
            {state.error}
          </li>
        )}
      </ul>
      {state === 'loading' && <p class="muted">Loading…</p>}
      {next && state === 'done' && (
        <button type="button" class="more" data-testid="key-tree-more" onClick={() => void load(next, children)}>
          More under {prefix === '' ? 'the root' : `"${prefix}"`}…
        </button>
      )}
    </>
  );
}

function TreeItem({ parent, child, selected, onSelect }: { parent: string; child: TreeChild; selected: string | undefined; onSelect: (key: string) => void }) {
  const [open, setOpen] = useState(false);
  const label = childLabel(parent, child);
  if (child.kind === 'key') {
    return (
      <li>
        <button
          type="button"
          class={'node key' + (selected === child.key ? ' selected' : '')}
          data-testid="tree-node"
          data-key={child.key}
          data-kind="key"
          aria-pressed={selected === child.key}
          onClick={() => onSelect(child.key)}
        >
          {label}
        </button>
      </li>
    );
  }
  return (
    <li>
      <button type="button" class="node prefix" data-testid="tree-node" data-key={child.key} data-kind="prefix" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span aria-hidden="true">{open ? '▾' : '▸'}</span> {label}
      </button>
      {open && <KeyTreeList prefix={child.key} selected={selected} onSelect={onSelect} />}
    </li>
  );
}
