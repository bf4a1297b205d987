// The key tree of the Keys page, etcdkeeper-style: a prefix's children are the
// keys and the "directories" (up to and including the next "/") right below it.
// One page is one keys-only Range with a limit; the next page starts after the
// last child, skipping the whole rest of a directory, so a directory of a
// million keys costs one key per page, and the keyspace is never loaded whole.

import { keyAfter, prefixEnd, utf8Bytes } from '../api/codec.js';

export type TreeChild =
  | { kind: 'prefix'; key: string }
  | { kind: 'key'; key: string };

export interface TreePage {
  children: TreeChild[];
  /** Where the next page's Range starts (UTF-8 bytes); undefined: this was the last page. */
  next: Uint8Array | undefined;
}

/**
 * Groups one page of keys (sorted, all starting with `prefix`) into the
 * children of `prefix`. `more`: the Range had keys beyond its limit.
 */
export function groupPage(prefix: string, keys: readonly string[], more: boolean): TreePage {
  const children: TreeChild[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    const child: TreeChild = slash < 0 ? { kind: 'key', key } : { kind: 'prefix', key: prefix + rest.slice(0, slash + 1) };
    const id = child.kind + ':' + child.key;
    if (seen.has(id)) continue;
    seen.add(id);
    children.push(child);
  }
  const last = children[children.length - 1];
  if (!more || !last) return { children, next: undefined };
  const lastBytes = utf8Bytes(last.key);
  return { children, next: last.kind === 'prefix' ? prefixEnd(lastBytes) : keyAfter(lastBytes) };
}

/** Merges a further page into what is shown, keeping order and dropping repeats (a prefix split across pages). */
export function mergeChildren(shown: readonly TreeChild[], page: readonly TreeChild[]): TreeChild[] {
  const ids = new Set(shown.map((c) => c.kind + ':' + c.key));
  return [...shown, ...page.filter((c) => !ids.has(c.kind + ':' + c.key))];
}

/** The label of a child under its parent prefix (the part after the prefix). */
export function childLabel(parent: string, child: TreeChild): string {
  const label = child.key.slice(parent.length);
  return label === '' ? '(this key)' : label;
}
