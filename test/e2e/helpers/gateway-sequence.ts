// The /v3 JSON gateway steps run against etcd 3.4.23 (recorded into
// fixtures/gateway.json by record-gateway.ts) and against bin/etcd-ts
// (gateway.test.ts): plain HTTP/1.1 requests to a 3-member cluster, each answer
// kept as status + body (or the lines of a stream), normalised where the two
// legitimately differ (ids, terms, ports, tokens, sizes).
import * as http from 'node:http';
import type { Cluster } from './cluster.js';
import type { Member } from './member.js';

export interface Step {
  name: string;
  path: string;
  /** The request body as sent (a string: raw text, anything else: JSON). */
  body?: unknown;
  method?: string;
  /** Authorization header: the token saved by an earlier step, by name. */
  token?: string;
  /** A stream: read this many lines, then close. */
  lines?: number;
  /** While the stream is open (after its first line): these requests, in order. */
  during?: Step[];
  /** Send to the leader instead of member a. */
  toLeader?: boolean;
  /** Fields (any depth) whose values differ by timing or implementation: replaced by "*". */
  volatile?: string[];
  /** Save the answer's `token` under this name. */
  saveToken?: string;
  /** Sent again (for up to 15 s) while the answer contains this text (a cluster not yet ready). */
  retryWhile?: string;
}

