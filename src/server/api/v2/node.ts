// The v2 API's answer shapes (etcd's v2store.NodeExtern and Event) and their JSON
// in Go's field order with Go's omitempty: an empty key, a zero index or TTL, a
// false dir and an empty node list are left out; a file's empty value is kept.

export interface V2Node {
  key: string;
  /** Files only. */
  value?: string;
  dir?: boolean;
  /** Keys with a TTL: when they expire, and the seconds left (rounded up, as etcd). */
  expiration?: Date;
  ttl?: number;
  nodes?: V2Node[];
  modifiedIndex: number;
  createdIndex: number;
}

export type V2Action = 'get' | 'set' | 'create' | 'update' | 'delete' | 'compareAndSwap' | 'compareAndDelete' | 'expire';

export interface V2Event {
  action: V2Action;
  node?: V2Node;
  prevNode?: V2Node;
  /** X-Etcd-Index: the store index the answer was read or written at. */
  etcdIndex: number;
}

/** Go's time.Time JSON: RFC 3339 with nanoseconds, trailing zeros dropped. */
export function goTime(d: Date): string {
  const iso = d.toISOString(); // 2026-12-05T02:44:33.363Z
  const [base, frac] = iso.slice(0, -1).split('.');
  const digits = (frac ?? '').replace(/0+$/, '');
  return `${base}${digits ? '.' + digits : ''}Z`;
}

export function nodeJson(n: V2Node): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (n.key !== '') o.key = n.key;
  if (n.value !== undefined) o.value = n.value;
  if (n.dir) o.dir = true;
  if (n.expiration) o.expiration = goTime(n.expiration);
  if (n.ttl) o.ttl = n.ttl;
  if (n.nodes && n.nodes.length > 0) o.nodes = n.nodes.map(nodeJson);
  if (n.modifiedIndex) o.modifiedIndex = n.modifiedIndex;
  if (n.createdIndex) o.createdIndex = n.createdIndex;
  return o;
}

/** The body etcd writes for an event (json.Encoder: a trailing newline). */
export function eventBody(ev: V2Event, noValueOnSuccess = false): string {
  const o: Record<string, unknown> = { action: ev.action };
  const hide = noValueOnSuccess && ['set', 'compareAndSwap', 'create', 'update'].includes(ev.action);
  if (ev.node && !hide) o.node = nodeJson(ev.node);
  if (ev.prevNode && !hide) o.prevNode = nodeJson(ev.prevNode);
  return JSON.stringify(o) + '\n';
}

/** etcd's NodeExterns sort: by key. */
export function sortNodes(nodes: V2Node[]): void {
  nodes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
