// The membership an etcd 3.4 Raft snapshot carries: its data is the v2 store as
// JSON (etcd's v2store node: Path, Value, Children), where each member is
//   /0/members/<id hex>/raftAttributes  {"peerURLs":[...],"isLearner":true?}
//   /0/members/<id hex>/attributes      {"name":"...","clientURLs":[...]}
// and each removed member is a node /0/removed_members/<id hex>.

export interface V2Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

interface V2Node {
  Path?: string;
  Value?: string;
  Children?: Record<string, V2Node> | null;
}

const MEMBER_ATTR = /^\/0\/members\/([0-9a-f]+)\/(raftAttributes|attributes)$/;
const REMOVED = /^\/0\/removed_members\/([0-9a-f]+)$/;

function* walk(n: V2Node | undefined): Generator<V2Node> {
  if (!n) return;
  yield n;
  for (const c of Object.values(n.Children ?? {})) yield* walk(c);
}

export function membersFromV2Store(json: Uint8Array): { members: V2Member[]; removed: bigint[] } {
  const store = JSON.parse(Buffer.from(json).toString('utf8')) as { Root?: V2Node };
  const members = new Map<bigint, V2Member>();
  const removed: bigint[] = [];
  const member = (id: bigint): V2Member => {
    let m = members.get(id);
    if (!m) members.set(id, (m = { id, name: '', peerURLs: [], clientURLs: [], isLearner: false }));
    return m;
  };
  for (const n of walk(store.Root)) {
    const path = n.Path ?? '';
    const attr = MEMBER_ATTR.exec(path);
    if (attr) {
      const m = member(BigInt('0x' + attr[1]));
      const v = JSON.parse(n.Value ?? '{}') as { peerURLs?: string[]; isLearner?: boolean; name?: string; clientURLs?: string[] };
      if (attr[2] === 'raftAttributes') {
        m.peerURLs = v.peerURLs ?? [];
        m.isLearner = v.isLearner === true;
      } else {
        m.name = v.name ?? '';
        m.clientURLs = v.clientURLs ?? [];
      }
      continue;
    }
    const gone = REMOVED.exec(path);
    if (gone) removed.push(BigInt('0x' + gone[1]));
  }
  const list = [...members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { members: list, removed };
}