export interface Answer {
  name: string;
  status: number;
  /** Unary: the body; streams: undefined. */
  body?: string;
  /** Streams: the lines read. */
  lines?: string[];
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const LEASE = '7587';
/** The lease the Lock and Election steps hold their keys with (its hex is in the keys). */
const RECIPES_LEASE = '7588';
const RECIPES_LEASE_HEX = Number(RECIPES_LEASE).toString(16);

const STATUS_VOLATILE = ['leader', 'version', 'dbSize', 'dbSizeInUse', 'dbSizeQuota', 'raftIndex', 'raftAppliedIndex', 'raftTerm'];

export const STEPS: Step[] = [
  // ---- KV
  { name: 'put', path: '/v3/kv/put', body: { key: b64('foo'), value: b64('bar') } },
  { name: 'put prev_kv (lowerCamel name)', path: '/v3/kv/put', body: { key: b64('foo'), value: b64('baz'), prevKv: true } },
  { name: 'put foo2', path: '/v3/kv/put', body: { key: b64('foo2'), value: b64('x') } },
  { name: 'range', path: '/v3/kv/range', body: { key: b64('foo') } },
  { name: 'range prefix desc limit', path: '/v3/kv/range', body: { key: b64('foo'), range_end: b64('fop'), sort_order: 'DESCEND', sort_target: 'KEY', limit: 1 } },
  { name: 'range count_only', path: '/v3/kv/range', body: { key: b64('foo'), range_end: b64('fop'), count_only: true } },
  { name: 'range keys_only, enum as number', path: '/v3/kv/range', body: { key: b64('foo'), range_end: b64('fop'), keys_only: true, sort_order: 1 } },
  { name: 'range missing', path: '/v3/kv/range', body: { key: b64('nope') } },
  { name: 'range at revision (number)', path: '/v3/kv/range', body: { key: b64('foo'), revision: 2 } },
  { name: 'range future revision', path: '/v3/kv/range', body: { key: b64('foo'), revision: '1000' } },
  { name: 'range no key', path: '/v3/kv/range', body: {} },
  { name: 'deleterange prev_kv', path: '/v3/kv/deleterange', body: { key: b64('foo2'), prev_kv: true } },
  { name: 'deleterange missing', path: '/v3/kv/deleterange', body: { key: b64('foo2') } },
  {
    name: 'txn success',
    path: '/v3/kv/txn',
    body: {
      compare: [{ key: b64('foo'), result: 'EQUAL', target: 'VALUE', value: b64('baz') }],
      success: [{ request_range: { key: b64('foo') } }, { requestPut: { key: b64('t'), value: b64('1') } }],
      failure: [{ request_delete_range: { key: b64('foo') } }],
    },
  },
  {
    name: 'txn failure, nested txn',
    path: '/v3/kv/txn',
    body: {
      compare: [{ key: b64('foo'), result: 'GREATER', target: 'VERSION', version: '7' }],
      failure: [{ request_delete_range: { key: b64('t'), prev_kv: true } }, { request_txn: { success: [{ request_range: { key: b64('t') } }] } }],
    },
  },
  { name: 'txn duplicate key', path: '/v3/kv/txn', body: { success: [{ request_put: { key: b64('d') } }, { request_put: { key: b64('d') } }] } },
  { name: 'compaction', path: '/v3/kv/compaction', body: { revision: '3', physical: true } },
  { name: 'compaction again', path: '/v3/kv/compaction', body: { revision: '3' } },
  { name: 'range compacted', path: '/v3/kv/range', body: { key: b64('foo'), revision: '2' } },
  { name: 'v3beta range', path: '/v3beta/kv/range', body: { key: b64('foo') } },

  // ---- malformed requests
  { name: 'bad JSON', path: '/v3/kv/range', body: 'xx' },
  { name: 'truncated JSON', path: '/v3/kv/range', body: '{"key":' },
  { name: 'missing colon', path: '/v3/kv/range', body: '{"key" 1}' },
  { name: 'bad literal', path: '/v3/kv/range', body: '{"key":tru}' },
  { name: 'bad escape', path: '/v3/kv/range', body: '{"key":"\\u00zz"}' },
  { name: 'not an object', path: '/v3/kv/range', body: '[]' },
  { name: 'empty body', path: '/v3/kv/range', body: '' },
  { name: 'trailing junk ignored', path: '/v3/kv/range', body: `{"key":"${b64('foo')}"} junk` },
  { name: 'unknown field ignored', path: '/v3/kv/range', body: { key: b64('foo'), bogus: 1 } },
  { name: 'bytes as number', path: '/v3/kv/range', body: { key: 1 } },
  { name: 'bad base64', path: '/v3/kv/range', body: { key: 'Zm9v-_' } },
  { name: 'short base64', path: '/v3/kv/range', body: { key: 'Zm9' } },
  { name: 'int64 not a number', path: '/v3/kv/range', body: { key: b64('foo'), revision: 'abc' } },
  { name: 'int64 fraction', path: '/v3/kv/range', body: { key: b64('foo'), revision: 1.5 } },
  { name: 'int64 overflow', path: '/v3/kv/range', body: { key: b64('foo'), limit: '99999999999999999999' } },
  { name: 'bool as string', path: '/v3/kv/range', body: { key: b64('foo'), keys_only: 'true' } },
  { name: 'unknown enum name', path: '/v3/kv/range', body: { key: b64('foo'), sort_order: 'BAD' } },
  { name: 'enum as bool', path: '/v3/kv/range', body: { key: b64('foo'), sort_order: true } },
  { name: 'list as object', path: '/v3/kv/txn', body: { compare: {} } },
  { name: 'message as number', path: '/v3/kv/txn', body: { success: [{ request_put: 5 }] } },
  { name: 'string as number', path: '/v3/auth/user/add', body: { name: 5 } },
  { name: 'unknown path', path: '/v3/kv/nope', body: {} },
  { name: 'HashKV has no path in 3.4', path: '/v3/maintenance/hashkv', body: {} },
  { name: 'GET', path: '/v3/kv/range', method: 'GET' },
  { name: 'PUT', path: '/v3/kv/put', method: 'PUT', body: {} },

  // ---- Lease
  { name: 'lease grant', path: '/v3/lease/grant', body: { TTL: '60', ID: LEASE } },
  { name: 'lease grant again', path: '/v3/lease/grant', body: { TTL: 60, ID: Number(LEASE) } },
  { name: 'put with lease', path: '/v3/kv/put', body: { key: b64('l'), value: b64('v'), lease: LEASE } },
  { name: 'put with unknown lease', path: '/v3/kv/put', body: { key: b64('l'), lease: '12345' } },
  { name: 'lease timetolive keys', path: '/v3/lease/timetolive', body: { ID: LEASE, keys: true }, volatile: ['TTL'] },
  { name: 'kv/lease/timetolive', path: '/v3/kv/lease/timetolive', body: { ID: LEASE }, volatile: ['TTL'] },
  { name: 'lease leases', path: '/v3/lease/leases', body: {} },
  { name: 'kv/lease/leases', path: '/v3/kv/lease/leases', body: {} },
  { name: 'lease keepalive stream', path: '/v3/lease/keepalive', body: `{"ID":"${LEASE}"}\n{"ID":${LEASE}}`, lines: 2 },
  { name: 'lease keepalive unknown', path: '/v3/lease/keepalive', body: { ID: '42' }, lines: 1 },
  { name: 'lease keepalive bad first request', path: '/v3/lease/keepalive', body: '{"ID":"x"}', lines: 1 },
  { name: 'lease revoke', path: '/v3/lease/revoke', body: { ID: LEASE } },
  { name: 'kv/lease/revoke not found', path: '/v3/kv/lease/revoke', body: { ID: LEASE } },
  { name: 'lease timetolive revoked', path: '/v3/lease/timetolive', body: { ID: LEASE } },

  // ---- Watch
  {
    name: 'watch events',
    path: '/v3/watch',
    body: { create_request: { key: b64('w'), prev_kv: true } },
    lines: 3,
    during: [
      { name: 'put w', path: '/v3/kv/put', body: { key: b64('w'), value: b64('1') } },
      { name: 'delete w', path: '/v3/kv/deleterange', body: { key: b64('w') } },
    ],
  },
  { name: 'watch history', path: '/v3/watch', body: { createRequest: { key: b64('w'), start_revision: '4' } }, lines: 2 },
  { name: 'watch compacted', path: '/v3/watch', body: { create_request: { key: b64('foo'), start_revision: 2 } }, lines: 2 },
  {
    name: 'watch several requests',
    path: '/v3/watch',
    body: `{"create_request":{"key":"${b64('w')}","watch_id":"5","filters":["NOPUT"]}}{"cancel_request":{"watch_id":"5"}} {"progress_request":{}}`,
    lines: 3,
  },
  { name: 'watch bad first request', path: '/v3/watch', body: 'xx', lines: 1 },

  // ---- Cluster
  { name: 'member list', path: '/v3/cluster/member/list', body: {} },
  // Members must have been connected for 5 s before a reconfiguration (etcd's strict check).
  { name: 'member add learner', path: '/v3/cluster/member/add', body: { peerURLs: ['http://127.0.0.1:1'], isLearner: true }, retryWhile: 'unhealthy cluster' },
  { name: 'member add same URL', path: '/v3/cluster/member/add', body: { peerURLs: ['http://127.0.0.1:1'] } },
  { name: 'member promote', path: '/v3/cluster/member/promote', body: { ID: '$LEARNER' } },
  { name: 'member update', path: '/v3/cluster/member/update', body: { ID: '$LEARNER', peerURLs: ['http://127.0.0.1:2'] } },
  { name: 'member remove', path: '/v3/cluster/member/remove', body: { ID: '$LEARNER' } },
  { name: 'member remove again', path: '/v3/cluster/member/remove', body: { ID: '$LEARNER' } },

  // ---- Maintenance
  { name: 'status', path: '/v3/maintenance/status', body: {}, volatile: STATUS_VOLATILE },
  { name: 'alarm list', path: '/v3/maintenance/alarm', body: { action: 'GET' } },
  { name: 'alarm bad enum', path: '/v3/maintenance/alarm', body: { action: 'NOPE' } },
  { name: 'defragment', path: '/v3/maintenance/defragment', body: {} },
  { name: 'hash', path: '/v3/maintenance/hash', body: {}, volatile: ['hash'] },
  { name: 'transfer-leadership to a stranger', path: '/v3/maintenance/transfer-leadership', body: { targetID: '1' }, toLeader: true },
  { name: 'transfer-leadership', path: '/v3/maintenance/transfer-leadership', body: { targetID: '$FOLLOWER' }, toLeader: true },

  // ---- Auth
  { name: 'auth enable without root', path: '/v3/auth/enable', body: {} },
  { name: 'user add root', path: '/v3/auth/user/add', body: { name: 'root', password: 'rootpw' } },
  { name: 'user grant root', path: '/v3/auth/user/grant', body: { user: 'root', role: 'root' } },
  { name: 'user add alice', path: '/v3/auth/user/add', body: { name: 'alice', password: 'apw' } },
  { name: 'user add alice again', path: '/v3/auth/user/add', body: { name: 'alice', password: 'x' } },
  { name: 'role add r', path: '/v3/auth/role/add', body: { name: 'r' } },
  { name: 'role grant', path: '/v3/auth/role/grant', body: { name: 'r', perm: { permType: 'READ', key: b64('foo'), range_end: b64('fop') } } },
  { name: 'user grant alice', path: '/v3/auth/user/grant', body: { user: 'alice', role: 'r' } },
  { name: 'user get', path: '/v3/auth/user/get', body: { name: 'alice' } },
  { name: 'user get missing', path: '/v3/auth/user/get', body: { name: 'zed' } },
  { name: 'user list', path: '/v3/auth/user/list', body: {} },
  { name: 'role get', path: '/v3/auth/role/get', body: { role: 'r' } },
  { name: 'role list', path: '/v3/auth/role/list', body: {} },
  { name: 'auth enable', path: '/v3/auth/enable', body: {} },
  { name: 'authenticate wrong password', path: '/v3/auth/authenticate', body: { name: 'alice', password: 'no' } },
  { name: 'authenticate alice', path: '/v3/auth/authenticate', body: { name: 'alice', password: 'apw' }, saveToken: 'alice' },
  { name: 'authenticate root', path: '/v3/auth/authenticate', body: { name: 'root', password: 'rootpw' }, saveToken: 'root' },
  { name: 'range as alice', path: '/v3/kv/range', body: { key: b64('foo') }, token: 'alice' },
  { name: 'put as alice: permission denied', path: '/v3/kv/put', body: { key: b64('foo'), value: b64('x') }, token: 'alice' },
  { name: 'range without token', path: '/v3/kv/range', body: { key: b64('foo') } },
  { name: 'range with a bad token', path: '/v3/kv/range', body: { key: b64('foo') }, token: 'bogus' },
  { name: 'watch with a bad token', path: '/v3/watch', body: { create_request: { key: b64('w') } }, token: 'bogus', lines: 1 },
  { name: 'watch as alice: not permitted', path: '/v3/watch', body: { create_request: { key: b64('w') } }, token: 'alice', lines: 1 },
  { name: 'user list as alice', path: '/v3/auth/user/list', body: {}, token: 'alice' },
  { name: 'user changepw', path: '/v3/auth/user/changepw', body: { name: 'alice', password: 'apw2' }, token: 'root' },
  { name: 'role revoke', path: '/v3/auth/role/revoke', body: { role: 'r', key: b64('foo'), range_end: b64('fop') }, token: 'root' },
  { name: 'user revoke', path: '/v3/auth/user/revoke', body: { name: 'alice', role: 'r' }, token: 'root' },
  { name: 'user delete', path: '/v3/auth/user/delete', body: { name: 'alice' }, token: 'root' },
  { name: 'role delete', path: '/v3/auth/role/delete', body: { role: 'r' }, token: 'root' },
  { name: 'auth disable', path: '/v3/auth/disable', body: {}, token: 'root' },
];

/** Lock and Election: etcd 3.4 serves them; etcd-ts until they are built answers Unimplemented. */
export const LOCK_ELECTION_STEPS: Step[] = [
  { name: 'lock', path: '/v3/lock/lock', body: { name: b64('l') }, volatile: ['key'] },
  { name: 'election leader (none)', path: '/v3/election/leader', body: { name: b64('e') } },
  { name: 'recipes lease grant', path: '/v3/lease/grant', body: { TTL: 60, ID: RECIPES_LEASE } },
  { name: 'lock with lease', path: '/v3/lock/lock', body: { name: b64('l2'), lease: RECIPES_LEASE } },
  { name: 'unlock', path: '/v3/lock/unlock', body: { key: b64(`l2/${RECIPES_LEASE_HEX}`) } },
  { name: 'unlock no key', path: '/v3/lock/unlock', body: {} },
  { name: 'lock unknown lease', path: '/v3/lock/lock', body: { name: b64('l2'), lease: '12345' } },
  { name: 'campaign unknown lease', path: '/v3/election/campaign', body: { name: b64('e'), lease: '12345', value: b64('v') } },
  { name: 'campaign', path: '/v3/election/campaign', body: { name: b64('e'), lease: RECIPES_LEASE, value: b64('v1') } },
  { name: 'election leader', path: '/v3/election/leader', body: { name: b64('e') } },
  {
    name: 'observe',
    path: '/v3/election/observe',
    body: { name: b64('e') },
    lines: 2,
    during: [{ name: 'proclaim (while observed)', path: '/v3/election/proclaim', body: { leader: '$LEADER', value: b64('v2') } }],
  },
  { name: 'proclaim', path: '/v3/election/proclaim', body: { leader: '$LEADER', value: b64('v3') } },
  { name: 'proclaim no leader field', path: '/v3/election/proclaim', body: { value: b64('v') } },
  {
    name: 'proclaim not leader',
    path: '/v3/election/proclaim',
    body: { leader: { name: b64('e'), key: b64('e/1'), rev: '5', lease: '1' }, value: b64('v') },
  },
  { name: 'resign', path: '/v3/election/resign', body: { leader: '$LEADER' } },
  { name: 'resign again', path: '/v3/election/resign', body: { leader: '$LEADER' } },
  { name: 'election leader after resign', path: '/v3/election/leader', body: { name: b64('e') } },
];

/**
 * Maintenance.Snapshot: a stream of blobs (the last a 32-byte SHA-256); as a non-root user, a stream that fails at once.
 * This store is smaller than one 32 KiB blob, so two lines: the whole file (remaining_bytes 0, omitted), then the digest.
 */
export const SNAPSHOT_STEPS: Step[] = [
  { name: 'snapshot', path: '/v3/maintenance/snapshot', body: {}, lines: 2, volatile: ['blob', 'remaining_bytes'] },
  { name: 'user add sam', path: '/v3/auth/user/add', body: { name: 'sam', password: 'spw' } },
  { name: 'user add root', path: '/v3/auth/user/add', body: { name: 'root', password: 'rootpw' } },
  { name: 'user grant root', path: '/v3/auth/user/grant', body: { user: 'root', role: 'root' } },
  { name: 'auth enable', path: '/v3/auth/enable', body: {} },
  { name: 'authenticate sam', path: '/v3/auth/authenticate', body: { name: 'sam', password: 'spw' }, saveToken: 'sam' },
  { name: 'authenticate root', path: '/v3/auth/authenticate', body: { name: 'root', password: 'rootpw' }, saveToken: 'root' },
  { name: 'snapshot as sam', path: '/v3/maintenance/snapshot', body: {}, token: 'sam', lines: 1 },
  { name: 'auth disable', path: '/v3/auth/disable', body: {}, token: 'root' },
];

/** Every step, in the order recorded. */
export const ALL_STEPS: Step[] = [...STEPS, ...SNAPSHOT_STEPS, ...LOCK_ELECTION_STEPS];

// ---- running

interface Context {
  cluster: Cluster;
  tokens: Map<string, string>;
  learner?: string;
  follower?: string;
  /** The LeaderKey (JSON) the "campaign" step won. */
  leader?: string;
}

function bodyText(step: Step, ctx: Context): string | undefined {
  if (step.body === undefined) return undefined;
  let text = typeof step.body === 'string' ? step.body : JSON.stringify(step.body);
  if (ctx.learner) text = text.replaceAll('$LEARNER', ctx.learner);
  if (ctx.follower) text = text.replaceAll('$FOLLOWER', ctx.follower);
  if (ctx.leader) text = text.replaceAll('"$LEADER"', ctx.leader);
  return text;
}

/** Sends one step; streams are read up to `lines` lines (or 5 s), then closed. */
export function send(m: Member, step: Step, ctx: Context): Promise<{ status: number; text: string }> {
  const text = bodyText(step, ctx);
  const token = step.token ? (ctx.tokens.get(step.token) ?? step.token) : undefined;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: m.clientPort,
      path: step.path,
      method: step.method ?? 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: token } : {}) },
      agent: false,
    });
    // A stream that sends fewer lines than expected is read for 5 s.
    let finish: (() => void) | undefined;
    const timer = setTimeout(() => (finish ? finish() : req.destroy(new Error(`${step.name}: no answer in 5 s`))), 5000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      let got = '';
      let during: Promise<void> | undefined;
      finish = () => {
        clearTimeout(timer);
        res.destroy();
        resolve({ status: res.statusCode ?? 0, text: got });
      };
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        got += c;
        // Whole lines only: a large message (a snapshot's 32 KiB blob) arrives in pieces.
        const lines = got.split('\n').length - 1;
        if (step.during && !during && lines >= 1) {
          during = (async () => {
            for (const d of step.during!) await send(m, d, ctx);
          })();
        }
        if (step.lines !== undefined && lines >= step.lines) {
          void (during ?? Promise.resolve()).then(() => finish!());
        }
      });
      res.on('end', finish);
      res.on('close', finish);
    });
    req.end(text);
  });
}

