// Where v2 nodes live in the v3 keyspace: etcd's v2v3 emulation layout
// (etcdserver/api/v2v3/store.go), so data written by etcd with
// --experimental-enable-v2v3=<prefix> reads the same here:
//
//   <prefix>/<depth, 3 digits>/k/<store path>      a file (its value is the file's)
//   <prefix>/<depth, 3 digits>/k/<store path>/     a directory's marker (empty value)
//   <prefix>/act                                   the action of the last v2 write
//
// The store path is the node path under etcd's "/1" (StoreKeysPrefix: user keys
// are /1/..., as in etcd's v2 store) and the depth counts its slashes, so a
// directory's children are one prefix range: `<prefix>/<depth+1>/k/<dir>/`.
// Every v2 write puts the action key in the same transaction; that is how a watch
// tells "create" from "set" (and a lease's deletion, which puts nothing, is "expire").

/** The prefix etcd's own v2v3 tests use (tests/e2e/v2v3_test.go); --experimental-enable-v2v3 picks another. */
export const DEFAULT_V2_PREFIX = 'v2/';

const STORE_KEYS_PREFIX = '/1';

export class V2Layout {
  readonly actionKey: string;
  /** Every key of the layout: [prefix/, prefix0). */
  readonly start: string;
  readonly end: string;

  constructor(readonly prefix: string = DEFAULT_V2_PREFIX) {
    this.actionKey = `${prefix}/act`;
    this.start = `${prefix}/`;
    this.end = `${prefix}0`; // '0' is the byte after '/'
  }

  private at(storePath: string, extraDepth: number): string {
    const depth = storePath.split('/').length - 1 + extraDepth;
    return `${this.prefix}/${String(depth).padStart(3, '0')}/k/${storePath}`;
  }

  /** The key of a file at node path p ("/a/b"). */
  fileKey(p: string): string {
    return this.at(storePath(p), 0);
  }

  /** The marker key of a directory at node path p. */
  dirKey(p: string): string {
    return this.at(storePath(p), 0) + '/';
  }

  /** The prefix of a directory's direct children (files and markers). */
  childPrefix(p: string): string {
    return this.at(storePath(p), 1) + '/';
  }

  /** The prefix of every node at `depth` levels below directory p (1: its children). */
  depthPrefix(p: string, depth: number): string {
    return this.at(storePath(p), depth) + '/';
  }

  /** The node behind a v3 key of this layout; undefined for the action key and foreign keys. */
  nodeOf(key: string): { path: string; dir: boolean } | undefined {
    if (!key.startsWith(this.start)) return undefined;
    const rest = key.slice(this.start.length); // "002/k//1/a"
    const m = /^\d{3}\/k\/(.*)$/s.exec(rest);
    if (!m) return undefined;
    let sp = m[1]!;
    const dir = sp.endsWith('/');
    if (dir) sp = sp.slice(0, -1);
    if (sp !== STORE_KEYS_PREFIX && !sp.startsWith(STORE_KEYS_PREFIX + '/')) return undefined;
    return { path: sp.slice(STORE_KEYS_PREFIX.length) || '/', dir };
  }
}

function storePath(p: string): string {
  return p === '/' ? STORE_KEYS_PREFIX : STORE_KEYS_PREFIX + p;
}

/** The ancestors of p, outermost first, without the root and without p: "/a/b/c" → ["/a", "/a/b"]. */
export function ancestors(p: string): string[] {
  const parts = p.split('/').filter((x) => x !== '');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push('/' + parts.slice(0, i).join('/'));
  return out;
}

/** etcd hides nodes whose name starts with "_" from listings (not from a direct get). */
export function isHidden(p: string): boolean {
  return p.slice(p.lastIndexOf('/') + 1).startsWith('_');
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
