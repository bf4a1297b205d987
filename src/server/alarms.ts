// The alarm list (etcd's alarmStore, server/etcdserver/api/v3alarm): which member
// raised which alarm (NOSPACE, CORRUPT). It is replicated state: it changes only
// when the applier applies an AlarmRequest, on every member alike, and each change
// is staged in the backend's alarm bucket ('a', mvcc/keyspace.ts) in the batch of
// that entry, so it survives restarts and travels in store images.

import { ALARM_PREFIX } from '../mvcc/index.js';
import { AlarmType } from '../pb/types.js';

export interface Alarm {
  memberID: bigint;
  alarm: number; // AlarmType
}

/** Where a change is persisted (the backend's stageRaw: value null deletes). */
export type AlarmStage = (key: Uint8Array, value: Uint8Array | null) => void;

/** 'a' + BE64(member) + type: the backend key of an alarm (its value: the same bytes without the prefix). */
export function alarmKey(a: Alarm): Uint8Array {
  const k = new Uint8Array(10);
  k[0] = ALARM_PREFIX;
  new DataView(k.buffer).setBigUint64(1, BigInt.asUintN(64, a.memberID));
  k[9] = a.alarm;
  return k;
}

function decodeAlarmValue(v: Uint8Array): Alarm | undefined {
  if (v.length !== 9) return undefined;
  return { memberID: new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0), alarm: v[8]! };
}

/** etcd's AlarmType enum names. */
export function alarmName(t: number): string {
  switch (t) {
    case AlarmType.NONE: return 'NONE';
    case AlarmType.NOSPACE: return 'NOSPACE';
    case AlarmType.CORRUPT: return 'CORRUPT';
    default: return String(t);
  }
}

/** The text etcd puts in Status.errors for an alarm (AlarmMember.String(): protobuf compact text). */
export function alarmText(a: Alarm): string {
  return `memberID:${a.memberID} alarm:${alarmName(a.alarm)} `;
}

const id = (a: Alarm): string => `${a.memberID}/${a.alarm}`;

export class AlarmStore {
  private readonly active = new Map<string, Alarm>();

  /** Replaces the list with what a backend holds (start-up, a store image installed). */
  load(values: Uint8Array[]): void {
    this.active.clear();
    for (const v of values) {
      const a = decodeAlarmValue(v);
      if (a) this.active.set(id(a), a);
    }
  }

  /** Raises an alarm; undefined when it was already active (etcd answers nothing then). */
  activate(a: Alarm, stage: AlarmStage): Alarm | undefined {
    if (this.active.has(id(a))) return undefined;
    const m = { memberID: a.memberID, alarm: a.alarm };
    this.active.set(id(m), m);
    const key = alarmKey(m);
    stage(key, key.subarray(1));
    return m;
  }

  /** Clears an alarm; undefined when it was not active. */
  deactivate(a: Alarm, stage: AlarmStage): Alarm | undefined {
    const m = this.active.get(id(a));
    if (!m) return undefined;
    this.active.delete(id(a));
    stage(alarmKey(m), null);
    return m;
  }

  /** Every active alarm of type `type` (NONE: all), ordered by member then type, as etcd lists them. */
  get(type: number = AlarmType.NONE): Alarm[] {
    return [...this.active.values()]
      .filter((a) => type === AlarmType.NONE || a.alarm === type)
      .sort((x, y) => (x.memberID < y.memberID ? -1 : x.memberID > y.memberID ? 1 : x.alarm - y.alarm));
  }

  has(type: number): boolean {
    for (const a of this.active.values()) if (a.alarm === type) return true;
    return false;
  }
}