/** Run-specific values → stable placeholders: ids by first appearance, ports by member. */
class Normaliser {
  private readonly ids = new Map<string, string>();

  constructor(private readonly cluster: Cluster) {}

  private id(v: string): string {
    let p = this.ids.get(v);
    if (!p) this.ids.set(v, (p = `ID${this.ids.size + 1}`));
    return p;
  }

  private urls(s: string): string {
    return s.replace(/127\.0\.0\.1:(\d+)/g, (all, port: string) => {
      for (const m of this.cluster.members) {
        if (Number(port) === m.clientPort) return `${m.name}-client`;
        if (Number(port) === m.peerPort) return `${m.name}-peer`;
      }
      return all;
    });
  }

  value(v: unknown, key: string, volatile: string[]): unknown {
    if (volatile.includes(key)) return '*';
    if (Array.isArray(v)) {
      const items = v.map((x) => this.value(x, key, volatile));
      // Members come sorted by id, which differs from run to run: sort by name.
      if (key === 'members') items.sort((a, b) => String((a as { name?: string }).name).localeCompare(String((b as { name?: string }).name)));
      return items;
    }
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      // Members first (ids by name order), so the placeholders do not depend on the id order.
      const entries = Object.entries(v as Record<string, unknown>);
      for (const [k, x] of entries) out[k] = this.value(x, k, volatile);
      return out;
    }
    if (typeof v !== 'string') return v;
    if (key === 'raft_term') return 'T';
    if (key === 'token') return 'TOKEN';
    if (['cluster_id', 'member_id', 'ID', 'leader', 'memberID'].includes(key) && v !== LEASE && v !== RECIPES_LEASE) return this.id(v);
    return this.urls(v);
  }

  /** A JSON text normalised (other text: ports only). */
  text(s: string, volatile: string[]): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      return this.urls(s);
    }
    if (parsed && typeof parsed === 'object' && 'members' in parsed) {
      // Name the ids of the members in name order first.
      const ms = [...((parsed as { members: { name?: string; ID?: string }[] }).members ?? [])].sort((a, b) => String(a.name).localeCompare(String(b.name)));
      for (const m of ms) if (m.ID) this.id(m.ID);
    }
    return JSON.stringify(this.value(parsed, '', volatile));
  }
}

async function leaderOf(cluster: Cluster, ctx: Context): Promise<Member> {
  const members = cluster.members;
  const st = await send(members[0]!, { name: 'status', path: '/v3/maintenance/status', body: {} }, ctx);
  const leader = (JSON.parse(st.text) as { leader: string }).leader;
  let found: Member | undefined;
  for (const m of members) {
    const s = await send(m, { name: 'status', path: '/v3/maintenance/status', body: {} }, ctx);
    const id = (JSON.parse(s.text) as { header: { member_id: string } }).header.member_id;
    if (id === leader) found = m;
    else ctx.follower = id;
  }
  if (!found) throw new Error('no leader found');
  return found;
}

/** Runs `steps` on member a (or the leader); returns the normalised answers. */
export async function runGatewaySequence(cluster: Cluster, steps: Step[] = STEPS): Promise<Answer[]> {
  const ctx: Context = { cluster, tokens: new Map() };
  const norm = new Normaliser(cluster);
  const out: Answer[] = [];
  for (const step of steps) {
    const target = step.toLeader ? await leaderOf(cluster, ctx) : cluster.members[0]!;
    let r = await send(target, step, ctx);
    for (const until = Date.now() + 15_000; step.retryWhile && r.text.includes(step.retryWhile) && Date.now() < until; ) {
      await new Promise((res) => setTimeout(res, 500));
      r = await send(target, step, ctx);
    }
    if (step.saveToken) ctx.tokens.set(step.saveToken, (JSON.parse(r.text) as { token: string }).token);
    if (step.name === 'member add learner' && r.status === 200) ctx.learner = (JSON.parse(r.text) as { member: { ID: string } }).member.ID;
    if (step.name === 'campaign' && r.status === 200) ctx.leader = JSON.stringify((JSON.parse(r.text) as { leader: unknown }).leader);
    const volatile = step.volatile ?? [];
    if (step.lines !== undefined && r.status === 200) {
      const lines = r.text.split('\n').filter((l) => l !== '').map((l) => norm.text(l, volatile));
      out.push({ name: step.name, status: r.status, lines });
    } else {
      out.push({ name: step.name, status: r.status, body: norm.text(r.text, volatile) });
    }
  }
  return out;
}
